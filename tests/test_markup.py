"""Hostile Markdown and HTML never survive as active content, stored or served."""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forum.extensions import db
from forum.markup import render_markdown, sanitize_html
from forum.models import Question

from .conftest import require_shared_data

ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# As a browser reads a URL: strip C0 controls and spaces at the ends, drop tabs and newlines,
# then a scheme is a letter followed by letters, digits, + - . and a colon.
URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def url_scheme(value: str) -> str | None:
    value = re.sub(r"[\t\n\r]", "", value.strip("".join(map(chr, range(0x21)))))
    match = URL_SCHEME.match(value)
    return match.group(1).lower() if match else None


class ActiveContentFinder(HTMLParser):
    """Collects anything a browser would execute or that could restyle the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {
            "script",
            "style",
            "iframe",
            "object",
            "embed",
            "svg",
            "math",
            "form",
            "input",
            "button",
            "link",
            "meta",
            "base",
            "frame",
            "frameset",
            "textarea",
        }:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "srcdoc", "formaction"}:
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "xlink:href"} and value:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in ALLOWED_URL_SCHEMES:
                    self.problems.append(f"{tag}[{name}={value!r}]")


def active_content(html: str) -> list[str]:
    finder = ActiveContentFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


HOSTILE = """
# Title
<script>alert('x')</script>
<img src=x onerror="alert(1)">
[click](javascript:alert(1))
[click2](JaVaScRiPt:alert(1))
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
<a href="javascript&colon;alert(1)">entity</a>
<div style="position:fixed;top:0">overlay</div>
<iframe src="https://evil.example"></iframe>
<svg onload=alert(1)>
<p onclick="steal()">para</p>
<style>body{display:none}</style>
"""


def test_hostile_markdown_is_neutralised():
    html = render_markdown(HOSTILE)
    assert active_content(html) == []
    assert "<h1>Title</h1>" in html
    assert "<iframe" not in html and "<script" not in html and "onerror" not in html


def test_the_checker_itself_catches_active_content():
    assert active_content('<a href=" JaVa\tScRiPt:alert(1)">x</a>') != []
    assert active_content("<img src=x onerror=alert(1)>") != []
    assert active_content('<p style="color:red">x</p>') != []
    assert active_content('<a href="/relative:path">x</a>') == []


def test_links_are_kept_but_marked_nofollow_ugc_noopener():
    html = render_markdown('[docs](https://example.com/help "Help") and https://example.org')
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert 'href="https://example.com/help"' in html


def test_fenced_code_and_tables_render():
    html = render_markdown("```python\nprint('<b>')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert '<code class="language-python">' in html and "&lt;b&gt;" in html
    assert "<table>" in html and "<td>1</td>" in html


def test_every_payload_of_the_xss_list_is_neutralised():
    payloads = require_shared_data("xss-payloads", "xss-payload-list.dev.txt")
    lines = payloads.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(lines) > 5000
    failures = [
        (line, found)
        for line in lines
        for found in [active_content(render_markdown(line)) + active_content(sanitize_html(line))]
        if found
    ]
    assert failures == []


def test_hostile_post_is_inert_in_storage_and_on_the_page(client, auth, make):
    user, product = make.user(), make.product()
    auth.login(user.email)
    response = auth.post(
        "/ask",
        {"title": "Hostile content in a question", "product_id": product.id, "body": HOSTILE},
        page="/ask",
    )
    assert response.status_code == 302
    question = db.session.scalar(db.select(Question))
    assert question.body_source == HOSTILE.strip()  # the source is kept as typed
    assert active_content(question.body_html) == []
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    body = page.split('class="post-body">', 1)[1].split("</div>", 1)[0]
    assert active_content(body) == []


@pytest.mark.parametrize("source", ["", "   ", "\x00\x01", "<", "&", "*" * 5000])
def test_odd_input_renders_without_error(source):
    assert isinstance(render_markdown(source), str)


def test_plain_text_of_stored_html():
    from forum.markup import plain_text

    html = render_markdown('Use **AT&T** <abbr title="a > b">x</abbr> & [docs](https://e.x "t>x")')
    text = " ".join(plain_text(html).split())
    assert text == "Use AT&T x & docs"


# Sanitising and Markdown take shortcuts for text with no address and for a plain line; each
# must give exactly what the whole way gives.
def _whole_way_sanitized(html: str) -> str:
    from forum.markup import _cleaner

    return _cleaner.clean(html or "")


def _whole_way_rendered(source: str) -> str:
    from forum.markup import markdown_html

    return _whole_way_sanitized(markdown_html(source))


# fmt: off
HTML_PIECES = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<span>", "</span>", "<b>", "</b>", "<a href=\"/in/site\">", "</a>",
         "<a href=\"mailto:x@y.org\">", "<img src=\"https://pics.example.net/a.png\">",
         "<!-- c -->", "<script>", "</script>", "<code>", "</code>", "<pre>", "</pre>",
         ".", ". ", ".c", "com", "example", "www", "(", ")", "&", "&amp;", "&#46;", "@", "/",
         "K", "\u212a", " ", "\n", "1", "http:", "//", "é", "<", ">", '"']
    ),
    max_size=14,
).map("".join)
# fmt: on


@settings(max_examples=400, deadline=None)
@given(HTML_PIECES)
def test_sanitising_text_without_an_address_gives_what_the_whole_way_gives(html):
    assert sanitize_html(html) == _whole_way_sanitized(html)


# fmt: off
LINES = st.lists(
    st.sampled_from(
        ["word", "Wörd", "2", "10", ".", ",", ";", ":", "?", "!", "'", '"', "(", ")", "/", "@",
         "$", "%", " ", "  ", "*", "_", "`", "#", "-", "+", "[", "]", "<b>", "&", "\t", "\n",
         "1.", "3)", "example.com", "=", "|", "~", "\\"]
    ),
    max_size=12,
).map("".join)
# fmt: on


@settings(max_examples=400, deadline=None)
@given(LINES)
def test_a_plain_line_renders_as_markdown_would_render_it(source):
    assert render_markdown(source) == _whole_way_rendered(source)


def test_tags_the_sanitiser_drops_cannot_hide_an_address():
    # The source has no "dot and a letter"; once <span> is dropped the text has one.
    html = sanitize_html("<p>see example.<span></span>com now</p>")
    assert '<a href="http://example.com" rel="nofollow ugc noopener">example.com</a>' in html
    assert render_markdown("Plain line, no address here") == "<p>Plain line, no address here</p>"
    assert 'rel="nofollow ugc noopener"' in sanitize_html('<a href="/help">help</a>')


def test_the_shortcuts_agree_with_the_whole_way_on_a_real_site():
    from forum.importer import _find, _rows

    folder = require_shared_data("stackexchange", "iot.stackexchange.com")
    bodies = [row.get("Body", "") for row in _rows(_find(folder, "Posts"))]
    comments = [row.get("Text", "") for row in _rows(_find(folder, "Comments"))]
    assert len(bodies) > 800 and len(comments) > 1500
    assert [b for b in bodies if sanitize_html(b) != _whole_way_sanitized(b)] == []
    assert [c for c in comments if render_markdown(c) != _whole_way_rendered(c)] == []
