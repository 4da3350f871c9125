"""Notifications: who is told of what the outbox says happened, and their inbox.

`plan` and `write` are the worker's consumer. For each outbox row `plan` works out the
people to tell (reading only), and `write` writes one notification each, keyed by the row
("outbox:123"): a person who qualifies several ways (the asker, also mentioned) gets the most
specific one, and running the same row again writes nothing new. Nobody is told of their own
action, nor of a post they may not see. Whether a notification is also mailed now, later in a
digest, or not at all is decided here too, from the person's preferences and the per-thread
mail pause; `forum.mail` sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from ..extensions import db, insert_unless_taken
from ..models import (
    MENTION_NAME,
    Answer,
    Comment,
    Delivery,
    Follow,
    MailPreference,
    MailState,
    Notification,
    NotificationKind,
    OutboxEvent,
    PrivateMessage,
    Question,
    User,
    Watch,
    WatchLevel,
    question_tags,
    utcnow,
)
from ..permissions import is_visible_to

Kind = NotificationKind

# Mail preferences are per topic: a few groups of kinds a person can reason about.
TOPICS: dict[str, tuple[str, tuple[Kind, ...]]] = {
    "answers": ("Answers to my questions", (Kind.ANSWER,)),
    "comments": ("Comments on my posts", (Kind.COMMENT,)),
    "marks": ("My answers accepted or verified", (Kind.ACCEPTED, Kind.VERIFIED)),
    "watched": ("Staff answers in threads I watch", (Kind.STAFF_ANSWER, Kind.VERIFIED_WATCHED)),
    "mentions": ("Mentions of me", (Kind.MENTION,)),
    "private": ("Private messages from staff", (Kind.PRIVATE_MESSAGE,)),
    "moderation": ("Moderator actions on my posts", (Kind.POST_HIDDEN, Kind.POST_RESTORED)),
    "follows": ("New questions in products and tags I follow", (Kind.NEW_QUESTION,)),
    "nudges": ('"Did this solve it?" reminders', (Kind.NUDGE,)),
    "recognition": ("Badges I earn and thank-you notes from staff", (Kind.BADGE, Kind.THANKS)),
}
TOPIC_OF = {kind: topic for topic, (_label, kinds) in TOPICS.items() for kind in kinds}
DEFAULT_DELIVERY = {topic: Delivery.INSTANT for topic in TOPICS} | {
    "follows": Delivery.DIGEST,
    "recognition": Delivery.DIGEST,  # a badge can wait for the day's digest
}

# Muting a thread silences what others do there; not what is done to my own posts.
SILENCED_BY_MUTE = {
    Kind.ANSWER,
    Kind.COMMENT,
    Kind.STAFF_ANSWER,
    Kind.VERIFIED_WATCHED,
    Kind.MENTION,
}

MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9][\w.\-]{1,79})")
CODE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.DOTALL)
MAX_MENTIONS = 10

WORDS = {
    Kind.ANSWER: "{actor} answered your question",
    Kind.COMMENT: "{actor} commented on your post",
    Kind.ACCEPTED: "{actor} accepted your answer",
    Kind.VERIFIED: "{actor} verified your answer as the official one",
    Kind.STAFF_ANSWER: "{actor} (staff) answered a thread you watch",
    Kind.VERIFIED_WATCHED: "Staff verified an answer in a thread you watch",
    Kind.MENTION: "{actor} mentioned you",
    Kind.PRIVATE_MESSAGE: "{actor} sent you a private message",
    Kind.POST_HIDDEN: "A moderator hid your {target}",
    Kind.POST_RESTORED: "A moderator restored your {target}",
    Kind.NEW_QUESTION: "{actor} asked a new question",
    Kind.NUDGE: "Did an answer solve your question?",
    Kind.BADGE: "You earned a badge: {detail}",
    Kind.THANKS: "{actor} (staff) thanked you for your answer",
}


def describe(notification: Notification) -> str:
    """One line a person reads: "Bob answered your question"."""
    actor = notification.actor.display_name if notification.actor else "Someone"
    target = (notification.post or "post").partition(":")[0]
    return WORDS.get(notification.kind, "Something happened").format(
        actor=actor, target=target, detail=notification.detail
    )


def anchor(post: str | None) -> str:
    """The fragment of the thread page that shows this post."""
    if not post:
        return ""
    kind, _, post_id = post.partition(":")
    if kind in ("answer", "comment"):
        return f"#{kind}-{post_id}"
    if kind == "private":
        return ""
    return "#question"


# Working out who to tell -----------------------------------------------------------------


@dataclass
class Audience:
    """People to tell about one event, each with the most specific reason found first."""

    kinds: dict[int, Kind] = field(default_factory=dict)

    def add(self, user_ids: Iterable[int | None], kind: Kind) -> None:
        for user_id in user_ids:
            if user_id is not None:
                self.kinds.setdefault(user_id, kind)


def post_for(key: str | None):
    """The post an outbox or notification key ("answer:7") names, or None."""
    if not key:
        return None
    kind, _, post_id = key.partition(":")
    model = {
        "question": Question,
        "answer": Answer,
        "comment": Comment,
        "private": PrivateMessage,
    }.get(kind)
    return db.session.get(model, int(post_id)) if model and post_id.isdigit() else None


def _watchers(question_id: int, level: WatchLevel = WatchLevel.WATCHING) -> list[int]:
    return list(
        db.session.scalars(
            select(Watch.user_id).where(
                Watch.question_id == question_id, Watch.level == level.value
            )
        )
    )


def mentioned_names(text: str) -> list[str]:
    """The @names in a post's source, outside code, each once, at most MAX_MENTIONS."""
    names: list[str] = []
    for match in MENTION.finditer(CODE.sub(" ", text or "")):
        name = match.group(1).rstrip(".-").lower()
        if name not in names:
            names.append(name)
    return names[:MAX_MENTIONS]


