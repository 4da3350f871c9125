"""End to end in a real browser: register, ask, answer as a second user, on desktop and phone."""

import pytest

from .browser import chromium_page, live_server, require_chromium

pytestmark = pytest.mark.browser


def register(page, base, email, name):
    page.goto(f"{base}/account/register")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password", exact=True).fill("a long password")
    page.get_by_label("Repeat password").fill("a long password")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_test_id("signed-in-as").inner_text().startswith(name)


def assert_fits_the_screen(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_register_ask_and_answer(app, make, width, tmp_path):
    require_chromium()
    make.product(name="Orbit Mesh Router", slug="orbit-router")
    with live_server(app) as base, chromium_page(width) as page:
        register(page, base, "asker@example.com", "Asha Asker")
        page.get_by_role("link", name="Ask a question").click()
        page.get_by_label("Title").fill("Satellite light turns orange every evening")
        page.get_by_label("Product").select_option(label="Orbit Mesh Router")
        body = page.get_by_label("Your question")
        body.fill("Around **8 pm** the satellite goes orange and the TV drops off.")
        # Live preview, rendered by the server's sanitiser.
        page.locator("#question-preview strong").wait_for()
        assert page.locator("#question-preview strong").inner_text() == "8 pm"
        page.get_by_label("Tags").fill("wifi mesh")
        assert_fits_the_screen(page)
        page.get_by_role("button", name="Post your question").click()

        page.wait_for_url("**/questions/**")
        thread_url = page.url
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Satellite light turns orange every evening"
        )
        assert page.get_by_text("Unanswered").first.is_visible()
        assert page.get_by_text("Your question is posted.").is_visible()
        assert_fits_the_screen(page)

        page.get_by_role("button", name="Sign out").click()
        register(page, base, "helper@example.com", "Hugo Helper")
        page.goto(thread_url)
        # A too-short answer comes back with a message and the text kept.
        page.get_by_role("textbox", name="Your answer").fill("Try it")
        page.get_by_role("button", name="Post your answer").click()
        assert page.get_by_role("alert").first.inner_text().startswith("Field must be between")
        assert page.get_by_role("textbox", name="Your answer").input_value() == "Try it"
        page.get_by_role("textbox", name="Your answer").fill(
            "Move the satellite one room closer to the router."
        )
        page.get_by_role("button", name="Post your answer").click()

        answer = page.get_by_test_id("answer")
        answer.first.wait_for()
        assert answer.count() == 1
        assert "Move the satellite one room closer" in answer.first.inner_text()
        assert "Hugo Helper" in answer.first.inner_text()
        assert page.get_by_role("heading", name="1 Answer").is_visible()
        assert_fits_the_screen(page)
        page.screenshot(path=str(tmp_path / f"thread-{width}.png"), full_page=True)

        page.goto(base)
        row = page.get_by_test_id("question-row").first
        assert "Satellite light turns orange" in row.inner_text()
        assert "1 answer" in " ".join(row.inner_text().split())
