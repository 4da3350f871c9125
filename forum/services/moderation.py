"""Flags, reports and moderators' actions. Every action writes to the append-only audit log.

Services here write and flush; the outermost caller commits once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from moderation import negative_flag, priority, spam_signals, unanswered_flag
from moderation.rules import FlagDecision, needs_staff_flag
from moderation.sentiment import SentenceReason, ThreadPost, thread_negativity

from ..extensions import db, insert_unless_taken
from ..markup import excerpt, plain_text, render_markdown
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
    Role,
    User,
    utcnow,
)
from ..negativity import reasons_json, scorer, stored_reasons
from ..outbox import emit
from ..permissions import can_moderate, is_visible_to
from ..thread_changes import touch_thread
from . import site_settings
from .errors import InvalidInput, NotFound, PermissionDenied
from .lifecycle import AUTO, audit, restore_marks
from .posting import post_comment

REPORT_REASONS = {
    "spam": "Spam or advertising",
    "abuse": "Rude or abusive",
    "off_topic": "Not about the product",
    "private": "Shares private information",
    "other": "Something else",
}
Post = Question | Answer | Comment
MESSAGE_LENGTH = 5000
REPORT_TEXT_LENGTH = 500
NOTE_LENGTH = 1000


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
    audit(db.session, question_id, actor, action, flag, post, detail)


def _require_moderator(user: User | None) -> User:
    if not can_moderate(user):
        raise PermissionDenied("Only staff and moderators can do that.")
    return user


# Raising flags -------------------------------------------------------------------------------


def raise_flag(
    question: Question, decision: FlagDecision, now: datetime | None = None
) -> Flag | None:
    """Open a flag, or refresh the active one of the same kind; a resolved negative flag
    re-opens when new negative posts arrive. Nothing is flagged on a deleted thread (None).
    The caller commits."""
    if question.deleted_at is not None:
        return None
    now = now or utcnow()
    sla = site_settings.value("sla_hours")
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
    # Two scans (or a scan and a post) may raise the same flag at once: the partial unique
    # index lets one insert through; the other refreshes the flag the first one made.
    flag_id = db.session.scalar(
        insert_unless_taken(
            Flag,
            {
                "question_id": question.id,
                "kind": decision.kind,
                "reasons": reasons,
                "priority": rank,
                "status": FlagStatus.OPEN.value,
                "created_at": now,
                "updated_at": now,
            },
        ).returning(Flag.id)
    )
    if flag_id is None:
        flag = db.session.scalar(
            select(Flag).where(
                Flag.question_id == question.id,
                Flag.kind == decision.kind,
                Flag.status.in_(ACTIVE_FLAG_STATUSES),
            )
        )
        flag.reasons, flag.priority, flag.updated_at = reasons, rank, now
        return flag
    flag = db.session.get(Flag, flag_id)
    _audit(question.id, None, "flagged", flag, detail=reasons)
    return flag


@dataclass
class Judgement:
    """What scoring a post found, before anything is written (see `judge_posts`)."""

    post: Post
    question: Question
    negativity: float
    reasons: str | None  # JSON: the sentences behind it
    toward_tone: bool
    spam: FlagDecision | None


def score_post(post: Post) -> None:
    """Score a new or edited post, then re-judge its thread's tone; the flag's reasons are the
    strongest evidence across the thread, not the latest post's. The caller commits."""
    apply_judgement(judge_posts([post])[0])


def judge_posts(posts: list[Post]) -> list[Judgement]:
    """Score posts (all their sentences through the scorer at once) and check them for spam,
    reading only: a batch judges all its posts first and writes after (`apply_judgement`),
    so that on SQLite the write lock is held briefly."""
    using = scorer()
    scores = using.score_texts([plain_text(post.body_html) for post in posts])
    judged = []
    for post, score in zip(posts, scores, strict=True):
        question = (
            post if isinstance(post, Question) else db.session.get(Question, post.question_id)
        )
        toward_tone = score.negativity >= using.negative_bar and _counts_toward_tone(
            post, question, score.negativity
        )
        judged.append(
            Judgement(
                post, question, score.negativity, reasons_json(score), toward_tone, _spam(post)
            )
        )
    return judged


