"""Each post of a thread page (the question with its comments, each answer with its comments)
as rendered for an audience of readers, kept under a digest of everything it shows.

A change to a thread makes its page anew (the page cache is per revision), but most of its
posts are as they were: their blocks are taken from the cache, and only the changed ones are
rendered. The key is the content itself (scores, texts, marks, times, authors' names,
reputation and badges), so a block is never stale and nothing has to be told to forget one;
the time a block is kept only bounds the cache's memory. The "2 hours ago" texts are holes
(`templating.TIME_HOLE`): a block does not change as its post ages.

A block keeps the holes of the rendering it was made in (`page_pieces`) and is put back into
another with that one's marker, so readers' own values still go in per request.

Each process also keeps the blocks it used last in its own memory (`local_memory`, at most
FORUM_POST_BLOCK_MEMORY_MB), in front of the shared cache: since a key names its content, a
block found there is as right as one from Redis, and a page made anew then waits for no round
trip for its popular posts.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from markupsafe import Markup

from .extensions import cache
from .local_memory import POST_BLOCKS, LocalMemory, kept
from .page_pieces import Holes

PREFIX = "post-block"


def local_blocks() -> LocalMemory:
    return kept(POST_BLOCKS)


class _Shown:
    """What the blocks of one page show of posts and people: each author's part worked out
    once however many posts they wrote."""

    def __init__(self, badges: dict):
        self.badges = badges
        self.people: dict[int, tuple] = {}

    @staticmethod
    def when(value) -> float | None:
        # The block shows the time; its "x ago" text is a hole filled per request.
        return None if value is None else value.timestamp()

    def person(self, user) -> tuple:
        shown = self.people.get(user.id)
        if shown is None:
            badge = self.badges.get(user.id)
            shown = self.people[user.id] = (
                user.id,
                user.display_name,
                user.source_url,
                user.role,
                user.reputation,
                badge.label if badge else None,
            )
        return shown

    def post(self, post) -> tuple:
        """What every post's block shows of it."""
        return (
            post.id,
            post.body_html,
            self.when(post.created_at),
            self.when(post.edited_at),
            post.deleted_at is not None,
            post.hidden_at is not None,
            self.person(post.author),
        )

    def comments(self, items) -> tuple:
        return tuple(map(self.post, items))


def _digest(*parts) -> str:
    # marshal's version 2 writes a value alike whatever objects hold it (later versions
    # refer back to an object met twice), and costs a fifth of repr: no text is spelt out.
    # A value it cannot write (an enum member, say) makes the key of its repr instead.
    try:
        data = marshal.dumps(parts, 2)
    except ValueError:
        data = repr(parts).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def keys_for(thread, audience: str, badges: dict) -> dict[tuple[str, int], str]:
    """The cache key of each post's block on this thread's page for this audience."""
    question = thread.question
    shown = _Shown(badges)
    # What every block of the thread shows of the thread itself: the comment forms' target
    # and whether they are offered, and whose posts the comment hint leaves out.
    # The blocks show whether the thread is locked, not since when: no "ago" text for it.
    locked = question.locked_at.timestamp() if question.locked_at else None
    shared = (audience, question.id, question.author_id, question.is_deleted, locked)
    keys = {
        ("q", question.id): _digest(
            shared,
            "q",
            question.score,
            shown.post(question),
            shown.comments(thread.question_comments),
        )
    }
    verification = (
        question.verified_by.display_name if question.verified_by else None,
        shown.when(question.verified_at),
        question.verified_note,
    )
    no_comments: list = []
    for position, answer in enumerate(thread.answers, start=1):
        keys[("a", answer.id)] = _digest(
            shared,
            "a",
            position,
            answer.score,
            shown.post(answer),
            answer.id == question.accepted_answer_id,
            answer.id == question.verified_answer_id and verification,
            shown.comments(thread.answer_comments.get(answer.id, no_comments)),
        )
    # The answer form and the report dialog show nothing of the thread but `shared`.
    keys[("forms", question.id)] = _digest(shared, "forms")
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
            local = local_blocks()
            blocks.found = local.get_many(keys.values())
            wanted = [key for key in keys.values() if key not in blocks.found]
            if wanted:
                shared = {
                    key: pieces
                    for key, pieces in zip(wanted, cache.get_many(*wanted), strict=True)
                    if pieces is not None
                }
                local.put_many(shared)
                blocks.found.update(shared)
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
            local_blocks().put_many(self.made)
