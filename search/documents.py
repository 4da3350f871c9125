"""What goes into the index and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

STATES = ("unanswered", "answered", "solved", "verified")
SORTS = ("relevance", "newest", "votes")

Segment = tuple[str, bool]  # (text, whether it matched the query)


@dataclass(frozen=True)
class ThreadDocument:
    """One thread: the question with its visible answers and comments."""

    id: int
    title: str
    question: str  # plain text of the question body
    answers: list[str]  # plain text of each visible answer, accepted/verified ones first
    comments: list[str]
    product: str  # product slug
    tags: list[str]
    state: str  # one of STATES
    is_solved: bool
    is_verified: bool
    score: int
    answer_count: int
    created_at: datetime
    last_activity_at: datetime
    # The thread's revision in the database when this was read: the index never replaces a
    # newer copy with an older one, and drift checks compare revisions.
    revision: int = 0


@dataclass
class SearchQuery:
    text: str = ""
    product: str | None = None
    tags: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)  # "is:" filters, all must hold
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    # When nothing matches and the words look misspelt, search the correction at once.
    autocorrect: bool = True
    # False: `total` may be an estimate (similar questions show no count; counting a
    # filtered search exactly walks every match).
    count_total: bool = True
    # False: hits come without a snippet or a highlighted title (`SearchIndex.with_snippets`
    # adds them), for callers that rank many candidates and show a few.
    snippets: bool = True
    # What could not be understood in what was typed ("is:bogus"), in words for the reader.
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    title_segments: list[Segment]
    snippet: list[Segment]
    product: str
    tags: list[str]
    state: str
    is_solved: bool
    is_verified: bool
    score: int
    answer_count: int
    created_at: datetime
    rank: float
    excerpt: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    hits: list[Hit]
    total: int
    suggestion: str | None = None  # "did you mean" text, when the words look misspelt
    # The corrected words these results are for, when the typed ones found nothing.
    corrected: str | None = None
    # False when `total` is an estimate: counting every match of a common word on a large
    # index costs more than finding the best twenty.
    total_is_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))
