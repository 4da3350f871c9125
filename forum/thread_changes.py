"""Which threads a transaction changed: collected as the session flushes; before commit, each
one's invariants are restored (`services.lifecycle`), its revision bumped (pages cache by it)
and an outbox row written for the worker (`forum.outbox`).

A changed product (lists name products and offer them as filters) renews the lists'
generation too, without touching any thread.

Writes made with bulk UPDATE statements are invisible to the flush hook: services that make
them call `touch_thread`.
"""

from __future__ import annotations

from functools import cache

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import bindparam, event, inspect, update
from sqlalchemy.orm import Session

from .models import Answer, Comment, Product, Question

PENDING = "changed_threads"
BUMPED = "bumped_threads"
PRODUCTS_CHANGED = "products_changed"
CHUNK = 500
# Columns no reader sees: changing only these (a post's sentiment score, a view count) is
# not a change to the thread, so it neither re-renders nor re-indexes it.
UNSEEN_COLUMNS = frozenset({"negativity", "negative_reasons", "view_count", "revision"})


def touch_thread(session: Session, question_id: int) -> None:
    """Mark a thread as changed in this transaction."""
    session.info.setdefault(PENDING, set()).add(question_id)


@event.listens_for(FlaskSession, "after_commit")
def _forget_committed(session: Session) -> None:
    session.info.pop(PENDING, None)
    products_changed = session.info.pop(PRODUCTS_CHANGED, False)
    if session.info.pop(BUMPED, None) or products_changed:
        _lists_changed()


def _lists_changed() -> None:
    """Lists cached before this commit are not served again (after the commit, so that a list
    made from the old rows cannot be kept under the new token)."""
    from flask import has_app_context

    if has_app_context():
        from .services.threads import new_list_generation

        new_list_generation()


@event.listens_for(FlaskSession, "after_flush")
def _collect_changed_threads(session: Session, flush_context) -> None:
    for obj in (*session.new, *session.deleted, *filter(_seen_change, session.dirty)):
        if isinstance(obj, Question):
            touch_thread(session, obj.id)
        elif isinstance(obj, Answer | Comment):
            touch_thread(session, obj.question_id)
        elif isinstance(obj, Product):  # lists name products and offer them as filters
            session.info[PRODUCTS_CHANGED] = True


def _seen_change(obj) -> bool:
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in UNSEEN_COLUMNS)


@event.listens_for(FlaskSession, "before_commit")
def _bump_revisions(session: Session) -> None:
    # Flush first so that every change of this transaction has been collected.
    session.flush()
    bumped = session.info.setdefault(BUMPED, set())
    ids = sorted(session.info.get(PENDING, set()) - bumped)
    if ids:
        from .services.lifecycle import settle_threads

        for start in range(0, len(ids), CHUNK):
            settle_threads(session, ids[start : start + CHUNK])
        session.flush()
    revisions: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        revisions.update(
            session.execute(_revisions_bump(), {"ids": ids[start : start + CHUNK]}).all()
        )
    bumped.update(ids)
    from .outbox import write_rows

    write_rows(session, revisions)


@cache
def _revisions_bump():
    """Each thread bound to `ids` at its next revision, returned: built once."""
    return (
        update(Question)
        .where(Question.id.in_(bindparam("ids", expanding=True)))
        .values(revision=Question.revision + 1)
        .returning(Question.id, Question.revision)
        .execution_options(synchronize_session=False)
    )


@event.listens_for(FlaskSession, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(BUMPED, None)
    session.info.pop(PRODUCTS_CHANGED, None)
    session.info.pop("outbox_events", None)
