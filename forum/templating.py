"""Jinja filters for dates and excerpts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from markupsafe import Markup, escape

from .markup import excerpt, plain_text


def timeago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((datetime.now(UTC) - value).total_seconds())
    for unit, size in (
        ("year", 31536000),
        ("month", 2592000),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def datetime_tag(value: datetime | None) -> Markup:
    """A <time> element: machine-readable UTC with a human 'x ago' text."""
    if value is None:
        return Markup("")
    iso = value.isoformat(timespec="seconds")
    return Markup(
        f'<time datetime="{escape(iso)}" title="{escape(iso)}">{escape(timeago(value))}</time>'
    )


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80] or "question"


def negative_sentences(post) -> list:
    """The sentences of a post that drove its negativity, for the moderation page: as the
    worker stored them (with the classifier's probability when it scored), or the lexicon's
    reading for a post scored before reasons were stored."""
    from moderation import score_text

    from .negativity import stored_reasons

    if post.negative_reasons:
        return stored_reasons(post)
    return list(score_text(plain_text(post.body_html)).reasons)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        timeago=timeago,
        time=datetime_tag,
        excerpt=excerpt,
        slugify=slugify,
        negative_sentences=negative_sentences,
    )