def apply_judgement(judged: Judgement) -> None:
    post, question = judged.post, judged.question
    post.negativity = judged.negativity
    post.negative_reasons = judged.reasons
    if judged.toward_tone:
        db.session.flush()
        tone, reasons = _thread_tone(question)
        decision = negative_flag(tone, reasons, scorer().flag_bar)
        if decision is not None:
            raise_flag(question, decision)
    if judged.spam is not None:
        raise_flag(question, judged.spam)


def _counts_toward_tone(post: Post, question: Question, negativity: float) -> bool:
    """The asker's posts, and anyone's outright abuse where the scorer tells abuse apart;
    never staff's (an apology quoting the customer's complaint is not a complaint)."""
    if post.author_id == question.author_id:
        return True
    author = db.session.get(User, post.author_id)
    return author.role == Role.CUSTOMER.value and negativity >= scorer().others_bar


def describe(reason: SentenceReason) -> str:
    """“The sentence” (why): the classifier's probability and the lexicon's words."""
    why = [f"p={reason.probability:.2f}"] if reason.probability is not None else []
    why += list(reason.words) or ([] if why else ["tone"])
    return f"“{reason.sentence}” ({', '.join(why)})"


def _thread_tone(question: Question) -> tuple[float, list[str]]:
    """The thread's negativity (staff posts never count) and the sentences behind it, the
    most negative first, from the posts that count toward it, as the worker stored them."""
    using = scorer()
    rows = [(question.created_at, question.author_id, question.negativity, question)]
    for model in (Answer, Comment):
        rows += db.session.execute(
            select(model.created_at, model.author_id, model.negativity, model)
            .join(User, User.id == model.author_id)
            .where(
                model.question_id == question.id,
                model.deleted_at.is_(None),
                model.hidden_at.is_(None),
                User.role == Role.CUSTOMER.value,
            )
        ).all()
    rows.sort(key=lambda r: r[0])
    posts = [ThreadPost(n, a == question.author_id) for _, a, n, _ in rows]
    evidence = [
        reason
        for _, author, negativity, post in rows
        if negativity >= using.negative_bar
        and (author == question.author_id or negativity >= using.others_bar)
        for reason in stored_reasons(post)
    ]
    evidence.sort(key=lambda r: r.negativity, reverse=True)
    reasons = [describe(r) for r in evidence]
    return thread_negativity(posts, using.others_bar), reasons


def _spam(post: Post) -> FlagDecision | None:
    author = db.session.get(User, post.author_id)
    model = type(post)
    repeated = db.session.scalar(
        select(func.count(model.id)).where(
            model.author_id == author.id,
            model.id != post.id,
            model.body_source == post.body_source,
        )
    )
    return spam_signals(post.body_source, utcnow() - author.created_at, bool(repeated))


# Threads a scan looks at per transaction (see `scan_in_batches`).
SCAN_BATCH = 500


def scan(now: datetime | None = None) -> dict[str, int]:
    """Flag threads past the service level: unanswered ones (no visible answer by anyone but
    the asker), and negative ones staff have not answered. Idempotent: however often it runs,
    and on however many hosts at once, a thread has at most one active flag of each kind; a
    flag a person dismissed is not raised again. All in the caller's transaction (the caller
    commits); `scan_in_batches` lets it commit as it goes."""
    counts = {"unanswered": 0, "needs_staff": 0}
    for batch in scan_in_batches(now, size=None):
        for kind, count in batch.items():
            counts[kind] += count
    return counts


