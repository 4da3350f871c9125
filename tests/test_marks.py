"""Accepted answers (the asker's) and verified answers (staff's): rules, ordering and lists."""

import re

import pytest

from forum.extensions import db
from forum.models import Question, Role
from forum.services import marks, votes

from .factories import done


def fresh(question):
    db.session.expire_all()
    return db.session.get(Question, question.id)


def answer_order(client, question) -> list[int]:
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    return [int(n) for n in re.findall(r'id="answer-(\d+)" data-testid="answer"', page)]


def test_only_the_asker_can_accept_staff_verify_instead(client, auth, make):
    asker = make.user()
    question = make.question(author=asker)
    answer = make.answer(question)
    auth.login(make.user().email)
    assert auth.post(f"/answers/{answer.id}/accept").status_code == 403
    assert fresh(question).accepted_answer_id is None
    auth.logout()

    auth.login(asker.email)
    response = auth.post(f"/answers/{answer.id}/accept")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#answer-{answer.id}")
    accepted = fresh(question)
    assert accepted.accepted_answer_id == answer.id and accepted.accepted_at is not None
    auth.logout()

    auth.login(make.user(Role.STAFF).email)
    refused = auth.post(f"/answers/{answer.id}/accept")
    assert refused.status_code == 403
    assert "Only the person who asked" in refused.get_data(as_text=True)
    assert fresh(question).accepted_answer_id == answer.id
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Accept this answer" not in page and "Undo accept" not in page
    assert "Verify as the official answer" in page


def test_the_asker_can_change_and_undo_the_accepted_answer(auth, make):
    asker = make.user()
    question = make.question(author=asker)
    first, second = make.answer(question), make.answer(question)
    auth.login(asker.email)
    auth.post(f"/answers/{first.id}/accept")
    auth.post(f"/answers/{second.id}/accept")
    assert fresh(question).accepted_answer_id == second.id
    auth.post(f"/answers/{second.id}/accept")  # the same button again undoes it
    assert fresh(question).accepted_answer_id is None


@pytest.mark.parametrize("role", [Role.CUSTOMER])
def test_a_customer_cannot_verify_or_revoke(auth, make, role):
    asker = make.user()
    question = make.question(author=asker)
    answer = make.answer(question)
    staff = make.user(Role.STAFF)
    done(marks.verify_answer(staff, answer, "Confirmed by support"))
    auth.login(asker.email)  # even the asker is a customer here
    assert auth.post(f"/answers/{answer.id}/verify").status_code == 403
    other = make.answer(question)
    assert auth.post(f"/answers/{other.id}/verify", {"note": "mine"}).status_code == 403
    assert fresh(question).verified_answer_id == answer.id


@pytest.mark.parametrize("role", [Role.STAFF, Role.MODERATOR, Role.ADMIN])
def test_staff_verify_with_a_note_and_it_shows_who_and_when(client, auth, make, role):
    question = make.question()
    answer = make.answer(question)
    staff = make.user(role, name="Dana Support")
    auth.login(staff.email)
    response = auth.post(f"/answers/{answer.id}/verify", {"note": "Matches our manual, p. 12"})
    assert response.status_code == 303
    verified = fresh(question)
    assert verified.verified_answer_id == answer.id
    assert verified.verified_by_id == staff.id and verified.verified_at is not None
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Verified by staff: Dana Support" in page
    assert "Matches our manual, p. 12" in page


def test_one_verified_answer_per_question_and_revoking(auth, make):
    question = make.question()
    first, second = make.answer(question), make.answer(question)
    auth.login(make.user(Role.STAFF).email)
    auth.post(f"/answers/{first.id}/verify")
    auth.post(f"/answers/{second.id}/verify")
    assert fresh(question).verified_answer_id == second.id
    auth.post(f"/answers/{second.id}/verify")  # the button on a verified answer revokes
    revoked = fresh(question)
    assert revoked.verified_answer_id is None and revoked.verified_by_id is None


def test_staff_can_answer_and_verify_their_own_answer(make):
    staff = make.user(Role.STAFF)
    question = make.question()
    answer = make.answer(question, author=staff, body="Official: update the firmware to 2.3.")
    assert marks.verify_answer(staff, answer).verified_answer_id == answer.id


def test_accepted_and_verified_are_separate_marks(client, make):
    asker, staff = make.user(), make.user(Role.STAFF)
    question = make.question(author=asker)
    both = make.answer(question)
    done(marks.accept_answer(asker, both))
    done(marks.verify_answer(staff, both))
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert page.count('data-testid="verified-badge"') == 1
    assert page.count('data-testid="accepted-badge"') == 1

    other = make.answer(question)
    done(marks.verify_answer(staff, other))
    q = fresh(question)
    assert (q.accepted_answer_id, q.verified_answer_id) == (both.id, other.id)


