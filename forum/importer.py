"""Import one Stack Exchange site dump (XML folder or .7z) as one product, idempotently."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from . import markup
from .extensions import db
from .markup import excerpt, render_markdown, sanitize_html
from .models import Answer, Comment, Product, Question, Tag, User, question_tags
from .services.lifecycle import first_answer_values
from .thread_changes import touch_thread

# Known sites: product name and where the originals live (for the CC BY-SA attribution).
KNOWN_SITES = {
    "beer.stackexchange.com": ("Beer, Wine & Spirits", "https://beer.stackexchange.com"),
    "iot.stackexchange.com": ("Internet of Things", "https://iot.stackexchange.com"),
    "quantumcomputing.stackexchange.com": (
        "Quantum Computing",
        "https://quantumcomputing.stackexchange.com",
    ),
    "askaboutgadgets": ("AskAboutGadgets", "https://area51.stackexchange.com/proposals/614"),
}
BATCH = 500
Progress = Callable[[int, int], None]


# Rendering and sanitising the posts is most of an import's time, and each post is rendered
# alone: past this many texts they are rendered in worker processes, one per core, while the
# importing process inserts rows.
PARALLEL_FROM = 200


class _Rendered:
    def __init__(self, texts: list[str]):
        self._texts = texts

    def get(self) -> list[str]:
        return self._texts


def _render_in_background(jobs: list[tuple[Callable[[str], str], list[str]]]) -> list:
    """Start rendering each (render, texts) job; returns for each something whose `.get()`
    gives the rendered texts in order. With several cores and a platform that forks, forked
    processes do the work (they only render: no database, no index) and exit when done;
    otherwise each job is rendered at once."""
    workers = min(os.cpu_count() or 1, 8)
    context = None
    if sum(len(texts) for _render, texts in jobs) >= PARALLEL_FROM and workers >= 2:
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            context = None
    if context is None:
        return [_Rendered([render(text) for text in texts]) for render, texts in jobs]
    pool = context.Pool(workers, markup.allow_image_hosts, (markup.image_hosts(),))
    started = [
        pool.map_async(render, texts, chunksize=max(16, len(texts) // (workers * 8)))
        for render, texts in jobs
    ]
    pool.close()  # no more work: the processes exit once these jobs are done
    return started


@dataclass
class ImportResult:
    site: str
    questions: int = 0
    answers: int = 0
    comments: int = 0
    users: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def posts_per_second(self) -> float:
        return (self.questions + self.answers) / self.seconds if self.seconds else 0.0


def site_name(path: Path) -> str:
    name = path.name
    return name[: -len(".7z")] if name.endswith(".7z") else name


def _site_links(site: str) -> tuple[str, str, bool]:
    """(product name, site URL, whether question/user URLs exist on it)."""
    if site in KNOWN_SITES:
        name, url = KNOWN_SITES[site]
        return name, url, site != "askaboutgadgets"
    return site, f"https://{site}", site.endswith(".com")


def _find(folder: Path, table: str) -> Path | None:
    for candidate in folder.iterdir():
        if candidate.name.lower() == f"{table.lower()}.xml":
            return candidate
    return None


def _rows(path: Path | None) -> Iterator[dict[str, str]]:
    if path is None:
        return
    for _event, element in ET.iterparse(path, events=("end",)):
        if element.tag == "row":
            yield dict(element.attrib)
            element.clear()


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _existing_keys(model, prefix: str) -> dict[str, int]:
    rows = db.session.execute(
        select(model.source_key, model.id).where(model.source_key.startswith(prefix))
    )
    return {key: id_ for key, id_ in rows}


def _insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """Insert the rows (a model's columns by name) and return their new ids in order.

    Through the table, not the ORM's bulk insert, which processed every row's values in
    Python again: the inserts were 0.69 s of the importing process's 1.15 s of processor
    on one dump (the rendering is in other processes)."""
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    connection = db.session.connection()
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        ids.extend(connection.execute(statement, rows[start : start + BATCH]).scalars())
    return ids


def import_site(path: str | Path, progress: Progress | None = None) -> ImportResult:
    """Read a dump and add what is not there yet. Commits once at the end."""
    path = Path(path)
    if path.suffix == ".7z":
        import py7zr

        with tempfile.TemporaryDirectory() as tmp:
            with py7zr.SevenZipFile(path) as archive:
                archive.extractall(tmp)
            return _import_folder(Path(tmp), site_name(path), progress)
    return _import_folder(path, site_name(path), progress)


def _import_folder(folder: Path, site: str, progress: Progress | None) -> ImportResult:
    started = time.perf_counter()
    result = ImportResult(site=site)
    product_name, site_url, has_links = _site_links(site)
    report = progress or (lambda done, total: None)

    posts = list(_rows(_find(folder, "Posts")))
    comments = list(_rows(_find(folder, "Comments")))
    total = len(posts) + len(comments)
    report(0, total)

    product = db.session.scalar(select(Product).where(Product.slug == _slug(site)))
    if product is None:
        product = Product(
            name=product_name,
            slug=_slug(site),
            source_site=product_name,
            source_url=site_url,
            description=f"Questions and answers from {product_name} (Stack Exchange network).",
        )
        db.session.add(product)
        db.session.flush()

    questions = [p for p in posts if p.get("PostTypeId") == "1"]
    answers = [p for p in posts if p.get("PostTypeId") == "2"]
    q_prefix, a_prefix, c_prefix = f"{site}/q/", f"{site}/a/", f"{site}/c/"
    question_ids = _existing_keys(Question, q_prefix)
    answer_ids = _existing_keys(Answer, a_prefix)
    comment_ids = _existing_keys(Comment, c_prefix)
    new_questions = [q for q in questions if q_prefix + q["Id"] not in question_ids]
    unseen_answers = [a for a in answers if a_prefix + a["Id"] not in answer_ids]
    unseen_comments = [c for c in comments if c_prefix + c["Id"] not in comment_ids]
    question_bodies, answer_bodies, comment_bodies = _render_in_background(
        [
            (sanitize_html, [q.get("Body", "") for q in new_questions]),
            (sanitize_html, [a.get("Body", "") for a in unseen_answers]),
            (render_markdown, [c.get("Text", "") for c in unseen_comments]),
        ]
    )

    user_ids = _import_users(folder, site, site_url, has_links, posts, comments, result)

    # Questions, with their tags.
    result.skipped += len(questions) - len(new_questions)
    rows = []
    for q, body_html in zip(new_questions, question_bodies.get(), strict=True):
        created = _date(q["CreationDate"])
        rows.append(
            dict(
                product_id=product.id,
                author_id=user_ids[_owner_key(site, q)],
                title=(q.get("Title") or "(untitled)")[:200],
                body_source=q.get("Body", ""),
                body_html=body_html,
                excerpt=excerpt(body_html),
                score=int(q.get("Score", 0)),
                view_count=int(q.get("ViewCount", 0) or 0),
                answer_count=0,
                comment_count=0,
                created_at=created,
                last_activity_at=_date(q.get("LastActivityDate")) or created,
                source_key=q_prefix + q["Id"],
                source_url=f"{site_url}/questions/{q['Id']}" if has_links else site_url,
            )
        )
    for q, new_id in zip(new_questions, _insert_returning_ids(Question, rows), strict=True):
        question_ids[q_prefix + q["Id"]] = new_id
    result.questions = len(new_questions)
    _attach_tags(new_questions, q_prefix, question_ids)
    report(len(questions), total)

    # Answers, then the accepted marks and the answer counters.
    new_answers, bodies = [], []
    for a, body_html in zip(unseen_answers, answer_bodies.get(), strict=True):
        if q_prefix + a.get("ParentId", "") in question_ids:
            new_answers.append(a)
            bodies.append(body_html)
    result.skipped += len(answers) - len(new_answers)
    rows = [
        dict(
            question_id=question_ids[q_prefix + a["ParentId"]],
            author_id=user_ids[_owner_key(site, a)],
            body_source=a.get("Body", ""),
            body_html=body_html,
            score=int(a.get("Score", 0)),
            created_at=_date(a["CreationDate"]),
            source_key=a_prefix + a["Id"],
        )
        for a, body_html in zip(new_answers, bodies, strict=True)
    ]
    for a, new_id in zip(new_answers, _insert_returning_ids(Answer, rows), strict=True):
        answer_ids[a_prefix + a["Id"]] = new_id
    result.answers = len(new_answers)
    report(len(questions) + len(answers), total)

    # Comments on imported posts.
    post_thread: dict[str, tuple[int, int | None]] = {}
    for q in questions:
        if q_prefix + q["Id"] in question_ids:
            post_thread[q["Id"]] = (question_ids[q_prefix + q["Id"]], None)
    for a in answers:
        if a_prefix + a["Id"] in answer_ids:
            parent = question_ids[q_prefix + a["ParentId"]]
            post_thread[a["Id"]] = (parent, answer_ids[a_prefix + a["Id"]])
    new_comments, bodies = [], []
    for c, body_html in zip(unseen_comments, comment_bodies.get(), strict=True):
        if c.get("PostId") in post_thread:
            new_comments.append(c)
            bodies.append(body_html)
    result.skipped += len(comments) - len(new_comments)
    rows = []
    for c, body_html in zip(new_comments, bodies, strict=True):
        question_id, answer_id = post_thread[c["PostId"]]
        rows.append(
            dict(
                question_id=question_id,
                answer_id=answer_id,
                author_id=user_ids[_owner_key(site, c, field="UserId")],
                body_source=c.get("Text", ""),
                body_html=body_html,
                created_at=_date(c["CreationDate"]),
                source_key=c_prefix + c["Id"],
            )
        )
    _insert_returning_ids(Comment, rows)
    result.comments = len(new_comments)

    _update_counters_and_accepted(questions, q_prefix, a_prefix, question_ids, answer_ids)
    # Rows went in as bulk inserts, which the flush hook cannot see: index these threads.
    for question_id in question_ids.values():
        touch_thread(db.session, question_id)
    db.session.commit()
    report(total, total)
    result.seconds = time.perf_counter() - started
    return result


def _slug(site: str) -> str:
    return site.replace(".stackexchange.com", "").replace(".", "-").lower()


def _owner_key(site: str, row: dict, field: str = "OwnerUserId") -> str:
    owner = row.get(field)
    return f"{site}/u/{owner}" if owner else f"{site}/u/unknown"


def _import_users(folder, site, site_url, has_links, posts, comments, result) -> dict[str, int]:
    """Authors of the imported posts and comments, created once each (never able to sign in)."""
    wanted = {_owner_key(site, p) for p in posts} | {
        _owner_key(site, c, field="UserId") for c in comments
    }
    existing = _existing_keys(User, f"{site}/u/")
    names = {}
    for row in _rows(_find(folder, "Users")):
        key = f"{site}/u/{row['Id']}"
        if key in wanted and key not in existing:
            names[key] = (row.get("DisplayName") or f"user{row['Id']}")[:80]
    rows = []
    for key in sorted(wanted - existing.keys()):
        user_id = key.rsplit("/", 1)[1]
        known = user_id.lstrip("-").isdigit()
        rows.append(
            dict(
                email=f"{_slug(site)}-{user_id}@imported.invalid",
                display_name=names.get(key, "Anonymous" if not known else f"user{user_id}"),
                password_hash=None,
                role="customer",
                active=False,
                created_at=datetime.now(UTC),
                source_key=key,
                source_url=f"{site_url}/users/{user_id}" if has_links and known else None,
            )
        )
    keys = [r["source_key"] for r in rows]
    existing.update(zip(keys, _insert_returning_ids(User, rows), strict=True))
    result.users = len(rows)
    return existing


def _attach_tags(new_questions, q_prefix, question_ids) -> None:
    wanted: dict[str, list[str]] = {}
    for q in new_questions:
        names = [t for t in q.get("Tags", "").replace(">", " ").replace("<", " ").split() if t]
        wanted[q["Id"]] = [n.lower()[:40] for n in names]
    all_names = {n for names in wanted.values() for n in names}
    tag_ids = (
        {t.name: t.id for t in db.session.scalars(select(Tag).where(Tag.name.in_(all_names)))}
        if all_names
        else {}
    )
    missing = sorted(all_names - tag_ids.keys())
    tag_ids.update(
        zip(missing, _insert_returning_ids(Tag, [{"name": n} for n in missing]), strict=True)
    )
    links = [
        {"question_id": question_ids[q_prefix + qid], "tag_id": tag_ids[name]}
        for qid, names in wanted.items()
        for name in dict.fromkeys(names)
    ]
    for start in range(0, len(links), BATCH):
        db.session.execute(insert(question_tags), links[start : start + BATCH])


def _update_counters_and_accepted(questions, q_prefix, a_prefix, question_ids, answer_ids) -> None:
    from sqlalchemy import func

    answer_counts = (
        select(func.count(Answer.id))
        .where(Answer.question_id == Question.id, Answer.deleted_at.is_(None))
        .scalar_subquery()
    )
    comment_counts = (
        select(func.count(Comment.id))
        .where(Comment.question_id == Question.id, Comment.deleted_at.is_(None))
        .scalar_subquery()
    )
    ids = [
        question_ids[q_prefix + q["Id"]] for q in questions if q_prefix + q["Id"] in question_ids
    ]
    for start in range(0, len(ids), BATCH):
        db.session.execute(
            update(Question)
            .where(Question.id.in_(ids[start : start + BATCH]))
            .values(
                answer_count=answer_counts,
                comment_count=comment_counts,
                **first_answer_values(),
            )
            .execution_options(synchronize_session=False)
        )
    accepted = [
        {
            "qid": question_ids[q_prefix + q["Id"]],
            "aid": answer_ids[a_prefix + q["AcceptedAnswerId"]],
        }
        for q in questions
        if q.get("AcceptedAnswerId")
        and a_prefix + q["AcceptedAnswerId"] in answer_ids
        and q_prefix + q["Id"] in question_ids
    ]
    if accepted:
        from sqlalchemy import bindparam

        db.session.execute(
            update(Question.__table__)
            .where(Question.__table__.c.id == bindparam("qid"))
            .values(accepted_answer_id=bindparam("aid")),
            accepted,
        )
