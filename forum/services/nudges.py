"""The asker loop: "Did this solve it?" once per question, and "I still need help".

NUDGE_DAYS after the first answer from someone else, with no answer accepted, the asker gets
one notification (and mail, as they prefer) offering one-click "Yes, accept this answer"
links and a "still need help" link that puts the thread in front of staff. The `nudges` row,
inserted once, is what makes it once. The caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from moderation.rules import FlagDecision

from ..extensions import db, insert_unless_taken
from ..models import FlagKind, NotificationKind, Nudge, Question, User, utcnow
from .errors import InvalidInput, PermissionDenied
from .lifecycle import audit
from .notifications import notify

# Threads whose first answer is older than the nudge by more than this are left alone (an
# import, or the first run of a new setting, must not nudge years of old threads).
LOOK_BACK = timedelta(days=14)


def due(now: datetime) -> list[Question]:
    """Threads whose first answer by someone other than the asker (`first_answer_at`,
    invariant 7) is NUDGE_DAYS old, unaccepted, and whose asker has not been nudged."""
    wait = timedelta(days=current_app.config["NUDGE_DAYS"])
    return list(
        db.session.scalars(
            select(Question)
            .join(User, User.id == Question.author_id)
            .outerjoin(Nudge, Nudge.question_id == Question.id)
            .where(
                Question.first_answer_at <= now - wait,
                Question.first_answer_at > now - wait - LOOK_BACK,
                Nudge.question_id.is_(None),
                Question.accepted_answer_id.is_(None),
                Question.deleted_at.is_(None),
                Question.hidden_at.is_(None),
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(Question.id)
            .limit(500)
        )
    )


def scan(now: datetime | None = None) -> int:
    """Nudge every asker who is due. Returns how many were nudged."""
    now = now or utcnow()
    nudged = 0
    for question in due(now):
        inserted = db.session.scalar(
            insert_unless_taken(
                Nudge, {"question_id": question.id, "user_id": question.author_id, "sent_at": now}
            ).returning(Nudge.question_id)
        )
        if inserted is None:
            continue  # another worker got there first
        nudged += notify(
            question.author,
            question.id,
            NotificationKind.NUDGE,
            key=f"nudge:{question.id}",
            post=f"question:{question.id}",
        )
    return nudged


def still_need_help(user: User, question: Question) -> bool:
    """The asker says the answers did not solve it: the thread goes to staff (a needs-staff
    flag, audited). Returns False when it was already asked for."""
    from .moderation import raise_flag

    if user.id != question.author_id:
        raise PermissionDenied("Only the person who asked can ask for more help here.")
    if question.deleted_at is not None:
        raise InvalidInput("That question was deleted.")
    nudge = db.session.get(Nudge, question.id)
    if nudge is not None and nudge.escalated_at is not None:
        return False
    if nudge is None:
        nudge = Nudge(question_id=question.id, user_id=user.id, sent_at=utcnow())
        db.session.add(nudge)
    nudge.escalated_at = utcnow()
    flag = raise_flag(
        question,
        FlagDecision(
            FlagKind.NEEDS_STAFF.value, ("The asker says the answers did not solve it.",), 0.7
        ),
    )
    audit(db.session, question.id, user, "asked for staff", flag, f"question:{question.id}")
    db.session.flush()
    return True
