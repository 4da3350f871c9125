"""A page rendered once and kept as pieces (UTF-8) around its holes: the places where each
reader's own values go (the CSRF token, one-time posting keys, the reader's own votes) and the
"x ago" texts of its times, which change as the page ages. Filling the holes is a join of
bytes, so a cached thread page costs each reader almost nothing, and its text is never
decoded or encoded again.

The holes are found by a random marker made for one rendering, which no author can have
written: a post's text is never a hole, and never receives a reader's values."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from .templating import TIME_PREFIX, ago


@dataclass(frozen=True)
class Holes:
    """Makes the holes of one rendering: `holes("name")` goes where a value will."""

    marker: str = field(default_factory=lambda: f"hole-{secrets.token_hex(16)}")

    def __call__(self, name: str) -> str:
        return f"{self.marker}{name}{self.marker}"

    def split(self, html: str) -> list[str]:
        """[text, hole name, text, hole name, ..., text]."""
        return html.split(self.marker)

    def join(self, pieces: list[str]) -> str:
        """The html that `split` made these pieces of (perhaps another rendering's), with
        this rendering's holes."""
        return self.marker.join(pieces)


def fill(pieces: list[bytes], value: Callable[[bytes], bytes]) -> bytes:
    """The page (UTF-8) with each hole replaced by `value(its name)`."""
    out = pieces[:]
    out[1::2] = map(value, pieces[1::2])
    return b"".join(out)


@dataclass(frozen=True)
class VoteHole:
    """A reader's vote on one post ("q<id>" or "a<id>"), not known when the page is made."""

    key: str
    holes: Holes


class VoteHoles(dict):
    """Stands for `Thread.my_votes` in a rendering shared by many readers: every post's vote
    is a hole, filled per reader by `reader_values`."""

    def __init__(self, holes: Holes):
        super().__init__()
        self.holes = holes

    def get(self, key, default=None):
        return VoteHole(key, self.holes)


def pressed(vote, direction: int) -> str:
    """The vote button's aria-pressed: "true" when the reader's vote is `direction`; in a
    shared rendering, a hole that `reader_values` fills."""
    if isinstance(vote, VoteHole):
        return vote.holes(f"vote:{vote.key}:{direction}")
    return "true" if vote == direction else "false"


def reader_values(
    now: float,
    token: str,
    votes: dict[str, int] | None,
    new_key: Callable[[], str],
    reputation: int | None = None,
) -> Callable[[bytes], bytes]:
    """What goes in each hole for one reader at `now`: the "x ago" texts, their CSRF token,
    a new posting key for each form, and (signed in: `votes` not None) their own votes and
    reputation."""
    token_bytes = token.encode()
    known = {b"csrf": token_bytes}
    if votes is not None:
        known |= {f"vote:{key}:{direction}".encode(): b"true" for key, direction in votes.items()}
        known[b"reputation"] = str(reputation or 0).encode()
    find = known.get
    time_prefix = TIME_PREFIX.encode()

    def value(hole: bytes) -> bytes:
        found = find(hole)
        if found is not None:
            return found
        if hole[:2] == time_prefix:
            return ago(int(now - int(hole[2:]))).encode()
        if votes is None:
            return token_bytes
        if hole == b"posting-key":
            return new_key().encode()
        return b"false"  # a vote button the reader has not pressed

    return value
