"""Question lists, the ask page, thread pages, and answering, commenting, editing, deleting."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .. import post_blocks
from ..extensions import cache, db, limiter
from ..forms import AnswerForm, CommentForm, EditQuestionForm, QuestionForm
from ..local_memory import THREAD_PAGES, kept
from ..markup import render_markdown
from ..models import Answer, Comment, Question
from ..page_pieces import Holes, VoteHoles, fill, reader_values
from ..post_blocks import PostBlocks, rendered_anew
from ..services import badges, posting, reputation, self_service, threads, watching
from ..services.errors import InvalidInput
from ..services.history import versions_of
from ..services.posting_keys import new_key as new_posting_key
from ..services.votes import votes_by
from ..templating import TIME_HOLE, UNREAD_KEY, clock, slugify
from .helpers import (
    already_posted,
    attach_error,
    bounded_int,
    commit_posting,
    reshows_form_on_expiry,
    user_or_ip,
)

bp = Blueprint("questions", __name__)
NOT_READ = object()  # a value the request has not read yet


def _post_limit() -> str:
    return current_app.config["RATELIMIT_POST"]


def _comment_limit() -> str:
    return current_app.config["RATELIMIT_COMMENT"]


def _int_arg(name: str, default: int = 1) -> int:
    return bounded_int(request.args.get(name), default)


@bp.route("/")
def index():
    filters = threads.ListFilters(
        sort=request.args.get("sort", "active"),
        state=request.args.get("state") or None,
        product=request.args.get("product") or None,
        tag=request.args.get("tag") or None,
        page=_int_arg("page"),
    )
    rows, total, products = _question_rows(filters)
    return render_template(
        "questions/index.html",
        rows=rows,
        total=total,
        filters=filters,
        products=products,
        follow=_follow_target(filters, products),
        contributors=_top_contributors(filters.product, products),
    )


def _question_rows(filters: threads.ListFilters) -> tuple[Markup, int, list]:
    """One page of a list as every reader of its audience sees it, how many questions the
    list has, and the products to filter by: kept until any thread or product changes
    (`threads.list_generation`), or for at most LIST_CACHE_SECONDS (a renamed author). The
    generation, the page and the products come from the cache in one round trip."""
    audience = threads.list_audience(current_user)
    parts = (audience, filters.sort, filters.state, filters.product, filters.tag, filters.page)
    key = f"list-rows:{hashlib.sha1(repr(parts).encode()).hexdigest()}"
    generation, found, products = cache.get_many(
        threads.LIST_GENERATION, key, threads.PRODUCT_CHOICES
    )
    generation = generation or "0"
    products = threads.product_choices(generation, products)
    if found is None or found[0] != generation:
        page = threads.list_questions(
            current_user, filters, current_app.config["QUESTIONS_PER_PAGE"]
        )
        html = render_template("questions/_list_rows.html", page=page, filters=filters)
        found = (generation, html, page.total)
        if seconds := current_app.config["LIST_CACHE_SECONDS"]:
            cache.set(key, found, timeout=seconds)
    return Markup(found[1]), found[2], products


def _top_contributors(slug: str | None, products) -> dict | None:
    """On a product's page: who helped most there this week, month or ever."""
    product = next((p for p in products if p.slug == slug), None)
    if product is None:
        return None
    period = request.args.get("period", "month")
    period = period if period in (*reputation.PERIODS, "all") else "month"
    return {
        "period": period,
        "periods": [(key, label) for key, (label, _) in reputation.PERIODS.items()]
        + [("all", "All time")],
        "people": reputation.top_contributors(product.id, period),
    }


def _follow_target(filters, products) -> dict | None:
    """The product or tag this list is narrowed to, for its Follow button (signed in only)."""
    if not current_user.is_authenticated or not (filters.product or filters.tag):
        return None
    if filters.tag:
        tag = threads.find_tag(filters.tag)
        target = ("tags", tag.id, f"“{tag.name}”") if tag else None
    else:
        product = next((p for p in products if p.slug == filters.product), None)
        target = ("products", product.id, product.name) if product else None
    if target is None:
        return None
    kind, target_id, name = target
    return {
        "kind": kind,
        "id": target_id,
        "name": name,
        "following": watching.is_following(current_user, kind, target_id),
    }


