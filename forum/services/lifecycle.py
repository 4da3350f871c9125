"""A thread's invariants, kept by every transaction that changes the thread.

What always holds for a thread, after every committed transaction:

1. `answer_count` is the number of its answers that are neither deleted nor hidden.
2. `comment_count` is the number of its comments that are neither deleted nor hidden and do not
   sit under a deleted or hidden answer.
3. A question's and an answer's `score` is the sum of the votes on it (kept by `cast_vote`).
4. The accepted and the verified mark each point at an answer of the thread that is neither
   deleted nor hidden, or are empty; their who/when columns are set exactly when the mark is.
   A mark whose answer is hidden is suspended (audit entry "mark suspended") and comes back
   when a moderator shows the answer again ("mark restored"); deleting the answer ends it.
5. The list state (unanswered, answered, solved, verified) follows from 1 and 4.
7. `first_answer_at` is when the earliest answer that is neither deleted nor hidden, by someone
   other than the asker, was posted; `first_staff_answer_at` likewise for answers by staff
   (empty when there is none); `first_answer_seconds` and `first_staff_answer_seconds` are the
   same as whole seconds after the question: the service desk's response times.
6. Every open or claimed flag's condition still holds: "unanswered" while no visible answer by
   someone other than the asker; "negative" and "needs staff" while staff have not replied, in
   public or in private, since the flag last had new evidence; no flag stays open on a deleted
   thread. A flag whose condition ended is resolved automatically with an audit entry, and an
   automatically resolved "unanswered" flag re-opens if the condition comes back.

`settle_threads` restores 1, 2, 4, 6 and 7 for the threads a transaction changed, inside that
transaction, just before it commits (`forum.thread_changes` calls it): no service can forget
it. `tests/test_invariants.py` recomputes all of it from the raw rows after random actions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, bindparam, exists, func, literal_column, or_, select, update
from sqlalchemy.orm import Session, aliased

from ..models import (
    Answer,
    AuditEntry,
    Comment,
    Flag,
    FlagKind,
    FlagStatus,
    PrivateMessage,
    Question,
    Role,
    User,
    utcnow,
)

AUTO = "resolved automatically"
STAFF_ROLES = (Role.STAFF.value, Role.MODERATOR.value, Role.ADMIN.value)


def visible(model):
    return and_(model.deleted_at.is_(None), model.hidden_at.is_(None))


def visible_answer_count(question_id):
    return (
        select(func.count(Answer.id))
        .where(Answer.question_id == question_id, visible(Answer))
        .scalar_subquery()
    )


def visible_comment_count(question_id):
    parent = aliased(Answer)
    return (
        select(func.count(Comment.id))
        .outerjoin(parent, parent.id == Comment.answer_id)
        .where(
            Comment.question_id == question_id,
            visible(Comment),
            or_(
                Comment.answer_id.is_(None),
                and_(parent.deleted_at.is_(None), parent.hidden_at.is_(None)),
            ),
        )
        .scalar_subquery()
    )


def first_answer_at(question_id, author_id):
    """When the first visible answer by someone other than the asker was posted."""
    return (
        select(func.min(Answer.created_at))
        .where(Answer.question_id == question_id, visible(Answer), Answer.author_id != author_id)
        .scalar_subquery()
    )


def first_staff_answer_at(question_id):
    """When the first visible answer by staff was posted."""
    return (
        select(func.min(Answer.created_at))
        .join(User, User.id == Answer.author_id)
        .where(Answer.question_id == question_id, visible(Answer), User.role.in_(STAFF_ROLES))
        .scalar_subquery()
    )


def first_answer_values() -> dict:
    """The first-answer columns of invariant 7, as SQL for an UPDATE of questions."""
    from sqlalchemy import Integer, cast

    from ..sql import seconds_between

    def whole_seconds(at):
        return cast(func.round(seconds_between(Question.created_at, at)), Integer)

    first = first_answer_at(Question.id, Question.author_id)
    staff = first_staff_answer_at(Question.id)
    return {
        "first_answer_at": first,
        "first_staff_answer_at": staff,
        "first_answer_seconds": whole_seconds(first),
        "first_staff_answer_seconds": whole_seconds(staff),
    }


def answered_by_others(question: Question):
    """A visible answer by someone other than the asker: what ends "unanswered"."""
    return exists().where(
        Answer.question_id == question.id, visible(Answer), Answer.author_id != question.author_id
    )


def staff_replied_since(question_id: int, since) -> object:
    """Staff answered or commented in public, or wrote privately, after `since`."""
    public = [
        exists()
        .where(
            model.question_id == question_id,
            visible(model),
            model.created_at >= since,
            model.author_id == User.id,
            User.role.in_(STAFF_ROLES),
        )
        .correlate_except(User, model)
        for model in (Answer, Comment)
    ]
    private = (
        exists()
        .where(
            PrivateMessage.question_id == question_id,
            PrivateMessage.created_at >= since,
            PrivateMessage.author_id == User.id,
            User.role.in_(STAFF_ROLES),
        )
        .correlate_except(User, PrivateMessage)
    )
    return or_(*public, private)


# Written out: in RETURNING, SQLAlchemy names columns without their table, and inside this
# subquery a bare "id" would be the flag's own.
_HAS_FLAGS = literal_column(
    f"EXISTS (SELECT 1 FROM {Flag.__tablename__}"
    f" WHERE {Flag.__tablename__}.question_id = {Question.__tablename__}.id)"
)


@cache
def _counts_update():
    """Invariants 1, 2 and 7 for the threads bound to `ids`: one statement, built once (its
    subqueries took longer to build in Python than the database takes to run them). It
    returns what says whether a thread's marks and flags need looking at."""
    return (
        update(Question)
        .where(Question.id.in_(bindparam("ids", expanding=True)))
        .values(
            answer_count=visible_answer_count(Question.id),
            comment_count=visible_comment_count(Question.id),
            **first_answer_values(),
        )
        .returning(
            Question.id,
            Question.accepted_answer_id,
            Question.verified_answer_id,
            _HAS_FLAGS,
        )
        .execution_options(synchronize_session=False)
    )


