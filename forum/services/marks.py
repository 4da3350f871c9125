"""The asker's accepted answer and the staff's verified answer: separate marks, one each.

Two marks, two voices: "accepted" is the asker saying it solved their problem, "verified" is
staff saying it is the official answer. Staff do not accept on the asker's behalf (they verify),
so an accepted mark always means the asker. The caller commits."""

from __future__ import annotations

from sqlalchemy import update

from ..extensions import db
from ..models import Answer, Question, User, utcnow
from ..outbox import emit
from ..permissions import can_accept, can_verify
from .errors import InvalidInput, PermissionDenied

NOTE_LENGTH = 280


def _live_answer(answer: Answer) -> Question:
    if answer.deleted_at is not None or answer.question.deleted_at is not None:
        raise InvalidInput("That answer was deleted.")
    if answer.hidden_at is not None or answer.question.hidden_at is not None:
        raise InvalidInput("That answer is hidden pending review.")
    return answer.question


def accept_answer(user: User, answer: Answer) -> Question:
    """The asker marks the answer that solved it, replacing any earlier one."""
    question = _live_answer(answer)
    if not can_accept(user, question):
        raise PermissionDenied("Only the person who asked can accept an answer.")
    question.accepted_answer_id, question.accepted_at = answer.id, utcnow()
    db.session.flush()
    emit("answer_accepted", question.id, f"answer:{answer.id}", user.id)
    return question


def unaccept_answer(user: User, question: Question) -> Question:
    """The asker takes the accepted mark back."""
    if not can_accept(user, question):
        raise PermissionDenied("Only the person who asked can change the accepted answer.")
    previous = question.accepted_answer_id
    question.accepted_answer_id = question.accepted_at = None
    db.session.flush()
    if previous is not None:
        emit("answer_unaccepted", question.id, f"answer:{previous}", user.id)
    return question


def verify_answer(staff: User, answer: Answer, note: str = "") -> Question:
    """Staff stamp an answer as the official one (one per question), with an optional note."""
    question = _live_answer(answer)
    if not can_verify(staff):
        raise PermissionDenied("Only staff can verify answers.")
    note = (note or "").replace("\x00", "").strip()
    if len(note) > NOTE_LENGTH:
        raise InvalidInput(f"Keep the note under {NOTE_LENGTH} characters.", field="note")
    db.session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(
            verified_answer_id=answer.id,
            verified_by_id=staff.id,
            verified_at=utcnow(),
            verified_note=note or None,
        )
    )
    db.session.refresh(question)
    emit("answer_verified", question.id, f"answer:{answer.id}", staff.id)
    return question


def unverify_answer(staff: User, question: Question) -> Question:
    """Staff revoke the verified mark."""
    if not can_verify(staff):
        raise PermissionDenied("Only staff can revoke a verification.")
    previous = question.verified_answer_id
    question.verified_answer_id = question.verified_by_id = None
    question.verified_at = question.verified_note = None
    db.session.flush()
    if previous is not None:
        emit("answer_unverified", question.id, f"answer:{previous}", staff.id)
    return question
