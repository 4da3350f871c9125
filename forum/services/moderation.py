"""Flags, reports and moderators' actions. Every action writes to the append-only audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from moderation import negative_flag, priority, spam_signals, unanswered_flag
from moderation.rules import FlagDecision, needs_staff_flag
from moderation.sentiment import ThreadPost, score_text, thread_negativity

from ..extensions import db
from ..markup import plain_text, render_markdown
from ..models import (
    ACTIVE_FLAG_STATUSES,
    Answer,
    AuditEntry,
    Comment,
    Flag,
    FlagKind,
    FlagStatus,
    PrivateMessage,
    Product,
    Question,
    Report,
    User,
    utcnow,
)
from ..permissions import can_moderate
from ..thread_changes import touch_thread
from .errors import InvalidInput, NotFound, PermissionDenied
from .posting import post_comment

REPORT_REASONS = {
    "spam": "Spam or advertising",
    "abuse": "Rude or abusive",
    "off_topic": "Not about the product",
    "private": "Shares private information",
    "other": "Something else",
}
Post = Question | Answer | Comment


def post_key(post: Post) -> str:
    return f"{type(post).__name__.lower()}:{post.id}"


def thread_id_of(post: Post) -> int:
    return post.id if isinstance(post, Question) else post.question_id


def _audit(
    question_id: int,
    actor: User | None,
    action: str,
    flag: Flag | None = None,
    post: str | None = None,
    detail: str = "",
) -> None:
    db.session.add(
        AuditEntry(
            question_id=question_id,
            flag_id=flag.id if flag else None,
            actor_id=actor.id if actor else None,
            action=action,
            post=post,
            detail=detail[:2000],
        )
    )


def _require_moderator(user: User | None) -> User:
    if not can_moderate(user):
        raise PermissionDenied("Only staff and moderators can do that.")
    return user


# Raising flags -------------------------------------------------------------------------------


def raise_flag(question: Question, decision: FlagDecision, now: datetime | None = None) -> Flag:
    """Open a flag, or refresh the active one of the same kind; a resolved negative flag
    re-opens when new negative posts arrive. The caller commits."""
    now = now or utcnow()
    sla = current_app.config["MODERATION_SLA_HOURS"]
    hours_past = max(0.0, (now - question.created_at).total_seconds() / 3600 - sla)
    rank = priority(decision.kind, decision.severity, hours_past, question.view_count)
    flag = db.session.scalar(
        select(Flag)
        .where(Flag.question_id == question.id, Flag.kind == decision.kind)
        .order_by(Flag.id.desc())
        .limit(1)
    )
    reasons = "\n".join(decision.reasons)
    if flag is not None and flag.is_active:
        flag.reasons, flag.priority, flag.updated_at = reasons, rank, now
        return flag
    if flag is not None and decision.kind == FlagKind.NEGATIVE:
        flag.status, flag.reasons, flag.priority = FlagStatus.OPEN.value, reasons, rank
        flag.updated_at, flag.closed_at, flag.assignee_id = now, None, None
        db.session.flush()
        _audit(question.id, None, "reopened", flag, detail="New negative posts arrived.")
        return flag
    flag = Flag(
        question_id=question.id,
        kind=decision.kind,
        reasons=reasons,
        priority=rank,
        created_at=now,
        updated_at=now,
    )
    db.session.add(flag)
    db.session.flush()
    _audit(question.id, None, "flagged", flag, detail=reasons)
    return flag


def score_post(post: Post) -> None:
    """Score a new or edited post, then re-judge its thread's tone. Commits."""
    score = score_text(plain_text(post.body_html))
    post.negativity = score.negativity
    question = post if isinstance(post, Question) else db.session.get(Question, post.question_id)
    if score.is_negative:
        thread = _thread_tone(question)
        reasons = [f"“{r.sentence}” ({', '.join(r.words) or 'tone'})" for r in score.reasons]
        decision = negative_flag(thread, reasons)
        if decision is not None:
            raise_flag(question, decision)
    _check_spam(post, question)
    db.session.commit()


