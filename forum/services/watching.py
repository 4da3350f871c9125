"""Who hears about what: watching or muting a thread, following a product or a tag.

Askers, answerers and commenters watch a thread automatically; anyone may watch or mute one
by hand, and follow a product or tag to hear of new questions there. The caller commits."""

from __future__ import annotations

from sqlalchemy import delete, select

from ..extensions import db, insert_unless_taken
from ..models import Follow, Product, Question, Tag, User, Watch, WatchLevel, utcnow
from .errors import InvalidInput, NotFound


def watch_automatically(user: User, question_id: int, reason: str) -> None:
    """Watch the thread unless this person already chose (a mute stays a mute)."""
    db.session.execute(
        insert_unless_taken(
            Watch,
            {
                "user_id": user.id,
                "question_id": question_id,
                "level": WatchLevel.WATCHING.value,
                "reason": reason,
                "created_at": utcnow(),
            },
        )
    )


def watch_level(user: User | None, question_id: int) -> str | None:
    """ "watching", "muted", or None."""
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        select(Watch.level).where(Watch.user_id == user.id, Watch.question_id == question_id)
    )


def set_watch(user: User, question: Question, level: str | None) -> None:
    """Watch, mute, or neither (level None): this person's choice, replacing any earlier one."""
    if level is not None and level not in {w.value for w in WatchLevel}:
        raise InvalidInput("Choose watch, mute or neither.", field="level")
    db.session.execute(
        delete(Watch).where(Watch.user_id == user.id, Watch.question_id == question.id)
    )
    if level is not None:
        db.session.add(Watch(user_id=user.id, question_id=question.id, level=level))
    db.session.flush()


def watched_threads(user: User, limit: int = 100) -> list[Question]:
    return list(
        db.session.scalars(
            select(Question)
            .join(Watch, Watch.question_id == Question.id)
            .where(
                Watch.user_id == user.id,
                Watch.level == WatchLevel.WATCHING.value,
                Question.deleted_at.is_(None),
                Question.hidden_at.is_(None),
            )
            .order_by(Question.last_activity_at.desc())
            .limit(limit)
        )
    )


def _target(kind: str, target_id: int) -> dict:
    model = {"products": Product, "tags": Tag}.get(kind)
    if model is None or db.session.get(model, target_id) is None:
        raise NotFound("There is nothing to follow there.")
    return {"product_id": target_id} if kind == "products" else {"tag_id": target_id}


def is_following(user: User | None, kind: str, target_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    column = Follow.product_id if kind == "products" else Follow.tag_id
    return (
        db.session.scalar(select(Follow.id).where(Follow.user_id == user.id, column == target_id))
        is not None
    )


def set_following(user: User, kind: str, target_id: int, following: bool) -> None:
    target = _target(kind, target_id)
    if following:
        db.session.execute(
            insert_unless_taken(Follow, {"user_id": user.id, "created_at": utcnow(), **target})
        )
    else:
        column = Follow.product_id if kind == "products" else Follow.tag_id
        db.session.execute(delete(Follow).where(Follow.user_id == user.id, column == target_id))
