"""The one place where user text becomes HTML: Markdown, then the bleach allow-list."""

from __future__ import annotations

import html as html_lib
import re
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strike",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "code": ["class"],  # fenced code keeps its language-xxx class for highlighting
    "th": ["align"],
    "td": ["align"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"
MARKDOWN_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


def _set_rel(attrs: dict, new: bool = False) -> dict:
    """Every surviving link gets the same rel, whatever the author wrote."""
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"})],
)


def sanitize_html(html: str) -> str:
    """Reduce any HTML (rendered Markdown or imported posts) to the safe allow-list."""
    return _cleaner.clean(html or "")


def render_markdown(source: str) -> str:
    """Turn a post's Markdown source into the sanitised HTML that pages show."""
    html = markdown.markdown(source or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    return sanitize_html(html)


# A tag with its attributes, where a quoted value may itself contain ">".
_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")


EXCERPT_LENGTH = 180


def excerpt(safe_html: str, length: int = EXCERPT_LENGTH) -> str:
    """The first words of a post as plain text, cut at a word boundary."""
    text = " ".join(plain_text(safe_html).split())
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


def plain_text(safe_html: str) -> str:
    """Text of HTML that `sanitize_html` produced (stored post bodies), for excerpts, search
    and sentiment. Cheap on purpose: it runs for every post a list or the indexer touches."""
    return html_lib.unescape(_TAG.sub(" ", safe_html or ""))
