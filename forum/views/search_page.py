"""The search page and the similar-questions lookup used while asking."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from search import parse_query
from search.documents import SORTS

from ..extensions import db
from ..search_sync import search_threads, similar_threads
from ..services import self_service, threads
from ..services.threads import product_choices, product_slug
from ..templating import slugify
from .helpers import bounded_int

bp = Blueprint("search_page", __name__)


@bp.route("/search")
def results():
    raw = request.args.get("q", "")
    sort = request.args.get("sort", "relevance")
    query = parse_query(
        raw,
        sort=sort if sort in SORTS else "relevance",
        page=bounded_int(request.args.get("page"), 1, high=1000),
        per_page=current_app.config["QUESTIONS_PER_PAGE"],
        autocorrect=not request.args.get("exact"),
    )
    results = search_threads(query) if raw.strip() else None
    products = {p.slug: p.name for p in product_choices()}
    if results is not None and query.page == 1:
        _record_look("search", query.product)
    return render_template(
        "search/results.html", raw=raw, query=query, results=results, products=products
    )


@bp.route("/search/similar")
def similar():
    """JSON: threads like the title being typed (solved and verified ones marked)."""
    title = request.args.get("title", "")[:200]
    if len(title.strip()) < 4:
        return jsonify(results=[])
    product = product_slug(bounded_int(request.args.get("product_id"), 0, low=0))
    hits = similar_threads(parse_query(title).text, product=product, limit=5)
    if hits:
        _record_look("similar", product)
    answers = threads.best_answer_excerpts(
        [hit.id for hit in hits if hit.is_solved or hit.is_verified]
    )
    return jsonify(
        results=[
            {
                "answer": answers.get(hit.id, ""),
                "id": hit.id,
                "title": hit.title,
                "url": url_for("questions.show", question_id=hit.id, slug=slugify(hit.title)),
                "state": hit.state,
                "solved": hit.is_solved,
                "verified": hit.is_verified,
                "answers": hit.answer_count,
            }
            for hit in hits
        ]
    )


def _record_look(kind: str, product_slug_or_none: str | None) -> None:
    """Self-service: this visitor looked for an answer (committed at once: a read page)."""
    product_id = threads.product_id_of(product_slug_or_none) if product_slug_or_none else None
    if self_service.record(kind, product_id):
        db.session.commit()
