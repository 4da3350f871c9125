"""A stateful property test of the thread invariants (forum/services/lifecycle.py).

Random sequences of what people do (ask, answer, comment, vote, accept, unaccept, verify,
revoke, edit, delete, hide, unhide, report, scan, resolve, dismiss, take private, and the
worker catching up), by random users of every role, each as one committed action; after every
step, every invariant is checked against a recomputation from the raw rows.

FORUM_PROPERTY_EXAMPLES raises the number of random runs (CI sets it higher on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import and_, func, or_, select, update

from forum.extensions import db
from forum.models import (
    ACTIVE_FLAG_STATUSES,
    Answer,
    Comment,
    Flag,
    OutboxEvent,
    PrivateMessage,
    Question,
    Role,
    User,
    Vote,
)
from forum.search_sync import check_drift, close_index
from forum.services import accounts, marks, moderation, posting, reputation, votes
from forum.services.errors import ServiceError
from forum.services.lifecycle import settle_threads
from forum.worker import drain

from .conftest import _empty_tables

PHASES = (
    [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("FORUM_NO_SHRINK")
    else list(Phase)
)
EXAMPLES = int(os.environ.get("FORUM_PROPERTY_EXAMPLES", "25"))
ANGRY = "This is the third time I ask and nobody answered. I want a refund now, unacceptable!"
CALM = ["Thanks, that worked for me.", "Try holding the reset button for ten seconds."]
TEXTS = st.sampled_from([*CALM, ANGRY, "Same here, the update broke mine too. Frustrating."])
ROLES = [Role.CUSTOMER, Role.CUSTOMER, Role.CUSTOMER, Role.STAFF, Role.MODERATOR]
STAFF = (Role.STAFF.value, Role.MODERATOR.value, Role.ADMIN.value)


def visible(model):
    return and_(model.deleted_at.is_(None), model.hidden_at.is_(None))


class ThreadLifecycle(RuleBasedStateMachine):
    app = None  # set by the test

    def __init__(self):
        super().__init__()
        db.session.remove()
        _empty_tables()
        close_index(self.app)
        shutil.rmtree(self.app.config["SEARCH_INDEX_DIR"], ignore_errors=True)
        self.users = [
            accounts.register_user(f"p{i}@example.com", f"Person {i}", "a long password", role).id
            for i, role in enumerate(ROLES)
        ]
        from forum.models import Product

        db.session.add(Product(name="Router", slug="router", description=""))
        db.session.commit()
        self.product = db.session.scalar(select(Product.id))
        self.refused = 0

    # Helpers ------------------------------------------------------------------------------

    def user(self, index: int) -> User:
        return db.session.get(User, self.users[index % len(self.users)])

    def staff(self, index: int) -> User:
        return self.user(3 + index % 2)

    def pick(self, model, index: int):
        ids = db.session.scalars(select(model.id).order_by(model.id)).all()
        return db.session.get(model, ids[index % len(ids)]) if ids else None

    def act(self, action, *args) -> None:
        """One user action: the service, then the one commit; a refusal changes nothing."""
        try:
            action(*args)
        except ServiceError:
            db.session.rollback()
            self.refused += 1
            return
        db.session.commit()

    def has(self, model) -> bool:
        return db.session.scalar(select(func.count(model.id))) > 0

    # Rules --------------------------------------------------------------------------------

    @rule(who=st.integers(0, 4), angry=st.booleans())
    def ask(self, who, angry):
        body = ANGRY if angry else "My router drops the wifi every evening. What can I do?"
        self.act(posting.ask_question, self.user(who), self.product, "Router drops wifi", body)

    @precondition(lambda self: self.has(Question))
    @rule(who=st.integers(0, 4), q=st.integers(0, 50), text=TEXTS)
    def answer(self, who, q, text):
        self.act(posting.post_answer, self.user(who), self.pick(Question, q).id, text)

    @precondition(lambda self: self.has(Question))
    @rule(
        who=st.integers(0, 4),
        q=st.integers(0, 50),
        a=st.integers(0, 50),
        on_answer=st.booleans(),
        text=TEXTS,
    )
    def comment(self, who, q, a, on_answer, text):
        question = self.pick(Question, q)
        answer = self.pick(Answer, a) if on_answer else None
        target = answer.id if answer is not None and answer.question_id == question.id else None
        self.act(posting.post_comment, self.user(who), question.id, text, target)

    @precondition(lambda self: self.has(Answer))
    @rule(who=st.integers(0, 4), a=st.integers(0, 50), up=st.booleans(), on_question=st.booleans())
    def vote(self, who, a, up, on_question):
        answer = self.pick(Answer, a)
        post = answer.question if on_question else answer
        self.act(votes.cast_vote, self.user(who), post, "up" if up else "down")

    @precondition(lambda self: self.has(Answer))
    @rule(a=st.integers(0, 50), by_asker=st.booleans(), who=st.integers(0, 4))
    def accept(self, a, by_asker, who):
        answer = self.pick(Answer, a)
        user = answer.question.author if by_asker else self.user(who)
        self.act(marks.accept_answer, user, answer)

    @precondition(lambda self: self.has(Question))
    @rule(q=st.integers(0, 50))
    def unaccept(self, q):
        question = self.pick(Question, q)
        self.act(marks.unaccept_answer, question.author, question)

    @precondition(lambda self: self.has(Answer))
    @rule(a=st.integers(0, 50), who=st.integers(0, 4))
    def verify(self, a, who):
        self.act(marks.verify_answer, self.user(who), self.pick(Answer, a), "Official")

    @precondition(lambda self: self.has(Question))
    @rule(q=st.integers(0, 50), who=st.integers(0, 4))
    def revoke(self, q, who):
        self.act(marks.unverify_answer, self.user(who), self.pick(Question, q))

    @precondition(lambda self: self.has(Answer))
    @rule(a=st.integers(0, 50), text=TEXTS, by_author=st.booleans(), who=st.integers(0, 4))
    def edit_answer(self, a, text, by_author, who):
        answer = self.pick(Answer, a)
        editor = answer.author if by_author else self.user(who)
        self.act(posting.edit_answer, editor, answer, text + " (edited)")

    @precondition(lambda self: self.has(Answer))
    @rule(
        kind=st.sampled_from([Question, Answer, Comment]),
        i=st.integers(0, 50),
        by_author=st.booleans(),
        who=st.integers(0, 4),
    )
    def delete(self, kind, i, by_author, who):
        post = self.pick(kind, i)
        if post is not None:
            self.act(posting.delete_post, post.author if by_author else self.user(who), post)

    @precondition(lambda self: self.has(Answer))
    @rule(
        kind=st.sampled_from([Question, Answer, Comment]),
        i=st.integers(0, 50),
        hide=st.booleans(),
        who=st.integers(0, 1),
    )
    def hide(self, kind, i, hide, who):
        post = self.pick(kind, i)
        if post is not None:
            self.act(moderation.set_hidden, self.staff(who), post, hide)

    @precondition(lambda self: self.has(Answer))
    @rule(
        kind=st.sampled_from([Question, Answer, Comment]),
        i=st.integers(0, 50),
        who=st.integers(0, 4),
    )
    def report(self, kind, i, who):
        post = self.pick(kind, i)
        if post is not None:
            self.act(moderation.report_post, self.user(who), post, "abuse", "rude")

    @precondition(lambda self: self.has(Question))
    @rule(q=st.integers(0, 50))
    def age(self, q):
        """Time passes for one thread: it is now past the service level."""
        question = self.pick(Question, q)
        db.session.execute(
            update(Question)
            .where(Question.id == question.id)
            .values(created_at=question.created_at - timedelta(hours=48))
        )
        # The thread was asked earlier than its answers now say: what follows from the
        # question's time (its first answer came 48 h later too) is worked out again.
        settle_threads(db.session, [question.id])
        db.session.commit()

    @rule()
    def scan(self):
        self.act(moderation.scan)

    @rule()
    def worker_catches_up(self):
        drain()

    @precondition(lambda self: self.has(Flag))
    @rule(
        f=st.integers(0, 50),
        outcome=st.sampled_from(["resolved", "dismissed"]),
        who=st.integers(0, 1),
    )
    def close_flag(self, f, outcome, who):
        from forum.models import FlagStatus

        self.act(
            moderation.close_flag, self.staff(who), self.pick(Flag, f), FlagStatus(outcome), "done"
        )

    @precondition(lambda self: self.has(Flag))
    @rule(f=st.integers(0, 50), who=st.integers(0, 1))
    def take_private(self, f, who):
        self.act(
            moderation.take_private,
            self.staff(who),
            self.pick(Flag, f),
            "Hello, we have refunded you.",
        )

    # Invariants ---------------------------------------------------------------------------

    @invariant()
    def counters_equal_what_customers_see(self):
        parent = db.aliased(Answer)
        for q in db.session.scalars(select(Question)).all():
            answers = db.session.scalar(
                select(func.count(Answer.id)).where(Answer.question_id == q.id, visible(Answer))
            )
            comments = db.session.scalar(
                select(func.count(Comment.id))
                .outerjoin(parent, parent.id == Comment.answer_id)
                .where(
                    Comment.question_id == q.id,
                    visible(Comment),
                    or_(Comment.answer_id.is_(None), visible(parent)),
                )
            )
            assert (q.answer_count, q.comment_count) == (answers, comments), q.id

    @invariant()
    def first_answer_times_are_the_earliest_visible_answers(self):
        for q in db.session.scalars(select(Question)).all():
            first = db.session.scalar(
                select(func.min(Answer.created_at)).where(
                    Answer.question_id == q.id, visible(Answer), Answer.author_id != q.author_id
                )
            )
            staff = db.session.scalar(
                select(func.min(Answer.created_at))
                .join(User, User.id == Answer.author_id)
                .where(Answer.question_id == q.id, visible(Answer), User.role.in_(STAFF))
            )
            assert q.first_answer_at == first, q.id
            assert q.first_staff_answer_at == staff, q.id
            for at, seconds in (
                (first, q.first_answer_seconds),
                (staff, q.first_staff_answer_seconds),
            ):
                expected = None if at is None else round((at - q.created_at).total_seconds())
                assert seconds == expected, q.id

    @invariant()
    def scores_equal_the_sum_of_votes(self):
        for model, column in ((Question, Vote.question_id), (Answer, Vote.answer_id)):
            for post in db.session.scalars(select(model)).all():
                total = db.session.scalar(
                    select(func.coalesce(func.sum(Vote.value), 0)).where(column == post.id)
                )
                assert post.score == total, (model.__name__, post.id)

    @invariant()
    def marks_point_at_visible_answers_of_the_thread(self):
        for q in db.session.scalars(select(Question)).all():
            for mark in ("accepted", "verified"):
                answer_id = getattr(q, f"{mark}_answer_id")
                assert (answer_id is None) == (getattr(q, f"{mark}_at") is None), (q.id, mark)
                if answer_id is None:
                    continue
                answer = db.session.get(Answer, answer_id)
                assert answer.question_id == q.id
                assert answer.deleted_at is None and answer.hidden_at is None, (q.id, mark)
            assert (q.verified_answer_id is None) == (q.verified_by_id is None)
            if q.accepted_answer_id is not None:  # only the asker accepts
                assert q.state in ("solved", "verified")
            expected = (
                "verified"
                if q.verified_answer_id
                else "solved"
                if q.accepted_answer_id
                else "answered"
                if q.answer_count
                else "unanswered"
            )
            assert q.state == expected

    @invariant()
    def every_open_flag_still_has_its_cause(self):
        for flag in db.session.scalars(
            select(Flag).where(Flag.status.in_(ACTIVE_FLAG_STATUSES))
        ).all():
            q = db.session.get(Question, flag.question_id)
            assert q.deleted_at is None, flag.id
            if flag.kind == "unanswered":
                others = db.session.scalar(
                    select(func.count(Answer.id)).where(
                        Answer.question_id == q.id, visible(Answer), Answer.author_id != q.author_id
                    )
                )
                assert others == 0, f"unanswered flag {flag.id} on an answered thread"
            if flag.kind in ("negative", "needs_staff"):
                replied = 0
                for model in (Answer, Comment):
                    replied += db.session.scalar(
                        select(func.count(model.id))
                        .join(User, User.id == model.author_id)
                        .where(
                            model.question_id == q.id,
                            visible(model),
                            User.role.in_(STAFF),
                            model.created_at >= flag.updated_at,
                        )
                    )
                replied += db.session.scalar(
                    select(func.count(PrivateMessage.id))
                    .join(User, User.id == PrivateMessage.author_id)
                    .where(
                        PrivateMessage.question_id == q.id,
                        User.role.in_(STAFF),
                        PrivateMessage.created_at >= flag.updated_at,
                    )
                )
                assert replied == 0, f"{flag.kind} flag {flag.id} open after staff replied"

    @invariant()
    def every_revision_has_its_outbox_row(self):
        for q in db.session.scalars(select(Question)).all():
            latest = db.session.scalar(
                select(func.max(OutboxEvent.revision)).where(OutboxEvent.question_id == q.id)
            )
            assert latest == q.revision, q.id

    @invariant()
    def every_reputation_is_its_ledgers_sum_and_the_ledger_what_posts_carry(self):
        """Totals equal the ledger at every step (they move in the same transaction as its
        lines); once the worker has caught up, the ledger is exactly what the visible posts
        carry now, so nothing undone, deleted or hidden still pays."""
        sums = reputation.ledger_totals()
        for user_id, total in db.session.execute(select(User.id, User.reputation)):
            assert total == sums.get(user_id, 0), user_id
        pending = db.session.scalar(
            select(func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
        )
        if pending == 0:
            question_ids = db.session.scalars(select(Question.id)).all()
            assert reputation.reconcile(question_ids) == 0
            db.session.rollback()

    @invariant()
    def the_index_matches_once_the_worker_caught_up(self):
        pending = db.session.scalar(
            select(func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
        )
        if pending == 0:
            assert check_drift(repair=False) == {
                "missing": [],
                "orphaned": [],
                "stale": [],
                "pending": [],
            }

    def teardown(self):
        db.session.rollback()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_thread_invariants_hold_after_any_sequence_of_actions(app):
    ThreadLifecycle.app = app
    ThreadLifecycle.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=30,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=PHASES,
    )
    ThreadLifecycle.TestCase().runTest()
