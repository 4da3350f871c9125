"""Each post of a thread page (the question with its comments, each answer with its comments)
as rendered for an audience of readers, kept under a digest of everything it shows.

A change to a thread makes its page anew (the page cache is per revision), but most of its
posts are as they were: their blocks are taken from the cache, and only the changed ones are
rendered. The key is the content itself (scores, texts, marks, authors' names, reputation and
badges, the "2 hours ago" texts), so a block is never stale and nothing has to be told to
forget one; the time a block is kept only bounds the cache's memory.

A block keeps the holes of the rendering it was made in (`page_pieces`) and is put back into
another with that one's marker, so readers' own values still go in per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from markupsafe import Markup

from .extensions import cache
from .page_pieces import Holes
from .templating import timeago

PREFIX = "post-block"


def _when(value) -> tuple | None:
    return None if value is None else (value.isoformat(), timeago(value))


def _person(user, badge) -> tuple:
    return (
        user.id,
        user.display_name,
        user.source_url,
        user.role,
        user.reputation,
        badge.label if badge else None,
    )


def _post(post, badges: dict) -> tuple:
    """What every post's block shows of it."""
    return (
        post.id,
        post.body_html,
        _when(post.created_at),
        _when(post.edited_at),
        post.deleted_at is not None,
        post.hidden_at is not None,
        _person(post.author, badges.get(post.author_id)),
    )


def _digest(*parts) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def keys_for(thread, audience: str, badges: dict) -> dict[tuple[str, int], str]:
    """The cache key of each post's block on this thread's page for this audience."""
    question = thread.question

    def comments(items) -> tuple:
        return tuple(_post(c, badges) for c in items)

    # What every block of the thread shows of the thread itself: the comment forms' target
    # and whether they are offered, and whose posts the comment hint leaves out.
    shared = (audience, question.id, question.author_id, question.is_deleted, question.locked_at)
    keys = {
        ("q", question.id): _digest(
            shared, "q", question.score, _post(question, badges), comments(thread.question_comments)
        )
    }
    for position, answer in enumerate(thread.answers, start=1):
        verified = answer.id == question.verified_answer_id
        keys[("a", answer.id)] = _digest(
            shared,
            "a",
            position,
            answer.score,
            _post(answer, badges),
            answer.id == question.accepted_answer_id,
            verified
            and (
                question.verified_by.display_name if question.verified_by else None,
                _when(question.verified_at),
                question.verified_note,
            ),
            comments(thread.answer_comments.get(answer.id, [])),
        )
    return {post: f"{PREFIX}:{digest}" for post, digest in keys.items()}


def rendered_anew(kind: str, post_id: int, caller: Callable[[], str]) -> str:
    """The `block` of a page made for one reader alone: rendered, never kept."""
    return caller()


@dataclass
class PostBlocks:
    """The `block(kind, post_id)` call of the thread template for one shared rendering: the
    blocks found in the cache are put in; the others are rendered and kept by `save`."""

    holes: Holes
    keys: dict[tuple[str, int], str]
    found: dict[str, list[str]] = field(default_factory=dict)
    made: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fetch(cls, thread, audience: str, badges: dict, holes: Holes) -> PostBlocks:
        keys = keys_for(thread, audience, badges)
        blocks = cls(holes, keys)
        if current_app.config["POST_BLOCK_CACHE_SECONDS"]:
            wanted = list(keys.values())
            blocks.found = {
                key: pieces
                for key, pieces in zip(wanted, cache.get_many(*wanted), strict=True)
                if pieces is not None
            }
        return blocks

    def __call__(self, kind: str, post_id: int, caller: Callable[[], str]) -> str:
        key = self.keys.get((kind, post_id))
        if key is None:
            return caller()
        pieces = self.found.get(key)
        if pieces is not None:
            return Markup(self.holes.join(pieces))
        html = caller()
        self.made[key] = self.holes.split(str(html))
        return html

    def save(self) -> None:
        seconds = current_app.config["POST_BLOCK_CACHE_SECONDS"]
        if seconds and self.made:
            cache.set_many(self.made, timeout=seconds)
