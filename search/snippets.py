"""Snippets: the parts of a hit's text around the searched words, as (text, matched) segments.

Whoosh's highlighter re-runs the whole analyzer chain over every hit's text and scores every
possible fragment; on a page of twenty hits that cost more than the search itself. Here each
word is stemmed once per process (cached) and the first matches make the fragments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from itertools import islice

from .documents import Segment

WORD = re.compile(r"\w+")
ELLIPSIS = " … "


def make_stemmer(analyzer) -> Callable[[str], str | None]:
    """The indexed form of one word (None for a stop word), as the index's analyzer makes it."""

    @lru_cache(maxsize=200_000)
    def stem(word: str) -> str | None:
        tokens = [token.text for token in analyzer(word)]
        return tokens[0] if tokens else None

    return stem


def _matches(text: str, terms: frozenset[str], stem, limit: int | None = None):
    """(start, end) of each word of `text` whose indexed form is one of `terms`: each
    distinct word is stemmed once, and only a text that has one of them is walked for its
    positions, by a pattern of exactly those words (in C, not word by word in Python)."""
    lowered = text.lower()
    wanted = {word for word in set(WORD.findall(lowered)) if stem(word) in terms}
    if not wanted:
        return []
    if len(lowered) != len(text):  # lowering moved positions (a few scripts): word by word
        spans = (m.span() for m in WORD.finditer(text) if m.group().lower() in wanted)
    else:
        words = "|".join(re.escape(w) for w in sorted(wanted, key=len, reverse=True))
        spans = (m.span() for m in re.finditer(rf"(?<!\w)(?:{words})(?!\w)", lowered))
    return list(islice(spans, limit or None))


def _segments(text: str, start: int, end: int, matches) -> list[Segment]:
    segments: list[Segment] = []
    position = start
    for m_start, m_end in matches:
        if m_start < start or m_end > end:
            continue
        if m_start > position:
            segments.append((text[position:m_start], False))
        segments.append((text[m_start:m_end], True))
        position = m_end
    if position < end:
        segments.append((text[position:end], False))
    return segments


def highlight_all(text: str, terms: frozenset[str], stem) -> list[Segment] | None:
    """The whole text (a title) with the searched words marked; None when none occur."""
    matches = _matches(text, terms, stem)
    return _segments(text, 0, len(text), matches) if matches else None


def snippet(
    text: str,
    terms: frozenset[str],
    stem,
    width: int = 180,
    before: int = 60,
    fragments: int = 2,
) -> list[Segment] | None:
    """Up to `fragments` windows of about `width` characters around the first matches,
    cut at word boundaries; None when no searched word occurs."""
    matches = _matches(text, terms, stem, limit=40)
    if not matches:
        return None
    segments: list[Segment] = []
    taken_to = 0
    for m_start, _m_end in matches:
        if len(segments) and m_start < taken_to:
            continue  # already inside the previous window
        if fragments == 0:
            break
        start = max(taken_to, m_start - before)
        if start > 0:
            space = text.find(" ", start, m_start)
            start = space + 1 if space != -1 else start
        end = min(len(text), start + width)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > m_start else end
        if segments:
            segments.append((ELLIPSIS, False))
        segments.extend(_segments(text, start, end, matches))
        taken_to = end
        fragments -= 1
    return segments
