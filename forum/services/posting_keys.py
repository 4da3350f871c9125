"""One-time keys that make posting idempotent: every form that posts carries a fresh key; the
transaction that makes the post stores the key with where the post is, so the same form sent
again (the browser's retry after a lost response, a double click, a second tab) is sent to
the first result instead of posting twice. Callers commit."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from ..extensions import db
from ..models import PostingKey, User, utcnow

KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEEP = timedelta(days=2)


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _valid(key: str | None) -> bool:
    return bool(key and KEY.match(key))


def earlier(user: User, key: str | None) -> str | None:
    """Where this person's post made with this key is, if the key was used."""
    if not _valid(key):
        return None
    return db.session.scalar(
        select(PostingKey.location).where(PostingKey.key == key, PostingKey.user_id == user.id)
    )


def remember(user: User, key: str | None, location: str) -> None:
    """Store the key with the post's address, in the transaction that makes the post. A
    form without a (valid) key posts as before, with no such protection."""
    if _valid(key):
        db.session.add(PostingKey(key=key, user_id=user.id, location=location[:200]))


def purge(now=None) -> int:
    """Forget keys older than two days (a retry comes within seconds). The caller commits."""
    cutoff = (now or utcnow()) - KEEP
    return db.session.execute(delete(PostingKey).where(PostingKey.created_at < cutoff)).rowcount
