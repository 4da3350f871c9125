"""Who may do what: plain predicates used by services (which enforce) and templates (which hide)."""

from __future__ import annotations

from .models import Answer, Comment, Question, User

Post = Question | Answer | Comment


def thread_of(post: Post) -> Question:
    """The question of a post's thread: an answer's or comment's `question`; a question (an
    ORM object or a thread page's plain `QuestionView`) is its own."""
    return post if isinstance(post, Question) else getattr(post, "question", post)


def can_edit(user: User | None, post: Post) -> bool:
    """Authors edit their own live posts while the thread is open; moderators edit any."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_moderator:
        return True
    return (
        post.author_id == user.id and post.deleted_at is None and thread_of(post).locked_at is None
    )


def can_delete(user: User | None, post: Post) -> bool:
    return can_edit(user, post)


def can_see_deleted(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def can_post(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_accept(user: User | None, question: Question) -> bool:
    """The asker picks the answer that solved it (staff verify instead: see services.marks)."""
    return can_post(user) and question.author_id == user.id


def can_verify(user: User | None) -> bool:
    return bool(can_post(user) and user.is_staff)


def can_vote(user: User | None, post: Post) -> bool:
    return can_post(user) and post.author_id != user.id and post.deleted_at is None


def can_moderate(user: User | None) -> bool:
    """Staff and moderators work the triage queue."""
    return bool(can_post(user) and user.is_staff)


def can_see_hidden(user: User | None) -> bool:
    return can_moderate(user)


def is_visible_to(user: User | None, post: Post) -> bool:
    """Whether `user` may see (and so act on) the post: deleted posts are for staff, hidden
    posts and hidden threads for moderators; everyone else is told they do not exist."""
    thread = thread_of(post)
    gone = post.deleted_at is not None or thread.deleted_at is not None
    hidden = post.hidden_at is not None or thread.hidden_at is not None
    return (not gone or can_see_deleted(user)) and (not hidden or can_see_hidden(user))


# Privileges that reputation earns, where they protect the community. Staff need none.
PRIVILEGES = {
    "downvote": ("REPUTATION_TO_DOWNVOTE", "vote down"),
    "comment": ("REPUTATION_TO_COMMENT", "comment on other people's posts"),
    "links": ("REPUTATION_TO_POST_LINKS", "post links"),
}


def reputation_needed(user: User | None, privilege: str) -> int | None:
    """The reputation this person still lacks for a privilege, or None if they have it."""
    from flask import current_app

    setting, _what = PRIVILEGES[privilege]
    needed = current_app.config[setting]
    if user is None or user.is_staff or user.reputation >= needed:
        return None
    return needed


def privilege_message(privilege: str, needed: int, have: int) -> str:
    _setting, what = PRIVILEGES[privilege]
    return (
        f"You need {needed} reputation to {what}; you have {have}. Reputation comes from "
        "upvotes on your posts and from answers that are accepted or verified."
    )
