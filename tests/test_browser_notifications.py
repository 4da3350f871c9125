"""The asker loop in a real browser: Alice asks, Bob answers from his own browser, Alice's
bell rings without a reload, she opens it, lands on the answer and accepts it."""

import pytest

from .browser import chromium_page, live_server, require_chromium
from .factories import Factory
from .test_browser import assert_fits_the_screen, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "BELL_SECONDS": 1}


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_alice_hears_of_bobs_answer_and_accepts_it(app, make, width, tmp_path):
    require_chromium()
    make.product(name="Orbit Mesh Router", slug="orbit-router")
    alice = make.user(name="Alice Asker")
    bob = make.user(name="Bob Helper")
    emails = {"alice": alice.email, "bob": bob.email}

    with live_server(app) as base, chromium_page(width) as page:
        sign_in(page, base, emails["alice"], Factory.PASSWORD)
        bell = page.get_by_test_id("bell-count")
        assert bell.inner_text() == "0"
        page.get_by_role("link", name="Ask a question").click()
        page.get_by_label("Title").fill("Satellite light turns orange every evening")
        page.get_by_label("Product").select_option(label="Orbit Mesh Router")
        page.get_by_label("Your question").fill("Around eight the satellite goes orange.")
        page.get_by_role("button", name="Post your question").click()
        page.wait_for_url("**/questions/**")
        thread_url = page.url
        assert page.get_by_test_id("watch-state").inner_text().startswith("Watching")
        page.evaluate("window.__samePage = true")

        # Bob, in his own browser, answers.
        other = page.context.browser.new_context(viewport={"width": width, "height": 900})
        bobs = other.new_page()
        sign_in(bobs, base, emails["bob"], Factory.PASSWORD)
        bobs.goto(thread_url)
        box = bobs.get_by_role("textbox", name="Your answer")
        box.fill("Hi @Ali")  # the editor suggests people to mention
        bobs.get_by_role("option").filter(has_text="@AliceAsker").click()
        assert box.input_value() == "Hi @AliceAsker "
        box.press_sequentially("move the satellite one room closer to the router.")
        bobs.get_by_role("button", name="Post your answer").click()
        bobs.get_by_test_id("answer").first.wait_for()
        answer_id = bobs.get_by_test_id("answer").first.get_attribute("id")
        other.close()

        # Alice's bell shows 1 without a reload of her page.
        page.wait_for_function(
            "el => el.textContent === '1'", arg=bell.element_handle(), timeout=15_000
        )
        assert page.evaluate("window.__samePage") is True
        assert "1 unread" in page.get_by_test_id("bell").get_attribute("aria-label")
        assert_fits_the_screen(page)

        page.get_by_test_id("bell").click()
        page.wait_for_url(f"{base}/notifications")
        item = page.get_by_test_id("notification").first
        # Answered and mentioned at once: one notification, the answer.
        assert page.get_by_test_id("notification").count() == 1
        assert "Bob Helper answered your question" in item.inner_text()
        item.get_by_role("link").click()
        page.wait_for_url(f"**/questions/**#{answer_id}")
        assert page.get_by_test_id("bell-count").inner_text() == "0"

        page.locator(f"#{answer_id}").get_by_test_id("accept").click()
        page.get_by_text("Marked as the answer that solved it.").wait_for()
        assert page.get_by_test_id("bell-count").inner_text() == "0"
        assert page.locator(f"#{answer_id}").get_by_test_id("accepted-badge").is_visible()
        assert_fits_the_screen(page)
        page.screenshot(path=str(tmp_path / f"bell-{width}.png"), full_page=True)
