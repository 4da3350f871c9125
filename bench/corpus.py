"""The benchmark corpus: the four Stack Exchange sites imported, then multiplied to 100,000
threads with varied text, indexed, and cached in bench/.cache/ between runs.

Copies are made in SQL rows, not through the services: 300,000 posts through markdown and
bleach would take most of the time budget, and the copies are of already-sanitised HTML.
Each copy swaps about a third of the words for others of similar frequency, so the tables,
the posting lists and the vocabulary grow as a real site's would, instead of repeating.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "stackexchange"
CACHE = ROOT / "bench" / ".cache"
SITES = [
    "askaboutgadgets",
    "iot.stackexchange.com",
    "quantumcomputing.stackexchange.com",
    "beer.stackexchange.com.7z",
]
# Bump when the corpus recipe changes: a cached corpus of another version is rebuilt.
CORPUS_VERSION = 5  # 5: first-answer times shifted with each copy
BENCH_PASSWORD = "bench-password-1"
WORD = re.compile(r"<[^>]*>|&#?\w+;|[a-z]{4,}")
SWAPPED_SHARE = 0.35


@dataclass
class Corpus:
    version: int
    database: str
    index_dir: str
    threads: int
    answers: int
    comments: int
    thread_30: int  # a thread with 30 answers, each with comments, and votes
    thread_1: int  # a thread with one answer, for the SQL-count comparison
    customer_email: str
    build_seconds: float


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database in WAL mode (the file alone may lack the latest
    commits, which live in the -wal file until a checkpoint): SQLite's own backup."""
    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


NO_PRIVILEGES = {
    "REPUTATION_TO_COMMENT": 0,
    "REPUTATION_TO_DOWNVOTE": 0,
    "REPUTATION_TO_POST_LINKS": 0,
}


def make_app(database: Path, index_dir: Path, **extra):
    os.environ.setdefault("FORUM_INSTANCE_PATH", str(CACHE / "instance"))
    from forum import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SEARCH_INDEX_DIR": str(index_dir),
        **extra,
    })


@dataclass
class ImportFigures:
    posts: int
    seconds: float

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds


def import_sites(workdir: Path) -> ImportFigures:
    """Import the four dumps into a fresh database and index, as `flask forum
    import-stackexchange` does (search sync on). Returns the import speed."""
    from flask_migrate import upgrade

    from forum.importer import import_site

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    app = make_app(workdir / "forum.sqlite3", workdir / "index")
    posts, seconds = 0, 0.0
    with app.app_context():
        upgrade()
        for site in SITES:
            result = import_site(DATA / site)
            posts += result.questions + result.answers
            seconds += result.seconds
            click.echo(
                f"  {result.site}: {result.questions} questions, {result.answers} answers, "
                f"{result.comments} comments ({result.posts_per_second:,.0f} posts/s)"
            )
    return ImportFigures(posts, seconds)


