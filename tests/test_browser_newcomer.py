"""What a newcomer meets, in Chromium: each place people stumbled, as they see it now."""

from __future__ import annotations

import pytest

from .browser import chromium_page, live_server, require_chromium, screenshot
from .factories import Factory
from .test_accessibility import axe_results
from .test_browser import assert_fits_the_screen, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def thread(make):
    asker = make.user(name="Asha Asker")
    helper = make.user(name="Hugo Helper")
    product = make.product(name="Orbit Mesh Router", slug="orbit-router")
    question = make.question(
        author=asker, product=product, title="Satellite light turns orange every evening"
    )
    answer = make.answer(question, author=helper, body="Move the satellite closer to the router.")
    return {
        "asker": asker.email,
        "helper": helper.email,
        "url": f"/questions/{question.id}",
        "answer": f"answer-{answer.id}",
        "product": product.name,
    }


def one_line_or_so(locator) -> None:
    """A message reads as a sentence: wider than a few words, not a column of single words."""
    box = locator.bounding_box()
    line = float(locator.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 20"))
    assert box["width"] > 150, f"the message is {box['width']}px wide: one word per line"
    assert box["height"] < 4.5 * line, f"the message is {box['height']}px tall"


@pytest.mark.parametrize("width", [1366, 390], ids=["desktop", "phone"])
def test_a_visitor_can_start_asking_and_is_brought_back_to_the_form(app, thread, width):
    require_chromium()
    with live_server(app) as base, chromium_page(width) as page:
        page.goto(base + "/")
        ask = page.get_by_role("link", name="Ask a question")
        assert ask.is_visible()
        ask.click()
        page.wait_for_url("**/account/login**")
        assert page.get_by_text("Sign in, or create an account, to ask your question.").is_visible()
        assert "next=/ask" in page.get_by_role("link", name="Create an account").get_attribute(
            "href"
        )
        page.get_by_label("E-mail").fill(thread["asker"])
        page.get_by_label("Password").fill(Factory.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/ask")
        assert page.get_by_role("heading", level=1).inner_text().startswith("Ask")


@pytest.mark.parametrize("width", [1366, 390], ids=["desktop", "phone"])
def test_a_signed_out_vote_offers_a_sign_in_link_back_to_the_post(app, thread, width):
    require_chromium()
    with live_server(app) as base, chromium_page(width) as page:
        page.goto(base + thread["url"])
        box = page.locator(f"#{thread['answer']} [data-vote-box]")
        box.get_by_role("button", name="Vote up: this is useful").click()
        link = box.get_by_test_id("sign-in-to-vote")
        link.wait_for()
        assert link.inner_text() == "Sign in to vote"
        one_line_or_so(box.locator("[data-vote-error]"))
        assert_fits_the_screen(page)
        screenshot(page, f"newcomer-vote-signed-out-{width}")
        link.click()
        page.get_by_label("E-mail").fill(thread["helper"])
        page.get_by_label("Password").fill(Factory.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}{thread['url']}#{thread['answer']}")

        # Signed in as the answer's author: the refusal reads as a sentence too.
        box.get_by_role("button", name="Vote up: this is useful").click()
        error = box.locator("[data-vote-error]")
        error.filter(has_text="You can't vote on your own post.").wait_for()
        one_line_or_so(error)
        assert box.get_by_test_id("score").inner_text() == "0"
        error.get_by_role("button", name="Dismiss").click()
        assert error.inner_text() == ""


def test_the_ask_form_reports_every_problem_at_once_and_keeps_the_text(app, thread):
    require_chromium()
    with live_server(app) as base, chromium_page(1366) as page:
        sign_in(page, base, thread["asker"], Factory.PASSWORD)
        page.goto(base + "/ask")
        page.get_by_label("Title").fill("Short")
        page.get_by_label("Your question").fill("Too short")
        page.get_by_label("Tags").fill("wifi bad/tag")
        page.get_by_role("button", name="Post your question").click()
        page.locator("#title-error").wait_for()
        errors = {
            field: page.locator(f"#{field}-error").inner_text()
            for field in ("title", "body", "product_id", "tags")
        }
        assert errors["title"].startswith("Field must be between 10 and 200")
        assert errors["body"].startswith("Field must be between 20 and 30000")
        assert errors["product_id"] == "Choose the product your question is about."
        assert "is not a valid tag" in errors["tags"]
        screenshot(page, "newcomer-ask-every-problem")
        assert page.get_by_label("Title").input_value() == "Short"
        assert page.get_by_label("Your question").input_value() == "Too short"
        assert page.get_by_label("Tags").input_value() == "wifi bad/tag"
        # Fixed in one go, it posts.
        page.get_by_label("Title").fill("Satellite drops off the mesh at night")
        page.get_by_label("Your question").fill("Every night at 2 am the satellite goes red.")
        page.get_by_label("Product").select_option(label=thread["product"])
        page.get_by_label("Tags").fill("wifi mesh")
        page.get_by_role("button", name="Post your question").click()
        page.get_by_text("Your question is posted.").wait_for()


def test_on_a_phone_the_filters_fold_and_the_first_question_shows(app, make):
    require_chromium()
    product = make.product(name="Orbit Mesh Router", slug="orbit-router")
    for n in range(3):
        make.question(product=product, title=f"Router question number {n} about the mesh")
    with live_server(app) as base:
        with chromium_page(390, 844) as page:
            page.goto(base + "/")
            first = page.get_by_test_id("question-row").first
            assert first.bounding_box()["y"] + 40 < 844, "the first question is below the fold"
            assert not page.get_by_label("State").is_visible()
            page.get_by_test_id("filter-toggle").click()
            page.get_by_label("Product").select_option(label="Orbit Mesh Router")
            page.get_by_role("button", name="Filter", exact=True).click()
            page.wait_for_url("**product=orbit-router**")
            # The filter in use is said on the folded button, and the list is filtered.
            assert page.get_by_test_id("filter-toggle").inner_text().startswith("Filter (1 on)")
            assert page.get_by_role("heading", level=1).inner_text() == (
                "Questions about Orbit Mesh Router"
            )
        with chromium_page(1366) as page:
            page.goto(base + "/")
            assert page.get_by_label("State").is_visible()
            assert not page.get_by_test_id("filter-toggle").is_visible()


def test_an_expired_form_comes_back_with_the_text_and_posts_on_the_second_try(app, thread):
    require_chromium()
    with live_server(app) as base, chromium_page(1366) as page:
        sign_in(page, base, thread["helper"], Factory.PASSWORD)
        page.goto(base + thread["url"])
        text = "Also check that the satellite runs the latest firmware."
        page.get_by_role("textbox", name="Your answer").fill(text)
        # The form's token expires while it is open (here: replaced by an old one).
        page.evaluate(
            "document.querySelectorAll('form.editor-form [name=csrf_token]')"
            ".forEach(i => { i.value = 'expired-token'; })"
        )
        page.get_by_role("button", name="Post your answer").click()
        page.get_by_text("This form had expired").wait_for()
        assert page.get_by_role("textbox", name="Your answer").input_value() == text
        page.get_by_role("button", name="Post your answer").click()
        page.get_by_text("Your answer is posted.").wait_for()
        assert page.get_by_test_id("answer").filter(has_text="latest firmware").count() == 1


def test_too_many_posts_keep_the_text_say_how_long_to_wait_and_link_back(app, thread):
    require_chromium()
    app.config["RATELIMIT_COMMENT"] = "1 per minute"
    with live_server(app) as base, chromium_page(1366) as page:
        sign_in(page, base, thread["helper"], Factory.PASSWORD)
        page.goto(base + thread["url"])
        for text in ("First comment on this thread.", "A second comment, too soon."):
            comments = page.locator("#question .add-comment")
            comments.locator("summary").click()
            comments.get_by_label("Comment").fill(text)
            comments.get_by_role("button", name="Add comment").click()
            page.wait_for_load_state()
        assert page.get_by_role("heading", name="Slow down a little").is_visible()
        assert "You can try again in" in page.locator(".error-page").inner_text()
        assert page.get_by_label("Your text").input_value() == "A second comment, too soon."
        screenshot(page, "newcomer-too-many")
        back = page.get_by_role("link", name="Back to the page you came from")
        assert back.get_attribute("href").startswith(thread["url"])
        app.config["RATELIMIT_COMMENT"] = "1000 per minute"
        page.get_by_test_id("send-again").click()
        page.get_by_test_id("comment").filter(has_text="A second comment").wait_for()


def test_the_thread_page_fixes_axes_incomplete_items(app, thread):
    """The items axe left for review: no Python None in the page, vote buttons named by
    their visible meaning, no aria-label on plain text, one name per comment landmark."""
    require_chromium()
    with live_server(app) as base, chromium_page(1366) as page:
        sign_in(page, base, thread["helper"], Factory.PASSWORD)
        page.goto(base + thread["url"])
        assert page.locator('[aria-describedby="None"]').count() == 0
        assert 'aria-describedby="None"' not in page.content()
        up = page.locator(f"#{thread['answer']}").get_by_test_id("vote-up")
        assert up.get_attribute("aria-label") is None
        assert (
            page.locator(f"#{thread['answer']}")
            .get_by_role("button", name="Vote up: this is useful")
            .is_visible()
        )
        assert page.locator("span[aria-label]").count() == 0
        names = page.locator("section.comments").evaluate_all(
            "els => els.map(e => e.getAttribute('aria-label'))"
        )
        assert len(names) == len(set(names)) == 2
        colour = up.evaluate("el => getComputedStyle(el).color")
        assert colour == "rgb(27, 31, 36)", colour  # the ink colour: full contrast
        # And axe, asked for what it could not decide too, names none of those items, here
        # or on the list.
        for path in (thread["url"], "/"):
            page.goto(base + path)
            results = axe_results(page)
            left = {
                item["id"]
                for item in results["violations"] + results["incomplete"]
                if item["id"]
                in {
                    "color-contrast",
                    "label-content-name-mismatch",
                    "aria-prohibited-attr",
                    "landmark-unique",
                }
            }
            assert left == set(), f"{path}: {left}"


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focus is on `selector`, as a keyboard user would; the focused
    control must show where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            outline = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return [s.outlineStyle, s.outlineWidth]; }"
            )
            assert outline[0] != "none" and outline[1] != "0px", f"no visible focus: {outline}"
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_vote_accept_verify_and_moderate_by_keyboard_alone(app, make):
    from datetime import timedelta

    from forum.extensions import db
    from forum.models import Flag, Role
    from forum.services import moderation

    from .factories import done

    require_chromium()
    asker, helper = make.user(name="Asha Asker"), make.user(name="Hugo Helper")
    staff = make.user(Role.STAFF, name="Dana Support")
    question = make.question(author=asker, title="Bulb will not pair after the update")
    answer = make.answer(question, author=helper, body="Switch it off and on five times.")
    quiet = make.question(title="A quiet thread nobody answered")
    quiet.created_at -= timedelta(hours=40)
    db.session.commit()
    done(moderation.scan())
    flag_id = db.session.query(Flag).filter_by(question_id=quiet.id).one().id
    moderator = make.user(Role.MODERATOR, name="Mo Moderator")
    emails = (asker.email, staff.email, moderator.email)
    thread, box = f"/questions/{question.id}", f"#answer-{answer.id}"

    with live_server(app) as base, chromium_page(1366) as page:

        def keyboard_sign_in(email):
            page.goto(base + "/account/login")
            tab_to(page, "#email")
            page.keyboard.type(email)
            page.keyboard.press("Tab")
            page.keyboard.type(Factory.PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/")

        def keyboard_sign_out():
            tab_to(page, "form[action$='/logout'] button")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/")

        keyboard_sign_in(emails[0])
        page.goto(base + thread)
        tab_to(page, f"{box} button.vote.up")
        page.keyboard.press("Enter")
        page.locator(f"{box} [data-score]").filter(has_text="1").wait_for()
        tab_to(page, f"{box} [data-testid=accept]")
        page.keyboard.press("Space")
        page.get_by_text("Marked as the answer that solved it.").wait_for()
        keyboard_sign_out()

        keyboard_sign_in(emails[1])
        page.goto(base + thread)
        tab_to(page, f"#verify-note-{answer.id}")
        page.keyboard.type("Confirmed with the bulb team")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.get_by_text("Verified by staff.", exact=True).wait_for()
        assert "Confirmed with the bulb team" in page.get_by_test_id("verified-badge").inner_text()
        keyboard_sign_out()

        keyboard_sign_in(emails[2])
        page.goto(f"{base}/moderation/flags/{flag_id}")
        tab_to(page, "[data-testid=claim]")
        page.keyboard.press("Enter")
        page.get_by_test_id("flag-status").filter(has_text="claimed").wait_for()
        tab_to(page, "[data-testid=dismiss]")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/moderation**")


@pytest.mark.parametrize("width", [1366, 390], ids=["desktop", "phone"])
def test_report_opens_one_dialog_for_the_post_and_sends_it(app, thread, width):
    from forum.extensions import db
    from forum.models import Report

    require_chromium()
    with live_server(app) as base, chromium_page(width) as page:
        sign_in(page, base, thread["asker"], Factory.PASSWORD)
        page.goto(base + thread["url"])
        answer = page.locator(f"#{thread['answer']}")
        answer.get_by_role("link", name="Report").click()
        dialog = page.get_by_role("dialog", name="Report this answer")
        assert dialog.is_visible()
        assert_fits_the_screen(page)
        screenshot(page, f"report-dialog-{width}")
        dialog.get_by_role("button", name="Cancel").click()
        assert not dialog.is_visible()
        answer.get_by_role("link", name="Report").click()
        dialog.get_by_label("Why?").select_option("spam")
        dialog.get_by_label("Details (optional)").fill("Links to a shop")
        dialog.get_by_role("button", name="Send report").click()
        page.wait_for_url(f"{base}{thread['url']}")
        assert page.get_by_text("Thank you: a moderator will look at it.").is_visible()
    [report] = db.session.query(Report).all()
    assert (report.reason, report.text, report.post) == (
        "spam",
        "Links to a shop",
        thread["answer"].replace("-", ":"),
    )
