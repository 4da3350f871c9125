"""The search package on its own: no Flask, a real Whoosh index in a temporary folder, and
(when the suite runs on PostgreSQL) the PostgreSQL backend through the same tests."""

import multiprocessing
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from search import SearchIndex, SearchQuery, ThreadDocument, parse_query, snippets
from search.index import ANALYZER
from search.postgres import PostgresSearchIndex

from .conftest import SEARCH_BACKENDS

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def doc(
    id_,
    title,
    question="",
    answers=(),
    product="lumen",
    tags=(),
    state="answered",
    solved=False,
    verified=False,
    score=0,
    age_days=0,
):
    return ThreadDocument(
        id=id_,
        title=title,
        question=question,
        answers=list(answers),
        comments=[],
        product=product,
        tags=list(tags),
        state=state,
        is_solved=solved,
        is_verified=verified,
        score=score,
        answer_count=len(answers),
        created_at=NOW - timedelta(days=age_days),
        last_activity_at=NOW - timedelta(days=age_days),
    )


@pytest.fixture(scope="module")
def engine():
    engine = sa.create_engine(os.environ["FORUM_TEST_DATABASE_URL"])
    yield engine
    engine.dispose()


def new_index(backend: str, tmp_path, request):
    """An empty index of the backend: a Whoosh folder, or PostgreSQL's emptied tables."""
    if backend == "whoosh":
        return SearchIndex(tmp_path / "index")
    ix = PostgresSearchIndex(request.getfixturevalue("engine"))
    ix.ensure_schema()
    with ix.engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE search_threads, search_words"))
    return ix


@pytest.fixture(params=SEARCH_BACKENDS)
def index(request, tmp_path):
    ix = new_index(request.param, tmp_path, request)
    ix.index_threads(
        [
            doc(
                1,
                "Bulb won't pair with the app",
                "It blinks three times.",
                ["Reset it: switch it off and on five times."],
                tags=["pairing"],
                solved=True,
                state="solved",
                score=5,
                age_days=3,
            ),
            doc(
                2,
                "Router drops the café Wi-Fi every evening",
                "Orange light at 8 pm.",
                product="orbit",
                tags=["wifi"],
                state="unanswered",
                age_days=1,
            ),
            doc(
                3,
                "Guest network password",
                "Where is the guest setting?",
                ["Settings, then Guest network. The bulb app has nothing to do with it."],
                product="orbit",
                tags=["wifi", "guest"],
                verified=True,
                state="verified",
                score=2,
                age_days=2,
            ),
            doc(
                4,
                "Colour schedules",
                "Can bulbs pair with routines? bulb bulb bulb bulb",
                ["Yes."],
                score=9,
                age_days=0,
            ),
        ]
    )
    yield ix
    ix.close()
    ix.close()


def ids(results):
    return [hit.id for hit in results.hits]


def test_stemming_and_accent_folding(index):
    assert ids(index.search(parse_query("pairing")))[0] == 1  # "pair" in the title
    assert ids(index.search(parse_query("cafe"))) == [2]
    assert ids(index.search(parse_query("CAFÉ evenings"))) == [2]


def test_title_weighs_more_than_the_body(index):
    # "bulb" is in thread 1's title once, and four times in thread 4's body.
    assert ids(index.search(parse_query("bulb")))[0] == 1


def test_a_hit_in_an_answer_finds_the_thread(index):
    assert ids(index.search(parse_query('"off and on five times"'))) == [1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("product:orbit", [2, 3]),
        ("tag:wifi", [2, 3]),
        ("tag:wifi tag:guest", [3]),
        ("is:unanswered", [2]),
        ("is:solved", [1]),
        ("is:verified", [3]),
        ("is:answered", [1, 3, 4]),
        ("bulb is:solved", [1]),
        ("bulb product:orbit", [3]),
    ],
)
def test_filters_return_exactly_what_they_promise(index, text, expected):
    assert sorted(ids(index.search(parse_query(text)))) == expected


def test_sorts(index):
    assert ids(index.search(parse_query("bulb OR router OR guest", sort="votes"))) == [4, 1, 3, 2]
    assert ids(index.search(parse_query("bulb OR router OR guest", sort="newest"))) == [4, 2, 3, 1]


def test_snippets_are_segments_that_mark_the_matches(index):
    hit = index.search(parse_query("orange light")).hits[0]
    assert ("Orange", True) in hit.snippet and ("light", True) in hit.snippet
    assert all(isinstance(text, str) and isinstance(on, bool) for text, on in hit.snippet)


