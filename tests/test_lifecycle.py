"""One truth per thread: marks, counters, deletion rules, reports and flags that clear
themselves, as a customer, staff or a moderator sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event, select

from forum.extensions import db
from forum.models import AuditEntry, Flag, Question, Role
from forum.search_sync import get_index
from forum.services import marks, moderation, posting
from forum.worker import drain
from search import parse_query

from .factories import done
from .test_moderation_core import ANGRY

HELPFUL = "Same here, the update broke my router too. Really frustrating, I hate this."


def fresh(question) -> Question:
    db.session.expire_all()
    return db.session.get(Question, question.id)


def actions(question_id) -> list[str]:
    return db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.question_id == question_id)
        .order_by(AuditEntry.id)
    ).all()


def flags_of(question, kind) -> list[Flag]:
    db.session.expire_all()
    return db.session.scalars(
        select(Flag).where(Flag.question_id == question.id, Flag.kind == kind).order_by(Flag.id)
    ).all()


def solved_and_verified(make):
    asker, staff, moderator = make.user(), make.user(Role.STAFF), make.user(Role.MODERATOR)
    question = make.question(author=asker, title="Router keeps dropping the wifi at night")
    answer = make.answer(question, body="Switch the router to channel 6 in the settings.")
    done(marks.accept_answer(asker, answer))
    done(marks.verify_answer(staff, answer, "Confirmed"))
    return question, answer, moderator


def test_hiding_the_marked_answer_suspends_its_marks_and_showing_it_restores_them(client, make):
    question, answer, moderator = solved_and_verified(make)
    done(moderation.set_hidden(moderator, answer, True))
    q = fresh(question)
    assert (q.accepted_answer_id, q.verified_answer_id, q.answer_count) == (None, None, 0)
    assert q.state == "unanswered"
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "0 Answers" in page and "Verified answer" not in page and ">Solved<" not in page
    assert "Unanswered" in page
    assert get_index().search(parse_query("is:verified router")).total == 0
    assert "Router keeps dropping" in client.get("/?state=unanswered").get_data(as_text=True)
    assert actions(question.id).count("mark suspended") == 2

    done(moderation.set_hidden(moderator, answer, False))
    q = fresh(question)
    assert (q.accepted_answer_id, q.verified_answer_id) == (answer.id, answer.id)
    assert q.verified_note == "Confirmed" and q.state == "verified"
    assert actions(question.id).count("mark restored") == 2
    assert get_index().search(parse_query("is:verified router")).total == 1


def test_a_deleted_answer_ends_its_marks(client, make):
    question, answer, moderator = solved_and_verified(make)
    done(posting.delete_post(moderator, answer))
    q = fresh(question)
    assert (q.accepted_answer_id, q.verified_answer_id, q.answer_count) == (None, None, 0)
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Verified answer" not in page and "0 Answers" in page
    done(moderation.set_hidden(moderator, answer, False))  # nothing to restore from a deletion
    assert fresh(question).accepted_answer_id is None


def test_authors_cannot_delete_what_helped_others(client, auth, make):
    question, answer, _ = solved_and_verified(make)
    auth.login(question.author.email)
    refused = auth.post(f"/questions/{question.id}/delete")
    assert refused.status_code == 403
    assert "stays for others" in refused.get_data(as_text=True)
    assert fresh(question).deleted_at is None
    auth.logout()
    auth.login(answer.author.email)
    refused = auth.post(f"/answers/{answer.id}/delete")
    assert refused.status_code == 403 and "Edit it instead" in refused.get_data(as_text=True)


def test_an_asker_may_delete_a_question_nobody_helped_with(auth, make):
    asker = make.user()
    question = make.question(author=asker)
    make.answer(question)  # no votes, not accepted
    auth.login(asker.email)
    assert auth.post(f"/questions/{question.id}/delete").status_code == 302
    assert fresh(question).deleted_at is not None


@pytest.mark.parametrize("target", ["staff", "verified", "accepted"])
def test_reports_never_hide_staff_or_marked_answers_on_their_own(client, auth, make, app, target):
    app.config["REPORTS_TO_HIDE"] = 2
    asker, staff = make.user(), make.user(Role.STAFF)
    question = make.question(author=asker)
    answer = make.answer(question, author=staff if target == "staff" else None)
    if target == "verified":
        done(marks.verify_answer(staff, answer))
    if target == "accepted":
        done(marks.accept_answer(asker, answer))
    for _ in range(3):
        done(moderation.report_post(make.user(), answer, "abuse", "I do not like it"))
    assert db.session.get(type(answer), answer.id).hidden_at is None
    [flag] = flags_of(question, "report")
    assert flag.priority >= 6  # urgent: in the staff header count
    assert "Not hidden automatically" in flag.reasons
    auth.login(make.user(Role.MODERATOR).email)
    queue = client.get("/moderation").get_data(as_text=True)
    assert f"answer by {answer.author.display_name}" in queue
    assert "Hold the button for ten seconds" in queue  # the reported text, not answer:3
    assert "answer:" not in queue.split('data-testid="flag-row"')[1]


def test_an_unanswered_flag_resolves_itself_and_reopens_when_the_answer_is_hidden(app, make):
    asker, moderator = make.user(), make.user(Role.MODERATOR)
    question = make.question(author=asker)
    db.session.execute(
        sa.update(Question)
        .where(Question.id == question.id)
        .values(created_at=question.created_at - timedelta(hours=30))
    )
    done(moderation.scan())
    [flag] = flags_of(question, "unanswered")
    assert flag.is_active
    done(posting.post_answer(asker, question.id, "Any news? I am still stuck with this."))
    assert flags_of(question, "unanswered")[0].is_active  # the asker's own reply is no answer
    answer = make.answer(question)
    [flag] = flags_of(question, "unanswered")
    assert flag.status == "resolved" and flag.note == "resolved automatically: answered"
    assert "resolved automatically" in actions(question.id)
    done(moderation.set_hidden(moderator, answer, True))
    [flag] = flags_of(question, "unanswered")
    assert flag.is_active and actions(question.id)[-1] == "reopened"
    for _ in range(3):
        done(moderation.scan())
    assert len(flags_of(question, "unanswered")) == 1


@pytest.mark.parametrize("earlier_threads", [0, 3])  # the flag's number is not the thread's
def test_a_negative_flag_resolves_itself_when_staff_reply_in_public(make, earlier_threads):
    customer, staff = make.user(), make.user(Role.STAFF)
    for _ in range(earlier_threads):
        make.question()
    question = make.question(author=customer, body=ANGRY)
    [flag] = flags_of(question, "negative")
    make.comment(question, author=staff, body="Sorry about this, we are refunding the charge now.")
    [flag] = flags_of(question, "negative")
    assert flag.status == "resolved" and flag.note == "resolved automatically: staff replied"


def test_a_negative_flag_resolves_itself_when_staff_write_privately(make):
    customer, staff = make.user(), make.user(Role.STAFF)
    question = make.question(author=customer, body=ANGRY)
    [flag] = flags_of(question, "negative")
    done(moderation.take_private(staff, flag, "Hello, I have refunded the double charge."))
    [flag] = flags_of(question, "negative")
    assert flag.status == "resolved"


def test_helpers_who_agree_do_not_flag_the_thread(make):
    question = make.question(body="My router drops the wifi every night. Any idea why?")
    make.answer(question, body=HELPFUL)
    make.comment(question, body=HELPFUL)
    assert flags_of(question, "negative") == []


def test_the_reason_is_the_strongest_evidence_in_the_thread(make):
    customer = make.user()
    question = make.question(author=customer, body=ANGRY)
    make.comment(question, author=customer, body="Also the app is a bit slow, sadly.")
    [flag] = flags_of(question, "negative")
    assert "refund now" in flag.reason_list[0]
    assert "slow" not in flag.reason_list[0]


# One commit per user action ----------------------------------------------------------------


@pytest.fixture
def commits(app):
    """Real COMMITs sent to the database (savepoints are not commits)."""
    counter = []
    listener = lambda connection: counter.append(1)  # noqa: E731
    event.listen(db.engine, "commit", listener)
    yield counter
    event.remove(db.engine, "commit", listener)


def test_every_write_view_commits_once(client, auth, make, commits):
    asker, staff, moderator = make.user(), make.user(Role.STAFF), make.user(Role.MODERATOR)
    question = make.question(author=asker, body=ANGRY)
    answer = make.answer(question)
    comment = make.comment(question)
    [flag] = flags_of(question, "negative")
    q, a, c = question.id, answer.id, comment.id

    def once(who, url, data=None, page="/"):
        auth.login(who.email)
        commits.clear()
        response = auth.post(url, data or {}, page=page)
        assert response.status_code in (200, 302, 303), (url, response.status_code)
        assert len(commits) == 1, (url, len(commits))
        auth.logout()

    body = {"body": "A brand new answer with enough words."}
    once(
        asker,
        "/ask",
        {
            "title": "A second question here",
            "body": "x" * 30,
            "product_id": str(question.product_id),
        },
        page="/ask",
    )
    once(make.user(), f"/questions/{q}/answers", body)
    once(make.user(), f"/questions/{q}/comments", {"body": "A comment"})
    once(make.user(), f"/answers/{a}/vote", {"direction": "up"})
    once(asker, f"/answers/{a}/accept")
    once(staff, f"/answers/{a}/verify", {"note": "ok"})
    once(answer.author, f"/answers/{a}/edit", {"body": "Hold the button for twenty seconds."})
    once(comment.author, f"/comments/{c}/edit", {"body": "Thanks, that helped."})
    once(make.user(), f"/answers/{a}/report", {"reason": "spam"})
    once(moderator, f"/moderation/flags/{flag.id}/claim")
    once(moderator, f"/moderation/flags/{flag.id}/private", {"message": "Hello, we refunded you."})
    once(
        moderator, f"/moderation/flags/{flag.id}/answer", {"body": "We refunded the charge today."}
    )
    once(moderator, f"/moderation/answers/{a}/hide")
    once(moderator, f"/moderation/answers/{a}/unhide")
    once(asker, f"/questions/{q}/private", {"message": "Thank you!"})
    once(comment.author, f"/comments/{c}/delete")
    once(moderator, f"/moderation/questions/{q}/lock")
    drain()


# Two writers at once: one row, and a clear answer for the other ------------------------------


def at_once(app, work, count: int = 2) -> list:
    """Run `work(i)` in `count` threads, each with its own connection, released together;
    each commits (or rolls back) what it did. Returns what each returned or raised."""
    import threading

    start = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        with app.app_context():
            try:
                start.wait()
                results[i] = work(i)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - returned and asserted by the caller
                db.session.rollback()
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_registrations_of_one_address_make_one_account(app):
    from forum.models import User
    from forum.services import accounts
    from forum.services.errors import InvalidInput

    results = at_once(
        app, lambda i: accounts.register_user("Twin@Example.com", f"Twin {i}", "long password 1")
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], InvalidInput), results
    assert "already exists" in errors[0].message
    count = db.session.scalar(
        select(sa.func.count(User.id)).where(sa.func.lower(User.email) == "twin@example.com")
    )
    assert count == 1


def test_two_questions_creating_one_new_tag_share_it(app, make):
    from forum.models import Tag, question_tags

    askers, product = [make.user(), make.user()], make.product()
    ids = [u.id for u in askers]

    def ask(i):
        from forum.models import User

        user = db.session.get(User, ids[i])
        return posting.ask_question(
            user, product.id, f"Question number {i} about tags", "x" * 40, "brand-new-tag"
        ).id

    results = at_once(app, ask)
    assert all(isinstance(r, int) for r in results), results
    tags = db.session.scalars(select(Tag).where(Tag.name == "brand-new-tag")).all()
    assert len(tags) == 1
    linked = db.session.scalar(
        select(sa.func.count())
        .select_from(question_tags)
        .where(question_tags.c.tag_id == tags[0].id)
    )
    assert linked == 2


def test_two_scans_raise_one_flag(app, make):
    question = make.question()
    db.session.execute(
        sa.update(Question)
        .where(Question.id == question.id)
        .values(created_at=question.created_at - timedelta(hours=30))
    )
    db.session.commit()
    results = at_once(app, lambda i: moderation.scan()["unanswered"], count=3)
    assert not [r for r in results if isinstance(r, Exception)], results
    flags = flags_of(question, "unanswered")
    assert len(flags) == 1 and flags[0].is_active
    assert actions(question.id).count("flagged") == 1
