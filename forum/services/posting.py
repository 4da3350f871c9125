"""Asking, answering, commenting, editing and deleting posts."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from ..extensions import db
from ..markup import render_markdown
from ..models import Answer, Comment, Product, Question, Revision, Tag, User, utcnow
from ..permissions import can_delete, can_edit, can_moderate, can_post
from . import events
from .errors import InvalidInput, NotFound, PermissionDenied

TITLE_LENGTH = (10, 200)
BODY_LENGTH = (20, 30000)
ANSWER_LENGTH = (10, 30000)
COMMENT_LENGTH = (2, 600)
MAX_TAGS = 5
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.+#-]{0,39}$")


def clean_text(text: str | None) -> str:
    """Trim, and drop NUL characters, which PostgreSQL refuses to store."""
    return (text or "").replace("\x00", "").strip()


def _require_length(text: str, bounds: tuple[int, int], field: str, what: str) -> str:
    text = clean_text(text)
    low, high = bounds
    if len(text) < low:
        raise InvalidInput(f"{what} needs at least {low} characters.", field=field)
    if len(text) > high:
        raise InvalidInput(f"{what} can be at most {high} characters.", field=field)
    return text


def parse_tags(raw: str) -> list[str]:
    """Split "billing, login wifi" into normalised tag names, or explain what is wrong."""
    names: list[str] = []
    for name in re.split(r"[\s,]+", clean_text(raw).lower()):
        if not name:
            continue
        if not TAG_PATTERN.match(name):
            raise InvalidInput(
                f"“{name[:40]}” is not a valid tag: use letters, digits and - + . #.",
                field="tags",
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise InvalidInput(f"Use at most {MAX_TAGS} tags.", field="tags")
    return names


def get_or_create_tags(names: list[str]) -> list[Tag]:
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def _require_poster(user: User | None) -> User:
    if not can_post(user):
        raise PermissionDenied("Sign in to post.")
    return user


def ask_question(author: User, product_id: int, title: str, body: str, tags: str = "") -> Question:
    """A signed-in user asks a question about a product. Commits."""
    _require_poster(author)
    title = _require_length(title, TITLE_LENGTH, "title", "The title")
    body = _require_length(body, BODY_LENGTH, "body", "The question")
    product = db.session.get(Product, product_id) if product_id else None
    if product is None:
        raise InvalidInput("Choose the product your question is about.", field="product_id")
    question = Question(
        product=product,
        author=author,
        title=title,
        body_source=body,
        body_html=render_markdown(body),
        tags=get_or_create_tags(parse_tags(tags)),
    )
    db.session.add(question)
    db.session.commit()
    events.question_posted.send(question)
    return question


def _open_question(question_id: int, poster: User | None = None) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.deleted_at is not None:
        raise NotFound("That question does not exist or was deleted.")
    if question.hidden_at is not None and not can_moderate(poster):
        raise NotFound("That question does not exist or was deleted.")
    if question.locked_at is not None and not can_moderate(poster):
        raise PermissionDenied("This thread is locked: no new answers or comments.")
    return question


def post_answer(author: User, question_id: int, body: str) -> Answer:
    """A signed-in user answers an open question; the thread's counters move in SQL. Commits."""
    _require_poster(author)
    question = _open_question(question_id, author)
    body = _require_length(body, ANSWER_LENGTH, "body", "The answer")
    now = utcnow()
    answer = Answer(
        question=question,
        author=author,
        body_source=body,
        body_html=render_markdown(body),
        created_at=now,
    )
    db.session.add(answer)
    db.session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(answer_count=Question.answer_count + 1, last_activity_at=now)
    )
    db.session.commit()
    events.answer_posted.send(answer)
    return answer


