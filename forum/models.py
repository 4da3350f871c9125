"""Database tables of the forum, in SQLAlchemy 2.0 typed style."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .extensions import db
from .markup import excerpt


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    MODERATOR = "moderator"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.STAFF, Role.MODERATOR, Role.ADMIN})


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER.value)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Imported authors keep a link to their original profile for attribution.
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    source_url: Mapped[str | None] = mapped_column(String(300))
    # When the last digest of notifications was mailed to this person.
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sum of this person's reputation ledger (`ReputationEvent`), kept in step by the
    # worker with SQL expressions; `flask users recompute-reputation` checks it.
    reputation: Mapped[int] = mapped_column(default=0, server_default="0")

    # The sign-in this request came with (set by the user loader, or at sign-in): Flask-Login
    # keeps get_id() in the session and the remember-me cookie, so both name the sign-in and
    # die with it.
    login_token = None  # str | None; a plain attribute, not a column

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.login_token}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def mention_name(self) -> str:
        """How others mention this person: @ and the display name without spaces."""
        return self.display_name.replace(" ", "")

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


# Case-insensitive uniqueness of e-mail addresses, enforced by the database itself.
Index("uq_users_email_lower", func.lower(User.email), unique=True)


class LoginSession(db.Model):
    """One sign-in on one device. Signing out, a password change or deactivation revokes it,
    and with it the session cookie and the remember-me cookie that carry its token."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token: a copy of the table does not sign anyone in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Where an imported product's threads came from, for attribution.
    source_site: Mapped[str | None] = mapped_column(String(120))
    source_url: Mapped[str | None] = mapped_column(String(300))
    # An archived product takes no new questions and leaves the product lists; its threads
    # stay readable and searchable.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


