"""The search page and the similar-questions lookup used while asking."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from search import parse_query
from search.documents import SORTS

from ..search_sync import get_index
from ..services.threads import all_products
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
    )
    results = get_index().search(query) if raw.strip() else None
    products = {p.slug: p.name for p in all_products()}
    return render_template(
        "search/results.html", raw=raw, query=query, results=results, products=products
    )


@bp.route("/search/similar")
def similar():
    """JSON: threads like the title being typed (solved and verified ones marked)."""
    title = request.args.get("title", "")[:200]
    if len(title.strip()) < 4:
        return jsonify(results=[])
    hits = get_index().suggest(parse_query(title).text, limit=5)
    return jsonify(
        results=[
            {
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
