"""The one place where user text becomes HTML: Markdown, then the bleach allow-list."""

from __future__ import annotations

import html as html_lib
import re
import threading
from functools import partial
from urllib.parse import urlsplit

import bleach
import markdown
from bleach.html5lib_shim import Filter
from bleach.linkifier import URL_RE, LinkifyFilter

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


# bleach's URL pattern opens with `\(*`, so a run of n "(" costs n² steps; starting a match
# only at the first "(" of a run keeps linkify linear.
_LINEAR_URL_RE = re.compile(r"(?<!\()" + URL_RE.pattern, URL_RE.flags)


class _ExternalImagesAsLinks(Filter):
    """An <img> from another host would tell that host who reads the page (and the page's
    Content-Security-Policy blocks it): it becomes a link to the picture instead."""

    def __iter__(self):
        for token in super().__iter__():
            if token.get("name") != "img" or token["type"] not in ("StartTag", "EmptyTag"):
                yield token
                continue
            attrs = token.get("data", {})
            src = attrs.get((None, "src"), "")
            if _is_local(src):
                yield token
                continue
            alt = attrs.get((None, "alt"), "") or "image"
            host = urlsplit(src).hostname or "another site"
            yield {"type": "StartTag", "name": "a", "data": {(None, "href"): src}}
            yield {"type": "Characters", "data": f"{alt} (image on {host})"}
            yield {"type": "EndTag", "name": "a"}


def _is_local(src: str) -> bool:
    parts = urlsplit(src)
    if not parts.scheme and not parts.netloc:
        return True  # this site's own path
    return (parts.hostname or "").lower() in _allowed_image_hosts


# Set from FORUM_IMAGE_HOSTS by the app factory: hosts whose images may show inline.
_allowed_image_hosts: frozenset[str] = frozenset()


def allow_image_hosts(hosts) -> None:
    global _allowed_image_hosts
    _allowed_image_hosts = frozenset(h.strip().lower() for h in hosts if h.strip())


def image_hosts() -> frozenset[str]:
    return _allowed_image_hosts


def _allow_list(links_filter) -> bleach.Cleaner:
    """The allow-list, with `links_filter` last (what becomes of links and addresses)."""
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[_ExternalImagesAsLinks, links_filter],
    )


_cleaner = _allow_list(
    partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, url_re=_LINEAR_URL_RE)
)


class _LinksRel(Filter):
    """What the linkifier does to the links a text already has, without looking for new
    ones: the same rel on each."""

    def __iter__(self):
        for token in super().__iter__():
            if token.get("name") == "a" and token["type"] == "StartTag":
                token["data"] = _set_rel(token["data"] or {})
            yield token


# Many posts name no address: for those, looking for one in every piece of text is a third
# of the sanitising. This cleaner is the same but for that search. Every address the linkifier
# finds has a dot followed by a letter (its top-level domain); text without one has none.
_DOT_WORD = re.compile(r"\.\w")
_cleaner_without_linkify = _allow_list(_LinksRel)


def sanitize_html(html: str) -> str:
    """Reduce any HTML (rendered Markdown or imported posts) to the safe allow-list."""
    html = html or ""
    if "&" not in html and not _DOT_WORD.search(html):
        # No address in the source; the tags the sanitiser drops could still join two pieces
        # of text, so the result is checked too: with no "&" nothing in its text is escaped,
        # so each piece of text the linkifier would read is there as it is.
        cleaned = _cleaner_without_linkify.clean(html)
        if "&" not in cleaned and not _DOT_WORD.search(cleaned):
            return cleaned
    return _cleaner.clean(html)


_converters = threading.local()


def _converter() -> markdown.Markdown:
    """This thread's Markdown converter: making one loads its extensions, which cost more
    than converting a short post (a comment), so each thread keeps one and resets it."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown.Markdown(extensions=MARKDOWN_EXTENSIONS, output_format="html")
        _converters.markdown = converter
    return converter


# A line of words and plain punctuation, with none of Markdown's marks, no HTML, no list
# number, no tab and no run of spaces: Markdown would make it one escaped paragraph (most
# comments are such a line).
_PLAIN_WORD = r"(?:[^\W_]|[.,;:?!'\"()/@$%])+"
_PLAIN_LINE = re.compile(rf"(?!\d+[.)]){_PLAIN_WORD}(?: {_PLAIN_WORD})*")


def render_markdown(source: str) -> str:
    """Turn a post's Markdown source into the sanitised HTML that pages show."""
    if source and _PLAIN_LINE.fullmatch(source):
        return sanitize_html(f"<p>{html_lib.escape(source, quote=False)}</p>")
    return sanitize_html(markdown_html(source))


def markdown_html(source: str) -> str:
    """Markdown's HTML for `source`, before sanitising."""
    converter = _converter()
    try:
        return converter.convert(defuse(source or ""))
    finally:
        converter.reset()


# Python-Markdown looks for the end of a link from every "[" (and from every "(" after "]"), and
# the HTML-block parser for the end of a tag from every "<" before a letter: text with thousands
# of openers that close far away or never is quadratic (30,000 characters took a minute).
# `defuse` adds up how far those searches would read; past a budget it makes the openers with
# the longest searches literal (a backslash, or "&#60;"), in one linear pass. Ordinary posts,
# code included, stay far below the budget and reach Markdown unchanged.
SCAN_BUDGET = 200_000
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def _scans(source: str) -> list[tuple[int, int, int]]:
    """(characters read, opener position, closer position or -1) for each costly opener."""
    scans: list[tuple[int, int, int]] = []
    stacks: dict[str, list[int]] = {"[": [], "(": []}
    end = len(source)
    escaped = False
    for i, ch in enumerate(source):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[" or (ch == "(" and i and source[i - 1] == "]"):
            stacks[ch].append(i)
        elif ch == "]" or ch == ")":
            stack = stacks["[" if ch == "]" else "("]
            if stack:
                opened = stack.pop()
                scans.append((i - opened, opened, i))
    for stack in stacks.values():
        scans += [(end - opened, opened, -1) for opened in stack]
    for match in _TAG_START.finditer(source):
        close = source.find(">", match.start())
        scans.append(((close if close >= 0 else end) - match.start(), match.start(), -1))
    return scans


def defuse(source: str) -> str:
    """`source` with the openers that would make Markdown quadratic made literal."""
    scans = _scans(source)
    total = sum(cost for cost, _, _ in scans)
    if total <= SCAN_BUDGET:
        return source
    chars = list(source)
    for cost, opened, closed in sorted(scans, reverse=True):
        if total <= SCAN_BUDGET:
            break
        total -= cost
        if chars[opened] == "<":
            chars[opened] = "&#60;"
            continue
        chars[opened] = "\\" + chars[opened]
        if closed >= 0:
            chars[closed] = "\\" + chars[closed]
    return "".join(chars)


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
