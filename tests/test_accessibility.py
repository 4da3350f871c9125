"""The accessibility gate: axe-core runs in Chromium on every page type, at desktop and phone
widths. Any serious or critical violation fails the test; moderate and minor ones are listed
in its output. A screenshot of each page at each width goes to `test-artifacts/` for review."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .browser import chromium_page, live_server, require_chromium, screenshot
from .test_browser import sign_in, sign_out

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}
WIDTHS = {"desktop": 1366, "phone": 390}


def axe_results(page) -> dict:
    """axe's violations, and what it could not decide (left for a person to review)."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page, options={"resultTypes": ["violations", "incomplete"]}).response


def describe(violation: dict) -> str:
    targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
    return f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])}×): {targets}"


def check_page(page, base: str, name: str, path: str, width_name: str, found: dict) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    screenshot(page, f"{name}-{width_name}")
    results = axe_results(page)
    found.setdefault(name, []).extend(results["violations"])
    for item in results["incomplete"]:
        found.setdefault(name, []).append({**item, "impact": f"to review, {item['impact']}"})


@pytest.fixture
def forum_pages(make):
    """A forum with something on every page: a product, a thread with answers and comments,
    a notification for the asker, and a flag in the moderation queue."""
    from forum.extensions import db
    from forum.models import Flag, Role
    from forum.services import moderation

    from .factories import done

    asker = make.user(name="Asha Asker")
    helper = make.user(name="Hugo Helper")
    moderator = make.user(Role.MODERATOR, name="Mo Moderator")
    admin = make.user(Role.ADMIN, name="Ada Admin")
    product = make.product(name="Orbit Mesh Router", slug="orbit-router")
    question = make.question(
        author=asker,
        product=product,
        title="Satellite light turns orange every evening",
        body="Around 8 pm the satellite goes orange and the TV drops off.",
        tags="wifi mesh",
    )
    answer = make.answer(question, author=helper, body="Move the satellite closer to the router.")
    make.comment(question, author=helper, body="Which firmware version is it on?")
    make.comment(question, author=asker, body="Thanks, that worked for me.", answer=answer)
    quiet = make.question(product=product, title="Router reboots itself at night")
    quiet.created_at -= timedelta(hours=40)
    db.session.commit()
    done(moderation.scan())
    flag = db.session.query(Flag).filter_by(question_id=quiet.id).one()
    return {
        "asker": asker.email,
        "moderator": moderator.email,
        "admin": admin.email,
        "asker_id": asker.id,
        "thread": f"/questions/{question.id}",
        "flag": f"/moderation/flags/{flag.id}",
    }


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_every_page_passes_axe(app, forum_pages, width_name, capsys):
    from .factories import Factory

    require_chromium()
    pages = forum_pages
    found: dict[str, list[dict]] = {}
    with live_server(app) as base, chromium_page(WIDTHS[width_name]) as page:
        for name, path in [
            ("list", "/"),
            ("product", "/?product=orbit-router&period=all"),
            ("thread-anonymous", pages["thread"]),
            ("search", "/search?q=satellite+orange"),
            ("login", "/account/login"),
            ("register", "/account/register"),
            ("profile", f"/users/{pages['asker_id']}"),
        ]:
            check_page(page, base, name, path, width_name, found)
        sign_in(page, base, pages["asker"], Factory.PASSWORD)
        for name, path in [
            ("thread-signed-in", pages["thread"]),
            ("ask", "/ask"),
            ("notifications", "/notifications"),
        ]:
            check_page(page, base, name, path, width_name, found)
        sign_out(page)
        sign_in(page, base, pages["moderator"], Factory.PASSWORD)
        for name, path in [
            ("moderation-queue", "/moderation"),
            ("flag", pages["flag"]),
            ("dashboard", "/staff/dashboard?period=7"),
        ]:
            check_page(page, base, name, path, width_name, found)
        sign_out(page)
        sign_in(page, base, pages["admin"], Factory.PASSWORD)
        for name, path in [
            ("admin-people", "/admin/people"),
            ("admin-person", f"/admin/people/{pages['asker_id']}"),
            ("admin-products", "/admin/products"),
            ("admin-settings", "/admin/settings"),
            ("admin-log", "/admin/log"),
        ]:
            check_page(page, base, name, path, width_name, found)

    blocking = [
        f"{name}: {describe(v)}"
        for name, vs in found.items()
        for v in vs
        if v["impact"] in BLOCKING
    ]
    listed = [
        f"{name}: {describe(v)}"
        for name, vs in found.items()
        for v in vs
        if v["impact"] not in BLOCKING
    ]
    with capsys.disabled():
        for line in listed:
            print(f"\n  axe ({width_name}) {line}", end="")
    assert blocking == [], "serious or critical accessibility violations:\n" + "\n".join(blocking)
