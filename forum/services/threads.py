"""Read-side queries for question lists and thread pages, loading only what pages show."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import bindparam, exists, func, literal, null, or_, select
from sqlalchemy.orm import aliased, joinedload, load_only, selectinload

from ..extensions import as_utc, cache, db, read_plain
from ..markup import excerpt
from ..models import (
    STAFF_ROLES,
    Answer,
    Comment,
    Notification,
    PrivateMessage,
    Product,
    Question,
    Tag,
    User,
    Vote,
    Watch,
    question_tags,
)
from ..permissions import can_see_deleted, can_see_hidden, reputation_needed
from .errors import NotFound
from .moderation import can_read_private
from .votes import votes_by

SORTS = {
    "active": (Question.last_activity_at.desc(), Question.id.desc()),
    "newest": (Question.created_at.desc(), Question.id.desc()),
    "votes": (Question.score.desc(), Question.id.desc()),
}
STATES = {
    "unanswered": Question.answer_count == 0,
    # "!= 0", not "> 0": a range SQLite would serve from an index and then sort a third of
    # the table; this way it walks the sort order's index and stops after a page.
    "answered": (Question.answer_count != 0)
    & Question.accepted_answer_id.is_(None)
    & Question.verified_answer_id.is_(None),
    "solved": Question.accepted_answer_id.is_not(None),
    # Served by partial indexes of the verified threads (`ix_questions_verified_activity`):
    # a walk of the sort order's index would pass every unverified thread first.
    "verified": Question.verified_answer_id.is_not(None),
}


@dataclass
class ListFilters:
    sort: str = "active"
    state: str | None = None
    product: str | None = None
    tag: str | None = None
    page: int = 1

    def __post_init__(self) -> None:
        if self.sort == "unanswered":  # the older tab link
            self.sort, self.state = "newest", "unanswered"
        if self.sort not in SORTS:
            self.sort = "active"
        if self.state not in STATES:
            self.state = None
        self.page = max(1, self.page)
        # Filters come straight from the query string; NUL is refused by PostgreSQL.
        self.product = (self.product or "").replace("\x00", "")[:120] or None
        self.tag = (self.tag or "").replace("\x00", "").strip().lower()[:40] or None


# What a question row shows: never the bodies, which are most of a question's bytes.
LIST_COLUMNS = (
    Question.id,
    Question.title,
    Question.excerpt,
    Question.score,
    Question.answer_count,
    Question.accepted_answer_id,
    Question.verified_answer_id,
    Question.product_id,
    Question.author_id,
    Question.created_at,
    Question.last_activity_at,
    Question.deleted_at,
)


def _list_conditions(viewer: User | None, filters: ListFilters) -> list:
    conditions = []
    if not can_see_deleted(viewer):
        conditions.append(Question.deleted_at.is_(None))
    if not can_see_hidden(viewer):
        conditions.append(Question.hidden_at.is_(None))
    if filters.state:
        conditions.append(STATES[filters.state])
    # Uncorrelated subqueries: run once, then the indexes on product_id and tag_id serve.
    if filters.product:
        product_id = select(Product.id).where(Product.slug == filters.product).scalar_subquery()
        conditions.append(Question.product_id == product_id)
    if filters.tag:
        tagged = select(question_tags.c.question_id).join(Tag).where(Tag.name == filters.tag)
        conditions.append(Question.id.in_(tagged))
    return conditions


def list_questions(viewer: User | None, filters: ListFilters, per_page: int) -> Pagination:
    """One page of questions for the list views, with authors, products and tags preloaded."""
    conditions = _list_conditions(viewer, filters)
    # Many-to-one rows are joined in; the tag collection comes in one extra query.
    query = (
        select(Question)
        .options(
            load_only(*LIST_COLUMNS),
            joinedload(Question.author).load_only(User.display_name, User.role),
            joinedload(Question.product).load_only(Product.name, Product.slug),
            selectinload(Question.tags),
        )
        .where(*conditions)
        .order_by(*SORTS[filters.sort])
    )
    page = db.paginate(query, page=filters.page, per_page=per_page, error_out=False, count=False)
    page.total = count_questions(viewer, filters, conditions)
    return page


LIST_GENERATION = "list-generation"


def list_audience(viewer: User | None) -> str:
    """Who sees the same lists: staff (deleted and hidden threads too) or everyone else."""
    return "staff" if can_see_deleted(viewer) or can_see_hidden(viewer) else "public"


PRODUCT_CHOICES = "list-products"


def list_generation() -> str:
    """A token that changes whenever a transaction that changed a thread or a product
    commits: lists cached under it are never older than the newest change."""
    return cache.get(LIST_GENERATION) or "0"


@dataclass(frozen=True, slots=True)
class ProductChoice:
    """A product as lists, filters and forms offer it."""

    id: int
    slug: str
    name: str


def product_choices(generation: str | None = None, kept=None) -> list[ProductChoice]:
    """The products that are not archived, by name: kept in the cache under the lists'
    generation (a changed product renews it). A caller that read the generation and the
    kept value in one round trip with its own keys passes them (`cache.get_many`)."""
    if generation is None:
        generation, kept = cache.get_many(LIST_GENERATION, PRODUCT_CHOICES)
    generation = generation or "0"
    if kept is not None and kept[0] == generation:
        return kept[1]
    choices = [
        ProductChoice(*row)
        for row in db.session.execute(
            select(Product.id, Product.slug, Product.name)
            .where(Product.archived_at.is_(None))
            .order_by(Product.name)
        )
    ]
    if seconds := current_app.config["LIST_CACHE_SECONDS"]:
        cache.set(PRODUCT_CHOICES, (generation, choices), timeout=seconds)
    return choices


def new_list_generation() -> None:
    cache.set(LIST_GENERATION, secrets.token_hex(8), timeout=0)


def count_questions(viewer: User | None, filters: ListFilters, conditions: list) -> int:
    """How many questions match, cached for a few seconds: counting 100,000 rows costs more
    than the rest of the page, and "1,234 questions" may lag a new question briefly."""
    audience = list_audience(viewer)
    key = f"list-count:{audience}:{filters.state}:{filters.product}:{filters.tag}"
    total = cache.get(key)
    if total is None:
        total = db.session.scalar(select(func.count(Question.id)).where(*conditions))
        cache.set(key, total, timeout=current_app.config["LIST_COUNT_CACHE_SECONDS"])
    return total


@dataclass
class Thread:
    question: Question
    answers: list[Answer]
    question_comments: list[Comment]
    answer_comments: dict[int, list[Comment]] = field(default_factory=dict)
    my_votes: dict[str, int] = field(default_factory=dict)  # "q<id>"/"a<id>" -> +1 / -1
    can_read_private: bool = False  # a private conversation exists and the viewer may read it


def _post_columns(model) -> tuple:
    """What a thread page shows of an answer or comment: never the Markdown source."""
    columns = [
        model.question_id,
        model.author_id,
        model.body_html,
        model.created_at,
        model.edited_at,
        model.deleted_at,
        model.hidden_at,
    ]
    if model is Answer:
        columns.append(Answer.score)
    return tuple(columns)


# What a thread page shows of a post's author.
AUTHOR_COLUMNS = (User.display_name, User.source_url, User.role, User.active, User.reputation)


def _author_columns(relationship):
    return joinedload(relationship).load_only(*AUTHOR_COLUMNS)


@dataclass(frozen=True)
class ThreadHeader:
    """Just what decides which rendering of a thread a reader gets: the question's title,
    revision, visibility and asker; for a signed-in reader, also their own standing in the
    thread and the header's unread count, read in the same statement."""

    id: int
    title: str
    revision: int
    author_id: int
    deleted_at: datetime | None
    hidden_at: datetime | None
    wrote_in: bool = False  # an answer or comment of the reader's, live or not
    watch_level: str | None = None
    has_votes: bool = False
    unread: int | None = None


