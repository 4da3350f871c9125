"""Flags, the scan, reports, the queue and moderators' actions, with the audit trail."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import AuditEntry, Flag, FlagStatus, PrivateMessage, Question, Role
from forum.search_sync import get_index
from forum.services import moderation, posting
from search import parse_query

from .conftest import require_shared_data
from .factories import done
from .test_moderation_core import ANGRY, FRIENDLY


def flags(question_id, kind=None):
    db.session.expire_all()
    query = select(Flag).where(Flag.question_id == question_id)
    if kind:
        query = query.where(Flag.kind == kind)
    return db.session.scalars(query.order_by(Flag.id)).all()


def actions(question_id):
    return db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.question_id == question_id)
        .order_by(AuditEntry.id)
    ).all()


def age(question, hours):
    db.session.execute(
        sa.update(Question)
        .where(Question.id == question.id)
        .values(created_at=question.created_at - timedelta(hours=hours))
    )
    db.session.commit()


def test_an_angry_thread_is_flagged_negative_with_reasons(make):
    question = make.question(title="Charged twice for my plan", body=ANGRY)
    [flag] = flags(question.id, "negative")
    assert flag.status == "open" and flag.priority > 0
    assert any("want a refund" in r for r in flag.reason_list)
    assert db.session.get(Question, question.id).negativity > 0.8


def test_a_friendly_thread_is_not_flagged(make):
    question = make.question(title="Lights look great", body=FRIENDLY)
    make.answer(question, body="Glad it worked, enjoy the new bulbs!")
    make.comment(question, author=question.author, body="Thanks again, lovely community.")
    assert flags(question.id) == []


def test_an_angry_follow_up_flags_a_calm_thread(make):
    question = make.question(body="How do I reset the router to factory settings?")
    make.answer(question, body="Hold the reset button for ten seconds.")
    assert flags(question.id) == []
    make.comment(
        question,
        author=question.author,
        body="Did that three times, still broken. Still waiting for real help. Useless.",
    )
    assert [f.kind for f in flags(question.id)] == ["negative"]


def test_a_resolved_negative_flag_reopens_on_new_negative_posts(make):
    staff = make.user(Role.STAFF)
    question = make.question(body=ANGRY)
    [flag] = flags(question.id, "negative")
    done(moderation.close_flag(staff, flag, FlagStatus.RESOLVED, "Refunded."))
    make.comment(
        question,
        author=question.author,
        body="Still waiting for the refund. This is ridiculous and unacceptable.",
    )
    [flag] = flags(question.id, "negative")
    assert flag.status == "open"
    assert actions(question.id)[-1] == "reopened"


def test_at_most_one_active_flag_per_kind_per_thread(make):
    question = make.question(body=ANGRY)
    db.session.add(Flag(question_id=question.id, kind="negative", reasons="again"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    # A closed one doesn't count.
    [flag] = flags(question.id, "negative")
    done(moderation.close_flag(make.user(Role.STAFF), flag, FlagStatus.DISMISSED))
    db.session.add(Flag(question_id=question.id, kind="negative", reasons="new"))
    db.session.commit()


def test_scan_flags_unanswered_threads_once_past_the_service_level(app, make, runner):
    app.config["MODERATION_SLA_HOURS"] = 24
    old = make.question(title="Nobody picked this one up")
    recent = make.question(title="Asked just now")
    answered = make.question(title="Answered in time")
    make.answer(answered)
    age(old, 30)
    age(answered, 30)
    for _ in range(3):
        result = runner.invoke(args=["moderation", "scan"])
        assert result.exit_code == 0, result.output
    assert "Flagged 0 unanswered" in result.output  # the later runs added nothing
    assert len(flags(old.id, "unanswered")) == 1
    assert flags(recent.id) == [] and flags(answered.id) == []
    [flag] = flags(old.id, "unanswered")
    done(moderation.close_flag(make.user(Role.STAFF), flag, FlagStatus.RESOLVED))
    done(moderation.scan())
    assert len(flags(old.id, "unanswered")) == 1  # once, even after it was resolved


def test_a_long_scan_commits_a_batch_at_a_time_and_a_stopped_one_carries_on(app, make):
    """The first scan after an import raises thousands of flags: each batch is its own
    transaction (SQLite's write lock, and so posting, waits for one batch, not the scan); a
    scan stopped after a batch keeps it, and the next one flags the rest, each thread once."""
    app.config["MODERATION_SLA_HOURS"] = 24
    overdue = [make.question(title=f"Nobody picked this one up {n}") for n in range(5)]
    for question in overdue:
        age(question, 30)
    ids = sorted(q.id for q in overdue)

    batches = moderation.scan_in_batches(size=2)
    assert next(batches) == {"unanswered": 2, "needs_staff": 0}
    db.session.commit()
    batches.close()  # stopped here, as a killed worker would be
    db.session.rollback()
    flagged = [i for i in ids if flags(i, "unanswered")]
    assert flagged == ids[:2]  # the first batch, by thread id, was kept

    counts = [done(batch) for batch in moderation.scan_in_batches(size=2)]
    assert counts == [{"unanswered": 2, "needs_staff": 0}, {"unanswered": 1, "needs_staff": 0}]
    assert all(len(flags(i, "unanswered")) == 1 for i in ids)
    assert moderation.scan() == {"unanswered": 0, "needs_staff": 0}  # nothing twice


def test_scan_flags_negative_threads_without_a_staff_reply(app, make):
    app.config["MODERATION_SLA_HOURS"] = 1
    angry = make.question(body=ANGRY)
    handled = make.question(body=ANGRY)
    make.answer(handled, author=make.user(Role.STAFF), body="We have refunded you, sorry.")
    for flag in db.session.scalars(select(Flag)):
        flag.created_at -= timedelta(hours=2)
    db.session.commit()
    done(moderation.scan())
    done(moderation.scan())
    assert len(flags(angry.id, "needs_staff")) == 1
    assert flags(handled.id, "needs_staff") == []


def test_spam_signals_need_two_of_new_account_many_links_and_repeated_text(make):
    body = "Cheap deals https://a.example https://b.example https://c.example buy now"
    newcomer = make.user()
    spam = make.question(author=newcomer, title="Great deals on chargers here", body=body)
    assert len(flags(spam.id, "spam")) == 1  # a new account posting many links

    regular = make.user()
    regular.created_at -= timedelta(days=30)
    db.session.commit()
    links = make.question(author=regular, title="Useful links for chargers", body=body)
    assert flags(links.id, "spam") == []  # many links alone are fine
    make.answer(links, author=regular, body=body)
    make.answer(links, author=regular, body=body)
    assert len(flags(links.id, "spam")) == 1  # the same text again, with many links


def report(auth, kind, post_id, reason="abuse", text=""):
    return auth.post(f"/{kind}/{post_id}/report", {"reason": reason, "text": text})


def test_reports_once_per_user_and_enough_reporters_hide_the_post(client, auth, make, app):
    app.config["REPORTS_TO_HIDE"] = 2
    question = make.question(title="Thread with a rude answer")
    rude = make.answer(question, body="Only an idiot would ask this, go away.")
    first, second = make.user(), make.user()
    auth.login(first.email)
    assert report(auth, "answers", rude.id, text="insulting").status_code == 303
    again = report(auth, "answers", rude.id, text="still insulting")
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert "already reported" in page and 'value="still insulting"' in page
    assert "<h1>Report this answer</h1>" in page and "Only an idiot" in page
    [flag] = flags(question.id, "report")
    assert "insulting" in flag.reasons
    auth.logout()
    assert db.session.get(type(rude), rude.id).hidden_at is None
    auth.login(second.email)
    report(auth, "answers", rude.id, reason="spam")
    db.session.expire_all()
    assert db.session.get(type(rude), rude.id).hidden_at is not None
    assert "hidden" in actions(question.id)
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Only an idiot" not in page
    assert report(auth, "answers", 999999).status_code == 404


def test_the_report_page_shows_the_post_and_the_form(client, auth, make):
    question = make.question(title="Router drops the line at night")
    answer = make.answer(question, body="Buy a new router from my shop, link below.")
    own = make.answer(question, body="Mine: move it away from the microwave.")
    auth.login(own.author.email)
    thread_page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    # One report form on the page, in the dialog; a link per post that others wrote.
    assert thread_page.count('name="reason"') == 1
    assert f'href="/answers/{answer.id}/report"' in thread_page
    assert f'href="/answers/{own.id}/report"' not in thread_page
    page = client.get(f"/answers/{answer.id}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Report this answer" in html and "Buy a new router from my shop" in html
    auth.logout()
    assert client.get(f"/answers/{answer.id}/report").status_code == 302  # to sign in


def test_hidden_posts_are_invisible_to_customers_everywhere(client, auth, make):
    staff = make.user(Role.MODERATOR)
    question = make.question(title="Wombatular hidden thread title")
    done(moderation.set_hidden(staff, question, True))
    assert get_index().search(parse_query("wombatular")).total == 0
    assert client.get(f"/questions/{question.id}").status_code == 404
    assert "Wombatular" not in client.get("/").get_data(as_text=True)
    assert "Wombatular" not in client.get("/search?q=wombatular").get_data(as_text=True)
    auth.login(make.user().email)
    assert client.get(f"/questions/{question.id}").status_code == 404
    assert (
        auth.post(f"/questions/{question.id}/answers", {"body": "An answer to hidden."}).status_code
        == 404
    )
    auth.logout()
    auth.login(staff.email)
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "hidden from customers" in page
    done(moderation.set_hidden(staff, question, False))
    assert get_index().search(parse_query("wombatular")).total == 1


MODERATION_URLS = [
    ("get", "/moderation"),
    ("get", "/moderation/flags/{flag}"),
    ("post", "/moderation/flags/{flag}/claim"),
    ("post", "/moderation/flags/{flag}/resolve"),
    ("post", "/moderation/flags/{flag}/dismiss"),
    ("post", "/moderation/flags/{flag}/private"),
    ("post", "/moderation/flags/{flag}/answer"),
    ("post", "/moderation/questions/{question}/hide"),
    ("post", "/moderation/questions/{question}/unhide"),
    ("post", "/moderation/answers/{answer}/hide"),
    ("post", "/moderation/questions/{question}/lock"),
    ("post", "/moderation/questions/{question}/unlock"),
    ("post", "/moderation/questions/{question}/duplicate"),
]


@pytest.mark.parametrize(("method", "url"), MODERATION_URLS)
def test_customers_get_403_on_every_moderation_url(auth, make, method, url):
    question = make.question(body=ANGRY)
    answer = make.answer(question)
    [flag] = flags(question.id, "negative")
    target = url.format(flag=flag.id, question=question.id, answer=answer.id)
    form = {
        "message": "Hello there, customer",
        "body": "A staff answer body",
        "note": "x",
        "original_id": question.id,
    }
    auth.login(make.user().email)
    if method == "get":
        assert auth.client.get(target).status_code == 403
    else:
        assert auth.post(target, form).status_code == 403
    auth.logout()
    anonymous = auth.client.get(target) if method == "get" else auth.post(target, form)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    assert flags(question.id, "negative")[0].status == "open"
    assert db.session.get(Question, question.id).hidden_at is None
    assert db.session.get(Question, question.id).locked_at is None


def test_queue_orders_by_priority_and_filters(client, auth, make):
    product = make.product(slug="pocketpay")
    calm = make.question(title="Old unanswered thread")
    age(calm, 100)
    done(moderation.scan())
    angry = make.question(product=product, title="Angry thread at the top", body=ANGRY)
    staff = make.user(Role.STAFF)
    auth.login(staff.email)
    page = client.get("/moderation").get_data(as_text=True)
    assert page.index("Angry thread at the top") < page.index("Old unanswered thread")
    only_negative = client.get("/moderation?kind=negative").get_data(as_text=True)
    assert "Old unanswered thread" not in only_negative
    by_product = client.get("/moderation?product=pocketpay").get_data(as_text=True)
    assert "Angry thread" in by_product and "Old unanswered" not in by_product
    [flag] = flags(angry.id, "negative")
    done(moderation.claim_flag(staff, flag))
    mine = client.get(f"/moderation?assignee={staff.id}").get_data(as_text=True)
    assert "Angry thread" in mine and "Old unanswered" not in mine
    detail = client.get(f"/moderation/flags/{flag.id}").get_data(as_text=True)
    assert 'class="mod-post negative' in detail  # the negative post is marked inline
    marked = detail.split('data-testid="negative-sentences">', 1)[1].split("</ul>", 1)[0]
    assert (
        '<mark class="negative">I want a refund now or I will cancel my account.</mark>' in marked
    )


def test_staff_header_counts_urgent_flags(client, auth, make, app):
    app.config["URGENT_FLAG_PRIORITY"] = 0
    make.question(body=ANGRY)
    auth.login(make.user(Role.STAFF).email)
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="urgent-count">1<' in page
    auth.logout()
    auth.login(make.user().email)
    assert "urgent-count" not in client.get("/").get_data(as_text=True)


def test_every_action_is_in_the_audit_log(client, auth, make):
    staff, other_staff = make.user(Role.STAFF), make.user(Role.MODERATOR)
    customer = make.user()
    question = make.question(author=customer, body=ANGRY)
    original = make.question(title="The original thread about refunds")
    [flag] = flags(question.id, "negative")
    auth.login(staff.email)
    base = f"/moderation/flags/{flag.id}"
    assert auth.post(f"{base}/claim", {"assignee_id": other_staff.id}).status_code == 303
    assert auth.post(f"{base}/claim").status_code == 303
    assert (
        auth.post(f"/moderation/questions/{question.id}/lock", {"flag_id": flag.id}).status_code
        == 303
    )
    assert (
        auth.post(
            f"/moderation/questions/{question.id}/duplicate",
            {"flag_id": flag.id, "original_id": original.id},
        ).status_code
        == 303
    )
    assert auth.post(f"{base}/resolve", {"note": "Refunded in full."}).status_code == 303
    assert (
        auth.post(f"{base}/answer", {"body": "We are looking into your refund now."}).status_code
        == 303
    )
    assert (
        auth.post(f"{base}/private", {"message": "Hello, I have refunded the charge."}).status_code
        == 303
    )
    assert actions(question.id) == [
        "flagged",
        f"assigned to {other_staff.display_name}",
        "claimed",
        "locked",
        "marked duplicate",
        "resolved",
        "answered",
        "taken private",
    ]
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.question_id == question.id).order_by(AuditEntry.id)
    ).all()
    assert all(e.actor_id == staff.id for e in entries[1:])
    assert entries[5].detail == "Refunded in full."
    flag_page = client.get(base).get_data(as_text=True)
    assert "taken private" in flag_page and "Refunded in full." in flag_page

    # Locked: customers can no longer answer; the public note says they were contacted.
    auth.logout()
    auth.login(customer.email)
    assert (
        auth.post(
            f"/questions/{question.id}/answers", {"body": "Customer answer attempt"}
        ).status_code
        == 403
    )
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "contacted you privately" in page and 'data-testid="locked-notice"' in page
    assert "The original thread about refunds" in page


def test_the_private_conversation_is_for_that_customer_and_staff_only(client, auth, make):
    staff, customer, stranger = make.user(Role.STAFF), make.user(), make.user()
    question = make.question(author=customer, body=ANGRY)
    [flag] = flags(question.id, "negative")
    done(moderation.take_private(staff, flag, "Hello, could you send me your order number?"))
    url = f"/questions/{question.id}/private"
    auth.login(stranger.email)
    assert client.get(url).status_code == 403
    assert auth.post(url, {"message": "Let me in"}, page="/").status_code == 403
    assert 'data-testid="private-link"' not in client.get(f"/questions/{question.id}").get_data(
        as_text=True
    )
    auth.logout()
    auth.login(customer.email)
    assert 'data-testid="private-link"' in client.get(f"/questions/{question.id}").get_data(
        as_text=True
    )
    assert "order number" in client.get(url).get_data(as_text=True)
    assert auth.post(url, {"message": "It is 12345."}, page="/").status_code == 303
    auth.logout()
    auth.login(staff.email)
    assert "It is 12345." in client.get(url).get_data(as_text=True)
    assert db.session.scalar(select(func.count(PrivateMessage.id))) == 2
    # Not in the public thread, nor in search.
    assert "12345" not in client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert get_index().search(parse_query("12345")).total == 0


def test_eval_command_reports_f1_on_a_labelled_set(runner):
    path = require_shared_data("sentiment-uci-labelled-sentences", "amazon_cells_labelled.txt")
    result = runner.invoke(args=["moderation", "eval", str(path)])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("amazon"))
    scorer, examples, negatives, precision, recall, f1 = line.split()[1:7]
    assert scorer == "lexicon" and (examples, negatives) == ("1000", "500")
    assert 0.5 < float(f1) <= 1.0 and 0 < float(precision) <= 1 and 0 < float(recall) <= 1


def test_locked_thread_refuses_customers_but_not_staff(make):
    staff = make.user(Role.STAFF)
    question = make.question()
    done(moderation.set_locked(staff, question, True))
    from forum.services.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        posting.post_answer(make.user(), question.id, "A customer answer here.")
    assert posting.post_answer(staff, question.id, "A staff answer in a locked thread.")