def _question_form() -> QuestionForm:
    form = QuestionForm()
    form.product_id.choices = [(0, "Choose a product…")] + [
        (p.id, p.name) for p in threads.product_choices()
    ]
    return form


def _every_complaint(form, product_needed: bool) -> None:
    """A form that failed its own checks also shows the service's (product, tags) at once,
    so one submit tells everything that is wrong."""
    try:
        posting.check_question(
            form.title.data,
            form.body.data,
            form.tags.data,
            form.product_id.data if product_needed else None,
            product_needed=product_needed,
        )
    except InvalidInput as error:
        attach_error(form, error)


@bp.route("/ask", methods=["GET", "POST"])
@reshows_form_on_expiry
@login_required
@limiter.limit(_post_limit, key_func=user_or_ip, methods=["POST"])
def ask():
    form = _question_form()
    if request.method == "GET" and request.args.get("product"):
        form.product_id.data = _int_arg("product", 0)
    if form.validate_on_submit():
        if sent := already_posted():
            return sent
        try:
            question = posting.ask_question(
                current_user, form.product_id.data, form.title.data, form.body.data, form.tags.data
            )
        except InvalidInput as error:
            attach_error(form, error)
        else:
            self_service.record(self_service.ASKED, question.product_id)
            location = url_for(".show", question_id=question.id, slug=slugify(question.title))
            if first := commit_posting(location):
                return first
            flash("Your question is posted.", "success")
            return redirect(location)
    elif form.is_submitted():
        _every_complaint(form, product_needed=True)
    status = 400 if form.errors or form.form_errors else 200
    return render_template("questions/ask.html", form=form), status


@bp.route("/questions/<id:question_id>")
@bp.route("/questions/<id:question_id>/<slug>")
def show(question_id: int, slug: str | None = None):
    if current_user.is_authenticated:
        return _render_for_reader(question_id)
    question = threads.thread_header(None, question_id)
    thread = fill(_shared_rendering(question, "anonymous"), _hole_values(generate_csrf()))
    return _thread_page(thread, question=question)


def _render_for_reader(question_id: int):
    """A signed-in customer's page from the rendering shared by readers like them (see
    `threads.reader_class`), with their own votes, CSRF token and posting keys filled in;
    made for them alone when they have controls of their own in the thread. What is theirs
    (whether they wrote in the thread, their watch, whether they voted, the header's unread
    count) comes with the thread's header in one statement."""
    header = threads.thread_header(current_user, question_id)
    request.environ[UNREAD_KEY] = header.unread  # for the header's bell (see `forum.bell`)
    audience = threads.reader_class(current_user, header)
    if audience is None:
        return render_thread(question_id, watch_level=header.watch_level)
    pieces = _shared_rendering(header, audience, current_user._get_current_object())
    votes = votes_by(current_user, header.id) if header.has_votes else {}
    thread = fill(pieces, _hole_values(generate_csrf(), votes, current_user.reputation))
    return _thread_page(thread, question=header, watch_level=header.watch_level)


# Where the thread goes in the layout of its page: never shown (it is replaced).
_THREAD_SLOT = f"thread-slot-{secrets.token_hex(16)}"


def _thread_page(thread: bytes, **context):
    """The page: the layout rendered around a slot, and the thread (UTF-8, as filled in)
    put in it, so its tens of kilobytes are never decoded and encoded again."""
    layout = render_template(
        "questions/show.html", thread_html=Markup(_THREAD_SLOT), **context
    ).encode()
    before, after = layout.split(_THREAD_SLOT.encode())
    return current_app.response_class(b"".join((before, thread, after)), mimetype="text/html")


def _hole_values(
    token: str, votes: dict | None = None, reputation: int | None = None
) -> Callable[[bytes], bytes]:
    """This reader's values for the holes of a shared rendering (`votes`: signed in)."""
    return reader_values(clock().timestamp(), token, votes, new_posting_key, reputation)


