"""The service desk's dashboard: each figure computed on hand-built threads with known times,
self-service deflection counted from what visitors do, and who may see it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import (
    Answer,
    Flag,
    Question,
    ReputationEvent,
    Role,
    SelfServiceDay,
    SelfServiceEvent,
    utcnow,
)
from forum.services import dashboard, marks, moderation, self_service
from forum.services.lifecycle import settle_threads

from .factories import done


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def set_times(model, row_id: int, **times) -> None:
    db.session.execute(update(model).where(model.id == row_id).values(**times))
    db.session.commit()


def settle(*questions) -> None:
    settle_threads(db.session, [q.id for q in questions])
    db.session.commit()


def answer_at(make, question, author, when: datetime):
    answer = make.answer(question, author=author)
    set_times(Answer, answer.id, created_at=when)
    settle(question)
    return answer


def ask_at(make, product, author, when: datetime, tags: str = ""):
    question = make.question(author=author, product=product, tags=tags)
    set_times(Question, question.id, created_at=when, last_activity_at=when)
    return question


@pytest.fixture
def desk(app, make):
    """Five threads in "Router" in the first days of March 2026, one in another product, one
    before the period: the figures each test expects are worked out in its comments."""
    app.config["MODERATION_SLA_HOURS"] = 24
    router, modem = make.product("Router", "router"), make.product("Modem", "modem")
    asker, helper, other = make.user(), make.user(name="Helpful Hanna"), make.user()
    staff = make.user(Role.STAFF)
    t1 = ask_at(make, router, asker, at(2), "wifi router")
    a1 = answer_at(make, t1, helper, at(2, 12))  # 2 h
    answer_at(make, t1, staff, at(3, 16))  # staff: 30 h
    done(marks.accept_answer(asker, a1))  # solved by a customer
    t2 = ask_at(make, router, asker, at(3), "wifi")
    a2 = answer_at(make, t2, staff, at(3, 14))  # 4 h, staff 4 h
    done(marks.verify_answer(staff, a2))  # solved by staff, verified
    t3 = ask_at(make, router, other, at(4), "billing")
    a3 = answer_at(make, t3, helper, at(6))  # 48 h
    done(marks.accept_answer(other, a3))
    t4 = ask_at(make, router, asker, at(5))  # never answered
    t5 = ask_at(make, router, asker, at(6))
    own = answer_at(make, t5, asker, at(6, 11))  # the asker's own answer does not count
    elsewhere = ask_at(make, modem, asker, at(2))
    answer_at(make, elsewhere, helper, at(2, 11))
    before = ask_at(make, router, asker, datetime(2026, 2, 20, 10, tzinfo=UTC))
    answer_at(make, before, helper, datetime(2026, 2, 20, 11, tzinfo=UTC))
    return {
        "router": router,
        "modem": modem,
        "staff": staff,
        "asker": asker,
        "helper": helper,
        "threads": [t1, t2, t3, t4, t5],
        "own_answer": own,
        "elsewhere": elsewhere,
    }


def board_for(product: str | None, start="2026-03-01", end="2026-03-14"):
    return dashboard.build(dashboard.scope_for(product, "custom", start, end), use_cache=False)


def test_response_times_and_the_service_level(desk):
    board = board_for("router")
    assert board.threads == 5
    # First answers after 2, 4 and 48 hours; the fourth thread has none, the fifth only
    # the asker's own.
    assert board.first_answer.count == 3
    assert board.first_answer.median == pytest.approx(4.0)
    assert board.first_answer.p90 == pytest.approx(39.2)  # 4 + 0.8 × (48 − 4)
    assert board.first_answer.within_sla == pytest.approx(2 / 5)
    # Staff answered after 30 and 4 hours.
    assert board.first_staff_answer.count == 2
    assert board.first_staff_answer.median == pytest.approx(17.0)
    assert board.first_staff_answer.p90 == pytest.approx(27.4)  # 4 + 0.9 × (30 − 4)
    assert board.first_staff_answer.within_sla == pytest.approx(1 / 5)
    # Per day (two weeks: daily bars): the 2nd's thread answered in time, the 4th's not.
    by_day = {b.start: b for b in board.buckets}
    assert len(board.buckets) == 14
    assert (by_day[date(2026, 3, 2)].threads, by_day[date(2026, 3, 2)].answered_in_sla) == (1, 1)
    assert (by_day[date(2026, 3, 4)].threads, by_day[date(2026, 3, 4)].answered_in_sla) == (1, 0)


def test_all_products_and_other_periods(desk):
    everything = board_for(None)
    assert everything.threads == 6  # the modem thread too
    assert everything.first_answer.count == 4
    assert board_for("modem").threads == 1
    assert board_for("router", "2026-02-01", "2026-02-28").threads == 1  # the one before
    assert board_for("router", "2026-04-01", "2026-04-30").threads == 0


def test_a_deleted_or_hidden_answer_stops_counting_as_the_first(desk, make):
    t1 = desk["threads"][0]
    first = db.session.scalar(select(Answer).where(Answer.question_id == t1.id).order_by(Answer.id))
    done(moderation.set_hidden(desk["staff"], first, True))
    board = board_for("router")
    assert board.first_answer.count == 3  # now answered first by staff, after 30 h
    assert board.first_answer.within_sla == pytest.approx(1 / 5)
    done(moderation.set_hidden(desk["staff"], first, False))
    assert board_for("router").first_answer.within_sla == pytest.approx(2 / 5)


def test_resolution_by_customers_and_by_staff(desk):
    board = board_for("router")
    assert (board.solved, board.solved_by_customer, board.solved_by_staff) == (3, 2, 1)
    assert board.verified == 1
    assert board.accepted == 2
    assert board.share(board.solved_by_customer) == pytest.approx(0.4)


def test_moderation_and_sentiment_figures(desk, make):
    t1, _t2, _t3, t4, t5 = desk["threads"]
    now = utcnow()
    db.session.add_all(
        [
            # Negative on the 5th, closed by a staff reply three hours later.
            Flag(
                question_id=t4.id,
                kind="negative",
                status="resolved",
                note=dashboard.STAFF_REPLIED,
                created_at=at(5, 12),
                updated_at=at(5, 15),
                closed_at=at(5, 15),
            ),
            # A report dismissed after six hours.
            Flag(
                question_id=t1.id,
                kind="report",
                status="dismissed",
                created_at=at(7, 0),
                updated_at=at(7, 6),
                closed_at=at(7, 6),
            ),
            # Open now, raised two days ago.
            Flag(question_id=t4.id, kind="unanswered", created_at=now - timedelta(days=2)),
        ]
    )
    db.session.commit()
    reporter = make.user()
    report = done(moderation.report_post(reporter, desk["own_answer"], "spam"))
    set_times(type(report), report.id, created_at=at(8))
    done(moderation.set_hidden(desk["staff"], desk["own_answer"], True))
    set_times(Answer, desk["own_answer"].id, hidden_at=at(9))
    outside = done(moderation.report_post(reporter, desk["elsewhere"], "spam"))
    set_times(type(outside), outside.id, created_at=at(8))

    board = board_for("router")
    assert dict(board.open_flags)["unanswered"] == [0, 1, 0]  # 1–7 days old
    times = dict(board.flag_times)
    assert (times["negative"].count, times["negative"].median) == (1, pytest.approx(3.0))
    assert (times["report"].count, times["report"].median) == (1, pytest.approx(6.0))
    assert board.reports == 1  # the modem thread's report is another product's
    assert (board.hidden_now, board.hidden_in_period) == (1, 1)
    assert board.negative == 1
    assert board.negative_reply.median == pytest.approx(3.0)
    by_day = {b.start: b for b in board.buckets}
    assert by_day[date(2026, 3, 5)].negative == 1
    assert by_day[date(2026, 3, 5)].negative_reply_median == pytest.approx(3.0)
    assert board.percent_per_bucket("negative")[4] == pytest.approx(100.0)
    assert t5.id  # the fifth thread's hidden answer is the one hidden post


def test_backlog_by_age_now(app, make):
    app.config["MODERATION_SLA_HOURS"] = 24
    product = make.product("Lamp", "lamp")
    now = utcnow()
    for age in (timedelta(hours=2), timedelta(days=2), timedelta(days=10), timedelta(days=40)):
        ask_at(make, product, make.user(), now - age)
    answered = ask_at(make, product, make.user(), now - timedelta(days=2))
    make.answer(answered)
    board = dashboard.build(dashboard.scope_for("lamp", "7"), use_cache=False)
    assert board.backlog == [
        ("under 1 day", 1),
        ("1–3 days", 1),
        ("3–7 days", 0),
        ("7–30 days", 1),
        ("over 30 days", 1),
    ]
    assert board.backlog_past_sla == 3


def test_busiest_tags_and_top_contributors(desk, make):
    board = board_for("router")
    assert board.tags == [("wifi", 2), ("billing", 1), ("router", 1)]
    # The ledger's lines carry when they were earned: move Hanna's into the period.
    db.session.execute(
        update(ReputationEvent)
        .where(ReputationEvent.user_id == desk["helper"].id)
        .values(created_at=at(7))
    )
    db.session.commit()
    board = board_for("router")
    assert board.contributors[0][1] == "Helpful Hanna"
    assert board.contributors[0][2] == 30  # two accepted answers, +15 each
    assert board_for("router", "2026-04-01", "2026-04-30").contributors == []


def test_the_period_and_product_are_checked(app):
    for period, start, end, complaint in [
        ("custom", "2026-03-09", "2026-03-01", "before the last"),
        ("custom", "yesterday", "2026-03-01", "year-month-day"),
        ("custom", "2000-01-01", "2026-03-01", "at most"),
        ("365", None, None, "Choose 7, 30 or 90"),
    ]:
        with pytest.raises(dashboard.InvalidInput, match=complaint):
            dashboard.scope_for(None, period, start, end)
    with pytest.raises(dashboard.InvalidInput, match="no such product"):
        dashboard.scope_for("nonexistent", "7")
    scope = dashboard.scope_for(None, "7", today=date(2026, 3, 10))
    assert (scope.start, scope.end, scope.bucket_days) == (date(2026, 3, 4), date(2026, 3, 10), 1)
    assert dashboard.scope_for(None, "90", today=date(2026, 3, 10)).bucket_days == 7


# The pages ---------------------------------------------------------------------------------------


def test_the_dashboard_page_shows_the_figures_and_exports_them(desk, client, auth, make):
    auth.login(desk["staff"].email)
    url = "/staff/dashboard?product=router&period=custom&start=2026-03-01&end=2026-03-14"
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="kpi-threads">5<' in page
    assert 'data-testid="first-median">4.0 h<' in page
    assert 'data-testid="community-rate">40%<' in page
    assert "Router, 01 Mar 2026 – 14 Mar 2026" in page
    assert page.count('role="img"') >= 8  # a chart for each figure, each with a table
    assert page.count("<table") >= 10
    response = client.get(url.replace("/dashboard?", "/dashboard.csv?"))
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(dashboard.CSV_HEADER)
    figures = {(r[0], r[1]): r[3] for r in rows[1:] if not r[2]}
    assert figures[("response", "threads")] == "5"
    assert figures[("response", "first answer: median")] == "4.0"
    assert figures[("resolution", "community resolution rate")] == "0.4"
    trend = [r for r in rows if r[0] == "trend" and r[1] == "threads"]
    assert [r[2] for r in trend][:3] == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_bad_dates_get_a_message_and_keep_what_was_typed(desk, client, auth):
    auth.login(desk["staff"].email)
    response = client.get("/staff/dashboard?period=custom&start=2026-03-09&end=2026-03-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The first day must come before the last." in page
    assert 'value="2026-03-09"' in page and 'value="2026-03-01"' in page
    assert client.get("/staff/dashboard.csv?period=custom&start=x").status_code == 400


def test_spreadsheet_formulas_in_people_text_are_defused():
    assert dashboard.spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert dashboard.spreadsheet_safe("@SUM") == "'@SUM"
    assert dashboard.spreadsheet_safe("wifi") == "wifi"
    assert dashboard.spreadsheet_safe(-3) == -3


def test_flask_stats_prints_the_same_figures(desk, app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["stats", "--product", "router", "--start", "2026-03-01", "--end", "2026-03-14"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert ["response", "threads", "", "5", "threads"] in rows
    text = runner.invoke(args=["stats", "--product", "router", "--format", "text"])
    assert "Router, last 30 days" in text.output
    refused = runner.invoke(args=["stats", "--start", "2026-03-09", "--end", "2026-03-01"])
    assert refused.exit_code == 2 and "before the last" in refused.output


STAFF_URLS = ["/staff/dashboard", "/staff/dashboard.csv"]
ADMIN_GETS = ["/admin", "/admin/people", "/admin/people/1", "/admin/products", "/admin/settings"]
ADMIN_GETS += ["/admin/log"]
ADMIN_POSTS = [
    ("/admin/people/1/role", {"role": "admin"}),
    ("/admin/people/1/deactivate", {}),
    ("/admin/products", {"name": "Sneaky"}),
    ("/admin/products/1", {"name": "Renamed"}),
    ("/admin/products/1/archive", {}),
    ("/admin/settings", {"sla_hours": "1"}),
]


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF, Role.MODERATOR])
def test_who_may_open_the_staff_and_admin_pages(role, client, auth, make):
    make.product("Router", "router")
    person = make.user(role)
    auth.login(person.email)
    staff = role != Role.CUSTOMER
    for url in STAFF_URLS:
        assert client.get(url).status_code == (200 if staff else 403), url
    for url in ADMIN_GETS:
        assert client.get(url).status_code == 403, url
    for url, data in ADMIN_POSTS:
        assert auth.post(url, data).status_code == 403, url
    page = client.get("/").get_data(as_text=True)
    assert ('data-testid="dashboard-link"' in page) == staff
    assert 'data-testid="admin-link"' not in page


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for url in [*STAFF_URLS, *ADMIN_GETS]:
        response = client.get(url)
        assert response.status_code == 302 and "/account/login" in response.location, url


# Self-service deflection --------------------------------------------------------------------


@pytest.fixture
def searchable(make):
    product = make.product("Router", "router")
    question = make.question(product=product, title="How do I reset my router to factory settings?")
    return product, question


def deflection(product=None):
    today = utcnow().date().isoformat()
    return board_for(product, today, today)


def browser(app):
    """A visitor's browser: it opened the site (and so has its session cookie)."""
    client = app.test_client()
    client.get("/")
    return client