@functools.cache
def _header_statements():
    """The two forms of the header's one statement, built once (bound per call)."""
    question_id, viewer_id = bindparam("question_id"), bindparam("viewer_id")
    columns = (
        Question.id,
        Question.title,
        Question.revision,
        Question.author_id,
        Question.deleted_at,
        Question.hidden_at,
    )
    anonymous = select(*columns).where(Question.id == question_id)
    answered = exists().where(Answer.question_id == Question.id, Answer.author_id == viewer_id)
    commented = exists().where(Comment.question_id == Question.id, Comment.author_id == viewer_id)
    voted_answers = (
        select(Vote.id)
        .join(Answer, Answer.id == Vote.answer_id)
        .where(Vote.user_id == viewer_id, Answer.question_id == Question.id)
    )
    voted = exists().where(Vote.user_id == viewer_id, Vote.question_id == Question.id)
    reader = select(
        *columns,
        or_(answered, commented).label("wrote_in"),
        select(Watch.level)
        .where(Watch.user_id == viewer_id, Watch.question_id == Question.id)
        .scalar_subquery()
        .label("watch_level"),
        or_(voted, voted_answers.exists()).label("has_votes"),
        select(func.count(Notification.id))
        .where(Notification.user_id == viewer_id, Notification.read_at.is_(None))
        .scalar_subquery()
        .label("unread"),
    ).where(Question.id == question_id)
    return anonymous, reader


