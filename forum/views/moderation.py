"""The triage queue and moderators' actions (staff only), and what customers use: reporting a
post and reading their private conversation with staff."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from ..extensions import db, limiter
from ..markup import plain_text
from ..models import Answer, Comment, FlagKind, FlagStatus, Question, User
from ..negativity import scorer
from ..permissions import can_moderate, is_visible_to
from ..services import moderation, posting
from ..services.errors import InvalidInput, PermissionDenied
from ..services.threads import all_products, load_thread
from .helpers import bounded_int, user_or_ip

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
customer_bp = Blueprint("reports", __name__)

POSTS = {"questions": Question, "answers": Answer, "comments": Comment}


@bp.before_request
@login_required
def staff_only():
    if not can_moderate(current_user):
        raise PermissionDenied("Only staff and moderators can see the moderation queue.")


def _flag_page(flag_id: int, anchor: str = ""):
    return redirect(url_for(".flag", flag_id=flag_id) + anchor, code=303)


def _post_or_404(kind: str, post_id: int):
    post = db.session.get(POSTS[kind], post_id)
    if post is None:
        abort(404)
    return post


@bp.route("")
def queue():
    filters = {
        "kind": request.args.get("kind") if request.args.get("kind") in set(FlagKind) else None,
        "status": request.args.get("status", "active"),
        "product": request.args.get("product") or None,
        "assignee_id": bounded_int(request.args.get("assignee"), 0) or None,
    }
    if filters["status"] not in {"active", *FlagStatus}:
        filters["status"] = "active"
    flags = moderation.queue(**filters)
    staff = db.session.scalars(db.select(User).where(User.role != "customer", User.active)).all()
    return render_template(
        "moderation/queue.html",
        flags=flags,
        filters=filters,
        kinds=list(FlagKind),
        statuses=list(FlagStatus),
        staff=staff,
        products=all_products(),
    )


@bp.route("/flags/<id:flag_id>")
def flag(flag_id: int):
    return _render_flag(flag_id)


def _render_flag(flag_id: int, form: str | None = None, error: InvalidInput | None = None):
    """The flag page; after a refused form, with its error beside it, what was typed kept
    and status 400."""
    flag = moderation.get_flag(flag_id)
    thread = load_thread(current_user, flag.question_id)
    staff = db.session.scalars(db.select(User).where(User.role != "customer", User.active)).all()
    page = render_template(
        "moderation/flag.html",
        flag=flag,
        thread=thread,
        question=thread.question,
        audit=moderation.audit_for(flag.question_id),
        staff=staff,
        negative_threshold=scorer().negative_bar,
        failed_form=form,
        form_error=error.message if error else None,
        draft=request.form,
    )
    return page, (400 if error else 200)


@bp.route("/flags/<id:flag_id>/claim", methods=["POST"])
def claim(flag_id: int):
    assignee_id = bounded_int(request.form.get("assignee_id"), 0)
    assignee = db.session.get(User, assignee_id) if assignee_id else None
    moderation.claim_flag(current_user, moderation.get_flag(flag_id), assignee)
    db.session.commit()
    flash("Claimed." if assignee is None else "Assigned.", "success")
    return _flag_page(flag_id)


@bp.route("/flags/<id:flag_id>/<any(resolve, dismiss):outcome>", methods=["POST"])
def close(flag_id: int, outcome: str):
    status = FlagStatus.RESOLVED if outcome == "resolve" else FlagStatus.DISMISSED
    moderation.close_flag(
        current_user, moderation.get_flag(flag_id), status, request.form.get("note", "")
    )
    db.session.commit()
    flash("Resolved." if outcome == "resolve" else "Dismissed as a false positive.", "success")
    return redirect(url_for(".queue"), code=303)


@bp.route("/flags/<id:flag_id>/private", methods=["POST"])
def take_private(flag_id: int):
    flag = moderation.get_flag(flag_id)
    try:
        moderation.take_private(current_user, flag, request.form.get("message", ""))
    except InvalidInput as error:
        return _render_flag(flag_id, "take-private", error)
    db.session.commit()
    flash("Private conversation opened; a public note says the customer was contacted.", "success")
    return _flag_page(flag_id)


@bp.route("/flags/<id:flag_id>/answer", methods=["POST"])
def answer(flag_id: int):
    flag = moderation.get_flag(flag_id)
    try:
        new = posting.post_answer(current_user, flag.question_id, request.form.get("body", ""))
    except InvalidInput as error:
        return _render_flag(flag_id, "staff-answer", error)
    moderation.record(current_user, flag, "answered", f"answer:{new.id}")
    db.session.commit()
    flash("Your answer is posted.", "success")
    return _flag_page(flag_id)


@bp.route(
    "/<any(questions, answers, comments):kind>/<id:post_id>/<any(hide, unhide):action>",
    methods=["POST"],
)
def hide(kind: str, post_id: int, action: str):
    post = _post_or_404(kind, post_id)
    flag = _optional_flag()
    moderation.set_hidden(current_user, post, action == "hide", flag)
    db.session.commit()
    flash("Hidden from customers." if action == "hide" else "Visible again.", "success")
    return _back(flag, moderation.thread_id_of(post))


@bp.route("/questions/<id:question_id>/<any(lock, unlock):action>", methods=["POST"])
def lock(question_id: int, action: str):
    question = _post_or_404("questions", question_id)
    flag = _optional_flag()
    moderation.set_locked(current_user, question, action == "lock", flag)
    db.session.commit()
    flash("Thread locked." if action == "lock" else "Thread unlocked.", "success")
    return _back(flag, question.id)


@bp.route("/questions/<id:question_id>/duplicate", methods=["POST"])
def duplicate(question_id: int):
    question = _post_or_404("questions", question_id)
    flag = _optional_flag()
    try:
        moderation.mark_duplicate(
            current_user, question, bounded_int(request.form.get("original_id"), 0), flag
        )
    except InvalidInput as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("Marked as a duplicate.", "success")
    return _back(flag, question.id)


def _optional_flag():
    flag_id = bounded_int(request.form.get("flag_id"), 0)
    return moderation.get_flag(flag_id) if flag_id else None


def _back(flag, question_id: int):
    if flag is not None:
        return _flag_page(flag.id)
    return redirect(url_for("questions.show", question_id=question_id), code=303)


# Customers ------------------------------------------------------------------------------------


@customer_bp.route(
    "/<any(questions, answers, comments):kind>/<id:post_id>/report", methods=["GET", "POST"]
)
@login_required
@limiter.limit(
    lambda: current_app.config["RATELIMIT_REPORT"],
    key_func=user_or_ip,
    exempt_when=lambda: request.method == "GET",
)
def report(kind: str, post_id: int):
    """The report form (thread pages open it in a dialog; this page is for everyone else),
    and the report sent from either. A refused report comes back here with what was typed."""
    post = _post_or_404(kind, post_id)
    if not is_visible_to(current_user, post):
        abort(404)
    thread = moderation.thread_id_of(post)
    draft = {}
    if request.method == "POST":
        try:
            moderation.report_post(
                current_user, post, request.form.get("reason", ""), request.form.get("text", "")
            )
        except InvalidInput as error:
            draft = {
                "reason": request.form.get("reason", ""),
                "text": request.form.get("text", ""),
                "error": error.message,
            }
        else:
            db.session.commit()
            flash("Thank you: a moderator will look at it.", "success")
            return redirect(url_for("questions.show", question_id=thread), code=303)
    page = render_template(
        "moderation/report.html",
        question=db.session.get(Question, thread),
        what={"questions": "question", "answers": "answer", "comments": "comment"}[kind],
        anchor="question" if kind == "questions" else f"{kind[:-1]}-{post.id}",
        text=plain_text(post.body_html),
        draft=draft,
    )
    return page, 400 if draft else 200


@customer_bp.route("/questions/<id:question_id>/private", methods=["GET", "POST"])
@login_required
def private(question_id: int):
    question = _post_or_404("questions", question_id)
    refused = False
    if request.method == "POST":
        try:
            moderation.reply_private(current_user, question, request.form.get("message", ""))
        except InvalidInput as error:
            flash(error.message, "error")
            refused = True
        else:
            db.session.commit()
            return redirect(url_for(".private", question_id=question.id), code=303)
    messages = moderation.private_messages(current_user, question)
    page = render_template(
        "moderation/private.html",
        question=question,
        messages=messages,
        draft=request.form.get("message", ""),
    )
    return page, (400 if refused else 200)
