"""Read-side queries for question lists and thread pages, loading only what pages show."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Answer, Comment, PrivateMessage, Product, Question, Tag, User
from ..permissions import can_see_deleted, can_see_hidden
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
    "answered": (Question.answer_count > 0)
    & Question.accepted_answer_id.is_(None)
    & Question.verified_answer_id.is_(None),
    "solved": Question.accepted_answer_id.is_not(None),
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


def list_questions(viewer: User | None, filters: ListFilters, per_page: int) -> Pagination:
    """One page of questions for the list views, with authors, products and tags preloaded."""
    # Many-to-one rows are joined in; the tag collection comes in one extra query.
    query = select(Question).options(
        joinedload(Question.author), joinedload(Question.product), selectinload(Question.tags)
    )
    if not can_see_deleted(viewer):
        query = query.where(Question.deleted_at.is_(None))
    if not can_see_hidden(viewer):
        query = query.where(Question.hidden_at.is_(None))
    if filters.state:
        query = query.where(STATES[filters.state])
    if filters.product:
        query = query.join(Question.product).where(Product.slug == filters.product)
    if filters.tag:
        query = query.where(Question.tags.any(Tag.name == filters.tag))
    query = query.order_by(*SORTS[filters.sort])
    return db.paginate(query, page=filters.page, per_page=per_page, error_out=False)


@dataclass
class Thread:
    question: Question
    answers: list[Answer]
    question_comments: list[Comment]
    answer_comments: dict[int, list[Comment]] = field(default_factory=dict)
    my_votes: dict[str, int] = field(default_factory=dict)  # "q<id>"/"a<id>" -> +1 / -1
    can_read_private: bool = False  # a private conversation exists and the viewer may read it


def load_thread(viewer: User | None, question_id: int) -> Thread:
    """A question with its answers and all comments, in a fixed number of queries."""
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
    show_deleted = can_see_deleted(viewer)
    if question is None or (question.deleted_at is not None and not show_deleted):
        raise NotFound("That question does not exist or was deleted.")
    show_hidden = can_see_hidden(viewer)
    if question.hidden_at is not None and not show_hidden:
        raise NotFound("That question does not exist or was deleted.")

    answers_query = (
        select(Answer)
        .where(Answer.question_id == question.id)
        .options(joinedload(Answer.author))
        .order_by(Answer.score.desc(), Answer.created_at, Answer.id)
    )
    comments_query = (
        select(Comment)
        .where(Comment.question_id == question.id)
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    if not show_deleted:
        answers_query = answers_query.where(Answer.deleted_at.is_(None))
        comments_query = comments_query.where(Comment.deleted_at.is_(None))
    if not show_hidden:
        answers_query = answers_query.where(Answer.hidden_at.is_(None))
        comments_query = comments_query.where(Comment.hidden_at.is_(None))
    answers = list(db.session.scalars(answers_query))
    # Staff-verified first, then the asker's accepted one, then by score, then oldest.
    answers.sort(
        key=lambda a: (a.id != question.verified_answer_id, a.id != question.accepted_answer_id)
    )

    thread = Thread(
        question=question,
        answers=answers,
        question_comments=[],
        my_votes=votes_by(viewer, question, [a.id for a in answers]),
        can_read_private=_private_visible(viewer, question),
    )
    for comment in db.session.scalars(comments_query):
        if comment.answer_id is None:
            thread.question_comments.append(comment)
        else:
            thread.answer_comments.setdefault(comment.answer_id, []).append(comment)
    return thread


def all_products() -> list[Product]:
    return list(db.session.scalars(select(Product).order_by(Product.name)))


def _private_visible(viewer: User | None, question: Question) -> bool:
    """Whether to link the private conversation: only for its customer and staff, and only
    when there is one (a query only for those viewers)."""
    if not can_read_private(viewer, question):
        return False
    return (
        db.session.scalar(
            select(PrivateMessage.id).where(PrivateMessage.question_id == question.id).limit(1)
        )
        is not None
    )