def _matches_word_by_word(text, terms, stem, limit=None):
    """What `snippets._matches` must find: each word whose indexed form is searched."""
    found = [m.span() for m in snippets.WORD.finditer(text) if stem(m.group().lower()) in terms]
    return found[:limit] if limit else found


WORDS = [
    "Router",
    "routers",
    "pairing",
    "paired",
    "bulb",
    "BULB",
    "café",
    "cafe",
    "the",
    "é",
    "İstanbul",
    "straße",
    "x1",
    "naïve",
]


@given(
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=8)), max_size=40),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    st.sampled_from([None, 1, 3, 40]),
)
@example(["routerless", "Router", "rebulb", "bulb"], ["routers", "bulb"], None)
@example(["İstanbul", "router"], ["Router"], 3)
@settings(max_examples=300, deadline=None)
def test_snippet_matches_are_every_searched_word_in_place(words, searched, limit):
    text = " ".join(words)
    stem = snippets.make_stemmer(ANALYZER)
    terms = frozenset(t.text for t in ANALYZER(" ".join(searched)))
    assert snippets._matches(text, terms, stem, limit) == _matches_word_by_word(
        text, terms, stem, limit
    )


def test_did_you_mean(index):
    # A misspelling that finds nothing is searched corrected, and says so.
    results = index.search(parse_query("routr"))
    assert results.corrected == "router" and results.total == 1
    assert results.query.text == "routr"
    exact = index.search(parse_query("routr", autocorrect=False))
    assert exact.total == 0 and exact.suggestion == "router" and exact.corrected is None


def test_remove_and_replace(index):
    index.remove_threads([2])
    assert index.search(parse_query("cafe")).total == 0
    index.index_threads([doc(1, "Bulb now pairs fine")])
    assert ids(index.search(parse_query("fine"))) == [1]
    assert index.doc_count() == 3


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced',
        "AND",
        "OR OR",
        "NOT",
        "(((",
        ")",
        "*",
        "?",
        "~",
        "^2",
        "a:b:c",
        "title:x",
        "x" * 5000,
        "\x00\x01\x1b[31m",
        "🙂" * 50,
        "[1 TO 5]",
        "/regex/",
        '"" ""',
        "-",
        "+",
    ],
)
def test_hostile_queries_return_results_not_errors(index, text):
    results = index.search(parse_query(text))
    assert results.total >= 0


def _write_many(path: str, start: int, count: int) -> None:
    ix = SearchIndex(path)
    for i in range(start, start + count):
        ix.index_threads([doc(i, f"Thread number {i} about routers")])
    ix.close()