def _participants(question_id: int) -> set[int]:
    question = db.session.get(Question, question_id)
    people = {question.author_id} if question else set()
    people.update(
        db.session.scalars(select(Answer.author_id).where(Answer.question_id == question_id))
    )
    people.update(
        db.session.scalars(select(Comment.author_id).where(Comment.question_id == question_id))
    )
    return people


def resolve_mentions(names: list[str], question_id: int) -> list[int]:
    """Accounts mentioned by these names. A name several people share means the one who
    took part in the thread, or nobody: never a stranger picked at random."""
    if not names:
        return []
    rows = db.session.execute(
        select(User.id, MENTION_NAME).where(MENTION_NAME.in_(names), User.active.is_(True))
    ).all()
    by_name: dict[str, list[int]] = {}
    for user_id, name in rows:
        by_name.setdefault(name, []).append(user_id)
    found: list[int] = []
    participants: set[int] | None = None
    for ids in by_name.values():
        if len(ids) == 1:
            found.append(ids[0])
            continue
        if participants is None:
            participants = _participants(question_id)
        among = [i for i in ids if i in participants]
        if len(among) == 1:
            found.append(among[0])
    return found


def _already_mentioned(post_key: str) -> set[int]:
    return set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.post == post_key, Notification.kind == Kind.MENTION.value
            )
        )
    )


def _audience(row: OutboxEvent, question: Question, post) -> Audience:
    audience = Audience()
    kind = row.kind
    if kind == "answer_posted":
        audience.add([question.author_id], Kind.ANSWER)
        audience.add(resolve_mentions(mentioned_names(post.body_source), question.id), Kind.MENTION)
        if post.author.is_staff:
            audience.add(_watchers(question.id), Kind.STAFF_ANSWER)
    elif kind == "comment_posted":
        target = db.session.get(Answer, post.answer_id) if post.answer_id else question
        audience.add([target.author_id], Kind.COMMENT)
        audience.add(resolve_mentions(mentioned_names(post.body_source), question.id), Kind.MENTION)
    elif kind == "question_posted":
        audience.add(resolve_mentions(mentioned_names(post.body_source), question.id), Kind.MENTION)
        audience.add(_followers(question), Kind.NEW_QUESTION)
    elif kind == "post_edited" and not isinstance(post, PrivateMessage):
        told = _already_mentioned(row.post)
        names = mentioned_names(post.body_source)
        audience.add(
            [i for i in resolve_mentions(names, question.id) if i not in told], Kind.MENTION
        )
    elif kind == "answer_accepted":
        audience.add([post.author_id], Kind.ACCEPTED)
    elif kind == "answer_verified":
        audience.add([post.author_id], Kind.VERIFIED)
        audience.add([question.author_id, *_watchers(question.id)], Kind.VERIFIED_WATCHED)
    elif kind == "private_message":
        if post.author.is_staff:
            audience.add([question.author_id], Kind.PRIVATE_MESSAGE)
        else:  # the customer's reply: the staff who wrote in this conversation
            staff = db.session.scalars(
                select(PrivateMessage.author_id)
                .where(PrivateMessage.question_id == question.id)
                .distinct()
            )
            audience.add([i for i in staff if i != question.author_id], Kind.PRIVATE_MESSAGE)
    elif kind in ("post_hidden", "post_restored"):
        hidden = kind == "post_hidden"
        audience.add([post.author_id], Kind.POST_HIDDEN if hidden else Kind.POST_RESTORED)
    return audience


