"""Keeps the search index in step with the database, through the worker: it hands the threads
of each outbox batch to `sync_threads`, which indexes what the database holds now, with its
revision (the index never replaces a newer copy with an older one)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from search import Hit, SearchIndex, SearchQuery, SearchResults, ThreadDocument
from search.hybrid import HybridSearch
from search.postgres import PostgresSearchIndex

from .extensions import db
from .markup import plain_text
from .models import Answer, Comment, OutboxEvent, Question

log = logging.getLogger(__name__)
CHUNK = 500
_opening = threading.Lock()  # threads of one process open one handle
MAX_REVISION = 2**32 - 1  # for a thread no longer in the database: gone at any revision


def get_index(app: Flask | None = None) -> SearchIndex | PostgresSearchIndex:
    """This process's index handle (one per app: Whoosh's keeps a searcher open between
    requests; PostgreSQL's searches in the forum's database, shared by every host)."""
    app = app or current_app
    handle = app.extensions.get("search_index")
    if handle is None:
        with _opening:
            handle = app.extensions.get("search_index")
            if handle is None:
                if app.config.get("SEARCH_BACKEND") == "postgres":
                    with app.app_context():
                        handle = PostgresSearchIndex(db.engine)
                else:
                    handle = SearchIndex(app.config["SEARCH_INDEX_DIR"])
                app.extensions["search_index"] = handle
    return handle


def close_index(app: Flask) -> None:
    """Close this app's open searcher (its segment files stay open between requests)."""
    handle = app.extensions.pop("search_index", None)
    if handle is not None:
        handle.close()
    from . import embeddings

    embeddings.forget()


def _searcher() -> SearchIndex | HybridSearch:
    """Words and meaning when embeddings are on; the BM25 index alone otherwise."""
    from . import embeddings

    if not embeddings.enabled():
        return get_index()
    return HybridSearch(get_index(), embeddings.encoder().encode_one, embeddings.vectors)


def search_threads(request: SearchQuery) -> SearchResults:
    return _searcher().search(request)


def similar_threads(title: str, product: str | None = None, limit: int = 5) -> list[Hit]:
    return _searcher().suggest(title, product=product, limit=limit)


def sync_threads(session: Session, ids: list[int]) -> int:
    """Index these threads as the database has them now; drop the ones no longer visible.
    Returns how many documents were written."""
    documents, removed = thread_documents(session, sorted(set(ids)))
    return get_index().sync(documents, removed)


def _visible(posts: Iterable[Answer | Comment]) -> list:
    return [p for p in posts if p.deleted_at is None]


def thread_documents(
    session: Session, ids: list[int]
) -> tuple[list[ThreadDocument], dict[int, int]]:
    """Documents for the visible threads among `ids`, and the others with the revision at
    which they are gone from the index (deleted, hidden, or no longer in the database)."""
    documents: list[ThreadDocument] = []
    for start in range(0, len(ids), CHUNK):
        documents.extend(_documents_for(session, ids[start : start + CHUNK]))
    found = {d.id for d in documents}
    gone = [i for i in ids if i not in found]
    revisions = (
        dict(
            session.execute(
                select(Question.id, Question.revision).where(Question.id.in_(gone))
            ).all()
        )
        if gone
        else {}
    )
    return documents, {i: revisions.get(i, MAX_REVISION) for i in gone}


def _documents_for(session: Session, ids: list[int]) -> list[ThreadDocument]:
    questions = session.scalars(
        select(Question)
        .where(Question.id.in_(ids), Question.deleted_at.is_(None), Question.hidden_at.is_(None))
        .options(selectinload(Question.product), selectinload(Question.tags))
        # What the database holds now, not what the session loaded earlier: another
        # connection may have changed the thread since.
        .execution_options(populate_existing=True)
    ).all()
    if not questions:
        return []
    thread_ids = [q.id for q in questions]
    answers: dict[int, list[Answer]] = {}
    for answer in session.scalars(
        select(Answer)
        .where(
            Answer.question_id.in_(thread_ids),
            Answer.deleted_at.is_(None),
            Answer.hidden_at.is_(None),
        )
        .order_by(Answer.score.desc(), Answer.id)
        .execution_options(populate_existing=True)
    ):
        answers.setdefault(answer.question_id, []).append(answer)
    comments: dict[int, list[str]] = {}
    for question_id, body in session.execute(
        select(Comment.question_id, Comment.body_html)
        .where(
            Comment.question_id.in_(thread_ids),
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
        )
        .order_by(Comment.id)
    ):
        comments.setdefault(question_id, []).append(plain_text(body))
    return [_document(q, answers.get(q.id, []), comments.get(q.id, [])) for q in questions]


def _document(question: Question, answers: list[Answer], comments: list[str]) -> ThreadDocument:
    marked = {question.verified_answer_id, question.accepted_answer_id}
    answers = sorted(answers, key=lambda a: a.id not in marked)
    return ThreadDocument(
        id=question.id,
        title=question.title,
        question=plain_text(question.body_html),
        answers=[plain_text(a.body_html) for a in answers],
        comments=comments,
        product=question.product.slug,
        tags=[t.name for t in question.tags],
        state=question.state,
        is_solved=question.is_solved,
        is_verified=question.is_verified,
        score=question.score,
        answer_count=question.answer_count,
        created_at=question.created_at,
        last_activity_at=question.last_activity_at,
        revision=question.revision,
    )


def all_thread_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Question.id).where(Question.deleted_at.is_(None), Question.hidden_at.is_(None))
        )
    )


def iter_all_documents(session: Session, ids: list[int]) -> Iterator[ThreadDocument]:
    for start in range(0, len(ids), CHUNK):
        yield from _documents_for(session, ids[start : start + CHUNK])


def reindex_all(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the index from the database. Returns the number of threads indexed."""
    ids = all_thread_ids(db.session)
    return get_index().rebuild(iter_all_documents(db.session, ids), progress=progress)


def check_drift(repair: bool = True) -> dict[str, list[int]]:
    """Compare database and index by revision: threads missing from the index, stale in it
    (an older revision) and orphaned (indexed but deleted, hidden or gone). A difference the
    outbox explains (a change the worker has not consumed yet) is `pending`, not drift: the
    worker will index it, so it is reported but never repaired here. Repairs the rest
    through the worker's own consumer unless told not to."""
    in_db = dict(
        db.session.execute(
            select(Question.id, Question.revision).where(
                Question.deleted_at.is_(None), Question.hidden_at.is_(None)
            )
        ).all()
    )
    in_index = get_index().stored_revisions()
    queued = set(
        db.session.scalars(
            select(OutboxEvent.question_id).where(OutboxEvent.processed_at.is_(None)).distinct()
        )
    )
    differ = {
        "missing": set(in_db) - set(in_index),
        "orphaned": set(in_index) - set(in_db),
        "stale": {i for i in set(in_db) & set(in_index) if in_index[i] < in_db[i]},
    }
    report = {kind: sorted(ids - queued) for kind, ids in differ.items()}
    report["pending"] = sorted(set().union(*differ.values()) & queued)
    if repair and any(report[kind] for kind in differ):
        sync_threads(db.session, report["missing"] + report["stale"] + report["orphaned"])
    return report