def test_several_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "shared-index")
    SearchIndex(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(path, n * 100, 15)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    ix = SearchIndex(path)
    assert ix.doc_count() == 45
    assert ix.search(SearchQuery(text="routers", per_page=100)).total == 45
    ix.close()


def _write_for(path: str, seconds: float, started) -> None:
    ix = SearchIndex(path)
    number, end = 1000, time.monotonic() + seconds
    started.set()
    while time.monotonic() < end:
        ix.index_threads([doc(number, f"Thread number {number} about kettles")])
        number += 1
    ix.close()


def test_searches_while_another_process_commits_and_merges_never_fail(tmp_path):
    # Every commit deletes the last table of contents, every dozenth merges segments away:
    # a reader that had listed or not yet opened those files must read the newer ones.
    path = str(tmp_path / "shared-index")
    first = SearchIndex(path)
    first.index_threads([doc(1, "The first thread about kettles")])
    first.close()
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    writer = context.Process(target=_write_for, args=(path, 5.0, started))
    writer.start()
    assert started.wait(60)
    kept = SearchIndex(path)  # a web process's handle, kept open
    seen, opened = [], 0
    while writer.is_alive():
        assert kept.search(SearchQuery(text="kettles", per_page=5)).hits
        seen.append(kept.doc_count())
        fresh = SearchIndex(path)  # a process starting up
        assert fresh.search(SearchQuery(text="kettles", per_page=5)).hits
        fresh.close()
        opened += 1
    writer.join()
    assert writer.exitcode == 0
    assert opened > 10
    assert seen == sorted(seen) and seen[-1] > seen[0]  # each search saw the newer commits
    assert kept.search(SearchQuery(text="kettles")).total == kept.doc_count()
    kept.close()


def test_a_searcher_that_finds_a_segment_gone_closes_the_files_it_had_opened(tmp_path):
    """Another process's merge deletes a segment's files between Whoosh listing and opening
    them: the opening fails (and is tried again), and the earlier segments' files it had
    opened are closed then, not left open for the garbage collector."""
    import gc

    from whoosh import index as whoosh_index

    from search.index import _new_searcher

    live = SearchIndex(tmp_path / "index")
    live.index_threads([doc(1, "The kettle will not boil")])
    live.index_threads([doc(2, "The toaster burns the bread")])  # a second segment
    directory = live.path / os.readlink(live.path / "current")
    live.close()
    ix = whoosh_index.open_dir(str(directory))
    segments = ix._read_toc().segments
    assert len(segments) == 2
    last = segments[-1]
    os.remove(directory / last.make_filename(".trm"))  # as a merge deletes it
    opened_before = len(os.listdir(f"/proc/{os.getpid()}/fd"))
    with pytest.raises(FileNotFoundError):
        _new_searcher(ix)
    assert len(os.listdir(f"/proc/{os.getpid()}/fd")) == opened_before  # none left open
    gc.collect()  # a file left to the collector would warn here (and fail the test)


def test_an_index_copied_by_following_its_link_still_opens(tmp_path):
    import shutil

    from search import SearchIndex

    original = SearchIndex(tmp_path / "live")
    original.index_threads([doc(1, "Kettle will not boil")])
    original.close()
    shutil.copytree(tmp_path / "live", tmp_path / "copy")  # `current` copied as a directory
    copy = SearchIndex(tmp_path / "copy")
    assert (tmp_path / "copy" / "current").is_symlink()
    assert [h.id for h in copy.search(SearchQuery(text="kettle")).hits] == [1]
    copy.close()


@pytest.mark.parametrize("backend", SEARCH_BACKENDS)
def test_a_scoped_top_ten_is_the_unscoped_ranking_restricted_to_the_scope(
    tmp_path, backend, request
):
    """Filters restrict, they never re-rank: for each query, the product's top 10 is the
    global ranking with the other products' threads taken out."""
    import random

    rng = random.Random(5)
    words = "router wifi bulb hub pair reset light app update battery signal mesh".split()
    filler = "the device after that with this when from have".split()
    ix = new_index(backend, tmp_path, request)
    ix.index_threads(
        [
            doc(
                n,
                " ".join(rng.sample(words, 3)),
                " ".join(rng.choice(words + filler * 3) for _ in range(rng.randint(5, 60))),
                [" ".join(rng.choice(words + filler) for _ in range(rng.randint(0, 30)))],
                product=rng.choice(["lumen", "orbit", "vox"]),
                tags=[rng.choice(["pairing", "wifi", "power"])],
            )
            for n in range(1, 400)
        ]
    )
    try:
        for text in ["router reset", "bulb pair app", "battery", "mesh signal", "hub light"]:
            everything = ix.search(SearchQuery(text=text, per_page=1000)).hits
            for product in ["lumen", "orbit", "vox"]:
                scoped = ix.search(SearchQuery(text=text, product=product, per_page=10)).hits
                expected = [h.id for h in everything if h.product == product][:10]
                assert [h.id for h in scoped] == expected, (text, product)
            tagged = ix.search(SearchQuery(text=text, tags=["wifi"], per_page=10)).hits
            assert [h.id for h in tagged] == [h.id for h in everything if "wifi" in h.tags][:10]
    finally:
        ix.close()


def test_retrieval_metrics_on_a_tiny_fixture():
    from search.evaluate import Pair, score

    ranked = {1: [1, 5, 2, 9], 3: [7, 8], 4: [4, 6]}  # what a system returns per query thread
    pairs = [
        Pair(1, "q1", 2, "a"),  # found second once the query's own thread is left out
        Pair(3, "q3", 8, "a"),  # found second
        Pair(4, "q4", 6, "b"),  # found first
        Pair(3, "q3", 99, "b"),  # not found
    ]
    result = score(pairs, lambda pair: ranked[pair.source], k=10)
    assert result.count == 4 and result.found == 3
    assert result.recall == 0.75
    assert result.mrr == pytest.approx((1 / 2 + 1 / 2 + 1 + 0) / 4)
    assert result.by_site("a") == 1.0 and result.by_site("b") == 0.5
    assert score(pairs, lambda pair: ranked[pair.source], k=1).found == 1
