"""Search benchmark: Whoosh (this project's index) against SQLite FTS5 on the same threads.

Imports the four Stack Exchange sites from ../shared/data into a scratch database, builds both
indexes from the same documents, runs one fixed query set against each and prints indexing
speed and query latency percentiles, with Whoosh/FTS5 ratios. Not a test: it only reports.

    make bench-search            # or: .venv/bin/python bench/search_bench.py
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "stackexchange"
SITES = [
    "askaboutgadgets", "iot.stackexchange.com", "quantumcomputing.stackexchange.com",
    "beer.stackexchange.com.7z",
]
GENERIC = [
    "battery", "wifi router", "firmware update", "bluetooth pairing", "charger not working",
    "raspberry pi", "mqtt broker", "qubit", "quantum gate", "entanglement", "ipa hops",
    "wine temperature", "whisky", "stout", "sensor", "zigbee hub", "home assistant",
    "android phone", "kindle", "remote control",
]


def time_queries(run_one, queries: list[str], repeat: int) -> list[float]:
    """Milliseconds for each of `repeat` passes over `queries`, after one warm-up query."""
    run_one("warm up")
    timings = []
    for _ in range(repeat):
        for text in queries:
            t0 = time.perf_counter()
            run_one(text)
            timings.append((time.perf_counter() - t0) * 1000)
    return timings


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def build_documents(workdir: Path):
    import os

    os.environ["FORUM_INSTANCE_PATH"] = str(workdir)
    from flask_migrate import upgrade

    from forum import create_app
    from forum.extensions import db
    from forum.importer import import_site
    from forum.search_sync import all_thread_ids, iter_all_documents

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SEARCH_INDEX_DIR": str(workdir / "unused-index"),
    })
    with app.app_context():
        upgrade()
        for site in SITES:
            result = import_site(DATA / site)
            print(f"  imported {result.site}: {result.questions} questions, "
                  f"{result.answers} answers ({result.posts_per_second:.0f} posts/s)")
        ids = all_thread_ids(db.session)
        return list(iter_all_documents(db.session, ids))


def query_set(documents, size: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    sample = rng.sample(documents, min(size - len(GENERIC), len(documents)))
    titles = [" ".join(re.findall(r"\w+", d.title)[:5]) for d in sample]
    return [q for q in titles if q] + GENERIC


def bench_whoosh(documents, queries, workdir: Path, repeat: int):
    from search import SearchIndex, SearchQuery

    index = SearchIndex(workdir / "whoosh")
    start = time.perf_counter()
    index.rebuild(iter(documents))
    build = time.perf_counter() - start
    timings = time_queries(
        lambda text: index.search(SearchQuery(text=text, per_page=20)), queries, repeat
    )
    index.close()
    return len(documents) / build, timings


FTS_SQL = (
    "SELECT rowid, title, snippet(threads, 1, '[', ']', ' … ', 24) FROM threads "
    "WHERE threads MATCH ? ORDER BY bm25(threads, 3.0, 1.0) LIMIT 20"
)


def fts_match(text: str) -> str:
    words = re.findall(r"\w+", text)
    return " OR ".join(f'"{w}"' for w in words) or '""'


def bench_fts5(documents, queries, workdir: Path, repeat: int):
    conn = sqlite3.connect(workdir / "fts.sqlite3")
    conn.execute(
        "CREATE VIRTUAL TABLE threads USING fts5(title, body, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    start = time.perf_counter()
    conn.executemany(
        "INSERT INTO threads (rowid, title, body) VALUES (?, ?, ?)",
        (
            (d.id, d.title, "\n\n".join([d.question, *d.answers, *d.comments]))
            for d in documents
        ),
    )
    conn.commit()
    build = time.perf_counter() - start
    timings = time_queries(
        lambda text: conn.execute(FTS_SQL, (fts_match(text),)).fetchall(), queries, repeat
    )
    return len(documents) / build, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: the benchmark reads the shared Stack Exchange dumps")

    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        workdir = Path(tmp)
        print("Importing the Stack Exchange sites …")
        documents = build_documents(workdir)
        queries = query_set(documents, args.queries)
        print(f"{len(documents)} threads, {len(queries)} queries × {args.repeat} runs\n")
        w_rate, w_times = bench_whoosh(documents, queries, workdir, args.repeat)
        f_rate, f_times = bench_fts5(documents, queries, workdir, args.repeat)

    rows = [
        ("index build (docs/s)", w_rate, f_rate),
        ("query p50 (ms)", statistics.median(w_times), statistics.median(f_times)),
        ("query p99 (ms)", percentile(w_times, 99), percentile(f_times, 99)),
        ("query mean (ms)", statistics.fmean(w_times), statistics.fmean(f_times)),
    ]
    print(f"{'measure':<22}{'Whoosh':>12}{'SQLite FTS5':>14}{'Whoosh/FTS5':>14}")
    for name, whoosh_value, fts_value in rows:
        print(f"{name:<22}{whoosh_value:>12.2f}{fts_value:>14.2f}{whoosh_value / fts_value:>14.2f}")
    print("\nWhoosh queries include BM25F ranking, highlighting and stored fields;"
          " FTS5 queries include bm25() ranking and snippet().")


if __name__ == "__main__":
    main()
