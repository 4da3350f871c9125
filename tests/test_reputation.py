"""Reputation: each rule, its reversal, the daily cap, no points from one's own posts, and the
recompute command finding a broken total."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import Notification, ReputationEvent, Role, ThankYou, User
from forum.services import marks, moderation, posting, reputation, votes
from forum.services.errors import PermissionDenied
from forum.worker import drain

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
    with pytest.raises(PermissionDenied, match="own post"):
        votes.cast_vote(asker, own, "up")  # no self-votes at all
    db.session.rollback()
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


# Privileges ---------------------------------------------------------------------------------


@pytest.fixture
def privileges(app):
    app.config.update(
        REPUTATION_TO_DOWNVOTE=15, REPUTATION_TO_COMMENT=5, REPUTATION_TO_POST_LINKS=10
    )


def test_voting_down_needs_reputation(privileges, auth, make, thread):
    asker, helper, question, answer = thread
    newcomer = make.user()
    auth.login(newcomer.email)
    response = auth.post(
        f"/answers/{answer.id}/vote", {"direction": "down"}, page=f"/questions/{question.id}"
    )
    assert response.status_code == 403
    assert "You need 15 reputation to vote down; you have 0." in response.get_data(as_text=True)
    assert auth.post(
        f"/answers/{answer.id}/vote", {"direction": "up"}, page=f"/questions/{question.id}"
    ).status_code in (302, 303)
    db.session.execute(update(User).where(User.id == newcomer.id).values(reputation=15))
    db.session.commit()
    assert auth.post(
        f"/answers/{answer.id}/vote", {"direction": "down"}, page=f"/questions/{question.id}"
    ).status_code in (302, 303)
    drain()
    assert rep(helper) == -2


def test_commenting_on_others_posts_needs_reputation_but_not_in_ones_own_thread(
    privileges, make, thread
):
    asker, helper, question, answer = thread
    newcomer = make.user()
    with pytest.raises(PermissionDenied, match="You need 5 reputation to comment"):
        posting.post_comment(newcomer, question.id, "Which firmware is it on?")
    db.session.rollback()
    done(posting.post_comment(asker, question.id, "It is on 4.2.", answer.id))  # own thread
    done(posting.post_comment(helper, question.id, "Then try 4.3.", answer.id))  # own answer
    staff = make.user(Role.STAFF)
    done(posting.post_comment(staff, question.id, "Staff need no reputation."))


def test_the_thread_says_why_a_newcomer_has_no_comment_box(privileges, auth, make, thread):
    asker, helper, question, answer = thread
    auth.login(make.user().email)
    page = auth.client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert page.count('data-testid="comment-privilege"') == 2  # the question and the answer
    assert "Commenting on other people's posts needs 5 reputation (you have 0)" in page
    assert "Add a comment" not in page
    auth.logout()
    auth.login(asker.email)
    page = auth.client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert 'data-testid="comment-privilege"' not in page and "Add a comment" in page


def test_brand_new_accounts_cannot_post_links(privileges, auth, make, thread):
    asker, helper, question, answer = thread
    newcomer = make.user()
    auth.login(newcomer.email)
    body = "Buy a new one at https://cheap-chargers.example now, it fixes everything."
    response = auth.post(f"/questions/{question.id}/answers", {"body": body}, page="/")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "You need 10 reputation to post links; you have 0." in page
    assert "cheap-chargers.example now" in page  # what was typed is kept
    plain = "Hold the reset button for ten seconds, then pair it again."
    assert auth.post(f"/questions/{question.id}/answers", {"body": plain}).status_code == 302


# Badges, thanks, top contributors ------------------------------------------------------------


def badge_kinds(user: User) -> list[str]:
    from forum.models import Badge

    return sorted(db.session.scalars(select(Badge.kind).where(Badge.user_id == user.id)))


@pytest.fixture
def badges_on(app):
    app.config["BADGES"] = True


def test_badges_are_awarded_once_and_announced(app, badges_on, make, thread):
    app.config["BADGE_HELPFUL_ANSWERS"] = 2
    asker, helper, question, answer = thread
    staff = make.user(Role.STAFF)
    assert badge_kinds(helper) == ["first_answer", "quick_answer"]
    done(marks.accept_answer(asker, answer))
    done(marks.verify_answer(staff, answer))
    second = make.answer(make.question(product=question.product), author=helper)
    done(votes.cast_vote(make.user(), second, "up"))
    for _ in range(3):
        done(votes.cast_vote(make.user(), question, "up"))
    assert badge_kinds(helper) == [
        "first_accepted",
        "first_answer",
        "first_verified",
        "helpful",
        "quick_answer",
    ]
    assert badge_kinds(asker) == ["good_question"]
    # Undone and redone, the marks award nothing twice.
    done(marks.unaccept_answer(asker, question))
    done(marks.accept_answer(asker, answer))
    assert len(badge_kinds(helper)) == 5
    told = db.session.scalars(
        select(Notification.detail).where(
            Notification.user_id == helper.id, Notification.kind == "badge"
        )
    ).all()
    assert sorted(told) == sorted(
        [
            "First answer",
            "Answered within an hour",
            "First accepted answer",
            "First answer verified by staff",
            f"Helpful in {question.product.name}",
        ]
    )


def test_staff_thank_a_customer_and_can_withdraw_it(auth, client, make, thread):
    asker, helper, question, answer = thread
    staff = make.user(Role.STAFF, name="Dana Support")
    auth.login(asker.email)
    refused = auth.post(
        f"/answers/{answer.id}/thank", {"message": "Thanks!"}, page=f"/questions/{question.id}"
    )
    assert refused.status_code == 403
    auth.logout()
    auth.login(staff.email)
    sent = auth.post(
        f"/answers/{answer.id}/thank",
        {"message": "Your reset steps saved our team a dozen tickets."},
        page=f"/questions/{question.id}",
    )
    assert sent.status_code == 303
    profile = auth.client.get(f"/users/{helper.id}").get_data(as_text=True)
    assert "Your reset steps saved our team a dozen tickets." in profile
    assert "Dana Support" in profile
    inbox = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == helper.id)
    ).all()
    assert "thanks" in inbox
    note_id = db.session.scalar(select(ThankYou.id))
    withdrawn = auth.post(f"/thanks/{note_id}/withdraw", {}, page=f"/users/{helper.id}")
    assert withdrawn.status_code == 303
    profile = auth.client.get(f"/users/{helper.id}").get_data(as_text=True)
    assert "saved our team a dozen tickets" not in profile


def test_top_contributors_by_product_and_period(client, make, thread):
    from datetime import timedelta

    from forum.models import utcnow

    asker, helper, question, answer = thread
    done(marks.accept_answer(asker, answer))
    other = make.user(name="Old Timer")
    old_answer = make.answer(question, author=other)
    done(votes.cast_vote(make.user(), old_answer, "up"))
    db.session.execute(
        update(ReputationEvent)
        .where(ReputationEvent.user_id == other.id)
        .values(created_at=utcnow() - timedelta(days=60))
    )
    db.session.commit()
    slug = question.product.slug
    month = client.get(f"/?product={slug}").get_data(as_text=True)
    section = month.split('data-testid="top-contributors"')[1].split("</section>")[0]
    assert "Bob Helper" in section and "+15" in section and "Old Timer" not in section
    ever = client.get(f"/?product={slug}&period=all").get_data(as_text=True)
    section = ever.split('data-testid="top-contributors"')[1].split("</section>")[0]
    assert section.index("Bob Helper") < section.index("Old Timer")
    elsewhere = client.get(f"/?product={make.product().slug}").get_data(as_text=True)
    assert "Bob Helper" not in elsewhere.split('data-testid="top-contributors"')[1]


def test_a_site_can_turn_badges_off(make, thread):
    asker, helper, question, answer = thread
    done(marks.accept_answer(asker, answer))
    assert badge_kinds(helper) == [] and rep(helper) == 15
