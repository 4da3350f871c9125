"""Recognition in the browser: Bob's answer is accepted and verified, staff thank him; his
profile shows the points, the badges and the note; the product page lists him on top."""

import pytest

from .browser import chromium_page, live_server, require_chromium, screenshot
from .factories import Factory
from .test_browser import sign_in, sign_out

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 390], ids=["desktop", "phone"])
def test_bob_is_recognised_for_a_helpful_answer(app, make, width):
    from forum.models import Role

    require_chromium()
    app.config["BADGES"] = True
    asker = make.user(name="Asha Asker")
    bob = make.user(name="Bob Helper")
    staff = make.user(Role.STAFF, name="Dana Support")
    product = make.product(name="Orbit Mesh Router", slug="orbit-router")
    question = make.question(author=asker, product=product, title="Satellite keeps going orange")
    answer = make.answer(question, author=bob, body="Move the satellite one room closer.")
    ids = {"q": question.id, "a": answer.id, "bob": bob.id}
    emails = {"asker": asker.email, "staff": staff.email}

    with live_server(app) as base, chromium_page(width) as page:
        thread = f"{base}/questions/{ids['q']}"
        sign_in(page, base, emails["asker"], Factory.PASSWORD)
        page.goto(thread)
        page.locator(f"#answer-{ids['a']}").get_by_test_id("accept").click()
        page.get_by_text("Marked as the answer that solved it.").wait_for()
        sign_out(page)

        sign_in(page, base, emails["staff"], Factory.PASSWORD)
        page.goto(thread)
        answer_box = page.locator(f"#answer-{ids['a']}")
        answer_box.get_by_test_id("verify").click()
        page.get_by_text("Verified by staff.", exact=True).wait_for()
        answer_box.get_by_test_id("thank-toggle").click()
        answer_box.get_by_label("A note for their profile").fill("This saved us a dozen tickets.")
        answer_box.get_by_test_id("send-thanks").click()
        page.get_by_text("Thank-you note sent to Bob Helper.").wait_for()

        # The worker catches up within a moment: Bob's card on the thread shows it.
        page.goto(thread)
        for _ in range(50):
            if page.locator(f"#answer-{ids['a']}").get_by_test_id("reputation").count():
                break
            page.wait_for_timeout(100)
            page.reload()
        card = page.locator(f"#answer-{ids['a']} .post-footer")
        assert card.get_by_test_id("reputation").inner_text().startswith("40")
        assert card.get_by_test_id("top-badge").inner_text() == "First answer verified by staff"

        page.goto(f"{base}/users/{ids['bob']}")
        assert page.get_by_test_id("profile-reputation").inner_text() == "40"
        badges = page.get_by_test_id("badges").inner_text()
        assert "First accepted answer" in badges and "First answer verified by staff" in badges
        assert "This saved us a dozen tickets." in page.get_by_test_id("thank-notes").inner_text()
        earned = page.get_by_test_id("reputation-events").inner_text()
        assert "+25 answer verified by staff on Satellite keeps going orange" in earned
        screenshot(page, f"reputation-profile-{width}")

        page.goto(f"{base}/?product=orbit-router")
        contributors = page.get_by_test_id("top-contributors")
        assert contributors.get_by_role("listitem").first.inner_text().startswith("Bob Helper")
        screenshot(page, f"reputation-product-{width}")