def _thread_tone(question: Question) -> float:
    rows = [(question.created_at, question.author_id, question.negativity)]
    for model in (Answer, Comment):
        rows += db.session.execute(
            select(model.created_at, model.author_id, model.negativity).where(
                model.question_id == question.id, model.deleted_at.is_(None)
            )
        ).all()
    rows.sort(key=lambda r: r[0])
    return thread_negativity([ThreadPost(n, a == question.author_id) for _, a, n in rows])


def _check_spam(post: Post, question: Question) -> None:
    author = db.session.get(User, post.author_id)
    model = type(post)
    repeated = db.session.scalar(
        select(func.count(model.id)).where(
            model.author_id == author.id,
            model.id != post.id,
            model.body_source == post.body_source,
        )
    )
    decision = spam_signals(post.body_source, utcnow() - author.created_at, bool(repeated))
    if decision is not None:
        raise_flag(question, decision)


def scan(now: datetime | None = None) -> dict[str, int]:
    """Flag threads past the service level: unanswered ones, and negative ones staff have not
    answered. Idempotent: a thread gets each of these flags once, however often this runs.
    Commits."""
    now = now or utcnow()
    sla = current_app.config["MODERATION_SLA_HOURS"]
    ever_flagged = select(Flag.question_id).where(Flag.kind == FlagKind.UNANSWERED)
    candidates = db.session.scalars(
        select(Question).where(
            Question.answer_count == 0,
            Question.deleted_at.is_(None),
            Question.created_at <= now - timedelta(hours=sla),
            Question.id.not_in(ever_flagged),
        )
    ).all()
    counts = {"unanswered": 0, "needs_staff": 0}
    for question in candidates:
        decision = unanswered_flag(question.created_at, question.answer_count, now, sla)
        if decision:
            raise_flag(question, decision, now)
            counts["unanswered"] += 1

    staff_answered = (
        select(Answer.question_id)
        .join(User, User.id == Answer.author_id)
        .where(User.role != "customer", Answer.created_at >= Flag.created_at)
    )
    negative = db.session.execute(
        select(Flag, Question)
        .join(Question, Question.id == Flag.question_id)
        .where(
            Flag.kind == FlagKind.NEGATIVE,
            Flag.status.in_(ACTIVE_FLAG_STATUSES),
            Flag.question_id.not_in(staff_answered),
            Flag.question_id.not_in(
                select(Flag.question_id).where(Flag.kind == FlagKind.NEEDS_STAFF)
            ),
        )
    ).all()
    for flag, question in negative:
        decision = needs_staff_flag(flag.created_at, False, now, sla)
        if decision:
            raise_flag(question, decision, now)
            counts["needs_staff"] += 1
    db.session.commit()
    return counts


# Reports -------------------------------------------------------------------------------------


def report_post(reporter: User, post: Post, reason: str, text: str = "") -> Report:
    """A signed-in user reports a post once; enough reporters hide it pending review. Commits."""
    if not (reporter and reporter.is_authenticated and reporter.is_active):
        raise PermissionDenied("Sign in to report a post.")
    if reason not in REPORT_REASONS:
        raise InvalidInput("Choose why you are reporting this post.", field="reason")
    if post.author_id == reporter.id:
        raise InvalidInput("You can't report your own post.")
    text = (text or "").replace("\x00", "").strip()[:500]
    key, thread = post_key(post), thread_id_of(post)
    report = Report(question_id=thread, post=key, reporter_id=reporter.id, reason=reason, text=text)
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput("You have already reported this post.") from None
    question = db.session.get(Question, thread)
    reporters = db.session.scalar(select(func.count(Report.id)).where(Report.post == key))
    reasons = [
        f"{reporters} report(s) on {key}: {REPORT_REASONS[reason]}"
        + (f": “{text}”" if text else "")
    ]
    flag = raise_flag(
        question, FlagDecision(FlagKind.REPORT.value, tuple(reasons), min(1.0, reporters / 3))
    )
    if reporters >= current_app.config["REPORTS_TO_HIDE"] and post.hidden_at is None:
        post.hidden_at = utcnow()
        touch_thread(db.session, thread)
        _audit(
            thread, None, "hidden", flag, key, f"Hidden pending review after {reporters} reports."
        )
    db.session.commit()
    return report


