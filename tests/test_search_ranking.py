"""The block-at-a-time ranking (`search.ranking`) against Whoosh's own search, on a Whoosh
index of several segments with deleted documents: the same best threads with the same scores,
the same scope, and exact counts. No Flask."""

import random
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query

import search.index
from search import SearchIndex, SearchQuery, ThreadDocument, ranking

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Word frequencies with a long tail, as in real threads: the first words are in most
# threads (their postings fill many blocks of 128), the last in a few.
VOCABULARY = [f"w{rank}" for rank in range(60)]
WEIGHTS = [1 / (rank + 1) for rank in range(60)]
PRODUCTS = ["lumen", "orbit", "beacon"]
TAGS = ["pairing", "wifi", "battery", "app"]
STATES = ["unanswered", "answered", "solved", "verified"]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(VOCABULARY, WEIGHTS, k=count))


def _thread(rng: random.Random, id_: int, revision: int = 1) -> ThreadDocument:
    state = rng.choice(STATES)
    return ThreadDocument(
        id=id_,
        title=_words(rng, rng.randint(3, 9)),
        question=_words(rng, rng.randint(5, 40)),
        answers=[_words(rng, rng.randint(3, 60)) for _ in range(rng.randint(0, 3))],
        comments=[],
        product=rng.choice(PRODUCTS),
        tags=rng.sample(TAGS, rng.randint(0, 2)),
        state=state,
        is_solved=state == "solved",
        is_verified=state == "verified",
        score=rng.randint(-2, 9),
        answer_count=0,
        created_at=NOW - timedelta(days=rng.randint(0, 400)),
        last_activity_at=NOW,
        revision=revision,
    )


def _build(path, protocol: int, monkeypatch) -> SearchIndex:
    """900 threads written in three commits (three segments); then 150 of them rewritten and
    40 removed, so the older segments hold deleted documents."""
    monkeypatch.setattr(search.index, "BLOCK_PICKLE_PROTOCOL", protocol)
    rng = random.Random(7)
    index = SearchIndex(path)
    for start in (1, 301, 601):
        index.index_threads([_thread(rng, i) for i in range(start, start + 300)])
    index.index_threads([_thread(rng, i, revision=2) for i in rng.sample(range(1, 901), 150)])
    index.remove_threads(rng.sample(range(1, 901), 40))
    monkeypatch.undo()
    return index


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    """The same threads indexed twice: blocks pickled as Whoosh writes them (protocol 2, as
    an index kept from before this code) and as this code writes them."""
    monkeypatch = pytest.MonkeyPatch()
    built = {
        protocol: _build(tmp_path_factory.mktemp(f"index-{protocol}"), protocol, monkeypatch)
        for protocol in (2, search.index.BLOCK_PICKLE_PROTOCOL)
    }
    yield built
    for index in built.values():
        index.close()


def test_the_index_has_several_segments_with_deletions(indexes):
    for index in indexes.values():

        def shape(searcher):
            readers = [leaf.reader() for leaf, _ in searcher.leaf_searchers()]
            return len(readers), any(r.has_deletions() for r in readers), searcher.doc_count()

        segments, deletions, count = index._read(shape)
        assert segments >= 2 and deletions and count == 860


def _whoosh(searcher, terms, every, limit, within, outside):
    """Whoosh's own answer: its best `limit` (score, document) and the exact count."""
    words = (query.And if every else query.Or)([query.Term(*t) for t in terms])
    filters = [query.Term(*t) for t in within] + [query.Not(query.Term(*t)) for t in outside]
    scope = query.And(filters) if filters else None
    best = [(hit.score, hit.docnum) for hit in searcher.search(words, filter=scope, limit=limit)]
    matching = set(words.docs(searcher))
    if scope is not None:
        matching &= set(scope.docs(searcher))
    return best, len(matching)


