"""Turn what a customer types into words plus filters (product:, tag:, is:)."""

from __future__ import annotations

import re
import unicodedata

from .documents import STATES, SearchQuery

MAX_QUERY_LENGTH = 300
FILTER = re.compile(r"(?<!\S)(product|tag|is):(\"[^\"]*\"|\S*)", re.IGNORECASE)
STATE_WORDS = ", ".join(f"is:{state}" for state in STATES)


def clean(text: str) -> str:
    """Drop control characters and collapse whitespace; cap the length."""
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} else ch
        for ch in (text or "")[: MAX_QUERY_LENGTH * 4]
    )
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


def parse_query(raw: str, **options) -> SearchQuery:
    """`wifi drops product:orbit-router is:solved` → words "wifi drops" and two filters."""
    text = clean(raw)
    query = SearchQuery(**options)
    for kind, value in FILTER.findall(text):
        kind, value = kind.lower(), value.strip('"').strip().lower()
        if not value:
            example = {"product": "product:orbit-router", "tag": "tag:wifi", "is": "is:solved"}
            query.notes.append(f"“{kind}:” needs a value, as in {example[kind]}; it was left out.")
        elif kind == "product":
            query.product = value
        elif kind == "tag":
            query.tags.append(value)
        elif value not in STATES:
            query.notes.append(
                f"“is:{value}” is not a filter (use {STATE_WORDS}); it was left out."
            )
        elif value not in query.states:
            query.states.append(value)
    query.text = " ".join(FILTER.sub(" ", text).split())
    return query
