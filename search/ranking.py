"""The best threads for a bag of words, scored as Whoosh scores them, a block of postings at a
time.

Whoosh walks a query's postings one by one in Python: for a flat Or of k terms, through a tree
of k - 1 union matchers, several calls per posting; for an And, stepping the longer lists up to
each document of the shorter. On 100,000 threads the words of a title walk 5,000-30,000
postings: 15-45 ms a search. Here each term's postings are read a stored block (up to 128) at a
time, scored together with numpy and summed per document. The scores are BM25F's, as Whoosh
computes them (the same formula, the same document-frequency and average-length statistics of
the whole index, the field lengths Whoosh stores); ties go to the lower document number, as in
Whoosh's top-N collector. The count of matches is exact.

Only plain term queries, scored by BM25F on Whoosh's own codec, take this path; `rank` says
None for anything else and the caller asks Whoosh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

# A stored length byte -> the field length Whoosh scores with (0 never occurs for a document in
# a term's postings; Whoosh then scores with 1).
_LENGTH_OF_BYTE = np.array([byte_to_length(b) or 1 for b in range(256)], dtype=np.float64)


# Scope terms (products, tags, states) whose documents each segment's reader keeps, as one
# byte a document: 64 on 100,000 threads are 6.4 MB at most.
SCOPES_KEPT = 64


@dataclass(frozen=True)
class Ranked:
    best: list[tuple[float, int]]  # (score, document number), best first
    total: int  # every matching document in the scope


def rank(
    searcher,
    terms: Sequence[tuple[str, str]],
    *,
    every: bool,
    limit: int,
    within: Sequence[tuple[str, str]] = (),
    outside: Sequence[tuple[str, str]] = (),
) -> Ranked | None:
    """The `limit` best documents holding any of `terms` (every one of them when `every`),
    among those holding every term of `within` and none of `outside` (which never score);
    None when this searcher is not one this path reads (the caller then asks Whoosh)."""
    weighting = searcher.weighting
    if type(weighting) is not BM25F or not terms:
        return None
    leaves = searcher.leaf_searchers()
    if not all(_readable(leaf.reader()) for leaf, _ in leaves):
        return None
    statistics = [
        (field, text, searcher.idf(field, text), searcher.avg_field_length(field) or 1)
        for field, text in terms
    ]
    best: list[tuple[float, int]] = []
    total = 0
    for leaf, offset in leaves:
        found = _rank_segment(leaf.reader(), statistics, weighting, every, limit, within, outside)
        if found is None:
            continue
        scores, numbers, matched = found
        total += matched
        best.extend(zip(scores.tolist(), (numbers + offset).tolist(), strict=True))
    best.sort(key=lambda item: (-item[0], item[1]))
    return Ranked(best=best[:limit], total=total)


def _readable(reader) -> bool:
    return isinstance(reader, SegmentReader) and isinstance(
        getattr(reader, "_perdoc", None), W3PerDocReader
    )


def _rank_segment(reader, statistics, weighting, every, limit, within, outside):
    """This segment's `limit` best matches (scores and document numbers, in no order) and how
    many documents matched; None when none can."""
    count = reader.doc_count_all()
    scores = np.zeros(count, dtype=np.float64)
    hits = np.zeros(count, dtype=np.int16)
    for field, text, idf, average in statistics:
        postings = _postings(reader, field, text)
        if postings is None:
            if every:
                return None
            continue
        numbers, weights = postings
        lengths = _lengths(reader, field)[numbers]
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        # whoosh.scoring.bm25, in its order of operations
        scores[numbers] += idf * (
            (weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / average))
        )
        hits[numbers] += 1
    matched = hits == len(statistics) if every else hits > 0
    if reader.has_deletions():
        deleted = np.fromiter(reader.deleted_docs_set, dtype=np.int64)
        matched[deleted[deleted < count]] = False
    for field, text in within:
        matched &= _holding(reader, field, text)
    for field, text in outside:
        matched &= ~_holding(reader, field, text)
    numbers = np.flatnonzero(matched)  # ascending
    chosen = numbers
    if len(numbers) > limit:
        found = scores[numbers]
        # the limit-th best score; of the documents scoring just that, the lowest numbers
        bar = np.partition(found, len(found) - limit)[len(found) - limit]
        above = numbers[found > bar]
        chosen = np.concatenate([above, numbers[found == bar][: limit - len(above)]])
    return scores[chosen], chosen, len(numbers)


def _postings(reader, field: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A term's document numbers and weights in this segment, deleted documents included."""
    if (field, text) not in reader:
        return None
    matcher = reader.postings(field, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # deletions are left out by the caller, all at once
    numbers: list = []
    weights: list = []
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # A stored block at a time: its numbers (kept as differences) and weights (one for
        # the block when all are alike, none when all are 1), decoded as Whoosh decodes them.
        while matcher.is_active():
            matcher._read_data()
            differences, block_weights = matcher._data[0], matcher._data[1]
            numbers.append(np.cumsum(differences, dtype=np.int64))
            if block_weights is None:
                weights.append(np.ones(len(differences)))
            elif isinstance(block_weights, float):
                weights.append(np.full(len(differences), block_weights))
            else:
                weights.append(np.asarray(block_weights, dtype=np.float64))
            matcher._next_block()
        if not numbers:
            return None
        return np.concatenate(numbers), np.concatenate(weights)
    while matcher.is_active():  # a short list kept inside the term's entry
        numbers.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    if not numbers:
        return None
    return np.array(numbers, dtype=np.int64), np.array(weights, dtype=np.float64)


def _holding(reader, field: str, text: str) -> np.ndarray:
    """Which documents of this segment hold the term: a product, a tag, a state. Kept on the
    segment's reader (a scope is asked for again and again; a segment's postings never
    change, and its deletions are applied apart)."""
    kept = reader.__dict__.setdefault("_forum_scopes", {})
    holding = kept.get((field, text))
    if holding is None:
        holding = np.zeros(reader.doc_count_all(), dtype=bool)
        postings = _postings(reader, field, text)
        if postings is not None:
            holding[postings[0]] = True
        if len(kept) >= SCOPES_KEPT:
            kept.clear()
        kept[field, text] = holding
    return holding


def _lengths(reader, field: str) -> np.ndarray:
    """Every document's length of `field` in this segment, as Whoosh scores with it; kept on
    the segment's reader (a segment never changes its lengths)."""
    kept = reader.__dict__.setdefault("_forum_lengths", {})
    lengths = kept.get(field)
    if lengths is None:
        count = reader.doc_count_all()
        stored = np.zeros(count, dtype=np.uint8)
        column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if column is not None:
            size = min(column._count, count)
            stored[:size] = np.frombuffer(column._dbfile.get(column._basepos, size), np.uint8)
        lengths = kept[field] = _LENGTH_OF_BYTE[stored]
    return lengths
