"""The transactional outbox: what a transaction changed, written in that same transaction.

Services call `emit` for what people may be told about (an answer posted, a mark given);
`forum.thread_changes` writes, just before commit, one row per emitted event and one
"changed" row for every other thread the transaction changed, each with the thread's new
revision. A rolled-back transaction writes nothing; a committed one cannot lose its rows.
`forum.worker` consumes them.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .extensions import db
from .models import OutboxEvent, utcnow
from .thread_changes import touch_thread

EVENTS = "outbox_events"


def emit(
    kind: str,
    question_id: int,
    post: str | None = None,
    actor_id: int | None = None,
    detail: str | None = None,
):
    """Record that `kind` happened in thread `question_id` in the current transaction."""
    session = db.session()
    session.info.setdefault(EVENTS, []).append(
        {
            "kind": kind,
            "question_id": question_id,
            "post": post,
            "actor_id": actor_id,
            "detail": detail,
        }
    )
    touch_thread(session, question_id)


def write_rows(session: Session, revisions: dict[int, int]) -> None:
    """Called before commit, with each changed thread's revision just bumped: the rows for
    this transaction."""
    events = session.info.pop(EVENTS, [])
    if not revisions and not events:
        return
    now = utcnow()
    rows = [
        {**event, "revision": revisions.get(event["question_id"], 0)}
        for event in events
        if event["question_id"] in revisions
    ]
    told = {row["question_id"] for row in rows}
    rows += [
        {"kind": "changed", "question_id": i, "post": None, "actor_id": None, "detail": None}
        | {"revision": r}
        for i, r in revisions.items()
        if i not in told
    ]
    if rows:
        session.execute(
            insert(OutboxEvent),
            [{**row, "created_at": now, "available_at": now, "attempts": 0} for row in rows],
        )


def forget(session: Session) -> None:
    session.info.pop(EVENTS, None)