def post_comment(
    author: User, question_id: int, body: str, answer_id: int | None = None
) -> Comment:
    """A signed-in user comments on a question or on one of its answers. Commits."""
    _require_poster(author)
    question = _open_question(question_id, author)
    if answer_id is not None:
        answer = db.session.get(Answer, answer_id)
        if answer is None or answer.question_id != question.id or answer.deleted_at is not None:
            raise NotFound("That answer does not exist or was deleted.")
    body = _require_length(body, COMMENT_LENGTH, "body", "A comment")
    now = utcnow()
    comment = Comment(
        question_id=question.id,
        answer_id=answer_id,
        author=author,
        body_source=body,
        body_html=render_markdown(body),
        created_at=now,
    )
    db.session.add(comment)
    db.session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(comment_count=Question.comment_count + 1, last_activity_at=now)
    )
    db.session.commit()
    events.comment_posted.send(comment)
    return comment


def _keep_revision(editor: User, post: Question | Answer | Comment) -> None:
    revision = Revision(editor=editor, body_source=post.body_source)
    if isinstance(post, Question):
        revision.question_id, revision.title = post.id, post.title
    elif isinstance(post, Answer):
        revision.answer_id = post.id
    else:
        revision.comment_id = post.id
    db.session.add(revision)


def edit_question(editor: User, question: Question, title: str, body: str, tags: str) -> Question:
    """The author (or a moderator) edits a question; the old text is kept. Commits."""
    if not can_edit(editor, question):
        raise PermissionDenied("You can only edit your own posts.")
    title = _require_length(title, TITLE_LENGTH, "title", "The title")
    body = _require_length(body, BODY_LENGTH, "body", "The question")
    tag_names = parse_tags(tags)
    _keep_revision(editor, question)
    now = utcnow()
    question.title, question.body_source = title, body
    question.body_html = render_markdown(body)
    question.tags = get_or_create_tags(tag_names)
    question.edited_at = question.last_activity_at = now
    db.session.commit()
    events.post_edited.send(question)
    return question


def edit_answer(editor: User, answer: Answer, body: str) -> Answer:
    """The author (or a moderator) edits an answer; the old text is kept. Commits."""
    if not can_edit(editor, answer):
        raise PermissionDenied("You can only edit your own posts.")
    body = _require_length(body, ANSWER_LENGTH, "body", "The answer")
    _keep_revision(editor, answer)
    answer.body_source, answer.body_html = body, render_markdown(body)
    answer.edited_at = utcnow()
    db.session.commit()
    events.post_edited.send(answer)
    return answer


def edit_comment(editor: User, comment: Comment, body: str) -> Comment:
    """The author (or a moderator) edits a comment; the old text is kept. Commits."""
    if not can_edit(editor, comment):
        raise PermissionDenied("You can only edit your own posts.")
    body = _require_length(body, COMMENT_LENGTH, "body", "A comment")
    _keep_revision(editor, comment)
    comment.body_source, comment.body_html = body, render_markdown(body)
    comment.edited_at = utcnow()
    db.session.commit()
    events.post_edited.send(comment)
    return comment


def delete_post(user: User, post: Question | Answer | Comment) -> None:
    """Soft-delete: the row stays for staff; counters drop in SQL. Commits."""
    if not can_delete(user, post):
        raise PermissionDenied("You can only delete your own posts.")
    if post.deleted_at is not None:
        return
    post.deleted_at = utcnow()
    if isinstance(post, Answer):
        db.session.execute(
            update(Question)
            .where(Question.id == post.question_id)
            .values(answer_count=Question.answer_count - 1)
        )
    elif isinstance(post, Comment):
        db.session.execute(
            update(Question)
            .where(Question.id == post.question_id)
            .values(comment_count=Question.comment_count - 1)
        )
    db.session.commit()
    events.post_deleted.send(post)


def require_can_edit(user: User, post: Question | Answer | Comment) -> None:
    """Refuse early (on the edit page itself) someone who could not save the edit."""
    if not can_edit(user, post):
        raise PermissionDenied("You can only edit your own posts.")
