"""Asking, answering, commenting, editing and deleting posts.

Like every service, these write and flush but never commit: the outermost caller (a view, a
command, a job) commits once, and the thread's invariants and outbox rows are settled just
before that commit (`forum.thread_changes`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from ..extensions import db, insert_unless_taken
from ..markup import render_markdown
from ..models import Answer, Comment, Product, Question, Revision, Tag, User, utcnow
from ..outbox import emit
from ..permissions import (
    can_delete,
    can_edit,
    can_moderate,
    can_post,
    is_visible_to,
    privilege_message,
    reputation_needed,
)
from .errors import InvalidInput, NotFound, PermissionDenied
from .watching import watch_automatically

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
    """The tags of these names, creating the missing ones. Two posts creating the same new
    tag at once both get it: INSERT ... ON CONFLICT DO NOTHING, then read."""
    if not names:
        return []
    db.session.execute(insert_unless_taken(Tag, [{"name": n} for n in names]))
    found = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    return [found[name] for name in names]


def _require_poster(user: User | None) -> User:
    if not can_post(user):
        raise PermissionDenied("Sign in to post.")
    return user


LINK = re.compile(r"https?://|www\.|\]\(", re.IGNORECASE)


def _require_link_privilege(author: User, body: str) -> None:
    """Brand-new accounts may not post links yet: the spam guard of the peers."""
    if LINK.search(body) and (needed := reputation_needed(author, "links")) is not None:
        raise InvalidInput(
            privilege_message("links", needed, author.reputation)
            + " Write the address without http:// for now, or ask staff to post it.",
            field="body",
        )


def _all_valid(*checks: Callable[[], object]) -> list:
    """Run every check, and raise all their complaints together: a form learns everything
    that is wrong with it in one submit."""
    results, problems = [], []
    for check in checks:
        try:
            results.append(check())
        except InvalidInput as problem:
            problems.append(problem)
    if problems:
        raise InvalidInput.together(problems)
    return results


def _product(product_id: int | None) -> Product:
    product = db.session.get(Product, product_id) if product_id else None
    if product is None:
        raise InvalidInput("Choose the product your question is about.", field="product_id")
    if product.archived_at is not None:
        raise InvalidInput(
            f"{product.name} is archived and takes no new questions; choose another product.",
            field="product_id",
        )
    return product


def check_question(
    title: str, body: str, tags: str, product_id: int | None = None, product_needed: bool = True
) -> tuple[str, str, list[str], Product | None]:
    """A question's title, body, tags (and product) cleaned, or every complaint at once."""
    title, body, tag_names, *product = _all_valid(
        lambda: _require_length(title, TITLE_LENGTH, "title", "The title"),
        lambda: _require_length(body, BODY_LENGTH, "body", "The question"),
        lambda: parse_tags(tags),
        *([lambda: _product(product_id)] if product_needed else []),
    )
    return title, body, tag_names, (product[0] if product else None)


def ask_question(author: User, product_id: int, title: str, body: str, tags: str = "") -> Question:
    """A signed-in user asks a question about a product."""
    _require_poster(author)
    title, body, tag_names, product = check_question(title, body, tags, product_id)
    _require_link_privilege(author, body)
    question = Question(
        product=product,
        author=author,
        title=title,
        body_source=body,
        body_html=render_markdown(body),
        tags=get_or_create_tags(tag_names),
    )
    db.session.add(question)
    db.session.flush()
    emit("question_posted", question.id, f"question:{question.id}", author.id)
    watch_automatically(author, question.id, "asked")
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
    """A signed-in user answers an open question."""
    _require_poster(author)
    question = _open_question(question_id, author)
    body = _require_length(body, ANSWER_LENGTH, "body", "The answer")
    _require_link_privilege(author, body)
    now = utcnow()
    answer = Answer(
        question=question,
        author=author,
        body_source=body,
        body_html=render_markdown(body),
        created_at=now,
    )
    db.session.add(answer)
    question.last_activity_at = now  # flushed with the post: no statement of its own
    db.session.flush()
    emit("answer_posted", question.id, f"answer:{answer.id}", author.id)
    watch_automatically(author, question.id, "answered")
    return answer