def _followers(question: Question) -> list[int]:
    tag_ids = select(question_tags.c.tag_id).where(question_tags.c.question_id == question.id)
    return list(
        db.session.scalars(
            select(Follow.user_id)
            .where(or_(Follow.product_id == question.product_id, Follow.tag_id.in_(tag_ids)))
            .distinct()
        )
    )


NOTIFYING = {
    "question_posted",
    "answer_posted",
    "comment_posted",
    "post_edited",
    "answer_accepted",
    "answer_verified",
    "private_message",
    "post_hidden",
    "post_restored",
}
# Told to the author whatever the post's state: a hidden post is what they are told about.
ABOUT_MY_POST = {Kind.POST_HIDDEN, Kind.POST_RESTORED, Kind.PRIVATE_MESSAGE}


@dataclass
class Planned:
    """One notification worked out by `plan`, not yet written by `write`."""

    user: User
    question_id: int
    kind: Kind
    key: str
    post: str | None
    actor_id: int | None
    detail: str


def plan(rows: Iterable[OutboxEvent]) -> list[Planned]:
    """Who is told of what for these outbox rows, reading only."""
    return [p for row in rows if row.kind in NOTIFYING for p in _plan(row)]


def write(planned: list[Planned]) -> int:
    """Write planned notifications, each with its mail state, in a few statements for the
    whole batch (the worker plans first and writes last: on SQLite the write lock, which
    posting waits for, is then held only for the inserts). Returns how many were new (a row
    seen before writes none). The caller commits."""
    if not planned:
        return 0
    mail = MailPlanner([p.user for p in planned], {p.question_id for p in planned})
    written = 0
    for p in planned:
        written += notify(
            p.user, p.question_id, p.kind, p.key, p.post, p.actor_id, p.detail, mail=mail
        )
    return written


def _plan(row: OutboxEvent) -> list[Planned]:
    question = db.session.get(Question, row.question_id)
    post = post_for(row.post)
    if question is None or post is None:
        return []
    audience = _audience(row, question, post)
    audience.kinds.pop(row.actor_id, None)  # nobody is told of their own action
    if not audience.kinds:
        return []
    muted = set(_watchers(question.id, WatchLevel.MUTED))
    people = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_(audience.kinds)))
        if u.active
    }
    planned = []
    for user_id, kind in audience.kinds.items():
        user = people.get(user_id)
        if user is None or (kind in SILENCED_BY_MUTE and user_id in muted):
            continue
        if kind not in ABOUT_MY_POST and not _can_see(user, question, post):
            continue
        planned.append(
            Planned(
                user,
                question.id,
                kind,
                f"outbox:{row.id}",
                row.post,
                row.actor_id,
                row.detail or "",
            )
        )
    return planned


def _can_see(user: User, question: Question, post) -> bool:
    """Told only of what this person can read now: not of a deleted post, nor (unless a
    moderator) of a hidden one."""
    if question.deleted_at is not None or post.deleted_at is not None:
        return False
    return is_visible_to(user, post)


def notify(
    user: User,
    question_id: int,
    kind: Kind,
    key: str,
    post: str | None = None,
    actor_id: int | None = None,
    detail: str = "",
    mail: MailPlanner | None = None,
) -> int:
    """One notification, unless this cause already produced one for this person. Returns 1
    when written. The caller commits."""
    now = utcnow()
    mail = mail or MailPlanner([user], {question_id})
    state = mail.state(user, question_id, kind, now)
    inserted = db.session.scalar(
        insert_unless_taken(
            Notification,
            {
                "user_id": user.id,
                "question_id": question_id,
                "key": key,
                "kind": kind.value,
                "post": post,
                "actor_id": actor_id,
                "detail": detail[:300],
                "created_at": now,
                "email_state": state.value,
            },
        ).returning(Notification.id)
    )
    if inserted is None:
        return 0
    mail.wrote(user.id, question_id, state)
    return 1


