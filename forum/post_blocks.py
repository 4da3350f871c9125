"""The blocks of a thread page as rendered for an audience of readers, each kept under a digest
of everything it shows: the thread's head (title, product, tags, state, notices), the question
with its comments, the answers' heading, each answer with its comments, and the forms.

A change to a thread makes its page anew (the page cache is per revision), but most of its
blocks are as they were: they are taken from the cache, and only the changed ones are
rendered; when none changed, the page is their join and no template runs. The key is the
content itself, worked out from the thread's rows as the driver gives them (scores, texts,
marks, times, authors' names, reputation and badges), so a block is never stale and nothing
has to be told to forget one; the time a block is kept only bounds the cache's memory. The
"2 hours ago" texts are holes (`templating.TIME_HOLE`): a block does not change as its post
ages.

A block keeps the holes of the rendering it was made in (`page_pieces`), as UTF-8 with its
pieces joined by a marker made from the site's secret key, so readers' own values still go
in per request and no author can write a hole.

Each process also keeps the blocks it used last in its own memory (`local_memory`, at most
FORUM_POST_BLOCK_MEMORY_MB), in front of the shared cache: since a key names its content, a
block found there is as right as one from Redis, and a page made anew then waits for no round
trip for its popular posts.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from markupsafe import Markup

from .extensions import cache
from .local_memory import POST_BLOCKS, LocalMemory, kept
from .page_pieces import Holes
from .services.threads import (
    POST,
    QUESTION_AUTHOR,
    QUESTION_PRODUCT,
    QUESTION_VERIFIER,
    ThreadRows,
)

PREFIX = "post-block-2"  # 2: kept as UTF-8 bytes (`_joined`), no longer as lists


def local_blocks() -> LocalMemory:
    return kept(POST_BLOCKS)


def _digest(*parts) -> str:
    # marshal's version 2 writes a value alike whatever objects hold it (later versions
    # refer back to an object met twice), and costs a fifth of repr: no text is spelt out.
    # A value it cannot write (PostgreSQL's datetimes, say) makes the key of its repr.
    try:
        data = marshal.dumps(parts, 2)
    except ValueError:
        data = repr(parts).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def keys_for(
    rows: ThreadRows, audience: str, badges: dict, private: bool = False
) -> dict[tuple[str, int], str]:
    """The cache key of each block of the thread's page for this audience, in the page's
    order: its head (title, product, tags, state, notices), the question with its comments,
    the answers' heading, each answer with its comments, and the forms. Worked out from the
    rows as the driver gave them: each post's whole row (its text, times, score, author's
    name, role and reputation) with its author's top badge."""
    question = rows.question
    value = rows.question_value
    question_id, author_id = value("id"), value("author_id")

    def label(user_id: int) -> str | None:
        badge = badges.get(user_id)
        return badge.label if badge else None

    comments: dict[int | None, list] = {}
    for row in rows.comments:
        comments.setdefault(row[POST.ANSWER_ID], []).append((row, label(row[POST.AUTHOR_ID])))
    # What every block shows of the thread itself: the comment forms' target and whether
    # they are offered, and whose posts the comment hint leaves out. Whether the thread is
    # locked, not since when: no "ago" text for it.
    locked = value("locked_at") is not None
    shared = (audience, question_id, author_id, value("deleted_at") is not None, locked)
    accepted, verified = value("accepted_answer_id"), value("verified_answer_id")
    keys = {
        ("head", question_id): _digest(
            shared,
            "head",
            value("title"),
            question[QUESTION_PRODUCT : QUESTION_PRODUCT + 4],
            rows.tags,
            accepted is not None,
            verified is not None,
            value("answer_count") == 0,
            value("hidden_at") is not None,
            value("duplicate_of_id"),
            question[-1],  # the title of the question it duplicates
            value("source_url"),
            private,
        ),
        ("q", question_id): _digest(
            shared,
            "q",
            value("score"),
            value("body_html"),
            value("created_at"),
            value("edited_at"),
            question[QUESTION_AUTHOR : QUESTION_PRODUCT],
            label(author_id),
            comments.get(None, ()),
        ),
        ("heading", question_id): _digest(shared, "heading", len(rows.answers)),
    }
    verification = (
        question[QUESTION_VERIFIER],  # the verifier's name
        value("verified_at"),
        value("verified_note"),
    )
    for position, row in enumerate(rows.answers, start=1):
        answer_id = row[POST.ID]
        keys[("a", answer_id)] = _digest(
            shared,
            "a",
            position,
            row,
            label(row[POST.AUTHOR_ID]),
            answer_id == accepted,
            answer_id == verified and verification,
            comments.get(answer_id, ()),
        )
    # The answer form and the report dialog show nothing of the thread but `shared`.
    keys[("forms", question_id)] = _digest(shared, "forms")
    return {block: f"{PREFIX}:{digest}" for block, digest in keys.items()}