def _shared_rendering(question, audience: str, reader=None) -> list[bytes]:
    """The thread as every reader of this audience sees it, rendered once per revision of
    the thread and kept as pieces around the holes where each reader's own values go. Most
    readers come from search, and the page then costs a few small queries. When it is made
    anew, the posts that did not change come from their blocks (`post_blocks`)."""
    key = f"thread-page-2:{question.id}:{question.revision}:{audience}"  # 2: UTF-8 pieces
    seconds = current_app.config["THREAD_CACHE_SECONDS"]
    pieces = _kept_page(key, seconds) if seconds else None
    if pieces is None:
        rows = threads.read_thread_rows(reader, question.id)
        top_badges = badges.thread_top_badges(question.id)
        private = threads.private_visible(reader, question)
        holes = Holes()
        blocks = PostBlocks.fetch(post_blocks.keys_for(rows, audience, top_badges, private), holes)
        pieces = blocks.page()  # every block kept: the page is their join, no template runs
        if pieces is None:
            thread = threads.thread_from_rows(reader, rows, votes=False)
            if reader is not None:
                thread.my_votes = VoteHoles(holes)
            render_template(
                "questions/_thread.html",
                **_thread_context(thread, top_badges=top_badges) | {"block": blocks},
                csrf_token=lambda: holes("csrf"),
                posting_key=lambda: holes("posting-key"),
                reader_reputation=lambda: holes("reputation"),
                **{TIME_HOLE: holes},
            )
            blocks.save()
            pieces = blocks.page()
            if pieces is None:
                raise RuntimeError("a block of the thread page was never rendered")
        if seconds:
            made = time.time()
            cache.set(key, (made, pieces), timeout=seconds)
            kept(THREAD_PAGES).put_many({key: pieces}, until=made + seconds)
    return pieces


def _kept_page(key: str, seconds: int) -> list[bytes] | None:
    """A rendering kept by this process, else by the shared cache (then kept here too, for
    no longer than the shared cache keeps it: what the revision does not name, such as an
    author's reputation, is then no staler than there)."""
    local = kept(THREAD_PAGES)
    pieces = local.get(key)
    if pieces is None:
        value = cache.get(key)
        if type(value) is tuple:  # (when it was made, its pieces)
            made, pieces = value
            local.put_many({key: pieces}, until=made + seconds)
    return pieces


def _empty_answer_form() -> AnswerForm:
    return AnswerForm(formdata=None)


def _thread_context(
    thread, answer_form=None, comment_form=None, comment_target=None, top_badges=None
) -> dict:
    if top_badges is None:  # one query: each author's most telling badge
        top_badges = badges.thread_top_badges(thread.question.id)
    return dict(
        thread=thread,
        question=thread.question,
        block=rendered_anew,
        top_badges=top_badges,
        answer_form=answer_form,  # None: `new_answer_form`, only when the form is rendered
        new_answer_form=_empty_answer_form,
        comment_form=comment_form,
        comment_target=comment_target,
    )


def render_thread(
    question_id: int,
    answer_form=None,
    comment_form=None,
    comment_target=None,
    watch_level: str | None | object = NOT_READ,
):
    """The thread for the signed-in reader; after a refused form, with its errors and text
    and status 400. `watch_level`: the reader's, when already read."""
    thread = threads.read_thread(current_user, question_id)
    failed = (answer_form and answer_form.errors) or (comment_form and comment_form.errors)
    return (
        render_template(
            "questions/show.html",
            **_thread_context(thread, answer_form, comment_form, comment_target),
            watch_level=(
                watching.watch_level(current_user, question_id)
                if watch_level is NOT_READ
                else watch_level
            ),
        ),
        400 if failed else 200,
    )


@bp.route("/questions/<id:question_id>/answers", methods=["POST"])
@reshows_form_on_expiry
@login_required
@limiter.limit(_post_limit, key_func=user_or_ip)
def answer(question_id: int):
    form = AnswerForm()
    if form.validate_on_submit():
        if sent := already_posted():
            return sent
        try:
            new = posting.post_answer(current_user, question_id, form.body.data)
        except InvalidInput as error:
            attach_error(form, error)
        else:
            location = url_for(".show", question_id=question_id) + f"#answer-{new.id}"
            if first := commit_posting(location):
                return first
            flash("Your answer is posted.", "success")
            return redirect(location)
    return render_thread(question_id, answer_form=form)


@bp.route("/questions/<id:question_id>/comments", methods=["POST"])
@reshows_form_on_expiry
@login_required
@limiter.limit(_comment_limit, key_func=user_or_ip)
def comment(question_id: int):
    form = CommentForm()
    answer_id = bounded_int(request.form.get("answer_id"), default=0) or None
    if form.validate_on_submit():
        if sent := already_posted():
            return sent
        try:
            new = posting.post_comment(current_user, question_id, form.body.data, answer_id)
        except InvalidInput as error:
            attach_error(form, error)
        else:
            location = url_for(".show", question_id=question_id) + f"#comment-{new.id}"
            if first := commit_posting(location):
                return first
            return redirect(location)
    target = f"answer-{answer_id}" if answer_id else "question"
    return render_thread(question_id, comment_form=form, comment_target=target)


