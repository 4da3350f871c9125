"""Words and meaning together: BM25 from `SearchIndex` blended with the sentence-embedding
similarity of `search.semantic`, for search and similar questions.

Filters hold for both: a thread found by meaning must pass the same product, tag and state
filters and be in the index (a deleted or hidden thread never is). Only the first CANDIDATES
results are blended; later pages, other sorts and queries without words are BM25 alone.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from .documents import Hit, SearchQuery, SearchResults
from .index import SearchIndex
from .semantic import Blend, VectorSet, standing

CANDIDATES = 50
LOOKUP_CHUNK = 8  # threads found by meaning alone, looked up in the index a few at a time
SWITCH_INTERVAL = 0.0002  # seconds; see _hand_over_quickly
# A thread found by meaning alone, sharing none of the words, must be at least this close
# (cosine similarity) to be shown in search results...
MEANING_ALONE = 0.5
# ...and to be offered as a similar question; one found by words instead needs at least
# this share of the best BM25 score and some closeness in meaning too.
SIMILAR_BAR = 0.45
SIMILAR_WORDS_BAR = 0.5
SIMILAR_WORDS_FLOOR = 0.3
# The query's embedding and its nearest threads are found in a helper thread while BM25
# searches in the caller's: the model and the matrix product run outside Python's lock.
_ENCODING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="encode-query")


@cache
def _hand_over_quickly() -> None:
    """Let the helper thread have Python's lock within a fifth of a millisecond of asking,
    not the default five: it asks a few times (to start the model, to rank the matrix's
    rows) while the BM25 search holds the lock, and waiting out each default interval would
    cost more than the work the helper saves. Only threads that ask are affected."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)


def _standing(hit: Hit) -> float:
    return standing(hit.score, hit.answer_count)


@dataclass
class HybridSearch:
    index: SearchIndex
    encode: Callable[[str], np.ndarray]
    vectors: Callable[[], VectorSet]
    blend: Blend = Blend()

    def __post_init__(self):
        _hand_over_quickly()

    def _candidates(self, request: SearchQuery) -> tuple[SearchResults, dict, dict]:
        """BM25 results, their scores, and the similarity in meaning of every candidate. The
        query is embedded and compared with every thread in a helper thread while BM25
        searches in this one."""
        vectors = self.vectors()
        meaning = _ENCODING.submit(self._nearest, vectors, request.text, request.product)
        words = self.index.search(replace(request, page=1, per_page=CANDIDATES, snippets=False))
        query, similarity = meaning.result()
        if words.corrected:
            query, similarity = self._nearest(vectors, words.corrected, request.product)
        scores = {hit.id: hit.rank for hit in words.hits}
        similarity.update(vectors.similarity(query, [t for t in scores if t not in similarity]))
        return words, scores, similarity

    def _nearest(self, vectors: VectorSet, text: str, product: str | None):
        query = self.encode(text)
        return query, dict(vectors.nearest(query, product, CANDIDATES))

    def _ranked(
        self, scores, similarity, words: SearchResults, request, text, need: int, best=None
    ) -> tuple[list[Hit], int]:
        """The candidates that pass the filters, blended, best first, at least the `need`
        best of them exactly; and how many were left unexamined.

        Threads found by meaning alone are looked up in the index (their filters, votes and
        answers) from the most similar down, and only while they could still reach the
        `need` best: sharing no words, one scores at most `meaning` times its similarity
        plus the whole of `standing`."""
        blend = self.blend
        best = best or max(scores.values(), default=0.0) or 1.0
        hits = {hit.id: hit for hit in words.hits if hit.id in scores}
        combined = {
            t: blend.score(scores[t] / best, similarity.get(t, 0.0), _standing(hit))
            for t, hit in hits.items()
        }
        others = sorted((t for t in similarity if t not in hits), key=lambda t: -similarity[t])
        lookup = replace(request, snippets=False)
        examined = 0
        while examined < len(others):
            if len(combined) >= need:
                floor = heapq.nlargest(need, combined.values())[-1]
                if blend.meaning * similarity[others[examined]] + blend.standing < floor:
                    break
            chunk = others[examined : examined + LOOKUP_CHUNK]
            examined += len(chunk)
            for t, hit in self.index.hits_for(chunk, lookup, text).items():
                hits[t] = hit
                combined[t] = blend.score(0.0, similarity[t], _standing(hit))
        order = sorted(combined, key=lambda t: (-combined[t], t))
        return [hits[t] for t in order], len(others) - examined

    def search(self, request: SearchQuery) -> SearchResults:
        fused_pages = request.page * request.per_page <= CANDIDATES
        if not request.text or request.sort != "relevance" or not fused_pages:
            return self.index.search(request)
        words, scores, similarity = self._candidates(request)
        meaning = {t: s for t, s in similarity.items() if t in scores or s >= MEANING_ALONE}
        first = (request.page - 1) * request.per_page
        text = words.corrected or request.text
        ranked, unexamined = self._ranked(
            scores, meaning, words, request, text, need=first + request.per_page
        )
        return replace(
            words,
            query=request,
            hits=self.index.with_snippets(ranked[first : first + request.per_page], text),
            total=max(words.total, len(ranked) + unexamined),
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
        ranked, _ = self._ranked(
            {t: v for t, v in scores.items() if t in close},
            {t: v for t, v in similarity.items() if t in close},
            words,
            request,
            title,
            need=limit,
            best=best,
        )
        return self.index.with_snippets(ranked[:limit], title)
