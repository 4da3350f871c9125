"""Jinja filters for dates and excerpts, and the templates' url_for."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from flask import Flask, request, url_for
from jinja2 import pass_context
from markupsafe import Markup, escape

from .markup import excerpt, plain_text

# Where a page that already read the header's unread count leaves it for the bell (in the
# request's WSGI environ: per request, unlike `g`, which an app context may share).
UNREAD_KEY = "forum.unread_notifications"


def clock() -> datetime:
    """This moment, as the "3 hours ago"s read it."""
    return datetime.now(UTC)


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    """"3 hours ago": how long before `now` (this moment unless given) `value` was."""
    if value is None:
        return ""
    return ago(int(((now or clock()) - value).total_seconds()))


def ago(seconds: int) -> str:
    """"3 hours ago" for this many seconds."""
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


# In a rendering shared by many readers and kept (`page_pieces`), a time's "x ago" text is a
# hole named by its timestamp, filled per request (`page_pieces.reader_values`): a kept page
# or post block says how long ago at every request, and no block is made anew as it ages.
# The rendering passes its `Holes` under this name.
TIME_HOLE = "time_hole"
TIME_PREFIX = "t:"  # the hole's name: "t:<timestamp>"


@pass_context
def datetime_tag(context, value: datetime | None) -> Markup:
    """A <time> element: machine-readable UTC with a human 'x ago' text."""
    if value is None:
        return Markup("")
    iso = escape(value.isoformat(timespec="seconds"))
    holes = context.get(TIME_HOLE)
    text = holes(f"{TIME_PREFIX}{int(value.timestamp())}") if holes else escape(timeago(value))
    return Markup(f'<time datetime="{iso}" title="{iso}">{text}</time>')


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
    """The templates' url_for. Flask builds a URL once per endpoint and set of argument names,
    with placeholders for the values that URLs never escape (whole numbers, and words of
    letters, digits and ._~-: post ids, slugs, tag names), and kept as pieces around them;
    later calls join the pieces with their own values. A thread page links each of its posts
    several times, and a list each of its rows, and Flask's url_for cost more than the rest
    of a post's or a row's markup.

    The placeholders are random for each process, so no value can pass for one. Anything
    else (`_external`, `_anchor`, values that would be escaped) goes to Flask's url_for."""

    PLAIN = re.compile(r"[A-Za-z0-9._~-]+\Z")
    LIMIT = 5_000  # patterns kept; past it they are dropped and built again (a safeguard)

    def __init__(self):
        self._number = 10**14 + secrets.randbelow(9 * 10**14)  # + n for the n-th number
        self._word = f"w{secrets.token_hex(8)}"  # + n + "x" for the n-th word
        self._split = re.compile(rf"({self._number}\d\d|{self._word}\d\dx)")
        self._patterns: dict[tuple, tuple[list[str], list[str]]] = {}
        self._plain: dict[tuple[str, str], str] = {}  # URLs of endpoints that take no values
        # Per endpoint, the arguments whose converter takes only some words (`any(...)`):
        # their values are part of the pattern's key instead.
        self._chosen: dict[str, frozenset[str]] = {}

    def _fillable(self, endpoint: str, name: str, value) -> bool:
        if type(value) is int:
            return True
        return (
            type(value) is str
            and bool(self.PLAIN.match(value))
            and name not in self._chosen.get(endpoint, ())
        )

    def __call__(self, endpoint: str, **values) -> str:
        if not values:  # the same URL each time: kept whole (the layout links a dozen)
            key = (request.script_root, endpoint)
            found = self._plain.get(key)
            if found is None:
                if len(self._plain) >= self.LIMIT:
                    self._plain.clear()
                found = self._plain[key] = url_for(endpoint)
            return found
        names = sorted(k for k, v in values.items() if self._fillable(endpoint, k, v))
        if not names or any(k.startswith("_") for k in values):
            return url_for(endpoint, **values)
        fixed = tuple(sorted((k, v) for k, v in values.items() if k not in names))
        chosen = self._chosen.get(endpoint, ())
        if any(v is not None and k not in chosen for k, v in fixed):
            # A value Flask would escape (a search's words, a `next` path): one URL of its
            # own, not worth keeping.
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, tuple(names), fixed)
        found = self._patterns.get(key)
        if found is None:
            if len(self._patterns) >= self.LIMIT:
                self._patterns.clear()
            holes = {
                name: self._number * 100 + n
                if type(values[name]) is int
                else f"{self._word}{n:02d}x"
                for n, name in enumerate(names)
            }
            try:
                built = url_for(endpoint, **{**values, **holes})
            except ValueError:  # a converter refused a word placeholder: keep those words
                words = {name for name in names if type(values[name]) is not int}
                if not words:
                    return url_for(endpoint, **values)
                self._chosen[endpoint] = self._chosen.get(endpoint, frozenset()) | words
                return self(endpoint, **values)
            by_hole = {str(hole): name for name, hole in holes.items()}
            pieces = self._split.split(built)
            found = (pieces[0::2], [by_hole[hole] for hole in pieces[1::2]])
            self._patterns[key] = found
        texts, order = found
        out = [texts[0]]
        for name, text in zip(order, texts[1:], strict=True):
            out.append(str(values[name]))
            out.append(text)
        return "".join(out)


def register(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = PatternUrls()
    app.jinja_env.filters.update(
        timeago=timeago,
        time=datetime_tag,
        excerpt=excerpt,
        slugify=slugify,
        negative_sentences=negative_sentences,
    )