def thread_header(viewer: User | None, question_id: int) -> ThreadHeader:
    """The thread's header after the same visibility checks as `load_thread`, in one
    statement (with the signed-in reader's own part: whether they wrote in the thread,
    their watch, whether they voted in it, their unread notifications)."""
    anonymous, reader = _header_statements()
    if viewer is not None and viewer.is_authenticated:
        rows = read_plain(reader, {"question_id": question_id, "viewer_id": viewer.id})
    else:
        rows = read_plain(anonymous, {"question_id": question_id})
    header = None
    if rows:
        row = rows[0]
        own = (*row[:4], as_utc(row[4]), as_utc(row[5]))
        if len(row) > len(own):  # the reader's part (SQLite gives its truths as 0 and 1)
            wrote_in, watch_level, has_votes, unread = row[len(own) :]
            header = ThreadHeader(*own, bool(wrote_in), watch_level, bool(has_votes), unread)
        else:
            header = ThreadHeader(*own)
    _require_visible(viewer, header)
    return header


def reader_class(viewer: User, header: ThreadHeader) -> str | None:
    """The name of the rendering that this signed-in reader shares with others, or None when
    the page must be made for them alone.

    A customer who neither asked the question nor wrote in the thread sees what every such
    customer sees, but for their own votes, CSRF token and posting keys (holes filled per
    request, `page_pieces`) and, when they lack the reputation to comment, the hint that
    says how much they have. Staff, the asker and the thread's authors see their own
    controls (edit, accept, verify, thank), so their pages are made per request."""
    if viewer.is_staff or viewer.id == header.author_id or header.wrote_in:
        return None
    lacking = reputation_needed(viewer, "comment")
    # The hint's "you have N" is a hole: readers short of the same bar share one rendering.
    return "reader" if lacking is None else f"reader-{lacking}"


def _require_visible(viewer: User | None, question: Question | ThreadHeader | None) -> None:
    if question is None:
        raise NotFound("That question does not exist or was deleted.")
    _check_visible(viewer, question.deleted_at, question.hidden_at)


def _check_visible(viewer: User | None, deleted_at, hidden_at) -> None:
    if deleted_at is not None and not can_see_deleted(viewer):
        raise NotFound("That question does not exist or was deleted.")
    if hidden_at is not None and not can_see_hidden(viewer):
        raise NotFound("That question does not exist or was deleted.")


def _visible_question(viewer: User | None, question_id: int) -> Question:
    question = db.session.scalar(
        select(Question)
        .where(Question.id == question_id)
        .options(
            joinedload(Question.author),
            joinedload(Question.product),
            joinedload(Question.verified_by),
            selectinload(Question.tags),
        )
    )
    _require_visible(viewer, question)
    return question


def _assemble(viewer, question: Question, answers: list, comments, votes: bool = True) -> Thread:
    # Staff-verified first, then the asker's accepted one, then by score, then oldest.
    answers.sort(
        key=lambda a: (a.id != question.verified_answer_id, a.id != question.accepted_answer_id)
    )
    thread = Thread(
        question=question,
        answers=answers,
        question_comments=[],
        my_votes=votes_by(viewer, question.id) if votes else {},
        can_read_private=private_visible(viewer, question),
    )
    for comment in comments:
        if comment.answer_id is None:
            thread.question_comments.append(comment)
        else:
            thread.answer_comments.setdefault(comment.answer_id, []).append(comment)
    return thread