def settle_threads(session: Session, ids: list[int]) -> None:
    """Restore the invariants of these threads within the current transaction (a few
    statements for any number of threads; one for threads with no mark and no flag, as most
    are when an answer or a comment is posted)."""
    if not ids:
        return
    rows = session.execute(_counts_update(), {"ids": ids}).all()
    ids = [
        thread for thread, accepted, verified, flagged in rows if accepted or verified or flagged
    ]
    if not ids:
        return
    questions = session.scalars(
        select(Question).where(Question.id.in_(ids)).execution_options(populate_existing=True)
    ).all()
    marked = [
        i for q in questions for i in (q.accepted_answer_id, q.verified_answer_id) if i is not None
    ]
    answers = (
        {a.id: a for a in session.scalars(select(Answer).where(Answer.id.in_(marked)))}
        if marked
        else {}
    )
    flags: dict[int, list[Flag]] = {}
    for flag in session.scalars(
        select(Flag).where(Flag.question_id.in_(ids)).order_by(Flag.id.desc())
    ):
        flags.setdefault(flag.question_id, []).append(flag)
    for question in questions:
        _settle_marks(session, question, answers)
        if question.id in flags:
            _settle_flags(session, question, flags[question.id])


def audit(
    session: Session,
    question_id: int,
    actor: User | None,
    action: str,
    flag: Flag | None = None,
    post: str | None = None,
    detail: str = "",
) -> None:
    """Append to the thread's audit log (actor None: done by the system)."""
    session.add(
        AuditEntry(
            question_id=question_id,
            flag_id=flag.id if flag else None,
            actor_id=actor.id if actor else None,
            action=action,
            post=post,
            detail=detail[:2000],
        )
    )