def scan_in_batches(
    now: datetime | None = None, size: int | None = SCAN_BATCH
) -> Iterator[dict[str, int]]:
    """`scan`, `size` threads at a time in the order of their ids (None: all at once): yields
    each batch's counts, after which the caller commits. The first scan after an import or a
    shorter service level raises thousands of flags; in one transaction it held SQLite's
    write lock, and so every post, for seconds (7,608 flags: 8.2 s). A scan stopped between
    batches has kept what it committed, and the next one carries on (it is idempotent)."""
    now = now or utcnow()
    sla = site_settings.value("sla_hours")
    flagged = select(Flag.question_id).where(
        Flag.kind == FlagKind.UNANSWERED,
        Flag.status.in_((*ACTIVE_FLAG_STATUSES, FlagStatus.DISMISSED.value))
        | Flag.note.is_(None)
        | ~Flag.note.startswith(AUTO),
    )
    # No answer by anyone but the asker is `first_answer_at IS NULL` (invariant 7), read
    # from an index; an asker's own answer also keeps the rule from flagging, so such threads
    # are left out here rather than loaded and declined every minute.
    overdue = (
        select(Question)
        .where(
            Question.first_answer_at.is_(None),
            Question.deleted_at.is_(None),
            Question.answer_count == 0,
            Question.created_at <= now - timedelta(hours=sla),
            Question.id.not_in(flagged),
        )
        .order_by(Question.id)
    )
    after = 0
    while True:
        candidates = db.session.scalars(
            overdue.where(Question.id > after).limit(size)
        ).all()
        counts = {"unanswered": 0, "needs_staff": 0}
        for question in candidates:
            decision = unanswered_flag(question.created_at, question.answer_count, now, sla)
            if decision:
                raise_flag(question, decision, now)
                counts["unanswered"] += 1
        if candidates:
            after = candidates[-1].id
            yield counts
        if size is None or len(candidates) < size:
            break

    staff_answered = (
        select(Answer.question_id)
        .join(User, User.id == Answer.author_id)
        .where(User.role != "customer", Answer.created_at >= Flag.created_at)
    )
    negative = (
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
        .order_by(Flag.question_id)
    )
    after = 0
    while True:
        rows = db.session.execute(negative.where(Flag.question_id > after).limit(size)).all()
        counts = {"unanswered": 0, "needs_staff": 0}
        for flag, question in rows:
            decision = needs_staff_flag(flag.created_at, False, now, sla)
            if decision:
                raise_flag(question, decision, now)
                counts["needs_staff"] += 1
        if rows:
            after = rows[-1][0].question_id
            yield counts
        if size is None or len(rows) < size:
            break


# Reports -------------------------------------------------------------------------------------


def report_post(reporter: User, post: Post, reason: str, text: str = "") -> Report:
    """A signed-in user reports a post once; enough reporters hide it pending review, unless
    it is staff's or carries the accepted or verified mark: such a report goes to a moderator
    at high priority instead, and nothing is hidden without one. The caller commits."""
    if not (reporter and reporter.is_authenticated and reporter.is_active):
        raise PermissionDenied("Sign in to report a post.")
    if reason not in REPORT_REASONS:
        raise InvalidInput("Choose why you are reporting this post.", field="reason")
    if post.author_id == reporter.id:
        raise InvalidInput("You can't report your own post.")
    thread_deleted = db.session.get(Question, thread_id_of(post)).deleted_at is not None
    if post.deleted_at is not None or thread_deleted or not is_visible_to(reporter, post):
        raise NotFound("That post does not exist or was deleted.")
    text = (text or "").replace("\x00", "").strip()
    if len(text) > REPORT_TEXT_LENGTH:
        raise InvalidInput(f"Keep the details under {REPORT_TEXT_LENGTH} characters.", field="text")
    key, thread = post_key(post), thread_id_of(post)
    report_id = db.session.scalar(
        insert_unless_taken(
            Report,
            {
                "question_id": thread,
                "post": key,
                "reporter_id": reporter.id,
                "reason": reason,
                "text": text,
                "created_at": utcnow(),
            },
        ).returning(Report.id)
    )
    if report_id is None:
        raise InvalidInput("You have already reported this post.")
    question = db.session.get(Question, thread)
    reporters = db.session.scalar(select(func.count(Report.id)).where(Report.post == key))
    protected = _protected_reason(post, question)
    author = db.session.get(User, post.author_id)
    what = (
        f"{type(post).__name__.lower()} by {author.display_name}: “{excerpt(post.body_html, 90)}”"
    )
    reasons = [
        f"{reporters} report(s) on the {what}: {REPORT_REASONS[reason]}"
        + (f": “{text}”" if text else "")
    ]
    if protected:
        reasons.append(f"Not hidden automatically: {protected}. A moderator decides.")
    severity = 1.0 if protected else min(1.0, reporters / 3)
    flag = raise_flag(question, FlagDecision(FlagKind.REPORT.value, tuple(reasons), severity))
    if (
        not protected
        and reporters >= site_settings.value("reports_to_hide")
        and post.hidden_at is None
    ):
        post.hidden_at = utcnow()
        touch_thread(db.session, thread)
        _audit(
            thread, None, "hidden", flag, key, f"Hidden pending review after {reporters} reports."
        )
    return db.session.get(Report, report_id)


