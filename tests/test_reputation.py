"""Reputation: each rule, its reversal, the daily cap, no points from one's own posts, and the
recompute command finding a broken total."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import ReputationEvent, Role, User
from forum.services import marks, moderation, posting, reputation, votes

from .factories import done


def rep(user: User) -> int:
    db.session.expire_all()
    total = db.session.get(User, user.id).reputation
    ledger = reputation.ledger_totals().get(user.id, 0)
    assert total == ledger, "the total must equal the ledger's sum"
    return total


def reasons(user: User) -> list[tuple[str, int]]:
    return sorted(
        db.session.execute(
            select(ReputationEvent.reason, ReputationEvent.points).where(
                ReputationEvent.user_id == user.id
            )
        ).all()
    )


@pytest.fixture
def thread(make):
    asker, helper = make.user(name="Asha Asker"), make.user(name="Bob Helper")
    question = make.question(author=asker)
    answer = make.answer(question, author=helper)
    return asker, helper, question, answer


def test_votes_give_and_take_points_and_undoing_a_vote_takes_them_back(make, thread):
    asker, helper, question, answer = thread
    voter = make.user()
    done(votes.cast_vote(voter, answer, "up"))
    assert rep(helper) == 10 and reasons(helper) == [("upvote", 10)]
    done(votes.cast_vote(voter, question, "up"))
    assert rep(asker) == 5
    done(votes.cast_vote(voter, answer, "down"))  # changed its mind
    assert rep(helper) == -2 and reasons(helper) == [("downvote", -2)]
    done(votes.cast_vote(voter, answer, "down"))  # the same arrow again takes it back
    assert rep(helper) == 0 and reasons(helper) == []
    assert rep(voter) == 0  # a downvote never costs the voter


def test_accepting_and_verifying_give_points_that_undoing_takes_back(make, thread):
    asker, helper, question, answer = thread
    staff = make.user(Role.STAFF)
    done(marks.accept_answer(asker, answer))
    assert rep(helper) == 15
    done(marks.verify_answer(staff, answer, "Confirmed"))
    assert rep(helper) == 40 and reasons(helper) == [("accepted", 15), ("verified", 25)]
    done(marks.unaccept_answer(asker, question))
    done(marks.unverify_answer(staff, question))
    assert rep(helper) == 0 and reasons(helper) == []


def test_no_points_for_ones_own_answer_accepted_or_verified(make):
    staff = make.user(Role.STAFF)
    asker = make.user()
    question = make.question(author=asker)
    own = make.answer(question, author=asker)
    done(marks.accept_answer(asker, own))
    staff_question = make.question(author=staff)
    staff_answer = make.answer(staff_question, author=staff)
    done(marks.verify_answer(staff, staff_answer))
    assert rep(asker) == 0 and rep(staff) == 0


def test_a_deleted_or_hidden_answer_loses_its_points_and_regains_them(make, thread):
    asker, helper, question, answer = thread
    moderator = make.user(Role.MODERATOR)
    done(votes.cast_vote(make.user(), answer, "up"))
    assert rep(helper) == 10
    done(moderation.set_hidden(moderator, answer, True))
    assert rep(helper) == 0
    done(moderation.set_hidden(moderator, answer, False))
    assert rep(helper) == 10
    done(posting.delete_post(helper, answer))
    assert rep(helper) == 0


def test_a_hidden_thread_takes_every_point_of_it_away(make, thread):
    asker, helper, question, answer = thread
    done(votes.cast_vote(make.user(), question, "up"))
    done(votes.cast_vote(make.user(), answer, "up"))
    assert (rep(asker), rep(helper)) == (5, 10)
    done(moderation.set_hidden(make.user(Role.MODERATOR), question, True))
    assert (rep(asker), rep(helper)) == (0, 0)


def test_points_from_upvotes_are_capped_per_day(app, make, thread):
    app.config["REPUTATION_DAILY_VOTE_CAP"] = 25
    asker, helper, question, answer = thread
    for _ in range(3):
        done(votes.cast_vote(make.user(), answer, "up"))
    assert rep(helper) == 25 and sorted(p for _, p in reasons(helper)) == [5, 10, 10]
    done(marks.accept_answer(asker, answer))  # never capped
    assert rep(helper) == 40


def test_replaying_the_outbox_changes_nothing(make, thread):
    asker, helper, question, answer = thread
    done(votes.cast_vote(make.user(), answer, "up"))
    done(marks.accept_answer(asker, answer))
    for _ in range(2):
        assert reputation.reconcile([question.id]) == 0
        db.session.commit()
    assert rep(helper) == 25


def test_recompute_finds_and_fixes_a_broken_total(runner, make, thread):
    asker, helper, question, answer = thread
    done(votes.cast_vote(make.user(), answer, "up"))
    db.session.execute(update(User).where(User.id == helper.id).values(reputation=999))
    db.session.commit()
    result = runner.invoke(args=["users", "recompute-reputation"])
    assert result.exit_code == 0, result.output
    assert "drift: Bob Helper" in result.output and "had 999, the ledger says 10" in result.output
    assert rep(helper) == 10
    again = runner.invoke(args=["users", "recompute-reputation"])
    assert "Every total matches its ledger." in again.output


def test_the_profile_and_the_user_card_show_reputation(client, make, thread):
    asker, helper, question, answer = thread
    done(votes.cast_vote(make.user(), answer, "up"))
    done(marks.accept_answer(asker, answer))
    profile = client.get(f"/users/{helper.id}").get_data(as_text=True)
    assert 'data-testid="profile-reputation">25<' in profile
    assert "+15</strong> accepted answer on" in profile and "+10</strong> upvote on" in profile
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert 'data-testid="reputation" title="reputation">25<' in page
