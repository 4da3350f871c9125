"""Votes, the accepted answer and the staff-verified answer: form posts, or fetch with JSON."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from ..errors import wants_json
from ..extensions import db, limiter
from ..models import Answer, Question
from ..permissions import is_visible_to
from ..services import marks, votes
from .helpers import user_or_ip

bp = Blueprint("marks", __name__)


def _vote_limit() -> str:
    return current_app.config["RATELIMIT_VOTE"]


def _post_or_404(kind: str, post_id: int) -> Question | Answer:
    """The post, or 404 when it does not exist for this user (deleted, or hidden)."""
    post = db.session.get(Question if kind == "questions" else Answer, post_id)
    if post is None or not is_visible_to(current_user, post):
        abort(404)
    return post


def _back_to(question_id: int, anchor: str):
    return redirect(url_for("questions.show", question_id=question_id) + f"#{anchor}", code=303)


@bp.route("/<any(questions, answers):kind>/<id:post_id>/vote", methods=["POST"])
@login_required
@limiter.limit(_vote_limit, key_func=user_or_ip)
def vote(kind: str, post_id: int):
    post = _post_or_404(kind, post_id)
    result = votes.cast_vote(current_user, post, request.form.get("direction", ""))
    db.session.commit()
    if wants_json():
        return jsonify(score=result.score, my_vote=result.my_vote)
    if isinstance(post, Question):
        return _back_to(post.id, "question")
    return _back_to(post.question_id, f"answer-{post.id}")


@bp.route("/answers/<id:answer_id>/accept", methods=["POST"])
@login_required
def accept(answer_id: int):
    """Accept this answer, or take the mark back if it already carries it."""
    answer = _post_or_404("answers", answer_id)
    question = answer.question
    if question.accepted_answer_id == answer.id:
        marks.unaccept_answer(current_user, question)
        db.session.commit()
        flash("The answer is no longer marked as accepted.", "info")
    else:
        marks.accept_answer(current_user, answer)
        db.session.commit()
        flash("Marked as the answer that solved it.", "success")
    return _back_to(question.id, f"answer-{answer.id}")


@bp.route("/answers/<id:answer_id>/verify", methods=["POST"])
@login_required
def verify(answer_id: int):
    """Staff: verify this answer (with an optional note), or revoke the verification."""
    answer = _post_or_404("answers", answer_id)
    question = answer.question
    if question.verified_answer_id == answer.id:
        marks.unverify_answer(current_user, question)
        db.session.commit()
        flash("Verification revoked.", "info")
    else:
        marks.verify_answer(current_user, answer, request.form.get("note", ""))
        db.session.commit()
        flash("Verified by staff.", "success")
    return _back_to(question.id, f"answer-{answer.id}")