def load_thread(viewer: User | None, question_id: int) -> Thread:
    """A question with its answers and all comments as ORM objects (every column within
    reach, as the moderation page needs), in a fixed number of queries."""
    question = _visible_question(viewer, question_id)
    show_deleted, show_hidden = can_see_deleted(viewer), can_see_hidden(viewer)

    answers_query = (
        select(Answer)
        .where(Answer.question_id == question.id)
        .options(load_only(*_post_columns(Answer)), _author_columns(Answer.author))
        .order_by(Answer.score.desc(), Answer.created_at, Answer.id)
    )
    comments_query = (
        select(Comment)
        .where(Comment.question_id == question.id)
        .options(
            load_only(*_post_columns(Comment), Comment.answer_id), _author_columns(Comment.author)
        )
        .order_by(Comment.created_at, Comment.id)
    )
    if not show_deleted:
        answers_query = answers_query.where(Answer.deleted_at.is_(None))
        comments_query = comments_query.where(Comment.deleted_at.is_(None))
    if not show_hidden:
        answers_query = answers_query.where(Answer.hidden_at.is_(None))
        comments_query = comments_query.where(Comment.hidden_at.is_(None))
    answers = list(db.session.scalars(answers_query))
    return _assemble(viewer, question, answers, db.session.scalars(comments_query))


@dataclass(frozen=True, slots=True)
class Author:
    """What a thread page shows of a post's author."""

    id: int
    display_name: str
    source_url: str | None
    role: str
    active: bool
    reputation: int

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


@dataclass(slots=True)
class PostView:
    """An answer or comment as a thread page shows it: plain values from one statement for
    all of a thread's answers (one for its comments), not ORM objects, which cost several
    times the query to build on a thread of 30 answers and 60 comments."""

    # In the order of `_post_rows_statement`'s columns.
    id: int
    answer_id: int | None
    question_id: int
    author_id: int
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    hidden_at: datetime | None
    score: int
    author: Author
    question: Question  # for `permissions.thread_of`

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True)
class ProductView:
    """What a thread page shows of the question's product."""

    slug: str
    name: str
    source_site: str | None
    source_url: str | None


@dataclass(frozen=True, slots=True)
class Linked:
    """A question named by another (the one a duplicate points to): its id and title."""

    id: int
    title: str


@dataclass(slots=True)
class TagView:
    """A tag on a thread page: its id and the name its link filters the list by."""

    id: int
    name: str


@dataclass(slots=True)
class QuestionView:
    """The question as a thread page shows it, from one statement with its author, product,
    verifier and the question it duplicates (tags from a second), not an ORM object with
    eager loads, which cost a page made anew more than its 90 answers and comments."""

    # In the order of `_question_statement`'s first columns.
    id: int
    product_id: int
    author_id: int
    title: str
    body_html: str
    score: int
    answer_count: int
    accepted_answer_id: int | None
    verified_answer_id: int | None
    verified_by_id: int | None
    verified_at: datetime | None
    verified_note: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    hidden_at: datetime | None
    locked_at: datetime | None
    source_url: str | None
    revision: int
    duplicate_of_id: int | None
    author: Author
    product: ProductView
    verified_by: Author | None
    duplicate_of: Linked | None
    tags: list[TagView] = field(default_factory=list)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_solved(self) -> bool:
        return self.accepted_answer_id is not None

    @property
    def is_verified(self) -> bool:
        return self.verified_answer_id is not None


QUESTION_COLUMNS = (
    Question.id,
    Question.product_id,
    Question.author_id,
    Question.title,
    Question.body_html,
    Question.score,
    Question.answer_count,
    Question.accepted_answer_id,
    Question.verified_answer_id,
    Question.verified_by_id,
    Question.verified_at,
    Question.verified_note,
    Question.created_at,
    Question.edited_at,
    Question.deleted_at,
    Question.hidden_at,
    Question.locked_at,
    Question.source_url,
    Question.revision,
    Question.duplicate_of_id,
)


@functools.cache
def _question_statements():
    """The question with what its page shows of its author, product, verifier and duplicate
    target; and its tags by name. Built once, bound per call."""
    question_id = bindparam("question_id")
    verifier, duplicate = aliased(User), aliased(Question)
    question = (
        select(
            *QUESTION_COLUMNS,
            *AUTHOR_COLUMNS,
            Product.slug,
            Product.name,
            Product.source_site,
            Product.source_url,
            *(getattr(verifier, column.key) for column in AUTHOR_COLUMNS),
            duplicate.title,
        )
        .join(User, User.id == Question.author_id)
        .join(Product, Product.id == Question.product_id)
        .outerjoin(verifier, verifier.id == Question.verified_by_id)
        .outerjoin(duplicate, duplicate.id == Question.duplicate_of_id)
        .where(Question.id == question_id)
    )
    tags = (
        select(Tag.id, Tag.name)
        .join(question_tags, question_tags.c.tag_id == Tag.id)
        .where(question_tags.c.question_id == question_id)
        .order_by(Tag.name)
    )
    return question, tags


