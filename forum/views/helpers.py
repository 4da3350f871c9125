"""Small helpers shared by the views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm

from ..services.errors import InvalidInput


def safe_next(target: str | None, default: str) -> str:
    """Follow ?next= only to a path on this site, never to another host."""
    if not target:
        return default
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def attach_error(form: FlaskForm, error: InvalidInput) -> None:
    """Show a service's complaint beside the field it concerns (or at the top of the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