def test_a_search_followed_by_no_question_counts_once(app, searchable):
    visitor = browser(app)
    for query in ("reset router", "reset router", "factory settings"):
        assert visitor.get(f"/search?q={query}").status_code == 200
    visitor.get("/search?q=reset+router&page=2")
    board = deflection()
    assert (board.looks, board.deflected) == (1, 1)
    assert db.session.query(SelfServiceEvent).count() == 1  # once a day, whatever the number


def test_a_search_followed_by_asking_is_not_deflected(app, searchable, make):
    product, _ = searchable
    person = make.user()
    visitor = browser(app)
    visitor.get("/search?q=reset+router")  # signed out first
    page = visitor.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    visitor.post(
        "/account/login",
        data={"email": person.email, "password": make.PASSWORD, "csrf_token": token},
    )
    page = visitor.get("/ask").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = visitor.post(
        "/ask",
        data={
            "title": "My router still will not reset after the update",
            "body": "I held the button for thirty seconds and nothing happened at all.",
            "product_id": product.id,
            "tags": "",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    browser(app).get("/search?q=router")  # someone else, who did not ask
    board = deflection()
    assert (board.looks, board.deflected) == (2, 1)
    assert board.deflection_by_product == [("Outside any one product", 2, 1)]


def test_similar_questions_while_asking_count_as_a_look(app, searchable, auth, make):
    product, _ = searchable
    auth.login(make.user().email)
    hits = auth.client.get(f"/search/similar?title=reset+my+router&product_id={product.id}")
    assert hits.get_json()["results"]
    none = auth.client.get("/search/similar?title=zzzz+qqqq+nothing")
    assert none.get_json()["results"] == []
    board = deflection("router")
    assert (board.looks, board.deflected) == (1, 1)
    assert board.deflection_by_product == [("Router", 1, 1)]


def test_scoped_searches_count_for_their_product_and_crawlers_not_at_all(app, searchable):
    browser(app).get("/search?q=reset+product:router")
    browser(app).get("/search?q=reset", headers={"User-Agent": "Googlebot/2.1"})
    app.test_client().get("/search?q=reset")  # a script that keeps no cookies
    board = deflection()
    assert board.deflection_by_product == [("Router", 1, 1)]


def test_finished_days_are_rolled_up_and_old_raw_events_deleted(app, searchable):
    product, _ = searchable
    app.config["SELF_SERVICE_EVENT_DAYS"] = 3
    day = date(2026, 3, 2)

    def event(visitor, kind, when, product_id=None):
        return SelfServiceEvent(
            visitor=visitor, kind=kind, product_id=product_id, day=when.date(), created_at=when
        )

    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    db.session.add_all(
        [
            event("a", "search", noon, product.id),
            event("a", "similar", noon + timedelta(minutes=5), product.id),
            event("b", "search", noon),
            event("b", "asked", noon + timedelta(hours=20), product.id),  # the next day
            event("c", "search", noon),
            event("c", "asked", noon - timedelta(hours=1)),  # asked before looking
        ]
    )
    db.session.commit()
    before = board_for(None, "2026-03-01", "2026-03-05")
    assert (before.looks, before.deflected) == (3, 2)
    rolled = self_service.roll_up(datetime(2026, 3, 10, tzinfo=UTC))
    db.session.commit()
    assert rolled == 7  # 2 to 8 March: the 9th is final once the 10th is over
    assert db.session.query(SelfServiceEvent).count() == 0  # older than 3 days, rolled up
    rows = {(r.day, r.product_id): (r.looks, r.deflected) for r in db.session.query(SelfServiceDay)}
    assert rows == {(day, product.id): (1, 1), (day, 0): (2, 1)}
    after = board_for(None, "2026-03-01", "2026-03-05")
    assert (after.looks, after.deflected) == (3, 2)
    assert self_service.roll_up(datetime(2026, 3, 10, tzinfo=UTC)) == 0  # nothing new
    assert board_for("router", "2026-03-01", "2026-03-05").looks == 1