# Where `_question_statements`' row holds what: the question's own columns, its author's,
# its product's four, the verifier's, then the title of the question it duplicates.
_Q = {column.key: n for n, column in enumerate(QUESTION_COLUMNS)}
QUESTION_AUTHOR = len(QUESTION_COLUMNS)
QUESTION_PRODUCT = QUESTION_AUTHOR + len(AUTHOR_COLUMNS)
QUESTION_VERIFIER = QUESTION_PRODUCT + 4
AUTHOR_WIDTH = len(AUTHOR_COLUMNS)
_Q_TIMES = tuple(
    _Q[name]
    for name in ("verified_at", "created_at", "edited_at", "deleted_at", "hidden_at", "locked_at")
)


def _question_view(rows: ThreadRows) -> QuestionView:
    row = rows.question
    own = list(row[:QUESTION_AUTHOR])
    for n in _Q_TIMES:
        own[n] = as_utc(own[n])
    verified_by_id, duplicate_of_id = own[_Q["verified_by_id"]], own[_Q["duplicate_of_id"]]
    return QuestionView(
        *own,
        author=Author(own[_Q["author_id"]], *row[QUESTION_AUTHOR:QUESTION_PRODUCT]),
        product=ProductView(*row[QUESTION_PRODUCT:QUESTION_VERIFIER]),
        verified_by=None
        if verified_by_id is None
        else Author(verified_by_id, *row[QUESTION_VERIFIER : QUESTION_VERIFIER + AUTHOR_WIDTH]),
        duplicate_of=None if duplicate_of_id is None else Linked(duplicate_of_id, row[-1]),
        tags=[TagView(*tag) for tag in rows.tags],
    )


@functools.cache
def _post_rows_statement(model, show_deleted: bool, show_hidden: bool):
    """The columns of `_post_columns` and `AUTHOR_COLUMNS` as plain rows; built once per
    kind of post and kind of reader."""
    answer_id = model.answer_id if model is Comment else literal(None).label("answer_id")
    score = () if model is Answer else (literal(0).label("score"),)
    order = (
        (Answer.score.desc(), Answer.created_at, Answer.id)
        if model is Answer
        else (Comment.created_at, Comment.id)
    )
    # Posts a reader may not see are left out, so their times are known to be empty: no
    # column to read and convert.
    columns = [
        null().label(column.key)
        if (column is model.deleted_at and not show_deleted)
        or (column is model.hidden_at and not show_hidden)
        else column
        for column in _post_columns(model)
    ]
    statement = (
        select(model.id, answer_id, *columns, *score, *AUTHOR_COLUMNS)
        .join(User, User.id == model.author_id)
        .where(model.question_id == bindparam("question_id"))
        .order_by(*order)
    )
    if not show_deleted:
        statement = statement.where(model.deleted_at.is_(None))
    if not show_hidden:
        statement = statement.where(model.hidden_at.is_(None))
    return statement


@dataclass(slots=True)
class ThreadRows:
    """A thread page's rows as the driver gives them (`read_plain`): what its post blocks are
    keyed by (`post_blocks.keys_for`), and what its views are made of when a block must be
    rendered (`thread_from_rows`). Answers are in the page's order."""

    question: tuple  # `_question_statements`' columns (see `_Q`)
    tags: list[tuple]  # (id, name)
    answers: list[tuple]  # `_post_rows_statement`'s columns (see `POST`)
    comments: list[tuple]

    def question_value(self, name: str):
        return self.question[_Q[name]]


class POST:
    """Where a row of `_post_rows_statement` holds what."""

    ID, ANSWER_ID, AUTHOR_ID, BODY = 0, 1, 3, 4
    TIMES = (5, 6, 7, 8)  # created, edited, deleted, hidden
    DELETED, HIDDEN = 7, 8
    AUTHOR = 10  # AUTHOR_COLUMNS from here on


