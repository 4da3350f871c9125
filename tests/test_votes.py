"""Votes: one per user per post, toggling and switching, never on your own, exact under load."""

import threading

import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Answer, Question, Vote
from forum.services import votes
from forum.services.errors import PermissionDenied

from .factories import done

JSON = {"Accept": "application/json"}


def score_of(model, post_id):
    db.session.expire_all()
    return db.session.get(model, post_id).score


def vote_sum(column, post_id):
    return db.session.scalar(
        select(func.coalesce(func.sum(Vote.value), 0)).where(column == post_id)
    )


def test_up_again_takes_back_and_down_switches(auth, make):
    answer = make.answer(make.question())
    auth.login(make.user().email)
    url = f"/answers/{answer.id}/vote"
    steps = [("up", 1, 1), ("up", 0, 0), ("down", -1, -1), ("up", 1, 1), ("down", -1, -1)]
    for direction, score, mine in steps:
        response = auth.post(url, {"direction": direction}, headers=JSON)
        assert response.status_code == 200
        assert response.get_json() == {"score": score, "my_vote": mine}
        assert score_of(Answer, answer.id) == score == vote_sum(Vote.answer_id, answer.id)
    assert db.session.scalar(select(func.count(Vote.id))) == 1


def test_questions_take_votes_too_and_the_form_post_returns_to_the_post(auth, make):
    question = make.question()
    auth.login(make.user().email)
    response = auth.post(f"/questions/{question.id}/vote", {"direction": "up"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/questions/{question.id}#question")
    assert score_of(Question, question.id) == 1


def test_you_cannot_vote_on_your_own_post(auth, make):
    author = make.user()
    question = make.question(author=author)
    answer = make.answer(question, author=author)
    auth.login(author.email)
    for url in (f"/questions/{question.id}/vote", f"/answers/{answer.id}/vote"):
        response = auth.post(url, {"direction": "up"}, headers=JSON)
        assert response.status_code == 403
        assert response.get_json()["error"]["message"] == "You can't vote on your own post."
    page = auth.post(f"/answers/{answer.id}/vote", {"direction": "up"})
    assert page.status_code == 403 and "vote on your own post" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Vote.id))) == 0


def test_signed_out_visitors_cannot_vote(client, auth, make):
    answer = make.answer(make.question())
    token_page = auth.post(f"/answers/{answer.id}/vote", {"direction": "up"}, headers=JSON)
    assert token_page.status_code == 401
    form = auth.post(f"/answers/{answer.id}/vote", {"direction": "up"})
    assert form.status_code == 302 and "/account/login" in form.headers["Location"]
    assert score_of(Answer, answer.id) == 0


@pytest.mark.parametrize("direction", ["", "sideways", "UP", "1"])
def test_bad_directions_are_a_400(auth, make, direction):
    answer = make.answer(make.question())
    auth.login(make.user().email)
    response = auth.post(f"/answers/{answer.id}/vote", {"direction": direction}, headers=JSON)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Vote up or down."


def test_deleted_posts_take_no_votes(make):
    author = make.user()
    answer = make.answer(make.question(), author=author)
    from forum.services.posting import delete_post

    delete_post(author, answer)
    with pytest.raises(PermissionDenied):
        votes.cast_vote(make.user(), answer, "up")


@pytest.fixture
def strict_vote_limit(app_config):
    from forum.extensions import limiter

    app_config["RATELIMIT_VOTE"] = "3 per minute"
    yield
    limiter.reset()


def test_votes_are_rate_limited(strict_vote_limit, auth, make):
    answer = make.answer(make.question())
    auth.login(make.user().email)
    codes = [
        auth.post(f"/answers/{answer.id}/vote", {"direction": "up"}, headers=JSON).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_a_vote_writes_an_outbox_row_only_when_committed(make):
    from forum.models import OutboxEvent

    answer = make.answer(make.question())
    voter = make.user()

    def rows():
        return db.session.scalar(
            select(func.count(OutboxEvent.id)).where(
                OutboxEvent.kind == "vote_cast", OutboxEvent.post == f"answer:{answer.id}"
            )
        )

    votes.cast_vote(voter, answer, "down")
    db.session.rollback()
    assert rows() == 0 and vote_sum(Vote.answer_id, answer.id) == 0
    done(votes.cast_vote(voter, answer, "down"))
    assert rows() == 1 and vote_sum(Vote.answer_id, answer.id) == -1


def test_concurrent_votes_keep_score_equal_to_the_sum_of_votes(app, make):
    """Many threads vote at once on one answer: no lost update, no double count."""
    answer = make.answer(make.question())
    voters = [make.user() for _ in range(12)]
    answer_id, voter_ids = answer.id, [v.id for v in voters]
    errors = []
    start = threading.Barrier(len(voter_ids))

    def work(voter_id: int, index: int):
        with app.app_context():
            try:
                from forum.models import User

                voter = db.session.get(User, voter_id)
                post = db.session.get(Answer, answer_id)
                start.wait()
                # Each voter clicks several times: up, down, up ... (some end up, some down).
                for step in range(3 + index % 4):
                    done(votes.cast_vote(voter, post, "up" if step % 2 == 0 else "down"))
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(v, i)) for i, v in enumerate(voter_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    rows = db.session.scalar(select(func.count(Vote.id)).where(Vote.answer_id == answer_id))
    total = vote_sum(Vote.answer_id, answer_id)
    # 3..6 clicks alternating up/down: an odd count ends "up", an even count ends "down".
    expected = sum(1 if (3 + i % 4) % 2 else -1 for i in range(len(voter_ids)))
    assert rows == len(voter_ids)
    assert score_of(Answer, answer_id) == total == expected


def test_same_user_racing_clicks_never_double_count(app, make):
    answer = make.answer(make.question())
    voter = make.user()
    answer_id, voter_id = answer.id, voter.id
    start = threading.Barrier(6)
    errors = []

    def click():
        with app.app_context():
            try:
                from forum.models import User

                user, post = db.session.get(User, voter_id), db.session.get(Answer, answer_id)
                start.wait()
                done(votes.cast_vote(user, post, "up"))
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # Six toggles of the same arrow: an even count leaves no vote.
    assert vote_sum(Vote.answer_id, answer_id) == score_of(Answer, answer_id) == 0
