"""Retrieval metrics for related-question search: recall@k and MRR@k over query pairs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pair:
    """Searching with `query` (the title of thread `source`) should find thread `target`."""

    source: int
    query: str
    target: int
    product: str


@dataclass
class Scores:
    count: int = 0
    found: int = 0
    reciprocal_ranks: float = 0.0
    seconds: float = 0.0
    sites: dict[str, list[int]] = field(default_factory=dict)  # product -> [found, count]

    @property
    def recall(self) -> float:
        return self.found / self.count if self.count else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / self.count if self.count else 0.0

    def by_site(self, product: str) -> float:
        found, count = self.sites.get(product, (0, 0))
        return found / count if count else 0.0


def rank_of(target: int, ranked: list[int], source: int, k: int) -> int | None:
    """The 1-based rank of `target` among the first k results, not counting the query's own
    thread (a search with a thread's title finding that thread is no help)."""
    others = [thread for thread in ranked if thread != source][:k]
    return others.index(target) + 1 if target in others else None


def score(pairs: Iterable[Pair], system: Callable[[Pair], list[int]], k: int = 10) -> Scores:
    scores = Scores()
    for pair in pairs:
        rank = rank_of(pair.target, system(pair), pair.source, k)
        scores.count += 1
        site = scores.sites.setdefault(pair.product, [0, 0])
        site[1] += 1
        if rank is not None:
            scores.found += 1
            scores.reciprocal_ranks += 1 / rank
            site[0] += 1
    return scores