def _same_ranking(ours, theirs):
    """Equal scores place by place; the same documents above the last place's score (below
    it, ties in the last decimals may pick other documents of the same score)."""
    assert len(ours) == len(theirs)
    for (mine, _), (whooshs, _) in zip(ours, theirs, strict=True):
        assert mine == pytest.approx(whooshs, rel=1e-12)
    if ours:
        bar = theirs[-1][0] * (1 + 1e-9)
        assert {n for s, n in ours if s > bar} == {n for s, n in theirs if s > bar}


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=5, unique=True),
    fields=st.sampled_from([("title",), ("body",), ("title", "body")]),
    every=st.booleans(),
    limit=st.sampled_from([1, 10, 40]),
    product=st.sampled_from([None, *PRODUCTS]),
    tag=st.sampled_from([None, *TAGS]),
    state=st.sampled_from([None, "answered", "solved", "unanswered"]),
)
def test_ranks_as_whoosh_does(indexes, words, fields, every, limit, product, tag, state):
    terms = [(field, word) for word in words for field in fields]
    within = [("product", product)] if product else []
    within += [("tags", tag)] if tag else []
    outside = []
    if state == "answered":
        outside.append(("state", "unanswered"))
    elif state:
        within.append(("state", state))
    for index in indexes.values():

        def compare(searcher):
            ours = ranking.rank(
                searcher, terms, every=every, limit=limit, within=within, outside=outside
            )
            theirs, total = _whoosh(searcher, terms, every, limit, within, outside)
            assert ours is not None
            _same_ranking(ours.best, theirs)
            assert ours.total == total

        index._read(compare)


def test_the_search_finds_what_whooshs_search_finds_with_an_exact_count(indexes, monkeypatch):
    index = indexes[search.index.BLOCK_PICKLE_PROTOCOL]
    requests = [
        SearchQuery(text="w3 w17 w40", per_page=20),
        SearchQuery(text="w0 w1", per_page=20),  # common words only: all of them in the title
        SearchQuery(text="w12 w25", product="orbit", per_page=5, page=2),
        SearchQuery(text="w20", tags=("wifi",), states=("answered",), per_page=20),
    ]
    ours = [index.search(request) for request in requests]
    monkeypatch.setattr(ranking, "rank", lambda *args, **kwargs: None)  # Whoosh alone
    theirs = [index.search(request) for request in requests]
    for mine, whooshs in zip(ours, theirs, strict=True):
        assert mine.hits, mine.query
        _same_ranking(
            [(hit.rank, hit.id) for hit in mine.hits], [(hit.rank, hit.id) for hit in whooshs.hits]
        )
        assert mine.total_is_exact
        if whooshs.total_is_exact:
            assert mine.total == whooshs.total
        else:  # Whoosh's estimate is at least the real count
            assert mine.total <= whooshs.total


@pytest.mark.parametrize("protocol", [2, search.index.BLOCK_PICKLE_PROTOCOL])
def test_a_removed_thread_is_never_ranked(indexes, protocol):
    index = indexes[protocol]
    request = SearchQuery(text="w30 w31 w32", per_page=1000)
    before = index.search(request)
    removed = before.hits[0].id
    index.remove_threads([removed])
    after = index.search(request)
    assert removed not in [h.id for h in after.hits]
    assert after.total == before.total - 1 == len(after.hits)


def test_blocks_are_written_with_the_newer_pickle_and_both_read_alike(indexes):
    def protocols(searcher):
        found = set()
        for leaf, _ in searcher.leaf_searchers():
            matcher = leaf.reader().postings("body", "w0")
            matcher = getattr(matcher, "child", matcher)
            data = matcher._postfile.get(
                matcher._dataoffset, matcher._nextoffset - matcher._dataoffset
            )
            raw = zlib.decompress(data) if matcher._compression else data
            found.add(raw[1])  # pickle's PROTO opcode, then the protocol
        return found

    assert indexes[2]._read(protocols) == {2}
    assert indexes[search.index.BLOCK_PICKLE_PROTOCOL]._read(protocols) == {
        search.index.BLOCK_PICKLE_PROTOCOL
    }
    request = SearchQuery(text="w5 w33", per_page=30)
    old, new = (indexes[p].search(request) for p in (2, search.index.BLOCK_PICKLE_PROTOCOL))
    assert [(h.id, h.rank) for h in old.hits] == [(h.id, h.rank) for h in new.hits]
    assert old.total == new.total > 30
