"""Up and down votes on questions and answers, with scores kept exact under concurrency."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db, read_plain
from ..models import Answer, Question, User, Vote
from ..outbox import emit
from ..permissions import privilege_message, reputation_needed
from .errors import InvalidInput, PermissionDenied

DIRECTIONS = {"up": 1, "down": -1}
RETRIES = 5


@dataclass(frozen=True)
class VoteResult:
    score: int
    my_vote: int  # +1, -1 or 0 once taken back


def _target(post: Question | Answer):
    if isinstance(post, Question):
        return Question, Vote.question_id, {"question_id": post.id}
    return Answer, Vote.answer_id, {"answer_id": post.id}


def cast_vote(voter: User, post: Question | Answer, direction: str) -> VoteResult:
    """A signed-in user votes. The same arrow again takes the vote back; the other switches it.

    The vote row and the post's score change in one transaction, the score by an SQL
    expression, and every change to a vote row is conditional on what it was, so racing
    clicks (even by the same user) can never leave score != sum(votes). Each attempt runs in
    a savepoint; the caller commits.
    """
    if direction not in DIRECTIONS:
        raise InvalidInput("Vote up or down.", field="direction")
    if voter is None or not voter.is_authenticated or not voter.is_active:
        raise PermissionDenied("Sign in to vote.")
    if post.author_id == voter.id:
        raise PermissionDenied("You can't vote on your own post.")
    if post.deleted_at is not None:
        raise PermissionDenied("You can't vote on a deleted post.")
    if direction == "down" and (needed := reputation_needed(voter, "downvote")) is not None:
        raise PermissionDenied(privilege_message("downvote", needed, voter.reputation))

    value = DIRECTIONS[direction]
    model, column, target = _target(post)
    _lock_post(model, post.id)
    for _attempt in range(RETRIES):
        savepoint = db.session.begin_nested()
        try:
            my_vote = _apply_vote(voter, model, column, target, post.id, value)
        except IntegrityError:
            # Another request by this user inserted first: read again and decide again.
            savepoint.rollback()
            continue
        if my_vote is None:  # the row changed under us: decide again from the new state
            savepoint.rollback()
            continue
        savepoint.commit()
        score = db.session.scalar(select(model.score).where(model.id == post.id))
        thread = post.id if model is Question else post.question_id
        emit("vote_cast", thread, f"{model.__name__.lower()}:{post.id}", voter.id)
        return VoteResult(score=score, my_vote=my_vote)
    raise InvalidInput("Too many votes at once on this post; please try again.")


def _lock_post(model, post_id: int) -> None:
    # Lock the post first (row lock on PostgreSQL, write lock on SQLite): votes on one post
    # then run one after another, and the vote row read below cannot go stale. The score
    # update at the end would hold the same lock until commit anyway. Being a write, it also
    # opens the transaction on SQLite before any savepoint does.
    db.session.execute(
        update(model)
        .where(model.id == post_id)
        .values(score=model.score)
        .execution_options(synchronize_session=False)
    )


def _apply_vote(voter, model, column, target, post_id, value) -> int | None:
    existing = db.session.execute(
        select(Vote.id, Vote.value).where(Vote.user_id == voter.id, column == post_id)
    ).first()
    if existing is None:
        db.session.execute(insert(Vote).values(user_id=voter.id, value=value, **target))
        delta, result = value, value
    elif existing.value == value:
        gone = db.session.execute(
            delete(Vote).where(Vote.id == existing.id, Vote.value == value)
        ).rowcount
        if gone != 1:
            return None
        delta, result = -value, 0
    else:
        switched = db.session.execute(
            update(Vote)
            .where(Vote.id == existing.id, Vote.value == existing.value)
            .values(value=value)
        ).rowcount
        if switched != 1:
            return None
        delta, result = value - existing.value, value
    db.session.execute(
        update(model)
        .where(model.id == post_id)
        .values(score=model.score + delta)
        .execution_options(synchronize_session=False)
    )
    return result


@functools.cache
def _votes_statement():
    """Built once (see `votes_by`)."""
    question_id = bindparam("question_id")
    return (
        select(Vote.question_id, Vote.answer_id, Vote.value)
        .outerjoin(Answer, Answer.id == Vote.answer_id)
        .where(
            Vote.user_id == bindparam("user_id"),
            or_(Vote.question_id == question_id, Answer.question_id == question_id),
        )
    )


def votes_by(user: User | None, question_id: int) -> dict[str, int]:
    """The viewer's votes on the question and its answers, keyed "q<id>" / "a<id>", in one
    query that needs no list of the answers."""
    if user is None or not user.is_authenticated:
        return {}
    rows = read_plain(_votes_statement(), {"user_id": user.id, "question_id": question_id})
    return {(f"q{q}" if q is not None else f"a{a}"): value for q, a, value in rows}