def post_comment(
    author: User, question_id: int, body: str, answer_id: int | None = None
) -> Comment:
    """A signed-in user comments on a question or on one of its answers."""
    _require_poster(author)
    question = _open_question(question_id, author)
    if answer_id is not None:
        answer = db.session.get(Answer, answer_id)
        if (
            answer is None
            or answer.question_id != question.id
            or answer.deleted_at is not None
            or not is_visible_to(author, answer)
        ):
            raise NotFound("That answer does not exist or was deleted.")
    on_post = answer if answer_id is not None else question
    own_thread = author.id in (on_post.author_id, question.author_id)
    if not own_thread and (needed := reputation_needed(author, "comment")) is not None:
        raise PermissionDenied(privilege_message("comment", needed, author.reputation))
    body = _require_length(body, COMMENT_LENGTH, "body", "A comment")
    _require_link_privilege(author, body)
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
    question.last_activity_at = now  # flushed with the post: no statement of its own
    db.session.flush()
    emit("comment_posted", question.id, f"comment:{comment.id}", author.id)
    watch_automatically(author, question.id, "commented")
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
    """The author (or a moderator) edits a question; the old text is kept."""
    require_can_edit(editor, question)
    title, body, tag_names, _ = check_question(title, body, tags, product_needed=False)
    _require_link_privilege(editor, body)
    _keep_revision(editor, question)
    now = utcnow()
    question.title, question.body_source = title, body
    question.body_html = render_markdown(body)
    question.tags = get_or_create_tags(tag_names)
    question.edited_at = question.last_activity_at = now
    db.session.flush()
    emit("post_edited", question.id, f"question:{question.id}", editor.id)
    return question


def edit_answer(editor: User, answer: Answer, body: str) -> Answer:
    """The author (or a moderator) edits an answer; the old text is kept."""
    require_can_edit(editor, answer)
    body = _require_length(body, ANSWER_LENGTH, "body", "The answer")
    _require_link_privilege(editor, body)
    _keep_revision(editor, answer)
    answer.body_source, answer.body_html = body, render_markdown(body)
    answer.edited_at = utcnow()
    db.session.flush()
    emit("post_edited", answer.question_id, f"answer:{answer.id}", editor.id)
    return answer


def edit_comment(editor: User, comment: Comment, body: str) -> Comment:
    """The author (or a moderator) edits a comment; the old text is kept."""
    require_can_edit(editor, comment)
    body = _require_length(body, COMMENT_LENGTH, "body", "A comment")
    _require_link_privilege(editor, body)
    _keep_revision(editor, comment)
    comment.body_source, comment.body_html = body, render_markdown(body)
    comment.edited_at = utcnow()
    db.session.flush()
    emit("post_edited", comment.question_id, f"comment:{comment.id}", editor.id)
    return comment


def delete_post(user: User, post: Question | Answer | Comment) -> None:
    """Soft-delete: the row stays for staff; the thread's counters and marks follow before
    commit. An asker may not delete a question that holds someone else's accepted or upvoted
    answer (it helps others: a moderator can close it), nor an author an answer that is
    accepted or verified."""
    if not can_delete(user, post):
        raise PermissionDenied(_why_not_editable(user, post))
    if post.deleted_at is not None:
        return
    if not can_moderate(user):
        _require_deletable(post)
    post.deleted_at = utcnow()
    db.session.flush()
    thread = post.id if isinstance(post, Question) else post.question_id
    emit("post_deleted", thread, f"{type(post).__name__.lower()}:{post.id}", user.id)


def _require_deletable(post: Question | Answer | Comment) -> None:
    if isinstance(post, Question):
        helped = db.session.scalar(
            select(Answer.id)
            .where(
                Answer.question_id == post.id,
                Answer.deleted_at.is_(None),
                Answer.author_id != post.author_id,
                (Answer.id == post.accepted_answer_id)
                | (Answer.id == post.verified_answer_id)
                | (Answer.score > 0),
            )
            .limit(1)
        )
        if helped is not None:
            raise PermissionDenied(
                "This question has an answer that helped (accepted or upvoted), so it stays "
                "for others who have the same problem. Ask a moderator if it must go."
            )
    elif isinstance(post, Answer):
        question = post.question
        if post.id in (question.accepted_answer_id, question.verified_answer_id):
            raise PermissionDenied(
                "This answer is marked as the one that solved the question, so it stays. "
                "Edit it instead, or ask a moderator."
            )


def require_can_edit(user: User, post: Question | Answer | Comment) -> None:
    """Refuse early (on the edit page itself) someone who could not save the edit."""
    if not can_edit(user, post):
        raise PermissionDenied(_why_not_editable(user, post))


def _why_not_editable(user: User, post: Question | Answer | Comment) -> str:
    thread = post if isinstance(post, Question) else post.question
    if post.author_id == getattr(user, "id", None) and thread.locked_at is not None:
        return "This thread is locked: its posts can no longer be edited."
    return "You can only edit your own posts."