def _get_or_404(model, post_id: int):
    post = db.session.get(model, post_id)
    if post is None:
        abort(404)
    return post


@bp.route("/questions/<id:question_id>/edit", methods=["GET", "POST"])
@reshows_form_on_expiry
@login_required
def edit_question(question_id: int):
    question = _get_or_404(Question, question_id)
    form = EditQuestionForm(
        obj=None,
        data={
            "title": question.title,
            "body": question.body_source,
            "tags": " ".join(t.name for t in question.tags),
        },
    )
    if form.validate_on_submit():
        try:
            posting.edit_question(
                current_user, question, form.title.data, form.body.data, form.tags.data
            )
        except InvalidInput as error:
            attach_error(form, error)
        else:
            db.session.commit()
            flash("Your edit is saved; the earlier version is kept.", "success")
            return redirect(url_for(".show", question_id=question.id, slug=slugify(question.title)))
    elif form.is_submitted():
        _every_complaint(form, product_needed=False)
    else:
        posting.require_can_edit(current_user, question)
    status = 400 if form.errors or form.form_errors else 200
    return render_template("questions/edit.html", form=form, post=question, kind="question"), status


def _edit_body(model, post_id: int, form_class, save):
    post = _get_or_404(model, post_id)
    form = form_class(data={"body": post.body_source})
    if form.validate_on_submit():
        try:
            save(current_user, post, form.body.data)
        except InvalidInput as error:
            attach_error(form, error)
        else:
            db.session.commit()
            flash("Your edit is saved; the earlier version is kept.", "success")
            return redirect(url_for(".show", question_id=post.question_id))
    elif request.method == "GET":
        posting.require_can_edit(current_user, post)
    kind = "answer" if model is Answer else "comment"
    status = 400 if form.errors or form.form_errors else 200
    return render_template("questions/edit.html", form=form, post=post, kind=kind), status


@bp.route("/answers/<id:answer_id>/edit", methods=["GET", "POST"])
@reshows_form_on_expiry
@login_required
def edit_answer(answer_id: int):
    return _edit_body(Answer, answer_id, AnswerForm, posting.edit_answer)


@bp.route("/comments/<id:comment_id>/edit", methods=["GET", "POST"])
@reshows_form_on_expiry
@login_required
def edit_comment(comment_id: int):
    return _edit_body(Comment, comment_id, CommentForm, posting.edit_comment)


_DELETABLE = {"questions": Question, "answers": Answer, "comments": Comment}


@bp.route("/<any(questions, answers, comments):kind>/<id:post_id>/delete", methods=["POST"])
@login_required
def delete(kind: str, post_id: int):
    post = _get_or_404(_DELETABLE[kind], post_id)
    posting.delete_post(current_user, post)
    db.session.commit()
    flash("Deleted. Staff can still see it.", "info")
    if isinstance(post, Question):
        return redirect(url_for(".index"))
    return redirect(url_for(".show", question_id=post.question_id))


@bp.route("/history/<any(questions, answers, comments):kind>/<id:post_id>")
def history(kind: str, post_id: int):
    """Every version of a post with who and when, and a word diff between them."""
    post = db.session.get(_DELETABLE[kind], post_id)
    versions = versions_of(current_user, post)
    thread = post.id if isinstance(post, Question) else post.question_id
    anchor = {"questions": "question", "answers": f"answer-{post.id}"}.get(
        kind, f"comment-{post.id}"
    )
    return render_template(
        "questions/history.html",
        versions=versions,
        kind=kind[:-1],
        back=url_for(".show", question_id=thread) + f"#{anchor}",
    )


@bp.route("/preview", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_PREVIEW"], key_func=user_or_ip)
def preview():
    """Live preview for the editors: the same renderer that saves posts."""
    source = request.form.get("body", "")
    if len(source) > posting.BODY_LENGTH[1]:
        raise InvalidInput("The text is too long to preview.", field="body")
    return jsonify(html=render_markdown(source))
