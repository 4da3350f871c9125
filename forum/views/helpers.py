"""Small helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter

from ..extensions import db
from ..services import posting_keys
from ..services.errors import InvalidInput

MAX_ID = 2**31 - 1  # the largest key an INTEGER column holds on every database


class IdConverter(IntegerConverter):
    """<id:name>: a positive row id; anything larger than a column can hold is a 404."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=MAX_ID)


def bounded_int(raw: str | None, default: int, low: int = 1, high: int = MAX_ID) -> int:
    """Parse a query or form value, falling back to `default` for garbage or out-of-range."""
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        return default
    return value if low <= value <= high else default


def safe_next(target: str | None, default: str) -> str:
    """Follow ?next= only to a path on this site, never to another host."""
    if not target:
        return default
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def reshows_form_on_expiry(view):
    """Mark a view whose every write waits for its FlaskForm to validate: when its form
    comes back with an expired CSRF token, the error handler calls the view itself, which
    fails that validation and shows the form again with what was typed and a fresh token."""
    view.reshows_form_on_expiry = True
    return view


def attach_error(form: FlaskForm, error: InvalidInput) -> None:
    """Show a service's complaints beside the fields they concern (or at the top of the
    form); a field that already shows a complaint keeps just that one."""
    for problem in error.all:
        field = getattr(form, problem.field, None) if problem.field else None
        if field is None:
            form.form_errors.append(problem.message)
        elif not field.errors:
            field.errors = [*field.errors, problem.message]


def user_or_ip() -> str:
    """Rate-limit key: the signed-in user, else the client address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return request.remote_addr or "unknown"


def already_posted():
    """The way to what this form already posted, when it is sent again (its one-time key
    was used), or None."""
    location = posting_keys.earlier(current_user, request.form.get("posting_key"))
    if location is None:
        return None
    flash("That was already posted; here it is.", "info")
    return redirect(location, code=303)


def commit_posting(location: str):
    """Commit a post together with its form's one-time key. Should a copy of the same form
    have committed first (two sends at once), this one is undone and sent to that first
    result (returned); None when this post is the one."""
    posting_keys.remember(current_user, request.form.get("posting_key"), location)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        first = already_posted()
        if first is None:
            raise
        return first
    return None