class Varier:
    """Swaps about a third of the vocabulary for words of similar frequency, per copy."""

    def __init__(self, texts: list[str], seed: int = 11):
        counts = Counter(w for text in texts for w in re.findall(r"[a-z]{4,}", text))
        self.ranked = [w for w, _ in counts.most_common()]
        self.rng = random.Random(seed)

    def mapping(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        band = 40
        for start in range(0, len(self.ranked), band):
            words = self.ranked[start : start + band]
            chosen = [w for w in words if self.rng.random() < SWAPPED_SHARE]
            shuffled = chosen[:]
            self.rng.shuffle(shuffled)
            mapping.update(zip(chosen, shuffled, strict=True))
        return mapping

    @staticmethod
    def apply(text: str, mapping: dict[str, str]) -> str:
        return WORD.sub(lambda m: mapping.get(m.group(), m.group()), text)


def _rows(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[tuple]]:
    cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 - fixed names
    return [c[0] for c in cursor.description], cursor.fetchall()


def _insert(conn: sqlite3.Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _shift(value: str | None, delta: timedelta) -> str | None:
    if value is None:
        return None
    return (datetime.fromisoformat(value) + delta).isoformat(sep=" ")


def multiply(database: Path, target_threads: int) -> None:
    """Copy every imported thread (question, answers, comments, tags) until the database
    holds `target_threads` threads."""
    conn = sqlite3.connect(database)
    q_cols, questions = _rows(conn, "questions")
    a_cols, answers = _rows(conn, "answers")
    c_cols, comments = _rows(conn, "comments")
    links = conn.execute("SELECT question_id, tag_id FROM question_tags").fetchall()
    qi = {name: i for i, name in enumerate(q_cols)}
    ai = {name: i for i, name in enumerate(a_cols)}
    ci = {name: i for i, name in enumerate(c_cols)}
    answers_of: dict[int, list[tuple]] = {}
    for row in answers:
        answers_of.setdefault(row[ai["question_id"]], []).append(row)
    comments_of: dict[int, list[tuple]] = {}
    for row in comments:
        comments_of.setdefault(row[ci["question_id"]], []).append(row)
    tags_of: dict[int, list[int]] = {}
    for question_id, tag_id in links:
        tags_of.setdefault(question_id, []).append(tag_id)

    varier = Varier([q[qi["title"]] + q[qi["body_html"]] for q in questions])
    next_q = conn.execute("SELECT max(id) FROM questions").fetchone()[0] + 1
    next_a = conn.execute("SELECT max(id) FROM answers").fetchone()[0] + 1
    next_c = conn.execute("SELECT max(id) FROM comments").fetchone()[0] + 1
    rng = random.Random(5)
    copies_needed = target_threads - len(questions)
    with click.progressbar(length=copies_needed, label="Multiplying threads") as bar:
        made = 0
        while made < copies_needed:
            mapping = varier.mapping()
            new_q, new_a, new_c, new_links = [], [], [], []
            for q in questions[: copies_needed - made]:
                old_qid = q[qi["id"]]
                qid, next_q = next_q, next_q + 1
                delta = timedelta(days=rng.randint(-900, 900), minutes=rng.randint(0, 1440))
                answer_ids: dict[int, int] = {}
                for a in answers_of.get(old_qid, []):
                    aid, next_a = next_a, next_a + 1
                    answer_ids[a[ai["id"]]] = aid
                    row = list(a)
                    row[ai["id"]], row[ai["question_id"]] = aid, qid
                    row[ai["body_html"]] = varier.apply(a[ai["body_html"]], mapping)
                    row[ai["body_source"]] = varier.apply(a[ai["body_source"]], mapping)
                    row[ai["created_at"]] = _shift(a[ai["created_at"]], delta)
                    row[ai["source_key"]] = None
                    new_a.append(row)
                row = list(q)
                row[qi["id"]] = qid
                row[qi["title"]] = varier.apply(q[qi["title"]], mapping)[:200]
                row[qi["body_html"]] = varier.apply(q[qi["body_html"]], mapping)
                row[qi["body_source"]] = varier.apply(q[qi["body_source"]], mapping)
                for name in (
                    "created_at",
                    "last_activity_at",
                    "accepted_at",
                    "first_answer_at",
                    "first_staff_answer_at",
                ):
                    row[qi[name]] = _shift(q[qi[name]], delta)
                row[qi["source_key"]] = None
                row[qi["accepted_answer_id"]] = answer_ids.get(q[qi["accepted_answer_id"]])
                new_q.append(row)
                for c in comments_of.get(old_qid, []):
                    cid, next_c = next_c, next_c + 1
                    row = list(c)
                    row[ci["id"]], row[ci["question_id"]] = cid, qid
                    row[ci["answer_id"]] = answer_ids.get(c[ci["answer_id"]])
                    row[ci["body_html"]] = varier.apply(c[ci["body_html"]], mapping)
                    row[ci["body_source"]] = varier.apply(c[ci["body_source"]], mapping)
                    row[ci["created_at"]] = _shift(c[ci["created_at"]], delta)
                    row[ci["source_key"]] = None
                    new_c.append(row)
                new_links.extend((qid, tag) for tag in tags_of.get(old_qid, []))
            # Questions first: answers and comments refer to them.
            _insert(conn, "questions", q_cols, [_without_accepted(r, qi) for r in new_q])
            _insert(conn, "answers", a_cols, new_a)
            _insert(conn, "comments", c_cols, new_c)
            conn.executemany(
                "UPDATE questions SET accepted_answer_id = ? WHERE id = ?",
                [
                    (r[qi["accepted_answer_id"]], r[qi["id"]])
                    for r in new_q
                    if r[qi["accepted_answer_id"]]
                ],
            )
            conn.executemany("INSERT INTO question_tags VALUES (?, ?)", new_links)
            conn.commit()
            made += len(new_q)
            bar.update(len(new_q))
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def _without_accepted(row: list, qi: dict[str, int]) -> list:
    row = list(row)
    row[qi["accepted_answer_id"]] = None
    return row


def add_bench_threads(app) -> tuple[int, int, str]:
    """A bench customer, a thread with 30 answers (with comments and votes) and a thread with
    one answer, written through the services like real posts."""
    from sqlalchemy import select

    from forum.extensions import db
    from forum.models import Product, Role
    from forum.services import accounts, posting, votes

    with app.app_context():
        product = db.session.scalars(select(Product).order_by(Product.id)).first()
        asker = accounts.register_user("bench-asker@example.com", "Bench Asker", BENCH_PASSWORD)
        customer = accounts.register_user("bench@example.com", "Bench Customer", BENCH_PASSWORD)
        helpers = [
            accounts.register_user(f"helper{n}@example.com", f"Helper {n}", BENCH_PASSWORD)
            for n in range(30)
        ]
        staff = accounts.register_user(
            "bench-staff@example.com", "Bench Staff", BENCH_PASSWORD, Role.STAFF
        )
        del staff
        ids = []
        for answers_wanted in (30, 1):
            question = posting.ask_question(
                asker,
                product.id,
                f"Charger stops working after the firmware update ({answers_wanted})",
                "Since the last firmware update my charger stops after ten minutes. "
                "The light blinks orange and the phone says *not charging*. Any ideas?",
                "charger firmware",
            )
            for n in range(answers_wanted):
                answer = posting.post_answer(
                    helpers[n],
                    question.id,
                    f"Answer {n}: reset the charger by holding the button for **ten seconds**, "
                    "then reconnect it. If the light still blinks, the firmware rollback in "
                    "Settings → Power usually fixes it.\n\n- check the cable\n- try another "
                    "socket",
                )
                for m in range(2):
                    posting.post_comment(
                        helpers[(n + m + 1) % 30], question.id, f"Comment {m} on answer {n}: "
                        "worked for me too.", answer_id=answer.id,
                    )
                for voter in (asker, customer, helpers[(n + 5) % 30]):
                    if voter.id != answer.author_id:
                        votes.cast_vote(voter, answer, "up")
            ids.append(question.id)
        db.session.commit()  # the services leave the commit to their caller: this script
        return ids[0], ids[1], customer.email


def build(target_threads: int = 100_000, rebuild: bool = False) -> Corpus:
    """The cached corpus database, built if missing or of another recipe version."""
    CACHE.mkdir(parents=True, exist_ok=True)
    meta_file = CACHE / "corpus.json"
    if meta_file.exists() and not rebuild:
        corpus = Corpus(**json.loads(meta_file.read_text()))
        if corpus.version == CORPUS_VERSION and corpus.threads >= target_threads:
            click.echo(f"Using the cached corpus: {corpus.threads:,} threads ({meta_file}).")
            migrate(Path(corpus.database), Path(corpus.index_dir))
            return corpus
    if not (CACHE / "import" / "forum.sqlite3").exists():
        import_sites(CACHE / "import")

    started = time.perf_counter()
    database, index_dir = CACHE / "corpus.sqlite3", CACHE / "corpus-index"
    for stale in (database, index_dir, meta_file):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    copy_database(CACHE / "import" / "forum.sqlite3", database)
    multiply(database, target_threads - 2)
    # Bench posts go through the services (by new accounts, so without reputation's
    # privileges); the index is built separately.
    app = make_app(database, index_dir, **NO_PRIVILEGES)
    thread_30, thread_1, email = add_bench_threads(app)
    with app.app_context():
        from sqlalchemy import func, select

        from forum.extensions import db
        from forum.models import Answer, Comment, Question

        counts = [
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Question, Answer, Comment)
        ]
    corpus = Corpus(
        version=CORPUS_VERSION,
        database=str(database),
        index_dir=str(index_dir),
        threads=counts[0],
        answers=counts[1],
        comments=counts[2],
        thread_30=thread_30,
        thread_1=thread_1,
        customer_email=email,
        build_seconds=round(time.perf_counter() - started, 1),
    )
    meta_file.write_text(json.dumps(asdict(corpus), indent=2))
    return corpus


def migrate(database: Path, index_dir: Path) -> None:
    """Bring a cached corpus to the current schema, as `flask db upgrade` does a live site."""
    from flask_migrate import upgrade

    with make_app(database, index_dir).app_context():
        upgrade()


def ensure_index(corpus: Corpus) -> float | None:
    """Build the corpus's search index unless one of the current format is there.
    Returns the build speed in threads/s when it was built."""
    from search.index import BLOCK_PICKLE_PROTOCOL, INDEX_FORMAT

    # Its blocks as this code writes them, too: an index kept from before reads slower.
    written = f"{INDEX_FORMAT}/{BLOCK_PICKLE_PROTOCOL}"
    stamp = Path(corpus.index_dir) / "bench-format"
    if stamp.exists() and stamp.read_text() == written:
        return None
    shutil.rmtree(corpus.index_dir, ignore_errors=True)
    app = make_app(Path(corpus.database), Path(corpus.index_dir))
    with app.app_context():
        from forum.cli import reindex_with_progress

        started = time.perf_counter()
        count = reindex_with_progress(procs=os.cpu_count() or 1)
        rate = count / (time.perf_counter() - started)
        # The index was built from everything in the database: what the outbox holds from
        # building the corpus is done, so the worker starts the run with nothing to catch up.
        from sqlalchemy import update

        from forum.extensions import db
        from forum.models import OutboxEvent, utcnow

        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None))
            .values(processed_at=utcnow())
        )
        db.session.commit()
    stamp.write_text(written)
    return rate
