"""A post's revision history: every version with who wrote it and when, and what changed."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Answer, Comment, Question, Revision, User
from ..permissions import is_visible_to
from .errors import NotFound

Post = Question | Answer | Comment
Segment = tuple[str, str]  # (text, "same" | "added" | "removed")
_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Version:
    number: int
    author: User
    at: datetime
    title: str | None
    body: str
    title_diff: list[Segment]
    body_diff: list[Segment]  # against the version before; empty for the first


def word_diff(before: str, after: str) -> list[Segment]:
    """The words of `after`, with those removed from `before` and added in `after` marked."""
    old, new = _WORDS.findall(before or ""), _WORDS.findall(after or "")
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(("".join(new[b1:b2]), "same"))
            continue
        if op in ("delete", "replace"):
            segments.append(("".join(old[a1:a2]), "removed"))
        if op in ("insert", "replace"):
            segments.append(("".join(new[b1:b2]), "added"))
    return segments


def versions_of(viewer: User | None, post: Post) -> list[Version]:
    """Every version of the post, oldest first, for whoever may see the post (staff see
    deleted posts' history too). Raises NotFound otherwise."""
    if post is None or not is_visible_to(viewer, post):
        raise NotFound("That post does not exist or was deleted.")
    column = {Question: Revision.question_id, Answer: Revision.answer_id}.get(
        type(post), Revision.comment_id
    )
    revisions = db.session.scalars(
        select(Revision)
        .where(column == post.id)
        .order_by(Revision.id)
        .options(selectinload(Revision.editor))
    ).all()
    # A revision row keeps the text a post had before an edit, with who edited and when.
    title = post.title if isinstance(post, Question) else None
    texts = [(r.title, r.body_source) for r in revisions] + [(title, post.body_source)]
    authors = [post.author] + [r.editor for r in revisions]
    times = [post.created_at] + [r.created_at for r in revisions]
    versions = []
    for number, ((title_n, body), author, at) in enumerate(zip(texts, authors, times, strict=True)):
        before_title, before_body = texts[number - 1] if number else (None, None)
        versions.append(
            Version(
                number=number + 1,
                author=author,
                at=at,
                title=title_n,
                body=body,
                title_diff=word_diff(before_title or "", title_n or "") if number else [],
                body_diff=word_diff(before_body, body) if number else [],
            )
        )
    return versions