def _settle_marks(session: Session, question: Question, answers: dict[int, Answer]) -> None:
    for mark in ("accepted", "verified"):
        answer_id = getattr(question, f"{mark}_answer_id")
        if answer_id is None:
            continue
        answer = answers.get(answer_id)
        if answer is None or answer.question_id != question.id or answer.deleted_at is not None:
            answer = None  # gone for good: the mark ends
        elif answer.hidden_at is None:
            continue  # a visible answer: the mark holds
        kept = {"mark": mark, "at": _iso(getattr(question, f"{mark}_at"))}
        if mark == "verified":
            kept |= {"by": question.verified_by_id, "note": question.verified_note}
        _clear_mark(question, mark)
        if answer is not None:
            audit(
                session,
                question.id,
                None,
                "mark suspended",
                None,
                f"answer:{answer_id}",
                json.dumps(kept),
            )
        else:
            audit(
                session,
                question.id,
                None,
                "mark cleared",
                None,
                f"answer:{answer_id}",
                f"{mark}: deleted",
            )


def _clear_mark(question: Question, mark: str) -> None:
    if mark == "accepted":
        question.accepted_answer_id = question.accepted_at = None
    else:
        question.verified_answer_id = question.verified_by_id = None
        question.verified_at = question.verified_note = None


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def restore_marks(session: Session, answer: Answer) -> None:
    """An answer is visible again: give back the marks its hiding suspended, where the slot is
    still empty. The caller commits."""
    question = session.get(Question, answer.question_id)
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.question_id == question.id,
            AuditEntry.post == f"answer:{answer.id}",
            AuditEntry.action == "mark suspended",
        )
        .order_by(AuditEntry.id.desc())
        .limit(2)
    ).all()
    for entry in entries:
        kept = json.loads(entry.detail)
        mark = kept["mark"]
        if getattr(question, f"{mark}_answer_id") is not None:
            continue
        at = datetime.fromisoformat(kept["at"]) if kept.get("at") else utcnow()
        if mark == "accepted":
            question.accepted_answer_id, question.accepted_at = answer.id, at
        else:
            question.verified_answer_id, question.verified_at = answer.id, at
            question.verified_by_id, question.verified_note = kept.get("by"), kept.get("note")
        audit(session, question.id, None, "mark restored", None, f"answer:{answer.id}", mark)


def _settle_flags(session: Session, question: Question, flags: list[Flag]) -> None:
    latest_by_kind: dict[str, Flag] = {}
    for flag in flags:
        latest_by_kind.setdefault(flag.kind, flag)
        if not flag.is_active:
            continue
        reason = _condition_ended(session, question, flag)
        if reason:
            _close_automatically(session, question, flag, reason)
    unanswered = latest_by_kind.get(FlagKind.UNANSWERED.value)
    if (
        unanswered is not None
        and unanswered.status == FlagStatus.RESOLVED.value
        and (unanswered.note or "").startswith(AUTO)
        and question.deleted_at is None
        and not session.scalar(select(answered_by_others(question)))
        and _past_service_level(question)
    ):
        now = utcnow()
        unanswered.status, unanswered.closed_at, unanswered.updated_at = "open", None, now
        unanswered.note = None
        session.flush()
        audit(session, question.id, None, "reopened", unanswered, detail="No visible answer again.")


def _past_service_level(question: Question) -> bool:
    from . import site_settings

    hours = site_settings.value("sla_hours")
    return utcnow() - question.created_at >= timedelta(hours=hours)


def _condition_ended(session: Session, question: Question, flag: Flag) -> str | None:
    if question.deleted_at is not None:
        return "the thread was deleted"
    if flag.kind == FlagKind.UNANSWERED.value:
        if session.scalar(select(answered_by_others(question))):
            return "answered"
    elif flag.kind in (FlagKind.NEGATIVE.value, FlagKind.NEEDS_STAFF.value):
        if session.scalar(select(staff_replied_since(question.id, flag.updated_at))):
            return "staff replied"
    return None


def _close_automatically(session: Session, question: Question, flag: Flag, reason: str) -> None:
    now = utcnow()
    flag.status, flag.closed_at, flag.updated_at = FlagStatus.RESOLVED.value, now, now
    flag.note = f"{AUTO}: {reason}"
    audit(session, question.id, None, AUTO, flag, detail=reason)
