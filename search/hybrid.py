"""Words and meaning together: BM25 from `SearchIndex` blended with the sentence-embedding
similarity of `search.semantic`, for search and similar questions.

Filters hold for both: a thread found by meaning must pass the same product, tag and state
filters and be in the index (a deleted or hidden thread never is). Only the first CANDIDATES
results are blended; later pages, other sorts and queries without words are BM25 alone.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from .documents import Hit, SearchQuery, SearchResults
from .index import SearchIndex
from .semantic import Blend, VectorSet, standing

CANDIDATES = 50
# A thread found by meaning alone, sharing none of the words, must be at least this close
# (cosine similarity) to be shown in search results...
MEANING_ALONE = 0.5
# ...and to be offered as a similar question; one found by words instead needs at least
# this share of the best BM25 score and some closeness in meaning too.
SIMILAR_BAR = 0.45
SIMILAR_WORDS_BAR = 0.5
SIMILAR_WORDS_FLOOR = 0.3
# The query's embedding is made in a helper thread while BM25 searches in the caller's: the
# model's work happens outside Python's lock, so the two overlap.
_ENCODING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="encode-query")


@dataclass
class HybridSearch:
    index: SearchIndex
    encode: Callable[[str], np.ndarray]
    vectors: Callable[[], VectorSet]
    blend: Blend = Blend()

    def _candidates(self, request: SearchQuery) -> tuple[SearchResults, dict, dict]:
        """BM25 results, their scores, and the similarity in meaning of every candidate."""
        encoding = _ENCODING.submit(self.encode, request.text)
        words = self.index.search(replace(request, page=1, per_page=CANDIDATES, snippets=False))
        vectors = self.vectors()
        query = encoding.result()
        if words.corrected:
            query = self.encode(words.corrected)
        similarity = dict(vectors.nearest(query, request.product, CANDIDATES))
        scores = {hit.id: hit.rank for hit in words.hits}
        similarity.update(vectors.similarity(query, [t for t in scores if t not in similarity]))
        return words, scores, similarity

    def _ranked(self, scores, similarity, words: SearchResults, request, text) -> list[Hit]:
        """The candidates that pass the filters, blended and best first."""
        hits = {hit.id: hit for hit in words.hits}
        others = [t for t in similarity if t not in hits]
        hits.update(self.index.hits_for(others, replace(request, snippets=False), text))
        standings = {t: standing(hit.score, hit.answer_count) for t, hit in hits.items()}
        similarity = {t: s for t, s in similarity.items() if t in hits}
        return [hits[t] for t in self.blend.rank(scores, similarity, standings)]

    def search(self, request: SearchQuery) -> SearchResults:
        fused_pages = request.page * request.per_page <= CANDIDATES
        if not request.text or request.sort != "relevance" or not fused_pages:
            return self.index.search(request)
        words, scores, similarity = self._candidates(request)
        meaning = {t: s for t, s in similarity.items() if t in scores or s >= MEANING_ALONE}
        ranked = self._ranked(scores, meaning, words, request, words.corrected or request.text)
        first = (request.page - 1) * request.per_page
        page = ranked[first : first + request.per_page]
        return replace(
            words,
            query=request,
            hits=self.index.with_snippets(page, words.corrected or request.text),
            total=max(words.total, len(ranked)),
            suggestion=words.suggestion if not ranked else None,
        )

    def suggest(self, title: str, product: str | None = None, limit: int = 5) -> list[Hit]:
        """Similar questions for the ask page: the product's first, then others'; by words
        and meaning; only those close enough (no padding with unrelated threads)."""
        if not title.split():
            return []
        found = self._similar(title, product, limit)
        if product and len(found) < limit:
            seen = {hit.id for hit in found}
            found += [h for h in self._similar(title, None, limit * 2) if h.id not in seen]
        return found[:limit]

    def _similar(self, title: str, product: str | None, limit: int) -> list[Hit]:
        request = SearchQuery(text=title, product=product, per_page=CANDIDATES, count_total=False)
        words, scores, similarity = self._candidates(request)
        best = max(scores.values(), default=0.0) or 1.0
        close = {
            t
            for t in {*scores, *similarity}
            if similarity.get(t, 0.0) >= SIMILAR_BAR
            or (
                scores.get(t, 0.0) >= SIMILAR_WORDS_BAR * best
                and similarity.get(t, 0.0) >= SIMILAR_WORDS_FLOOR
            )
        }
        ranked = self._ranked(scores, similarity, words, request, title)
        return self.index.with_snippets([hit for hit in ranked if hit.id in close][:limit], title)