def read_thread_rows(viewer: User | None, question_id: int) -> ThreadRows:
    """The thread's rows after the same visibility checks as `load_thread`: four statements,
    each run by the driver alone."""
    question_statement, tags_statement = _question_statements()
    found = read_plain(question_statement, {"question_id": question_id})
    row = found[0] if found else None
    if row is None:
        _require_visible(viewer, None)
    _check_visible(viewer, row[_Q["deleted_at"]], row[_Q["hidden_at"]])
    show_deleted, show_hidden = can_see_deleted(viewer), can_see_hidden(viewer)
    parameters = {"question_id": question_id}
    answers = read_plain(_post_rows_statement(Answer, show_deleted, show_hidden), parameters)
    # Staff-verified first, then the asker's accepted one, then by score, then oldest.
    verified, accepted = row[_Q["verified_answer_id"]], row[_Q["accepted_answer_id"]]
    answers.sort(key=lambda a: (a[0] != verified, a[0] != accepted))
    return ThreadRows(
        question=row,
        tags=read_plain(tags_statement, parameters),
        answers=answers,
        comments=read_plain(_post_rows_statement(Comment, show_deleted, show_hidden), parameters),
    )


def _post_views(rows: list[tuple], question: QuestionView) -> list[PostView]:
    # One `Author` per person however often they wrote.
    authors: dict[int, Author] = {}
    views = []
    created, edited, deleted, hidden = POST.TIMES
    for row in rows:
        author = authors.get(row[POST.AUTHOR_ID])
        if author is None:
            author = authors[row[POST.AUTHOR_ID]] = Author(
                row[POST.AUTHOR_ID], *row[POST.AUTHOR :]
            )
        views.append(
            PostView(
                *row[:created],
                as_utc(row[created]),
                as_utc(row[edited]),
                as_utc(row[deleted]),
                as_utc(row[hidden]),
                row[hidden + 1],
                author=author,
                question=question,
            )
        )
    return views


def thread_from_rows(viewer: User | None, rows: ThreadRows, votes: bool = True) -> Thread:
    """The thread as its page shows it, from its rows: the question as a `QuestionView`, its
    answers and comments as `PostView`s; the viewer's votes unless the page fills them in
    itself (`votes=False`)."""
    question = _question_view(rows)
    thread = Thread(
        question=question,
        answers=_post_views(rows.answers, question),
        question_comments=[],
        my_votes=votes_by(viewer, question.id) if votes else {},
        can_read_private=private_visible(viewer, question),
    )
    for comment in _post_views(rows.comments, question):
        if comment.answer_id is None:
            thread.question_comments.append(comment)
        else:
            thread.answer_comments.setdefault(comment.answer_id, []).append(comment)
    return thread


def read_thread(viewer: User | None, question_id: int, votes: bool = True) -> Thread:
    """The thread as its page shows it (`thread_from_rows`), in a fixed number of queries."""
    return thread_from_rows(viewer, read_thread_rows(viewer, question_id), votes)


def all_products(archived: bool = False) -> list[Product]:
    """The products, by name; archived ones only when asked for (admin, dashboard)."""
    query = select(Product).order_by(Product.name)
    if not archived:
        query = query.where(Product.archived_at.is_(None))
    return list(db.session.scalars(query))


def private_visible(viewer: User | None, question) -> bool:
    """Whether to link the private conversation: only for its customer and staff, and only
    when there is one (a query only for those viewers). `question`: anything with the
    question's `id` and `author_id` (its header will do)."""
    if not can_read_private(viewer, question):
        return False
    return (
        db.session.scalar(
            select(PrivateMessage.id).where(PrivateMessage.question_id == question.id).limit(1)
        )
        is not None
    )


def find_tag(name: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.name == name.strip().lower()))


def product_slug(product_id: int) -> str | None:
    if not product_id:
        return None
    return db.session.scalar(select(Product.slug).where(Product.id == product_id))


def product_id_of(slug: str) -> int | None:
    return db.session.scalar(select(Product.id).where(Product.slug == slug))


def best_answer_excerpts(question_ids: list[int], length: int = 220) -> dict[int, str]:
    """The first lines of each thread's verified (else accepted) answer, if it is visible."""
    if not question_ids:
        return {}
    best = func.coalesce(Question.verified_answer_id, Question.accepted_answer_id)
    rows = db.session.execute(
        select(Question.id, Answer.body_html)
        .join(Answer, Answer.id == best)
        .where(
            Question.id.in_(question_ids),
            Answer.deleted_at.is_(None),
            Answer.hidden_at.is_(None),
        )
    ).all()
    return {qid: excerpt(html, length) for qid, html in rows}