# Moderators' actions -------------------------------------------------------------------------


def get_flag(flag_id: int) -> Flag:
    flag = db.session.get(Flag, flag_id)
    if flag is None:
        raise NotFound("That flag does not exist.")
    return flag


def claim_flag(staff: User, flag: Flag, assignee: User | None = None) -> Flag:
    """Take the flag (or give it to another member of staff). Commits."""
    _require_moderator(staff)
    assignee = assignee or staff
    if not can_moderate(assignee):
        raise InvalidInput("Flags go to staff or moderators.", field="assignee")
    if not flag.is_active:
        raise InvalidInput("This flag is closed.")
    flag.assignee_id, flag.status, flag.updated_at = assignee.id, FlagStatus.CLAIMED.value, utcnow()
    action = "claimed" if assignee.id == staff.id else f"assigned to {assignee.display_name}"
    _audit(flag.question_id, staff, action, flag)
    db.session.commit()
    return flag


def close_flag(staff: User, flag: Flag, status: FlagStatus, note: str = "") -> Flag:
    """Resolve with a note, or dismiss as a false positive. Commits."""
    _require_moderator(staff)
    if status not in (FlagStatus.RESOLVED, FlagStatus.DISMISSED):
        raise InvalidInput("Resolve or dismiss.")
    if not flag.is_active:
        raise InvalidInput("This flag is already closed.")
    now = utcnow()
    flag.status, flag.note, flag.closed_at, flag.updated_at = status.value, note.strip(), now, now
    _audit(flag.question_id, staff, status.value, flag, detail=note.strip())
    db.session.commit()
    return flag


def set_hidden(staff: User, post: Post, hidden: bool, flag: Flag | None = None) -> None:
    """Hide a post from customers (everywhere: thread, lists, search), or show it again."""
    _require_moderator(staff)
    post.hidden_at = utcnow() if hidden else None
    touch_thread(db.session, thread_id_of(post))
    _audit(thread_id_of(post), staff, "hidden" if hidden else "unhidden", flag, post_key(post))
    db.session.commit()


def set_locked(staff: User, question: Question, locked: bool, flag: Flag | None = None) -> None:
    _require_moderator(staff)
    question.locked_at = utcnow() if locked else None
    _audit(question.id, staff, "locked" if locked else "unlocked", flag, post_key(question))
    db.session.commit()


def mark_duplicate(staff: User, question: Question, original_id: int, flag: Flag | None = None):
    _require_moderator(staff)
    original = db.session.get(Question, original_id)
    if original is None or original.id == question.id or original.deleted_at is not None:
        raise InvalidInput("Give the number of another, visible thread.", field="original_id")
    question.duplicate_of_id = original.id
    _audit(
        question.id,
        staff,
        "marked duplicate",
        flag,
        post_key(question),
        f"Duplicate of thread {original.id}.",
    )
    db.session.commit()


PUBLIC_CONTACT_NOTE = (
    "A member of our support team has contacted you privately about this. "
    "Thank you for your patience."
)


def take_private(staff: User, flag: Flag, message: str) -> PrivateMessage:
    """Open a private conversation with the asker and leave a public note. Commits."""
    _require_moderator(staff)
    message = (message or "").replace("\x00", "").strip()
    if len(message) < 10:
        raise InvalidInput(
            "Write the customer a message of at least 10 characters.", field="message"
        )
    question = db.session.get(Question, flag.question_id)
    first = _add_private_message(question, staff, message)
    _audit(question.id, staff, "taken private", flag, post_key(question), message[:200])
    db.session.commit()
    post_comment(staff, question.id, PUBLIC_CONTACT_NOTE)
    return first