def _protected_reason(post: Post, question: Question) -> str | None:
    """Why reports alone must not hide this post, if they must not."""
    author = db.session.get(User, post.author_id)
    if author.is_staff:
        return "it is a staff post"
    if isinstance(post, Answer) and post.id == question.verified_answer_id:
        return "it is the verified answer"
    if isinstance(post, Answer) and post.id == question.accepted_answer_id:
        return "it is the accepted answer"
    return None


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
    return flag


def close_flag(staff: User, flag: Flag, status: FlagStatus, note: str = "") -> Flag:
    """Resolve with a note, or dismiss as a false positive. Commits."""
    _require_moderator(staff)
    if status not in (FlagStatus.RESOLVED, FlagStatus.DISMISSED):
        raise InvalidInput("Resolve or dismiss.")
    if not flag.is_active:
        raise InvalidInput("This flag is already closed.")
    note = (note or "").replace("\x00", "").strip()
    if len(note) > NOTE_LENGTH:
        raise InvalidInput(f"Keep the note under {NOTE_LENGTH} characters.", field="note")
    now = utcnow()
    flag.status, flag.note, flag.closed_at, flag.updated_at = status.value, note, now, now
    _audit(flag.question_id, staff, status.value, flag, detail=note)
    return flag


def set_hidden(staff: User, post: Post, hidden: bool, flag: Flag | None = None) -> None:
    """Hide a post from customers (everywhere: thread, lists, search), or show it again."""
    _require_moderator(staff)
    post.hidden_at = utcnow() if hidden else None
    touch_thread(db.session, thread_id_of(post))
    _audit(thread_id_of(post), staff, "hidden" if hidden else "unhidden", flag, post_key(post))
    if not hidden and isinstance(post, Answer):
        restore_marks(db.session, post)
    emit(
        "post_hidden" if hidden else "post_restored",
        thread_id_of(post),
        post_key(post),
        staff.id,
        detail=_hidden_reason(flag) if hidden else None,
    )


HIDDEN_REASONS = {
    FlagKind.SPAM.value: "It looks like spam.",
    FlagKind.REPORT.value: "Other members reported it.",
    FlagKind.NEGATIVE.value: "It is under review for its tone.",
}


def _hidden_reason(flag: Flag | None) -> str:
    """What the author is told: the kind of concern, never the reporters or their words."""
    if flag is None:
        return "A moderator hid it pending review."
    return HIDDEN_REASONS.get(flag.kind, "A moderator hid it pending review.")


def set_locked(staff: User, question: Question, locked: bool, flag: Flag | None = None) -> None:
    _require_moderator(staff)
    question.locked_at = utcnow() if locked else None
    _audit(question.id, staff, "locked" if locked else "unlocked", flag, post_key(question))


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


PUBLIC_CONTACT_NOTE = (
    "A member of our support team has contacted you privately about this. "
    "Thank you for your patience."
)


def take_private(staff: User, flag: Flag, message: str) -> PrivateMessage:
    """Open a private conversation with the asker and leave a public note, in one
    transaction. The caller commits."""
    _require_moderator(staff)
    message = (message or "").replace("\x00", "").strip()
    if not 10 <= len(message) <= MESSAGE_LENGTH:
        raise InvalidInput(
            f"Write the customer a message of 10 to {MESSAGE_LENGTH} characters.", field="message"
        )
    question = db.session.get(Question, flag.question_id)
    first = _add_private_message(question, staff, message)
    _audit(question.id, staff, "taken private", flag, post_key(question), message[:200])
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
    """The customer or staff add a message to the private conversation. The caller commits."""
    _require_private_reader(user, question)
    message = (message or "").replace("\x00", "").strip()
    if not 2 <= len(message) <= MESSAGE_LENGTH:
        raise InvalidInput(f"Write 2 to {MESSAGE_LENGTH} characters.", field="message")
    reply = _add_private_message(question, user, message)
    touch_thread(db.session, question.id)  # a staff reply may settle the thread's flags
    return reply


def _add_private_message(question: Question, author: User, message: str) -> PrivateMessage:
    private = PrivateMessage(
        question_id=question.id,
        author_id=author.id,
        body_source=message,
        body_html=render_markdown(message),
    )
    db.session.add(private)
    db.session.flush()
    emit("private_message", question.id, f"private:{private.id}", author.id)
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


def record(staff: User, flag: Flag, action: str, post: str | None = None, detail: str = ""):
    """Add an entry to a flag's audit trail for an action taken through another service."""
    _require_moderator(staff)
    _audit(flag.question_id, staff, action, flag, post, detail)
