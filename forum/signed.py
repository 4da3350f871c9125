"""Signed links for mail: one-click actions that work without signing in (accept this answer,
I still need help, unsubscribe). The link names its person and purpose and is signed with the
site's secret; a GET shows what it will do, only the POST does it."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = ("accept", "need-help", "unsubscribe")


class LinkRefused(Exception):
    """The link cannot be used; the message says why, in words for the person holding it."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    assert purpose in PURPOSES
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"mail-{purpose}")


def make(purpose: str, **payload: int | str) -> str:
    return _serializer(purpose).dumps(payload)


def read(purpose: str, token: str, max_age_days: float | None = None) -> dict:
    """The payload of a link made for this purpose, or LinkRefused."""
    max_age = None if max_age_days is None else int(max_age_days * 86400)
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkRefused(
            "This link has expired. Sign in and open the thread to do this instead."
        ) from None
    except BadSignature:
        raise LinkRefused(
            "This link is not valid: it may have been cut short when it was copied."
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise LinkRefused("This link is not valid.")
    return payload
