"""Related-question retrieval on the four imported Stack Exchange sites (`make eval-search`).

Every Stack Exchange post link whose two ends are questions gives a pair: the title of one is
the query, the other must be found, within the query's own product (its site). Reported for
the forum's search scoped to the product, for the ask page's similar questions, and for SQLite
FTS5 (title weighted 10x, any of the title's words, BM25) built in the same run from the same
threads: recall@10 and MRR@10, overall and per site. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search import semantic  # noqa: E402
from search.evaluate import Pair, Scores, score  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "stackexchange"
SITES = [
    "askaboutgadgets",
    "iot.stackexchange.com",
    "quantumcomputing.stackexchange.com",
    "beer.stackexchange.com.7z",
]
K = 10


def post_links(site_path: Path) -> list[tuple[str, str]]:
    """(PostId, RelatedPostId) of every link in the dump (folder or .7z)."""
    if site_path.suffix == ".7z":
        import py7zr

        with tempfile.TemporaryDirectory() as tmp:
            with py7zr.SevenZipFile(site_path) as archive:
                archive.extract(tmp, targets=["PostLinks.xml"])
            return post_links(Path(tmp))
    path = site_path / "PostLinks.xml"
    if not path.exists():
        return []
    return [
        (row.get("PostId"), row.get("RelatedPostId"))
        for _event, row in ET.iterparse(path, events=("end",))
        if row.tag == "row"
    ]


def build(workdir: Path):
    """Import the four sites into a fresh database, index them through the worker, and
    return the app with its pairs."""
    os.environ["FORUM_INSTANCE_PATH"] = str(workdir)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from forum import create_app
    from forum.importer import import_site, site_name
    from forum.models import Product, Question
    from forum.search_sync import reindex_all

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'eval.sqlite3'}",
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "MAIL_BACKEND": "off",
            "EMBEDDINGS": False,  # made below, all at once, and measured both ways
        }
    )
    pairs: list[Pair] = []
    with app.app_context():
        from forum.extensions import db

        upgrade()
        for site in SITES:
            result = import_site(DATA / site)
            print(f"  imported {result.site}: {result.questions} questions", flush=True)
        reindex_all()
        questions = {
            key: (qid, title, slug)
            for key, qid, title, slug in db.session.execute(
                select(Question.source_key, Question.id, Question.title, Product.slug).join(
                    Product, Product.id == Question.product_id
                )
            )
        }
        for site in SITES:
            name = site_name(DATA / site)
            for post_id, related_id in post_links(DATA / site):
                one = questions.get(f"{name}/q/{post_id}")
                other = questions.get(f"{name}/q/{related_id}")
                if one is None or other is None or one[0] == other[0]:
                    continue
                pairs.append(Pair(one[0], one[1], other[0], one[2]))
    return app, pairs


def fts5(app, workdir: Path) -> Callable[[Pair], list[int]]:
    """SQLite FTS5 over the same threads: title weighted 10x, any of the title's words."""
    from forum.extensions import db
    from forum.search_sync import all_thread_ids, iter_all_documents

    conn = sqlite3.connect(workdir / "fts.sqlite3")
    conn.execute(
        "CREATE VIRTUAL TABLE threads USING fts5(title, body, product UNINDEXED, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    with app.app_context():
        documents = iter_all_documents(db.session, all_thread_ids(db.session))
        conn.executemany(
            "INSERT INTO threads (rowid, title, body, product) VALUES (?, ?, ?, ?)",
            (
                (d.id, d.title, "\n\n".join([d.question, *d.answers, *d.comments]), d.product)
                for d in documents
            ),
        )
    conn.commit()

    def run(pair: Pair) -> list[int]:
        words = re.findall(r"\w+", pair.query)
        match = " OR ".join(f'"{w}"' for w in words) or '""'
        rows = conn.execute(
            "SELECT rowid FROM threads WHERE threads MATCH ? AND product = ? "
            "ORDER BY bm25(threads, 10.0, 1.0) LIMIT ?",
            (match, pair.product, K + 1),
        ).fetchall()
        return [r[0] for r in rows]

    return run


def embed_all(app) -> float:
    """Make every thread's embedding as the worker would; returns the seconds it took."""
    from forum import embeddings
    from forum.extensions import db
    from forum.search_sync import all_thread_ids

    started = time.perf_counter()
    with app.app_context():
        app.config["EMBEDDINGS"] = True
        ids = all_thread_ids(db.session)
        for start in range(0, len(ids), 256):
            embeddings.embed_threads(db.session, ids[start : start + 256])
            db.session.commit()
            print(f"  embedded {min(len(ids), start + 256)}/{len(ids)}", end="\r", flush=True)
    print()
    return time.perf_counter() - started


def forum_systems(app, meaning: bool) -> dict[str, Callable[[Pair], list[int]]]:
    from forum.search_sync import search_threads, similar_threads
    from search import SearchQuery

    label = "words + meaning" if meaning else "words (BM25)"

    def scoped_search(pair: Pair) -> list[int]:
        with app.app_context():
            app.config["EMBEDDINGS"] = meaning
            request = SearchQuery(text=pair.query, product=pair.product, per_page=K + 1)
            return [hit.id for hit in search_threads(request).hits]

    def similar(pair: Pair) -> list[int]:
        with app.app_context():
            app.config["EMBEDDINGS"] = meaning
            found = similar_threads(pair.query, product=pair.product, limit=K + 1)
            return [hit.id for hit in found]

    return {
        f"search, scoped, {label}": scoped_search,
        f"similar questions, {label}": similar,
    }


def measure(name: str, system: Callable[[Pair], list[int]], pairs: Iterable[Pair]) -> Scores:
    started = time.perf_counter()
    result = score(pairs, system, k=K)
    result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: the evaluation needs ../shared/data beside the checkout")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print("1/3 Import the four sites and index them")
        app, pairs = build(workdir)
        print(f"2/3 {len(pairs)} linked question pairs; SQLite FTS5 over the same threads")
        systems = {
            **forum_systems(app, meaning=False),
            "SQLite FTS5 (title x10, any word)": fts5(app, workdir),
        }
        if semantic.available():
            print(f"  embedded every thread in {embed_all(app):.0f} s")
            systems.update(forum_systems(app, meaning=True))
        print("3/3 Retrieval")
        results = {name: measure(name, run, pairs) for name, run in systems.items()}
        sites = sorted({p.product for p in pairs})
        header = f"{'system':<38}{'recall@10':>10}{'MRR@10':>9}{'pairs':>7}{'ms/query':>10}"
        print()
        print(header)
        print("-" * len(header))
        for name, result in results.items():
            per_query = result.seconds * 1000 / max(1, result.count)
            print(
                f"{name:<38}{result.recall:>10.3f}{result.mrr:>9.3f}{result.count:>7}"
                f"{per_query:>10.1f}"
            )
        print()
        print("recall@10 per site:")
        print(f"{'system':<38}" + "".join(f"{s[:14]:>16}" for s in sites))
        for name, result in results.items():
            print(f"{name:<38}" + "".join(f"{result.by_site(s):>16.3f}" for s in sites))


if __name__ == "__main__":
    main()