# Mail: now, in the digest, or not -----------------------------------------------------------


def preferences(user_id: int) -> dict[str, Delivery]:
    return _preferences([user_id])[user_id]


def _preferences(user_ids: Iterable[int]) -> dict[int, dict[str, Delivery]]:
    user_ids = set(user_ids)
    chosen: dict[int, dict[str, str]] = {user_id: {} for user_id in user_ids}
    for user_id, topic, delivery in db.session.execute(
        select(MailPreference.user_id, MailPreference.topic, MailPreference.delivery).where(
            MailPreference.user_id.in_(user_ids)
        )
    ):
        chosen[user_id][topic] = delivery
    return {
        user_id: {
            topic: Delivery(picked.get(topic, DEFAULT_DELIVERY[topic].value)) for topic in TOPICS
        }
        for user_id, picked in chosen.items()
    }


def set_preferences(user: User, choices: dict[str, str]) -> None:
    """Store this person's choices (topics not named keep theirs). The caller commits."""
    valid = {d.value for d in Delivery}
    for topic, delivery in choices.items():
        if topic not in TOPICS or delivery not in valid:
            continue
        row = db.session.get(MailPreference, (user.id, topic))
        if row is None:
            db.session.add(MailPreference(user_id=user.id, topic=topic, delivery=delivery))
        else:
            row.delivery = delivery
    db.session.flush()


class MailPlanner:
    """Whether each notification of a batch is mailed now, in the digest or not at all, from
    two queries for the whole batch: the people's preferences, and which of their threads
    had a mail lately (one mail per thread per pause; the rest waits for the digest)."""

    def __init__(self, users: Iterable[User], question_ids: set[int]):
        readers = {u.id for u in users if u.email and u.password_hash is not None}
        self._preferences = _preferences(readers) if readers else {}
        self._recent: set[tuple[int, int]] = set()
        if readers and question_ids:
            pause = timedelta(minutes=current_app.config["MAIL_THREAD_PAUSE_MINUTES"])
            self._recent = set(
                db.session.execute(
                    select(Notification.user_id, Notification.question_id)
                    .where(
                        Notification.user_id.in_(readers),
                        Notification.question_id.in_(question_ids),
                        or_(
                            Notification.email_state == MailState.PENDING.value,
                            Notification.emailed_at >= utcnow() - pause,
                        ),
                    )
                    .distinct()
                ).all()
            )

    def state(self, user: User, question_id: int, kind: Kind, now: datetime) -> MailState:
        if user.id not in self._preferences:  # imported authors cannot read mail here
            return MailState.NONE
        delivery = self._preferences[user.id][TOPIC_OF[kind]]
        if delivery is Delivery.OFF:
            return MailState.NONE
        if delivery is Delivery.DIGEST:
            return MailState.DIGEST
        if kind is Kind.NUDGE:  # once per question, days after the rest: never held back
            return MailState.PENDING
        return MailState.DIGEST if (user.id, question_id) in self._recent else MailState.PENDING

    def wrote(self, user_id: int, question_id: int, state: MailState) -> None:
        if state is MailState.PENDING:
            self._recent.add((user_id, question_id))


# The inbox ----------------------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    )


@dataclass
class ThreadGroup:
    question: Question
    notifications: list[Notification]

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notifications if n.read_at is None)


def inbox(user: User, limit: int = 100) -> list[ThreadGroup]:
    """The latest notifications, grouped by thread, the thread with the newest first."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    ).all()
    groups: dict[int, ThreadGroup] = {}
    for row in rows:
        groups.setdefault(row.question_id, ThreadGroup(row.question, [])).notifications.append(row)
    return list(groups.values())


def get_own(user: User, notification_id: int) -> Notification | None:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        return None
    return notification


def mark_read(user: User, ids: Iterable[int] | None = None, question_id: int | None = None) -> int:
    """Mark this person's notifications read: these, this thread's, or (neither) all.
    Returns how many changed. The caller commits."""
    query = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    if question_id is not None:
        query = query.where(Notification.question_id == question_id)
    return db.session.execute(query.values(read_at=utcnow())).rowcount


def mark_unread(user: User, notification_id: int) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.id == notification_id)
        .values(read_at=None)
    )
