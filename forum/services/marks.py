"""The asker's accepted answer and the staff's verified answer: separate marks, one each."""

from __future__ import annotations

from sqlalchemy import update

from ..extensions import db
from ..models import Answer, Question, User, utcnow
from ..permissions import can_accept, can_verify
from ..thread_changes import touch_thread
from . import events
from .errors import InvalidInput, PermissionDenied

NOTE_LENGTH = 280


def _live_answer(answer: Answer) -> Question:
    if answer.deleted_at is not None or answer.question.deleted_at is not None:
        raise InvalidInput("That answer was deleted.")
    return answer.question


def accept_answer(user: User, answer: Answer) -> Question:
    """The asker (or staff) marks the answer that solved it, replacing any earlier one. Commits."""
    question = _live_answer(answer)
    if not can_accept(user, question):
        raise PermissionDenied("Only the person who asked can accept an answer.")
    question.accepted_answer_id, question.accepted_at = answer.id, utcnow()
    db.session.commit()
    events.answer_accepted.send(answer, user=user)
    return question


def unaccept_answer(user: User, question: Question) -> Question:
    """The asker (or staff) takes the accepted mark back. Commits."""
    if not can_accept(user, question):
        raise PermissionDenied("Only the person who asked can change the accepted answer.")
    previous = question.accepted_answer_id
    question.accepted_answer_id = question.accepted_at = None
    db.session.commit()
    if previous is not None:
        events.answer_unaccepted.send(question, user=user, answer_id=previous)
    return question


def verify_answer(staff: User, answer: Answer, note: str = "") -> Question:
    """Staff stamp an answer as the official one (one per question), with an optional note.

    Commits."""
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
    touch_thread(db.session, question.id)
    db.session.commit()
    db.session.refresh(question)
    events.answer_verified.send(answer, staff=staff)
    return question


def unverify_answer(staff: User, question: Question) -> Question:
    """Staff revoke the verified mark. Commits."""
    if not can_verify(staff):
        raise PermissionDenied("Only staff can revoke a verification.")
    previous = question.verified_answer_id
    question.verified_answer_id = question.verified_by_id = None
    question.verified_at = question.verified_note = None
    db.session.commit()
    if previous is not None:
        events.answer_unverified.send(question, staff=staff, answer_id=previous)
    return question