def test_thread_order_is_verified_accepted_score_then_oldest(client, make):
    asker, staff = make.user(), make.user(Role.STAFF)
    question = make.question(author=asker)
    oldest, popular, accepted, verified, newest = (make.answer(question) for _ in range(5))
    for _ in range(2):
        done(votes.cast_vote(make.user(), popular, "up"))
    done(votes.cast_vote(make.user(), accepted, "down"))
    done(marks.accept_answer(asker, accepted))
    done(marks.verify_answer(staff, verified))
    assert answer_order(client, question) == [
        verified.id,
        accepted.id,
        popular.id,
        oldest.id,
        newest.id,
    ]


def test_marks_refuse_deleted_answers(make):
    asker = make.user()
    question = make.question(author=asker)
    author = make.user()
    answer = make.answer(question, author=author)
    from forum.services.errors import InvalidInput
    from forum.services.posting import delete_post

    delete_post(author, answer)
    with pytest.raises(InvalidInput):
        marks.accept_answer(asker, answer)
    with pytest.raises(InvalidInput):
        marks.verify_answer(make.user(Role.STAFF), answer)


def test_outbox_rows_record_accepting_and_verifying_with_revisions(make):
    from sqlalchemy import select

    from forum.models import OutboxEvent

    asker, staff = make.user(), make.user(Role.STAFF)
    question = make.question(author=asker)
    answer = make.answer(question)
    start = db.session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id.desc()).limit(1))
    done(marks.accept_answer(asker, answer))
    done(marks.verify_answer(staff, answer))
    done(marks.unverify_answer(staff, question))
    rows = db.session.execute(
        select(OutboxEvent.kind, OutboxEvent.post, OutboxEvent.revision)
        .where(OutboxEvent.id > start)
        .order_by(OutboxEvent.id)
    ).all()
    assert [(k, p) for k, p, _ in rows] == [
        ("answer_accepted", f"answer:{answer.id}"),
        ("answer_verified", f"answer:{answer.id}"),
        ("answer_unverified", f"answer:{answer.id}"),
    ]
    revisions = [r for _, _, r in rows]
    assert revisions == sorted(revisions) and len(set(revisions)) == 3
    assert revisions[-1] == db.session.get(Question, question.id).revision


def test_lists_filter_by_state_and_sort_by_votes(client, make):
    asker, staff = make.user(), make.user(Role.STAFF)
    unanswered = make.question(title="State one: nobody answered yet")
    answered = make.question(title="State two: answered but open")
    make.answer(answered)
    solved = make.question(author=asker, title="State three: solved by the asker")
    done(marks.accept_answer(asker, make.answer(solved)))
    verified = make.question(title="State four: verified by staff")
    done(marks.verify_answer(staff, make.answer(verified)))
    all_titles = [q.title for q in (unanswered, answered, solved, verified)]

    def shown(url):
        page = client.get(url).get_data(as_text=True)
        return sorted(t for t in all_titles if t in page)

    assert shown("/?state=unanswered") == [unanswered.title]
    assert shown("/?state=answered") == [answered.title]
    assert shown("/?state=solved") == [solved.title]
    assert shown("/?state=verified") == [verified.title]
    assert shown("/?state=nonsense") == sorted(all_titles)

    for _ in range(3):
        done(votes.cast_vote(make.user(), answered, "up"))
    done(votes.cast_vote(make.user(), verified, "down"))
    page = client.get("/?sort=votes").get_data(as_text=True)
    positions = [page.index(t) for t in (answered.title, unanswered.title, verified.title)]
    assert positions == sorted(positions)
    states = re.findall(r'data-state="(\w+)"', client.get("/").get_data(as_text=True))
    assert sorted(states) == ["answered", "solved", "unanswered", "verified"]


def test_thread_statement_count_is_constant_with_votes_and_a_signed_in_viewer(
    client, auth, make, count_queries
):
    viewer = make.user()
    auth.login(viewer.email)

    def thread(answers: int):
        question = make.question()
        posted = [make.answer(question) for _ in range(answers)]
        for answer in posted:
            done(votes.cast_vote(viewer, answer, "up"))
            done(votes.cast_vote(make.user(), answer, "down"))
            make.comment(question, answer=answer)
        done(marks.accept_answer(question.author, posted[0]))
        done(marks.verify_answer(make.user(Role.STAFF), posted[-1]))
        return question

    small, large = thread(1).id, thread(30).id

    def statements(question_id):
        with count_queries() as counter:
            assert client.get(f"/questions/{question_id}").status_code == 200
        return counter.count

    assert statements(small) == statements(large)
