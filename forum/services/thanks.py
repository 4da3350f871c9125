"""Thank-you notes: staff thank a customer for an answer; the note shows on the customer's
profile and reaches them as a notification. The staff member who wrote a note (or a
moderator) can withdraw it. Services flush; the caller commits."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Answer, NotificationKind, ThankYou, User
from .errors import InvalidInput, NotFound, PermissionDenied
from .notifications import notify

MESSAGE_LENGTH = (3, 500)


def thank(staff: User, answer: Answer, message: str) -> ThankYou:
    if staff is None or not staff.is_authenticated or not staff.is_staff:
        raise PermissionDenied("Only staff send thank-you notes.")
    if answer is None or answer.deleted_at is not None or answer.hidden_at is not None:
        raise NotFound("That answer does not exist or was deleted.")
    if answer.author_id == staff.id:
        raise InvalidInput("That is your own answer.", field="message")
    message = " ".join((message or "").split())
    low, high = MESSAGE_LENGTH
    if not low <= len(message) <= high:
        raise InvalidInput(f"Write a note of {low} to {high} characters.", field="message")
    note = ThankYou(
        user_id=answer.author_id,
        staff_id=staff.id,
        question_id=answer.question_id,
        answer_id=answer.id,
        message=message,
    )
    db.session.add(note)
    db.session.flush()
    notify(
        db.session.get(User, answer.author_id),
        answer.question_id,
        NotificationKind.THANKS,
        f"thanks:{note.id}",
        post=f"answer:{answer.id}",
        actor_id=staff.id,
        detail=message,
    )
    return note


def withdraw(user: User, note_id: int) -> ThankYou:
    note = db.session.get(ThankYou, note_id)
    if note is None:
        raise NotFound("That note does not exist.")
    if user is None or not (user.id == note.staff_id or user.is_moderator):
        raise PermissionDenied("Only the staff member who wrote it can withdraw a note.")
    db.session.delete(note)
    db.session.flush()
    return note


def notes_for(user_id: int) -> list[ThankYou]:
    return list(
        db.session.scalars(
            select(ThankYou)
            .where(ThankYou.user_id == user_id)
            .order_by(ThankYou.created_at.desc(), ThankYou.id.desc())
        )
    )
