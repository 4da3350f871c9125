"""The service desk's dashboard in Chromium: a staff member switches the product and the
period, and the charts and tables follow; at desktop and phone widths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from .browser import chromium_page, live_server, require_chromium, screenshot
from .factories import Factory
from .test_accessibility import BLOCKING, axe_results, describe
from .test_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(make):
    """Two products: the router with three threads this week (two answered within the hour),
    the lamp with one, unanswered, asked 50 days ago."""
    from forum.extensions import db
    from forum.models import Question, Role, utcnow

    staff = make.user(Role.STAFF, name="Dana Support")
    router = make.product("Orbit Mesh Router", "orbit-router")
    lamp = make.product("Glow Lamp", "glow-lamp")
    for n in range(3):
        question = make.question(product=router, title=f"Satellite light turns orange, case {n}")
        if n < 2:
            make.answer(question, author=staff)
    old = make.question(product=lamp, title="The lamp flickers when dimmed")
    db.session.execute(
        update(Question)
        .where(Question.id == old.id)
        .values(created_at=utcnow() - timedelta(days=50))
    )
    db.session.commit()
    return staff.email


@pytest.mark.parametrize("width", [1366, 390], ids=["desktop", "phone"])
def test_staff_switch_product_and_period_and_the_figures_follow(app, desk, width):
    require_chromium()
    with live_server(app) as base, chromium_page(width) as page:
        sign_in(page, base, desk, Factory.PASSWORD)
        page.get_by_test_id("signed-in-as").click()
        page.get_by_test_id("dashboard-link").click()
        page.get_by_role("heading", name="Service desk").wait_for()
        assert page.get_by_test_id("kpi-threads").inner_text() == "3"
        response = page.get_by_test_id("table-response").inner_text()
        assert "First answer\t2" in response
        bars = page.get_by_test_id("chart-response").locator("rect").count()
        assert bars >= 2
        screenshot(page, f"dashboard-all-{width}")

        page.get_by_label("Product", exact=True).select_option(label="Glow Lamp")
        page.get_by_role("button", name="Show").click()
        page.get_by_test_id("scope").filter(has_text="Glow Lamp").wait_for()
        assert page.get_by_test_id("kpi-threads").inner_text() == "0"
        assert page.get_by_test_id("kpi-backlog").inner_text() == "1"
        assert page.get_by_test_id("chart-response").locator("rect").count() == 0

        page.get_by_label("Period", exact=True).select_option(label="Last 90 days")
        page.get_by_role("button", name="Show").click()
        page.get_by_test_id("scope").filter(has_text="last 90 days").wait_for()
        assert page.get_by_test_id("kpi-threads").inner_text() == "1"
        backlog = page.get_by_test_id("table-backlog").inner_text()
        assert "over 30 days\t1" in backlog
        weeks = page.get_by_test_id("table-response-trend").locator("tbody tr").count()
        assert weeks == 13  # weekly over 90 days
        screenshot(page, f"dashboard-lamp-90-{width}")

        page.get_by_label("Period", exact=True).select_option(label="These dates")
        page.get_by_label("From", exact=True).fill("2026-03-09")
        page.get_by_label("To", exact=True).fill("2026-03-01")
        page.get_by_role("button", name="Show").click()
        page.get_by_test_id("dashboard-error").wait_for()
        assert (
            "The first day must come before the last."
            in page.get_by_test_id("dashboard-error").inner_text()
        )
        assert page.get_by_label("From", exact=True).input_value() == "2026-03-09"

        page.get_by_label("Period", exact=True).select_option(label="Last 30 days")
        page.get_by_role("button", name="Show").click()
        page.get_by_test_id("scope").filter(has_text="last 30 days").wait_for()
        wide = page.evaluate(
            """[...document.querySelectorAll('main *')].filter(e =>
                 e.getBoundingClientRect().right > window.innerWidth + 1)
               .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"""
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
        results = axe_results(page)
        blocking = [describe(v) for v in results["violations"] if v["impact"] in BLOCKING]
        assert blocking == []
