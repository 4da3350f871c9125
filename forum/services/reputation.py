"""Reputation: points for what the community and staff say of a person's posts, kept as a
ledger (`ReputationEvent`, one line per vote or mark) with each person's total beside it.

The worker keeps it, not the request: every change to a thread (a vote, an accept, a
verification, a delete, a hide, and each of their undos) already writes an outbox row, and
`reconcile` makes the thread's ledger lines equal to what its visible posts carry now. That
is idempotent and needs no hook in each service: an undone vote's line goes, a restored
post's lines come back, a replayed outbox row changes nothing. Totals move by SQL expression
in the same transaction as the lines. Services never commit; the worker does.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, select, update

from ..extensions import db
from ..models import Answer, Product, Question, ReputationEvent, User, Vote, utcnow

# Points per reason; a downvote costs its post's author a little, never the voter.
POINTS = {
    "upvote:question": 5,
    "upvote:answer": 10,
    "downvote:question": -2,
    "downvote:answer": -2,
    "accepted": 15,  # the asker's accept
    "verified": 25,  # staff's verification: worth the most
}
LABELS = {
    "upvote": "upvote",
    "downvote": "downvote",
    "accepted": "accepted answer",
    "verified": "answer verified by staff",
}


def _expected(question: Question | None) -> dict[str, tuple[int, str, str, int]]:
    """source -> (user, reason, post, points) for everything the thread's visible posts
    carry now. Nothing for one's own post (a self-accept, say) and nothing from a hidden or
    deleted post or thread."""
    if question is None or question.deleted_at is not None or question.hidden_at is not None:
        return {}
    answers = {
        a.id: a
        for a in db.session.scalars(
            select(Answer).where(
                Answer.question_id == question.id,
                Answer.deleted_at.is_(None),
                Answer.hidden_at.is_(None),
            )
        )
    }
    expected = {}
    votes = db.session.scalars(
        select(Vote).where(
            (Vote.question_id == question.id) | Vote.answer_id.in_(list(answers) or [-1])
        )
    )
    for vote in votes:
        kind, author = (
            ("question", question.author_id)
            if vote.question_id
            else ("answer", answers[vote.answer_id].author_id)
        )
        if vote.user_id == author:
            continue
        reason = "upvote" if vote.value > 0 else "downvote"
        post = f"{kind}:{vote.question_id or vote.answer_id}"
        expected[f"vote:{vote.id}:{reason}"] = (author, reason, post, POINTS[f"{reason}:{kind}"])
    for reason, answer_id, by in (
        ("accepted", question.accepted_answer_id, question.author_id),
        ("verified", question.verified_answer_id, question.verified_by_id),
    ):
        answer = answers.get(answer_id)
        if answer is not None and answer.author_id != by:
            post = f"answer:{answer.id}"
            expected[f"{reason}:{post}"] = (answer.author_id, reason, post, POINTS[reason])
    return expected


def reconcile(question_ids: list[int], now: datetime | None = None) -> int:
    """Make the ledger lines of these threads match their posts; move the totals with them.
    Returns how many lines were added or taken away. The caller commits."""
    now = now or utcnow()
    changed = 0
    for question_id in sorted(set(question_ids)):
        expected = _expected(db.session.get(Question, question_id))
        held = {
            e.source: e
            for e in db.session.scalars(
                select(ReputationEvent).where(ReputationEvent.question_id == question_id)
            )
        }
        for source in held.keys() - expected.keys():
            event = held[source]
            _move(event.user_id, -event.points)
            db.session.execute(delete(ReputationEvent).where(ReputationEvent.id == event.id))
            changed += 1
        for source in sorted(expected.keys() - held.keys()):
            user_id, reason, post, points = expected[source]
            if reason == "upvote":
                points = min(points, max(0, _cap() - _upvote_points_today(user_id, now)))
            db.session.add(
                ReputationEvent(
                    user_id=user_id,
                    question_id=question_id,
                    source=source,
                    reason=reason,
                    post=post,
                    points=points,
                    created_at=now,
                )
            )
            db.session.flush()
            _move(user_id, points)
            changed += 1
    return changed


def _cap() -> int:
    return current_app.config["REPUTATION_DAILY_VOTE_CAP"]


def _upvote_points_today(user_id: int, now: datetime) -> int:
    """Points from upvotes this person has had since midnight (UTC): the daily cap."""
    midnight = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    return db.session.scalar(
        select(func.coalesce(func.sum(ReputationEvent.points), 0)).where(
            ReputationEvent.user_id == user_id,
            ReputationEvent.reason == "upvote",
            ReputationEvent.created_at >= midnight,
            ReputationEvent.created_at < midnight + timedelta(days=1),
        )
    )


def _move(user_id: int, points: int) -> None:
    if points:
        db.session.execute(
            update(User).where(User.id == user_id).values(reputation=User.reputation + points)
        )


def ledger_totals() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(ReputationEvent.user_id, func.sum(ReputationEvent.points)).group_by(
                ReputationEvent.user_id
            )
        ).all()
    )


def drift() -> dict[int, tuple[int, int]]:
    """user -> (their total, their ledger's sum), for everyone whose two differ."""
    sums = ledger_totals()
    return {
        user_id: (total, sums.get(user_id, 0))
        for user_id, total in db.session.execute(select(User.id, User.reputation))
        if total != sums.get(user_id, 0)
    }


def recompute() -> dict[int, tuple[int, int]]:
    """Set every total to its ledger's sum; returns what was wrong. The caller commits."""
    wrong = drift()
    for user_id, (_total, ledger) in wrong.items():
        db.session.execute(update(User).where(User.id == user_id).values(reputation=ledger))
    return wrong


def recent_events(user_id: int, limit: int = 20) -> list[tuple[ReputationEvent, str]]:
    """A person's latest lines, with the title of the thread each came from."""
    return db.session.execute(
        select(ReputationEvent, Question.title)
        .join(Question, Question.id == ReputationEvent.question_id)
        .where(ReputationEvent.user_id == user_id)
        .order_by(ReputationEvent.created_at.desc(), ReputationEvent.id.desc())
        .limit(limit)
    ).all()


def answer_stats(user_id: int) -> dict:
    """A person's visible answers by product, and how many were accepted and verified."""
    visible = (
        Answer.author_id == user_id,
        Answer.deleted_at.is_(None),
        Answer.hidden_at.is_(None),
        Question.deleted_at.is_(None),
        Question.hidden_at.is_(None),
    )
    accepted = func.sum(case((Question.accepted_answer_id == Answer.id, 1), else_=0))
    verified = func.sum(case((Question.verified_answer_id == Answer.id, 1), else_=0))
    rows = db.session.execute(
        select(Product.name, Product.slug, func.count(Answer.id), accepted, verified)
        .select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .join(Product, Product.id == Question.product_id)
        .where(*visible)
        .group_by(Product.name, Product.slug)
        .order_by(func.count(Answer.id).desc(), Product.name)
    ).all()
    return {
        "by_product": [(name, slug, count) for name, slug, count, _a, _v in rows],
        "accepted": sum(a or 0 for *_rest, a, _v in rows),
        "verified": sum(v or 0 for *_rest, v in rows),
    }


PERIODS = {"week": ("This week", timedelta(days=7)), "month": ("This month", timedelta(days=30))}


def top_contributors(product_id: int, period: str, limit: int = 5) -> list[tuple[User, int]]:
    """Who earned the most reputation in this product's threads over the period (week,
    month, or all time): the customers who helped most."""
    since = utcnow() - PERIODS[period][1] if period in PERIODS else None
    return contributors_between(product_id, since, None, limit)


def contributors_between(
    product_id: int | None, since: datetime | None, until: datetime | None, limit: int = 5
) -> list[tuple[User, int]]:
    """The customers who earned the most reputation in [since, until), in one product's
    threads or in all of them."""
    points = func.sum(ReputationEvent.points)
    query = (
        select(User, points)
        .join(ReputationEvent, ReputationEvent.user_id == User.id)
        .where(User.active, User.role == "customer")
        .group_by(User.id)
        .having(points > 0)
        .order_by(points.desc(), User.id)
        .limit(limit)
    )
    if product_id is not None:
        query = query.join(Question, Question.id == ReputationEvent.question_id).where(
            Question.product_id == product_id
        )
    if since is not None:
        query = query.where(ReputationEvent.created_at >= since)
    if until is not None:
        query = query.where(ReputationEvent.created_at < until)
    return [(user, total) for user, total in db.session.execute(query).all()]
