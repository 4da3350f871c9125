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
        error = page.locator("#body-error")
        error.wait_for()
        assert error.inner_text().startswith("Field must be between 10 and 30000")
        assert error.get_attribute("role") == "alert"
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


def sign_in(page, base, email, password):
    page.goto(f"{base}/account/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_vote_accept_and_verify(app, make, width):
    from forum.models import Role

    from .factories import Factory

    require_chromium()
    asker, voter = make.user(name="Asha Asker"), make.user(name="Vic Voter")
    staff = make.user(Role.STAFF, name="Dana Support")
    question = make.question(author=asker, title="Bulb will not pair after the update")
    first = make.answer(question, body="Reset it by switching it off and on five times.")
    second = make.answer(question, body="Move your phone to the 2.4 GHz network.")
    ids = {"q": question.id, "first": first.id, "second": second.id}
    emails = {"asker": asker.email, "voter": voter.email, "staff": staff.email}

    with live_server(app) as base, chromium_page(width) as page:
        thread = f"{base}/questions/{ids['q']}"
        sign_in(page, base, emails["voter"], Factory.PASSWORD)
        page.goto(thread)
        page.evaluate("window.__samePage = true")
        box = page.locator(f"#answer-{ids['first']} [data-vote-box]")
        up, down, score = (box.get_by_test_id(t) for t in ("vote-up", "vote-down", "score"))

        up.click()
        page.wait_for_function("el => el.textContent === '1'", arg=score.element_handle())
        assert up.get_attribute("aria-pressed") == "true"
        up.click()  # the same arrow again takes the vote back
        page.wait_for_function("el => el.textContent === '0'", arg=score.element_handle())
        assert up.get_attribute("aria-pressed") == "false"
        down.click()
        page.wait_for_function("el => el.textContent === '-1'", arg=score.element_handle())
        assert down.get_attribute("aria-pressed") == "true"
        assert page.evaluate("window.__samePage") is True  # updated in place, no reload
        page.reload()
        assert box.get_by_test_id("score").inner_text() == "-1"  # and it was saved
        sign_out(page)

        # The asker cannot vote on their own question, and is told why in the page.
        sign_in(page, base, emails["asker"], Factory.PASSWORD)
        page.goto(thread)
        own = page.locator("#question [data-vote-box]")
        own.get_by_test_id("vote-up").click()
        own.locator("[data-vote-error]").filter(has_text="own post").wait_for()
        assert own.get_by_test_id("score").inner_text() == "0"

        # The asker accepts the second answer: it is badged and moves to the top.
        page.locator(f"#answer-{ids['second']}").get_by_test_id("accept").click()
        page.get_by_text("Marked as the answer that solved it.").wait_for()
        answers = page.get_by_test_id("answer")
        assert answers.first.get_attribute("id") == f"answer-{ids['second']}"
        assert answers.first.get_by_test_id("accepted-badge").is_visible()
        assert page.get_by_text("Solved", exact=True).first.is_visible()
        sign_out(page)

        # Staff verify the first answer with a note: verified goes above accepted.
        sign_in(page, base, emails["staff"], Factory.PASSWORD)
        page.goto(thread)
        first_answer = page.locator(f"#answer-{ids['first']}")
        first_answer.get_by_label("Staff note (optional)").fill("Confirmed with the bulb team")
        first_answer.get_by_test_id("verify").click()
        page.get_by_text("Verified by staff.", exact=True).wait_for()
        answers = page.get_by_test_id("answer")
        assert answers.first.get_attribute("id") == f"answer-{ids['first']}"
        badge = answers.first.get_by_test_id("verified-badge").inner_text()
        assert "Dana Support" in badge and "Confirmed with the bulb team" in badge
        assert answers.nth(1).get_by_test_id("accepted-badge").is_visible()
        assert_fits_the_screen(page)

        page.goto(f"{base}/?state=verified")
        assert "Bulb will not pair" in page.get_by_test_id("question-row").first.inner_text()


def test_angry_follow_up_is_triaged_by_a_moderator(app, make):
    from datetime import timedelta

    from forum.extensions import db
    from forum.models import Role
    from forum.services import moderation

    from .factories import Factory, done

    require_chromium()
    customer = make.user(name="Cora Customer")
    moderator = make.user(Role.MODERATOR, name="Mo Moderator")
    question = make.question(
        author=customer,
        title="Card payment failed at checkout",
        body="My card payment failed twice at checkout. Any idea why?",
    )
    make.answer(question, body="Check that your bank allows online payments.")
    quiet = make.question(title="A quiet thread nobody answered")
    quiet.created_at -= timedelta(hours=40)
    db.session.commit()
    done(moderation.scan())  # a lower-priority unanswered flag is already in the queue
    ids = {"q": question.id}
    emails = {"customer": customer.email, "moderator": moderator.email}

    with live_server(app) as base, chromium_page(1280) as page:
        sign_in(page, base, emails["customer"], Factory.PASSWORD)
        page.goto(f"{base}/questions/{ids['q']}")
        question_comments = page.locator("#question .add-comment")
        question_comments.locator("summary").click()
        question_comments.get_by_label("Comment").fill(
            "Still waiting. This is the third time I ask and nobody has answered. "
            "I want a refund now or I cancel my account."
        )
        question_comments.get_by_role("button", name="Add comment").click()
        page.get_by_text("I want a refund now").wait_for()
        sign_out(page)

        sign_in(page, base, emails["moderator"], Factory.PASSWORD)
        assert page.get_by_test_id("urgent-count").inner_text() == "1"
        page.get_by_test_id("moderation-link").click()
        rows = page.get_by_test_id("flag-row")
        assert rows.count() == 2
        assert "Card payment failed at checkout" in rows.first.inner_text()
        assert "negative" in rows.first.inner_text()
        rows.first.get_by_role("link").click()

        audit = page.get_by_test_id("audit-log")
        assert "flagged" in audit.inner_text()
        assert page.locator(".mod-post.negative").count() >= 1  # the angry sentences marked

        page.get_by_test_id("claim").click()
        page.get_by_test_id("flag-status").filter(has_text="claimed").wait_for()
        assert "Mo Moderator" in page.get_by_test_id("flag-status").inner_text()
        assert "claimed" in audit.inner_text()

        page.get_by_label("Take it private").fill(
            "Hello Cora, I have looked at your payments and refunded the double charge."
        )
        page.get_by_test_id("take-private").click()
        page.get_by_text("Private conversation opened").wait_for()
        assert "taken private" in audit.inner_text()

        # Staff wrote to the customer: the negative flag resolves itself, and says so.
        page.get_by_test_id("flag-status").filter(has_text="resolved").wait_for()
        assert "resolved automatically" in audit.inner_text()

        page.goto(f"{base}/moderation")
        rows = page.get_by_test_id("flag-row")
        assert rows.count() == 1  # only the quiet thread is left
        assert "A quiet thread nobody answered" in rows.first.inner_text()
        rows.first.get_by_role("link").click()
        page.get_by_label("Answer in public as staff").fill(
            "Hello! Hold the reset button for ten seconds, then pair it again."
        )
        page.get_by_role("button", name="Post answer").click()
        page.get_by_text("Your answer is posted").wait_for()
        page.get_by_test_id("flag-status").filter(has_text="resolved").wait_for()
        steps = page.get_by_test_id("audit-log").locator("li .audit-action").all_inner_texts()
        assert steps == ["flagged", "answered", "resolved automatically"]
        page.goto(f"{base}/moderation")
        assert page.get_by_test_id("flag-row").count() == 0

        page.goto(f"{base}/moderation?status=resolved")
        card = page.get_by_test_id("flag-row").filter(has_text="Card payment failed")
        card.get_by_role("link").click()
        steps = page.get_by_test_id("audit-log").locator("li .audit-action").all_inner_texts()
        assert steps == ["flagged", "claimed", "taken private", "resolved automatically"]
        sign_out(page)

        # The customer reads the reply privately; the public thread says they were contacted.
        sign_in(page, base, emails["customer"], Factory.PASSWORD)
        page.goto(f"{base}/questions/{ids['q']}")
        assert page.get_by_text("contacted you privately").is_visible()
        page.get_by_test_id("private-link").click()
        assert "refunded the double charge" in page.get_by_test_id("private-messages").inner_text()


def test_similar_questions_appear_while_typing_a_title(app, make):
    from forum.services import marks

    from .factories import Factory, done

    require_chromium()
    asker = make.user()
    product = make.product(name="Lumen Smart Bulb")
    solved = make.question(
        author=asker, product=product, title="Bulb blinks three times and won't pair"
    )
    done(marks.accept_answer(asker, make.answer(solved)))
    make.question(product=product, title="Bulb colour looks too warm")
    email, solved_id = make.user().email, solved.id

    with live_server(app) as base, chromium_page(390) as page:
        sign_in(page, base, email, Factory.PASSWORD)
        page.goto(f"{base}/ask")
        similar = page.get_by_test_id("similar-list")
        assert not page.locator("#similar-questions").is_visible()
        page.get_by_label("Title").press_sequentially("my bulb blinks and will not pair", delay=15)
        first = similar.locator("li").first
        first.wait_for()
        assert "Bulb blinks three times" in first.inner_text()
        assert first.locator(".badge.solved").is_visible()
        first.get_by_role("link").click()
        page.wait_for_url(f"**/questions/{solved_id}/**")