def rendered_anew(kind: str, post_id: int, caller: Callable[[], str]) -> str:
    """The `block` of a page made for one reader alone: rendered, never kept."""
    return caller()


@functools.cache
def _marker(secret: str) -> bytes:
    """What a block's pieces are joined by where it is kept: made from the site's secret key,
    so every process of the site writes and reads it alike and no author can have written
    it. It never leaves the server: a page is split at it before its holes are filled."""
    digest = hashlib.blake2b(b"post block pieces", key=secret.encode()[:64], digest_size=8)
    return b"\x00" + digest.hexdigest().encode() + b"\x00"  # a page has 200 holes: keep it short


def _joined(marker: bytes, pieces: list[str]) -> bytes:
    """A block as it is kept: its pieces joined by `marker`, as UTF-8 (a third of the bytes of
    a list of strings, where one "–" holds a post at 2 bytes a character)."""
    return marker.decode().join(pieces).encode()


@dataclass
class PostBlocks:
    """The `block(kind, post_id)` call of the thread template for one shared rendering: the
    blocks found in the cache are put in; the others are rendered and kept by `save`. The
    page is the blocks in order (`page`): when every one was found, no template runs."""

    holes: Holes
    keys: dict[tuple[str, int], str]
    marker: bytes
    found: dict[str, bytes] = field(default_factory=dict)  # as kept (`_joined`)
    made: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def fetch(cls, keys: dict[tuple[str, int], str], holes: Holes) -> PostBlocks:
        blocks = cls(holes, keys, _marker(current_app.config["SECRET_KEY"]))
        if current_app.config["POST_BLOCK_CACHE_SECONDS"]:
            local = local_blocks()
            blocks.found = local.get_many(keys.values())
            wanted = [key for key in keys.values() if key not in blocks.found]
            if wanted:
                shared = {
                    key: joined
                    for key, joined in zip(wanted, cache.get_many(*wanted), strict=True)
                    if type(joined) is bytes
                }
                local.put_many(shared)
                blocks.found.update(shared)
        return blocks

    def __call__(self, kind: str, post_id: int, caller: Callable[[], str]) -> str:
        key = self.keys.get((kind, post_id))
        if key is None:
            return caller()
        joined = self.found.get(key)
        if joined is not None:
            return Markup(joined.replace(self.marker, self.holes.marker.encode()).decode())
        html = caller()
        self.made[key] = _joined(self.marker, self.holes.split(str(html)))
        return html

    def page(self) -> list[bytes] | None:
        """The page's pieces (text, hole, text, ..., text, as UTF-8): its blocks in order, or
        None while one of them is neither found nor made."""
        found, made = self.found, self.made
        if len(found) + len(made) < len(self.keys):
            return None
        try:
            joined = [found[key] if key in found else made[key] for key in self.keys.values()]
        except KeyError:
            return None
        return b"".join(joined).split(self.marker)

    def save(self) -> None:
        seconds = current_app.config["POST_BLOCK_CACHE_SECONDS"]
        if seconds and self.made:
            cache.set_many(self.made, timeout=seconds)
            local_blocks().put_many(self.made)
