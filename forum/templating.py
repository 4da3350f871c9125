"""Jinja filters for dates and excerpts, and the templates' url_for."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask, request, url_for
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


class PatternUrls:
    """The templates' url_for: for links whose varying parts are whole numbers (post ids),
    the URL is built by Flask once per endpoint and set of other values, with placeholder
    numbers, and then filled by string replacement. A thread page links each of its posts
    several times, and Flask's url_for cost more than the rest of a post's markup.

    Anything else (no number, `_external`, `_anchor`, ...) goes to Flask's url_for."""

    PLACEHOLDER = 1_357_924_680  # + n for the n-th number; no route's own text has these
    LIMIT = 5_000  # patterns kept; past it they are dropped and built again

    def __init__(self):
        self._patterns: dict[tuple, tuple[str, tuple[tuple[str, str], ...]]] = {}

    def __call__(self, endpoint: str, **values) -> str:
        numbers = sorted(k for k, v in values.items() if type(v) is int)
        if not numbers or any(k.startswith("_") for k in values):
            return url_for(endpoint, **values)
        others = tuple(sorted((k, v) for k, v in values.items() if type(v) is not int))
        key = (request.script_root, endpoint, tuple(numbers), others)
        found = self._patterns.get(key)
        if found is None:
            if len(self._patterns) >= self.LIMIT:
                self._patterns.clear()
            holes = {name: self.PLACEHOLDER + n for n, name in enumerate(numbers)}
            built = url_for(endpoint, **{**values, **holes})
            found = (built, tuple((name, str(hole)) for name, hole in holes.items()))
            self._patterns[key] = found
        url, holes = found
        for name, hole in holes:
            url = url.replace(hole, str(values[name]))
        return url


def register(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = PatternUrls()
    app.jinja_env.filters.update(
        timeago=timeago,
        time=datetime_tag,
        excerpt=excerpt,
        slugify=slugify,
        negative_sentences=negative_sentences,
    )
