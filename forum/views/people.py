"""A person's own activity (my questions, my answers, watched threads) and public profiles."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..models import Answer, Question, User
from ..services import badges, reputation, thanks, watching

bp = Blueprint("people", __name__)

TABS = {"questions": "My questions", "answers": "My answers", "watching": "Watching"}
LIMIT = 100


def _questions_of(user_id: int, include_hidden: bool) -> list[Question]:
    query = select(Question).where(Question.author_id == user_id, Question.deleted_at.is_(None))
    if not include_hidden:
        query = query.where(Question.hidden_at.is_(None))
    return list(db.session.scalars(query.order_by(Question.created_at.desc()).limit(LIMIT)))


def _answers_of(user_id: int, include_hidden: bool) -> list[Answer]:
    query = (
        select(Answer)
        .join(Question, Question.id == Answer.question_id)
        .where(
            Answer.author_id == user_id,
            Answer.deleted_at.is_(None),
            Question.deleted_at.is_(None),
        )
    )
    if not include_hidden:
        query = query.where(Answer.hidden_at.is_(None), Question.hidden_at.is_(None))
    # Each answer's thread title comes with it (the join above), not one query per answer.
    query = query.options(contains_eager(Answer.question))
    return list(db.session.scalars(query.order_by(Answer.created_at.desc()).limit(LIMIT)))


@bp.route("/activity")
@login_required
def activity():
    tab = request.args.get("tab", "questions")
    if tab not in TABS:
        tab = "questions"
    # Your own hidden posts stay listed for you, marked, so nothing silently disappears.
    items = {
        "questions": lambda: _questions_of(current_user.id, include_hidden=True),
        "answers": lambda: _answers_of(current_user.id, include_hidden=True),
        "watching": lambda: watching.watched_threads(current_user),
    }[tab]()
    return render_template("people/activity.html", tab=tab, tabs=TABS, items=items)


@bp.route("/users/<id:user_id>")
def profile(user_id: int):
    person = db.session.get(User, user_id)
    if person is None or not person.active:
        abort(404)
    return render_template(
        "people/profile.html",
        person=person,
        questions=_questions_of(person.id, include_hidden=False),
        answers=_answers_of(person.id, include_hidden=False),
        earned=reputation.recent_events(person.id),
        reputation_labels=reputation.LABELS,
        stats=reputation.answer_stats(person.id),
        held=badges.badges_of([person.id]).get(person.id, []),
        notes=thanks.notes_for(person.id),
    )


@bp.route("/answers/<id:answer_id>/thank", methods=["POST"])
@login_required
def thank(answer_id: int):
    """Staff thank a customer for an answer: a note on their profile, and a notification."""
    answer = db.session.get(Answer, answer_id)
    note = thanks.thank(current_user, answer, request.form.get("message", ""))
    db.session.commit()
    flash(f"Thank-you note sent to {db.session.get(User, note.user_id).display_name}.", "success")
    url = url_for("questions.show", question_id=note.question_id)
    return redirect(f"{url}#answer-{answer_id}", code=303)


@bp.route("/thanks/<id:note_id>/withdraw", methods=["POST"])
@login_required
def withdraw_thanks(note_id: int):
    note = thanks.withdraw(current_user, note_id)
    db.session.commit()
    flash("The thank-you note is withdrawn.", "info")
    return redirect(url_for(".profile", user_id=note.user_id), code=303)
