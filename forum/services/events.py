"""Signals sent after a service commits, for search, moderation and notifications to hook."""

from blinker import Namespace

_signals = Namespace()

user_registered = _signals.signal("user-registered")
question_posted = _signals.signal("question-posted")
answer_posted = _signals.signal("answer-posted")
comment_posted = _signals.signal("comment-posted")
post_edited = _signals.signal("post-edited")
post_deleted = _signals.signal("post-deleted")
vote_cast = _signals.signal("vote-cast")
answer_accepted = _signals.signal("answer-accepted")
answer_unaccepted = _signals.signal("answer-unaccepted")
answer_verified = _signals.signal("answer-verified")
answer_unverified = _signals.signal("answer-unverified")
