"""Thread embeddings: made by the worker, stored in `thread_embeddings`, and read by each
process into one in-memory matrix for meaning-aware search (`search.semantic`).

Off when `EMBEDDINGS` is off or the model is not installed: search is then BM25 alone.
"""

from __future__ import annotations

import hashlib
import threading
import time

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from search.semantic import MODEL_NAME, Encoder, VectorSet, from_bytes, thread_text, to_bytes

from .extensions import db
from .markup import plain_text
from .models import Product, Question, ThreadEmbedding, utcnow

REFRESH_SECONDS = 1.0  # how often a process looks for vectors the worker wrote since

_encoder = Encoder()
_vectors = VectorSet()
_state = {"seen_until": None, "checked": 0.0, "count": 0}
_refresh_lock = threading.Lock()


def enabled() -> bool:
    return bool(current_app.config.get("EMBEDDINGS"))


def encoder() -> Encoder:
    return _encoder


def _digest(text: str) -> str:
    return hashlib.sha1(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def embed_threads(session: Session, ids: list[int]) -> int:
    """The worker's consumer: a vector for each visible thread whose title or question
    changed, none for a deleted or hidden one. Returns how many were made."""
    if not enabled() or not ids:
        return 0
    rows = session.execute(
        select(
            Question.id, Question.title, Question.body_html, Question.deleted_at, Question.hidden_at
        ).where(Question.id.in_(ids))
    ).all()
    gone = [row.id for row in rows if row.deleted_at is not None or row.hidden_at is not None]
    if gone:
        session.execute(delete(ThreadEmbedding).where(ThreadEmbedding.question_id.in_(gone)))
    stored = dict(
        session.execute(
            select(ThreadEmbedding.question_id, ThreadEmbedding.digest).where(
                ThreadEmbedding.question_id.in_(ids)
            )
        ).all()
    )
    todo = []
    for row in rows:
        if row.id in gone:
            continue
        text = thread_text(row.title, plain_text(row.body_html))
        digest = _digest(text)
        if stored.get(row.id) != digest:
            todo.append((row.id, text, digest))
    if not todo:
        return 0
    vectors = _encoder.encode([text for _id, text, _digest in todo])
    now = utcnow()
    for (thread, _text, digest), vector in zip(todo, vectors, strict=True):
        row = session.get(ThreadEmbedding, thread)
        if row is None:
            row = ThreadEmbedding(question_id=thread)
            session.add(row)
        row.model, row.digest, row.updated_at = MODEL_NAME, digest, now
        row.vector = to_bytes(vector)
    session.flush()
    return len(todo)


def missing_recent(days: int = 2, limit: int = 200) -> list[int]:
    """Visible threads active lately that have no embedding (a worker killed before making
    it): the minute's repair queues them."""
    if not enabled():
        return []
    from datetime import timedelta

    return list(
        db.session.scalars(
            select(Question.id)
            .outerjoin(ThreadEmbedding, ThreadEmbedding.question_id == Question.id)
            .where(
                ThreadEmbedding.question_id.is_(None),
                Question.deleted_at.is_(None),
                Question.hidden_at.is_(None),
                Question.last_activity_at >= utcnow() - timedelta(days=days),
            )
            .limit(limit)
        )
    )


def vectors() -> VectorSet:
    """This process's matrix of thread vectors, brought up to date at most once a second:
    rows written since the last look are added; a smaller count than held means rows were
    removed, and the matrix is read again whole."""
    now = time.monotonic()
    if now - _state["checked"] < REFRESH_SECONDS:
        return _vectors
    with _refresh_lock:
        if now - _state["checked"] < REFRESH_SECONDS:
            return _vectors
        _state["checked"] = now
        newest, count = db.session.execute(
            select(func.max(ThreadEmbedding.updated_at), func.count(ThreadEmbedding.question_id))
        ).one()
        if newest is None:
            _vectors.replace([])
            _state.update(seen_until=None, count=0)
            return _vectors
        whole = _state["seen_until"] is None or count < _state["count"]
        query = (
            select(ThreadEmbedding.question_id, Product.slug, ThreadEmbedding.vector)
            .join(Question, Question.id == ThreadEmbedding.question_id)
            .join(Product, Product.id == Question.product_id)
        )
        if not whole:
            if newest <= _state["seen_until"] and count == _state["count"]:
                return _vectors
            query = query.where(ThreadEmbedding.updated_at >= _state["seen_until"])
        rows = [(i, slug, from_bytes(v)) for i, slug, v in db.session.execute(query)]
        if whole:
            _vectors.replace(rows)
        else:
            _vectors.upsert(rows)
        _state.update(seen_until=newest, count=count)
        if len(_vectors) != count:  # a removal and an addition between two looks
            _state["seen_until"] = None
    return _vectors


def forget() -> None:
    """Drop this process's matrix (tests, and after a rebuild)."""
    with _refresh_lock:
        _vectors.replace([])
        _state.update(seen_until=None, checked=0.0, count=0)