question_tags = Table(
    "question_tags",
    db.Model.metadata,
    Column("question_id", ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


DASHBOARD_COLUMNS = (
    "created_at",
    "deleted_at",
    "hidden_at",
    "first_answer_seconds",
    "first_staff_answer_seconds",
    "accepted_answer_id",
    "verified_answer_id",
)


# Threads with neither an accepted nor a verified answer (partial indexes' condition; the
# lists' "answered" state names the same columns).
OPEN_CONDITION = "accepted_answer_id IS NULL AND verified_answer_id IS NULL"


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_product_activity", "product_id", "last_activity_at"),
        Index("ix_questions_created", "created_at"),
        # The service desk's dashboard reads a period's threads (all products, or one) from
        # these alone, never the wide rows; and the backlog of unanswered threads likewise.
        Index("ix_questions_dashboard", *DASHBOARD_COLUMNS),
        Index("ix_questions_product_dashboard", "product_id", *DASHBOARD_COLUMNS),
        Index(
            "ix_questions_backlog",
            "first_answer_at",
            "deleted_at",
            "hidden_at",
            "product_id",
            "created_at",
        ),
        Index(
            "ix_questions_hidden",
            "hidden_at",
            sqlite_where=text("hidden_at IS NOT NULL"),
            postgresql_where=text("hidden_at IS NOT NULL"),
        ),
        # The home list walks this in order; with the visibility columns in it, that walk and
        # the list's count never read the wide rows.
        Index("ix_questions_activity", "last_activity_at", "deleted_at", "hidden_at"),
        Index("ix_questions_unanswered", "answer_count", "created_at"),
        Index("ix_questions_unanswered_activity", "answer_count", "last_activity_at"),
        Index("ix_questions_score", "score"),
        # Few threads are verified: lookups by answer, and the verified list (and its count)
        # walked in order, read only those; with the visibility columns, never the wide rows.
        Index(
            "ix_questions_verified",
            "verified_answer_id",
            sqlite_where=text("verified_answer_id IS NOT NULL"),
            postgresql_where=text("verified_answer_id IS NOT NULL"),
        ),
        Index(
            "ix_questions_verified_activity",
            "last_activity_at",
            "deleted_at",
            "hidden_at",
            sqlite_where=text("verified_answer_id IS NOT NULL"),
            postgresql_where=text("verified_answer_id IS NOT NULL"),
        ),
        # The "answered, not solved" list and its count: the open threads alone, in order.
        Index(
            "ix_questions_open_activity",
            "last_activity_at",
            "deleted_at",
            "hidden_at",
            "answer_count",
            sqlite_where=text(OPEN_CONDITION),
            postgresql_where=text(OPEN_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Plain-text start of the body for lists, kept at write time so lists never load bodies.
    excerpt: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Denormalised counters, moved by SQL expressions in the writing transaction.
    score: Mapped[int] = mapped_column(default=0)
    answer_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    view_count: Mapped[int] = mapped_column(default=0)
    accepted_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", use_alter=True, ondelete="SET NULL")
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff stamp: one verified answer per question, with who, when and why.
    verified_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", use_alter=True, ondelete="SET NULL")
    )
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_note: Mapped[str | None] = mapped_column(String(280))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    source_url: Mapped[str | None] = mapped_column(String(300))
    # Moderation: hidden pending review, locked against new posts, duplicate of another.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    negativity: Mapped[float] = mapped_column(default=0.0)
    # The sentences behind it, as the worker scored them (JSON), for the moderator's page.
    negative_reasons: Mapped[str | None] = mapped_column(Text)
    # When the first visible answer by someone other than the asker, and the first visible
    # answer by staff, were posted: kept by `lifecycle.settle_threads` with the counters, for
    # the service desk's response times.
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_staff_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The same as whole seconds after the question: what the dashboard's figures read (no
    # timestamps to parse per thread).
    first_answer_seconds: Mapped[int | None] = mapped_column()
    first_staff_answer_seconds: Mapped[int | None] = mapped_column()
    # Bumped by every committed change to the thread (posts, votes, marks, moderation):
    # cached renderings of the thread are keyed by it, so they never outlive a change.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")

    product: Mapped[Product] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    duplicate_of: Mapped[Question | None] = relationship(
        remote_side=[id], foreign_keys=[duplicate_of_id]
    )
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    tags: Mapped[list[Tag]] = relationship(secondary=question_tags, order_by=Tag.name)
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question",
        foreign_keys="Answer.question_id",
        order_by="Answer.id",
    )

    @validates("body_html")
    def _keep_excerpt(self, _key: str, value: str) -> str:
        self.excerpt = excerpt(value)
        return value

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_solved(self) -> bool:
        return self.accepted_answer_id is not None

    @property
    def is_verified(self) -> bool:
        return self.verified_answer_id is not None

    @property
    def state(self) -> str:
        """unanswered, answered, solved or verified: what lists and filters show."""
        if self.verified_answer_id is not None:
            return "verified"
        if self.accepted_answer_id is not None:
            return "solved"
        return "answered" if self.answer_count else "unanswered"


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (
        # Who wrote an answer, without reading its wide row (the dashboard's "solved by").
        Index("ix_answers_id_author", "id", "author_id"),
        Index(
            "ix_answers_hidden",
            "hidden_at",
            sqlite_where=text("hidden_at IS NOT NULL"),
            postgresql_where=text("hidden_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    negativity: Mapped[float] = mapped_column(default=0.0)
    # The sentences behind it, as the worker scored them (JSON), for the moderator's page.
    negative_reasons: Mapped[str | None] = mapped_column(Text)

    question: Mapped[Question] = relationship(back_populates="answers", foreign_keys=[question_id])
    author: Mapped[User] = relationship()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Comment(db.Model):
    """A comment on a question (answer_id empty) or on one of its answers."""

    __tablename__ = "comments"
    __table_args__ = (
        Index(
            "ix_comments_hidden",
            "hidden_at",
            sqlite_where=text("hidden_at IS NOT NULL"),
            postgresql_where=text("hidden_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The thread is always set, so a thread page loads every comment in one query.
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    negativity: Mapped[float] = mapped_column(default=0.0)
    # The sentences behind it, as the worker scored them (JSON), for the moderator's page.
    negative_reasons: Mapped[str | None] = mapped_column(Text)

    author: Mapped[User] = relationship()
    question: Mapped[Question] = relationship(viewonly=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Revision(db.Model):
    """The text a post had before an edit: one row per edit, never updated."""

    __tablename__ = "revisions"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN question_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN answer_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN comment_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_post",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    editor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    body_source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    editor: Mapped[User] = relationship()


class Vote(db.Model):
    """One user's up (+1) or down (-1) vote on one question or answer."""

    __tablename__ = "votes"
    __table_args__ = (
        # NULLs are distinct, so these two keep one vote per user per post of each kind.
        UniqueConstraint("user_id", "question_id", name="uq_votes_user_question"),
        UniqueConstraint("user_id", "answer_id", name="uq_votes_user_answer"),
        CheckConstraint("(question_id IS NULL) <> (answer_id IS NULL)", name="one_post"),
        CheckConstraint("value IN (-1, 1)", name="value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReputationEvent(db.Model):
    """One line of a person's reputation: what others said of one of their posts (a vote, the
    asker's accept, staff's verification) and the points it gave. The worker keeps the lines
    of a thread equal to what its posts carry now, so an undone vote or mark, or a deleted or
    hidden post, takes its lines (and points) away again."""

    __tablename__ = "reputation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    # What gave it, unique: "vote:12:up", "accepted:answer:7", "verified:answer:7".
    source: Mapped[str] = mapped_column(String(60), unique=True)
    reason: Mapped[str] = mapped_column(String(16))  # upvote, downvote, accepted, verified
    post: Mapped[str] = mapped_column(String(40))  # "answer:7"
    points: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Badge(db.Model):
    """A milestone a person reached, awarded once by the worker (`services.badges`). Badges
    are kept when the post that earned them later loses its mark, as at the peers: they
    record that it happened."""

    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("user_id", "kind", "scope", name="uq_badges_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    scope: Mapped[str] = mapped_column(String(60), default="")  # "" or "product:3"
    label: Mapped[str] = mapped_column(String(120))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThankYou(db.Model):
    """A note of thanks from staff to a customer for an answer; shown on the profile."""

    __tablename__ = "thank_yous"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    question: Mapped[Question] = relationship()


class FlagKind(enum.StrEnum):
    NEGATIVE = "negative"
    UNANSWERED = "unanswered"
    REPORT = "report"
    SPAM = "spam"
    NEEDS_STAFF = "needs_staff"


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


ACTIVE_FLAG_STATUSES = (FlagStatus.OPEN.value, FlagStatus.CLAIMED.value)


class Flag(db.Model):
    """Something about a thread that staff should look at, with why and how urgent."""

    __tablename__ = "flags"
    __table_args__ = (
        # At most one open (or claimed) flag of each kind per thread.
        Index(
            "uq_flags_active_kind",
            "question_id",
            "kind",
            unique=True,
            sqlite_where=text("status IN ('open', 'claimed')"),
            postgresql_where=text("status IN ('open', 'claimed')"),
        ),
        Index("ix_flags_queue", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text, default="")  # one reason per line
    priority: Mapped[float] = mapped_column(default=0.0)
    status: Mapped[str] = mapped_column(String(12), default=FlagStatus.OPEN.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    question: Mapped[Question] = relationship()
    assignee: Mapped[User | None] = relationship()

    @property
    def reason_list(self) -> list[str]:
        return [r for r in self.reasons.splitlines() if r.strip()]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_FLAG_STATUSES


class AuditEntry(db.Model):
    """Append-only record of every moderation and administration action: who, when, what, on
    which post (or, for an admin's change, which person, product or setting: "user:5",
    "product:2", "setting:sla_hours", with no thread)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    flag_id: Mapped[int | None] = mapped_column(
        ForeignKey("flags.id", ondelete="SET NULL"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    post: Mapped[str | None] = mapped_column(String(40))  # "question:1", "answer:7", ...
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()


class Report(db.Model):
    """A user's report of a post; one per user per post."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("reporter_id", "post", name="uq_reports_reporter_post"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    post: Mapped[str] = mapped_column(String(40))  # "question:1", "answer:7", "comment:3"
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrivateMessage(db.Model):
    """A message in the private conversation between staff and a thread's asker."""

    __tablename__ = "private_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class OutboxEvent(db.Model):
    """What a committed transaction changed, written in that transaction, for the worker: one
    row per changed thread and revision (and per event worth telling people about). The
    worker's consumers are idempotent and keyed by the thread's revision."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "processed_at", "available_at", "id"),
        Index("ix_outbox_to_notify", "notified_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))  # "changed", "answer_posted", ...
    post: Mapped[str | None] = mapped_column(String(40))  # "answer:7"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Not before this time (retries back off); processed once every consumer is done.
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Notifications have their own cursor: a quick lane beside the indexing one, so people
    # are told while the index is still busy with a large batch.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Words for the people told about it (a moderator's reason for hiding a post).
    detail: Mapped[str | None] = mapped_column(Text)


# Mentions are written as @ and the display name without spaces ("@AliceSmith"); this index
# finds the person without reading every account.
MENTION_NAME = func.lower(func.replace(User.display_name, " ", ""))
Index("ix_users_mention_name", MENTION_NAME)


class NotificationKind(enum.StrEnum):
    ANSWER = "answer"  # an answer on my question
    COMMENT = "comment"  # a comment on my post
    ACCEPTED = "accepted"  # my answer accepted
    VERIFIED = "verified"  # my answer verified by staff
    STAFF_ANSWER = "staff_answer"  # staff answered a thread I watch
    VERIFIED_WATCHED = "verified_watched"  # an answer verified in a thread I watch
    MENTION = "mention"
    PRIVATE_MESSAGE = "private_message"
    POST_HIDDEN = "post_hidden"
    POST_RESTORED = "post_restored"
    NEW_QUESTION = "new_question"  # in a product or tag I follow
    NUDGE = "nudge"  # "Did this solve it?"
    BADGE = "badge"  # I earned a badge
    THANKS = "thanks"  # staff thanked me for an answer


class Delivery(enum.StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"
    OFF = "off"


class MailState(enum.StrEnum):
    PENDING = "pending"  # to be sent now
    DIGEST = "digest"  # waits for the next digest
    SENT = "sent"
    NONE = "none"  # not mailed (preference off, or read before it went)


class Notification(db.Model):
    """Something that happened that one person should hear about: in the inbox, and by mail
    as their preferences say. `key` names the cause ("outbox:123", "nudge:45"), so that one
    change yields at most one notification per person, however often the worker runs."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
        Index("ix_notifications_inbox", "user_id", "read_at", "id"),
        Index("ix_notifications_mail", "email_state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24))
    post: Mapped[str | None] = mapped_column(String(40))  # "answer:7"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_state: Mapped[str] = mapped_column(String(8), default=MailState.NONE.value)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class WatchLevel(enum.StrEnum):
    WATCHING = "watching"
    MUTED = "muted"


class Watch(db.Model):
    """A person's choice about one thread: watching it (asked, answered, commented, or chose
    to) or muted. No row: neither."""

    __tablename__ = "watches"
    __table_args__ = (UniqueConstraint("user_id", "question_id", name="uq_watches_user_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(8), default=WatchLevel.WATCHING.value)
    reason: Mapped[str] = mapped_column(String(12), default="chose")  # asked, answered, ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(db.Model):
    """A person following a product or a tag: told of new questions there."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id", name="uq_follows_user_product"),
        UniqueConstraint("user_id", "tag_id", name="uq_follows_user_tag"),
        CheckConstraint("(product_id IS NULL) <> (tag_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    tag_id: Mapped[int | None] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailPreference(db.Model):
    """How one person wants mail about one group of notifications; no row: the default."""

    __tablename__ = "mail_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(16), primary_key=True)
    delivery: Mapped[str] = mapped_column(String(8))


class Nudge(db.Model):
    """The one "Did this solve it?" message a question's asker gets; the row makes it one."""

    __tablename__ = "nudges"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "still need help": when the asker asked for staff from the nudge.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThreadEmbedding(db.Model):
    """A thread's sentence embedding (title and the start of its question), written by the
    worker. `digest` names the text it was made from, so only a change to that text makes
    a new one."""

    __tablename__ = "thread_embeddings"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(40))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SiteSetting(db.Model):
    """A setting an admin changed on the settings page, overriding the environment's value
    (`forum.services.site_settings`); no row: the environment's value holds."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SelfServiceEvent(db.Model):
    """One step of a visitor looking for an answer: a search, the ask page's similar questions,
    or a question asked. `visitor` is a random id from the visitor's session cookie (or the
    signed-in person's id), nothing more; rows are rolled up by day into `SelfServiceDay` and
    deleted after `FORUM_SELF_SERVICE_EVENT_DAYS`."""

    __tablename__ = "self_service_events"
    __table_args__ = (Index("ix_self_service_events_day", "day", "visitor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # search, similar, asked
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SelfServiceDay(db.Model):
    """A day's visitors who looked for an answer in a product, and how many of them did not
    go on to ask (deflected): the aggregate the dashboard reads once raw events are gone.
    Product 0 stands for looks outside any one product."""

    __tablename__ = "self_service_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    looks: Mapped[int] = mapped_column(default=0)
    deflected: Mapped[int] = mapped_column(default=0)


class ScheduledJob(db.Model):
    """A periodic job's last start, claimed by one worker at a time (`forum.scheduler`): any
    number of hosts may run the worker, and each job still runs once per period."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    runs: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class PostingKey(db.Model):
    """The one-time key a form carried, and the post it made: the same form sent again (a
    retry after a lost response, a double click) finds its first result here instead of
    posting twice. Written in the transaction that makes the post."""

    __tablename__ = "posting_keys"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    location: Mapped[str] = mapped_column(String(200))  # where the first result is
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
