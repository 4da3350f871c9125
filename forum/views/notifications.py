"""The inbox and bell, watching and following, mail preferences, and the signed one-click
links in mail (accept this answer, I still need help, unsubscribe)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import signed
from ..errors import render_error, wants_json
from ..extensions import csrf, db, limiter
from ..models import MENTION_NAME, Answer, Question, User
from ..permissions import is_visible_to
from ..services import marks, notifications, nudges, watching
from ..services.errors import ServiceError
from ..services.notifications import TOPICS, anchor, describe
from .helpers import user_or_ip

bp = Blueprint("notifications", __name__)


# The inbox ----------------------------------------------------------------------------------


@bp.route("/notifications")
@login_required
def inbox():
    groups = notifications.inbox(current_user)
    return render_template(
        "notifications/inbox.html",
        groups=groups,
        describe=describe,
        unread=notifications.unread_count(current_user.id),
    )


@bp.route("/notifications/count")
@login_required
def count():
    """The bell's number: one indexed COUNT, answered 304 when it has not changed."""
    unread = notifications.unread_count(current_user.id)
    response = make_response(jsonify(unread=unread))
    response.set_etag(f"{current_user.id}-{unread}", weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@bp.route("/notifications/<id:notification_id>")
@login_required
def open(notification_id: int):
    """Mark it read and go to the post it is about."""
    notification = notifications.get_own(current_user, notification_id)
    if notification is None:
        abort(404)
    notifications.mark_read(current_user, ids=[notification.id])
    db.session.commit()
    return redirect(target_of(notification), code=303)


def target_of(notification) -> str:
    if (notification.post or "").startswith("private:"):
        return url_for("reports.private", question_id=notification.question_id)
    return url_for("questions.show", question_id=notification.question_id) + anchor(
        notification.post
    )


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    """Mark all read, or one thread's (question_id), or one (notification_id)."""
    one = request.form.get("notification_id", type=int)
    thread = request.form.get("question_id", type=int)
    changed = notifications.mark_read(current_user, ids=[one] if one else None, question_id=thread)
    db.session.commit()
    if wants_json():
        return jsonify(unread=notifications.unread_count(current_user.id), changed=changed)
    return redirect(url_for(".inbox"), code=303)


@bp.route("/notifications/<id:notification_id>/unread", methods=["POST"])
@login_required
def mark_unread(notification_id: int):
    if notifications.get_own(current_user, notification_id) is None:
        abort(404)
    notifications.mark_unread(current_user, notification_id)
    db.session.commit()
    return redirect(url_for(".inbox"), code=303)


# Watching and following ---------------------------------------------------------------------


WATCH_MESSAGES = {
    "watching": "You are watching this thread: you will hear about staff answers.",
    "muted": "Thread muted: you will not hear about it.",
    None: "You are no longer watching this thread.",
}


@bp.route("/questions/<id:question_id>/watch", methods=["POST"])
@login_required
def watch(question_id: int):
    question = db.session.get(Question, question_id)
    if question is None or not is_visible_to(current_user, question):
        abort(404)
    level = request.form.get("level") or None
    watching.set_watch(current_user, question, level)
    db.session.commit()
    if wants_json():
        return jsonify(level=level)
    flash(WATCH_MESSAGES[level], "success")
    return redirect(url_for("questions.show", question_id=question.id), code=303)


@bp.route("/follow/<any(products, tags):kind>/<id:target_id>", methods=["POST"])
@login_required
def follow(kind: str, target_id: int):
    following = request.form.get("action", "follow") == "follow"
    watching.set_following(current_user, kind, target_id, following)
    db.session.commit()
    if wants_json():
        return jsonify(following=following)
    flash(
        "Following: new questions there will reach your notifications."
        if following
        else "No longer following.",
        "success",
    )
    back = request.form.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("questions.index")
    return redirect(back, code=303)


@bp.route("/mentions")
@login_required
@limiter.limit("120 per minute", key_func=user_or_ip)
def mentions():
    """Names for the editor's @ autocomplete: the thread's people first, then others."""
    prefix = "".join(request.args.get("q", "").split()).lower()[:80]
    if not prefix:
        return jsonify(people=[])
    rows = db.session.scalars(
        select(User)
        .where(MENTION_NAME.startswith(prefix, autoescape=True), User.active.is_(True))
        .order_by(User.display_name)
        .limit(8)
    )
    return jsonify(
        people=[
            {"mention": u.mention_name, "name": u.display_name, "staff": u.is_staff} for u in rows
        ]
    )


# Mail preferences ---------------------------------------------------------------------------


DELIVERY_LABELS = {"instant": "Right away", "digest": "Daily digest", "off": "Off"}


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "POST":
        notifications.set_preferences(
            current_user, {topic: request.form.get(topic, "") for topic in TOPICS}
        )
        db.session.commit()
        flash("Mail preferences saved.", "success")
        return redirect(url_for(".settings"), code=303)
    return render_template(
        "notifications/settings.html",
        topics=TOPICS,
        chosen=notifications.preferences(current_user.id),
        labels=DELIVERY_LABELS,
    )


# Signed links from mail ---------------------------------------------------------------------


def _holder(payload: dict) -> User:
    """The account the link was sent to; refused if someone else is signed in here."""
    if current_user.is_authenticated and current_user.id != payload["u"]:
        raise signed.LinkRefused(
            "This link was sent to another account. Sign out first, or open it from the mail "
            "of the account it was sent to."
        )
    user = db.session.get(User, payload["u"])
    if user is None or not user.active:
        raise signed.LinkRefused("The account this link was sent to is closed.")
    return user


def _confirm(title: str, message: str, button: str, status: int = 200):
    return render_template(
        "notifications/confirm.html", title=title, message=message, button=button
    ), status


def _refused(error: Exception):
    status = 403 if "another account" in str(error) else 400
    return render_error(status, str(error))


def _link_days() -> int:
    return current_app.config["MAIL_LINK_DAYS"]


@bp.route("/mail/accept/<token>", methods=["GET", "POST"])
def accept(token: str):
    """ "Yes, accept this answer" from the nudge: the GET asks, the POST accepts."""
    try:
        payload = signed.read("accept", token, _link_days())
        user = _holder(payload)
        answer = db.session.get(Answer, payload.get("a"))
        if answer is None or not is_visible_to(user, answer) or answer.deleted_at is not None:
            raise signed.LinkRefused("That answer is no longer there.")
    except signed.LinkRefused as error:
        return _refused(error)
    question = answer.question
    if request.method == "GET":
        if question.accepted_answer_id == answer.id:
            return _confirm("Already accepted", "You accepted this answer already.", "")
        return _confirm(
            "Accept this answer?",
            f"Mark {answer.author.display_name}'s answer to “{question.title}” as the one "
            "that solved it.",
            "Yes, accept this answer",
        )
    try:
        marks.accept_answer(user, answer)
    except ServiceError as error:
        return render_error(error.status_code, error.message)
    notifications.mark_read(user, question_id=question.id)
    db.session.commit()
    flash("Thank you! The answer is marked as the one that solved it.", "success")
    return redirect(
        url_for("questions.show", question_id=question.id) + f"#answer-{answer.id}", code=303
    )


@bp.route("/mail/need-help/<token>", methods=["GET", "POST"])
def need_help(token: str):
    try:
        payload = signed.read("need-help", token, _link_days())
        user = _holder(payload)
        question = db.session.get(Question, payload.get("q"))
        if question is None or question.deleted_at is not None:
            raise signed.LinkRefused("That question is no longer there.")
    except signed.LinkRefused as error:
        return _refused(error)
    if request.method == "GET":
        return _confirm(
            "Still need help?",
            f"We will ask our support staff to look at “{question.title}”.",
            "Yes, ask staff for help",
        )
    try:
        asked = nudges.still_need_help(user, question)
    except ServiceError as error:
        return render_error(error.status_code, error.message)
    notifications.mark_read(user, question_id=question.id)
    db.session.commit()
    flash(
        "Our support staff will look at your question."
        if asked
        else "You asked already: our staff have your question.",
        "success",
    )
    return redirect(url_for("questions.show", question_id=question.id), code=303)


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail programs POST "List-Unsubscribe=One-Click" with no session
def unsubscribe(token: str):
    try:
        payload = signed.read("unsubscribe", token)  # no expiry: old mail must still work
        user = db.session.get(User, payload["u"])
        topic = payload.get("t")
        if user is None or (topic not in TOPICS and topic != "all"):
            raise signed.LinkRefused("This link is not valid.")
    except signed.LinkRefused as error:
        return _refused(error)
    what = "any mail from us" if topic == "all" else TOPICS[topic][0].lower()
    if request.method == "GET":
        return _confirm("Unsubscribe?", f"Stop mail about {what}.", "Unsubscribe")
    topics = TOPICS if topic == "all" else [topic]
    notifications.set_preferences(user, dict.fromkeys(topics, "off"))
    db.session.commit()
    return render_template("notifications/unsubscribed.html", what=what)