def can_read_private(user: User | None, question: Question) -> bool:
    return bool(
        user and user.is_authenticated and (can_moderate(user) or user.id == question.author_id)
    )


def _require_private_reader(user: User | None, question: Question) -> None:
    if not can_read_private(user, question):
        raise PermissionDenied("This conversation is between the customer and our staff.")


def private_messages(user: User | None, question: Question) -> list[PrivateMessage]:
    """The private conversation, for its customer and staff only."""
    _require_private_reader(user, question)
    return list(
        db.session.scalars(
            select(PrivateMessage)
            .where(PrivateMessage.question_id == question.id)
            .order_by(PrivateMessage.id)
        )
    )


def reply_private(user: User, question: Question, message: str) -> PrivateMessage:
    """The customer or staff add a message to the private conversation. Commits."""
    _require_private_reader(user, question)
    message = (message or "").replace("\x00", "").strip()
    if not 2 <= len(message) <= 5000:
        raise InvalidInput("Write 2 to 5000 characters.", field="message")
    reply = _add_private_message(question, user, message)
    db.session.commit()
    return reply


def _add_private_message(question: Question, author: User, message: str) -> PrivateMessage:
    private = PrivateMessage(
        question_id=question.id,
        author_id=author.id,
        body_source=message,
        body_html=render_markdown(message),
    )
    db.session.add(private)
    return private


# Reading the queue ---------------------------------------------------------------------------


def queue(
    kind: str | None = None,
    status: str | None = "active",
    product: str | None = None,
    assignee_id: int | None = None,
    limit: int = 100,
) -> list[Flag]:
    query = (
        select(Flag)
        .join(Question, Question.id == Flag.question_id)
        .options(
            joinedload(Flag.question).joinedload(Question.product),
            joinedload(Flag.question).joinedload(Question.author),
            joinedload(Flag.assignee),
        )
        .order_by(Flag.priority.desc(), Flag.created_at)
        .limit(limit)
    )
    if status == "active":
        query = query.where(Flag.status.in_(ACTIVE_FLAG_STATUSES))
    elif status:
        query = query.where(Flag.status == status)
    if kind:
        query = query.where(Flag.kind == kind)
    if product:
        query = query.join(Product, Product.id == Question.product_id).where(
            Product.slug == product
        )
    if assignee_id:
        query = query.where(Flag.assignee_id == assignee_id)
    return list(db.session.scalars(query).unique())


def urgent_count() -> int:
    """Open high-priority flags, for the staff header."""
    return (
        db.session.scalar(
            select(func.count(Flag.id)).where(
                Flag.status == FlagStatus.OPEN.value,
                Flag.priority >= current_app.config["URGENT_FLAG_PRIORITY"],
            )
        )
        or 0
    )


def audit_for(question_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.question_id == question_id)
            .options(joinedload(AuditEntry.actor))
            .order_by(AuditEntry.id)
        )
    )


def _score_on_signal(post, **_extra) -> None:
    try:
        score_post(post)
    except Exception:  # the post is saved; a failed score must not fail the request
        db.session.rollback()
        current_app.logger.exception("Could not score post %s", post_key(post))


def connect_signals() -> None:
    """New and edited posts are scored as they are written (blinker ignores repeat connects)."""
    from . import events

    for signal in (
        events.question_posted,
        events.answer_posted,
        events.comment_posted,
        events.post_edited,
    ):
        signal.connect(_score_on_signal)


def record(staff: User, flag: Flag, action: str, post: str | None = None, detail: str = ""):
    """Add an entry to a flag's audit trail for an action taken through another service."""
    _require_moderator(staff)
    _audit(flag.question_id, staff, action, flag, post, detail)
    db.session.commit()
