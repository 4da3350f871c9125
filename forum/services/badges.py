"""Badges: milestones a support community cares about, awarded once each by the worker and
announced through the notifications. Each rule is a count over what a person's visible posts
carry now; awarding is idempotent (a unique row per person, badge and scope)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select

from ..extensions import db, insert_unless_taken, read_plain, read_rows
from ..models import Answer, Badge, Comment, NotificationKind, Product, Question, User, utcnow
from .notifications import notify

# kind -> (label, order on a profile: the first a person holds is their "top" badge)
BADGES = {
    "helpful": ("Helpful in {product}", 0),
    "first_verified": ("First answer verified by staff", 1),
    "first_accepted": ("First accepted answer", 2),
    "quick_answer": ("Answered within an hour", 3),
    "good_question": ("Good question", 4),
    "first_answer": ("First answer", 5),
}
QUICK = timedelta(hours=1)


def _live_answers(user_id: int):
    return and_(
        Answer.author_id == user_id,
        Answer.deleted_at.is_(None),
        Answer.hidden_at.is_(None),
        Question.deleted_at.is_(None),
        Question.hidden_at.is_(None),
        Question.author_id != user_id,
    )


def _first(query) -> int | None:
    return db.session.scalar(query.limit(1))


def earned(user_id: int) -> list[tuple[str, str, str, int | None]]:
    """(kind, scope, label, thread) for every badge this person's posts qualify for now."""
    found = []
    answered = select(Answer.question_id).join(Question, Question.id == Answer.question_id)
    live = _live_answers(user_id)
    checks = {
        "first_answer": answered.where(live),
        "first_accepted": answered.where(live, Question.accepted_answer_id == Answer.id),
        "first_verified": answered.where(live, Question.verified_answer_id == Answer.id),
    }
    for kind, query in checks.items():
        thread = _first(query)
        if thread is not None:
            found.append((kind, "", BADGES[kind][0], thread))
    # Within an hour of the question: compared here, as timestamps are portable between the
    # databases and intervals are not (a person has a handful of answers to look at).
    times = db.session.execute(
        select(Answer.question_id, Answer.created_at, Question.created_at)
        .join(Question, Question.id == Answer.question_id)
        .where(live)
    ).all()
    quick = next((q for q, answered_at, asked_at in times if answered_at - asked_at <= QUICK), None)
    if quick is not None:
        found.append(("quick_answer", "", BADGES["quick_answer"][0], quick))
    good = _first(
        select(Question.id).where(
            Question.author_id == user_id,
            Question.deleted_at.is_(None),
            Question.hidden_at.is_(None),
            Question.score >= current_app.config["BADGE_GOOD_QUESTION_SCORE"],
        )
    )
    if good is not None:
        found.append(("good_question", "", BADGES["good_question"][0], good))
    helpful = db.session.execute(
        select(Question.product_id, Product.name, func.max(Question.id))
        .select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .join(Product, Product.id == Question.product_id)
        .where(
            live,
            or_(
                Answer.score > 0,
                Question.accepted_answer_id == Answer.id,
                Question.verified_answer_id == Answer.id,
            ),
        )
        .group_by(Question.product_id, Product.name)
        .having(func.count(Answer.id) >= current_app.config["BADGE_HELPFUL_ANSWERS"])
    ).all()
    for product_id, name, thread in helpful:
        label = BADGES["helpful"][0].format(product=name)
        found.append(("helpful", f"product:{product_id}", label, thread))
    return found


def award(user_ids: list[int]) -> int:
    """Award what these people have newly earned, and tell them. Returns badges awarded.
    The caller commits."""
    if not current_app.config["BADGES"]:
        return 0
    awarded = 0
    for user_id in sorted(set(user_ids)):
        user = db.session.get(User, user_id)
        if user is None or user.is_staff:
            continue
        for kind, scope, label, thread in earned(user_id):
            badge_id = db.session.scalar(
                insert_unless_taken(
                    Badge,
                    {
                        "user_id": user_id,
                        "kind": kind,
                        "scope": scope,
                        "label": label,
                        "question_id": thread,
                        "awarded_at": utcnow(),
                    },
                ).returning(Badge.id)
            )
            if badge_id is not None:
                awarded += 1
                notify(user, thread, NotificationKind.BADGE, f"badge:{badge_id}", detail=label)
    return awarded


def authors_of(keys: list[str | None]) -> list[int]:
    """The authors of the posts these outbox keys name ("answer:7", "question:3"): whose
    badges the change may touch (a vote, an accept or a verification counts for the post's
    author; a new answer for its answerer). A query per kind of post, not per person."""
    ids: dict[str, set[int]] = {}
    for key in keys:
        kind, _, post_id = (key or "").partition(":")
        if kind in ("question", "answer") and post_id.isdigit():
            ids.setdefault(kind, set()).add(int(post_id))
    authors: set[int] = set()
    for kind, model in (("question", Question), ("answer", Answer)):
        if ids.get(kind):
            authors.update(
                db.session.scalars(select(model.author_id).where(model.id.in_(ids[kind])))
            )
    return sorted(authors)


def badges_of(user_ids: list[int]) -> dict[int, list[Badge]]:
    """Each person's badges, the most telling first."""
    rows = db.session.scalars(select(Badge).where(Badge.user_id.in_(user_ids))).all()
    held: dict[int, list[Badge]] = {}
    for badge in sorted(rows, key=lambda b: (BADGES[b.kind][1], b.awarded_at)):
        held.setdefault(badge.user_id, []).append(badge)
    return held


@dataclass(frozen=True, slots=True)
class TopBadge:
    """A person's most telling badge, as a thread page shows it beside their name."""

    label: str


@functools.cache
def _badge_rows_statement():
    """(user, kind, label, awarded) of everyone named, built once: an expanding parameter."""
    return select(Badge.user_id, Badge.kind, Badge.label, Badge.awarded_at).where(
        Badge.user_id.in_(bindparam("user_ids", expanding=True))
    )


def top_badges(user_ids: list[int]) -> dict[int, TopBadge]:
    """Each person's most telling badge (as `badges_of` ranks them), as plain rows: a thread
    page names 30 to 90 authors."""
    if not user_ids:
        return {}
    return _best_of(read_rows(_badge_rows_statement(), {"user_ids": list(user_ids)}).all())


@functools.cache
def _thread_badge_rows_statement():
    """(user, kind, label, awarded) of everyone who wrote in a thread, live or not: bound by
    the question's id alone, so `read_plain` can run it."""
    question_id = bindparam("question_id")
    authors = (
        select(Question.author_id).where(Question.id == question_id)
        .union(
            select(Answer.author_id).where(Answer.question_id == question_id),
            select(Comment.author_id).where(Comment.question_id == question_id),
        )
    )
    return select(Badge.user_id, Badge.kind, Badge.label, Badge.awarded_at).where(
        Badge.user_id.in_(authors.scalar_subquery())
    )


def thread_top_badges(question_id: int) -> dict[int, TopBadge]:
    """`top_badges` of everyone who wrote in this thread, in one statement that needs no list
    of them (a superset of those a page shows: hidden posts' authors too)."""
    return _best_of(read_plain(_thread_badge_rows_statement(), {"question_id": question_id}))


def _best_of(rows) -> dict[int, TopBadge]:
    best: dict[int, tuple] = {}
    for user_id, kind, label, awarded_at in rows:
        rank = (BADGES[kind][1], awarded_at)
        if user_id not in best or rank < best[user_id][0]:
            best[user_id] = (rank, label)
    return {user_id: TopBadge(label) for user_id, (_rank, label) in best.items()}
