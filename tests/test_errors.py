"""Error pages in the site's layout, JSON errors for JSON clients, no input that makes a 500."""

import pytest

from forum.extensions import limiter
from forum.models import Role

from .conftest import IN_CI, TOKEN, csrf_token, require_shared_data


def test_404_page_uses_the_layout(client):
    response = client.get("/questions/999999")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Crowd Answers" in page and "does not exist" in page


def test_json_clients_get_json_errors(client):
    response = client.get("/questions/999999", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_405_is_a_page_not_a_crash(client):
    assert client.get("/account/logout").status_code == 405


def test_unexpected_errors_render_the_500_page(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("kaput")

    app.testing = False  # let the handler catch it, as in production
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "kaput" not in page


@pytest.fixture
def strict_limits(app_config):
    app_config.update(RATELIMIT_LOGIN="3 per minute", RATELIMIT_POST="2 per minute")
    yield
    limiter.reset()


def test_login_attempts_are_rate_limited_with_a_friendly_page(strict_limits, client, make):
    user = make.user()
    statuses = []
    for _ in range(4):
        token = csrf_token(client)
        response = client.post(
            "/account/login",
            data={"email": user.email, "password": "wrong password", "csrf_token": token},
        )
        statuses.append(response.status_code)
    assert statuses == [400, 400, 400, 429]
    page = response.get_data(as_text=True)
    assert "Slow down a little" in page and "try again" in page


def test_posting_is_rate_limited_per_user(strict_limits, auth, make):
    question = make.question()
    auth.login(make.user().email)
    codes = [
        auth.post(
            f"/questions/{question.id}/answers", {"body": f"Answer attempt {i} here"}
        ).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]


ASK = {"title": "Satellite drops off at night", "body": "It goes red at 2 am, every night."}


def test_an_expired_form_from_this_site_is_shown_again_with_its_text(auth, make):
    make.product(name="Orbit Mesh Router")
    auth.login(make.user().email)
    response = auth.client.post(
        "/ask",
        data={**ASK, "csrf_token": "expired", "product_id": "0"},
        headers={"Origin": "http://localhost"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form had expired" in page
    assert 'value="Satellite drops off at night"' in page
    assert "It goes red at 2 am, every night.</textarea>" in page
    assert "Post your question" in page  # the ask form itself, with a fresh token
    fresh = TOKEN.search(page).group(1)
    assert fresh != "expired"


def test_a_form_from_another_site_is_not_offered_again(auth, make):
    """A cross-site post gets the plain 400: nothing it carried comes back in a form that a
    click would send with a valid token."""
    make.product(name="Orbit Mesh Router")
    auth.login(make.user().email)
    for headers in ({"Origin": "https://elsewhere.example"}, {}):
        response = auth.client.post(
            "/ask", data={**ASK, "csrf_token": "forged", "product_id": "1"}, headers=headers
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "sent from another site" in page
        assert "Satellite drops off" not in page and "Send it again" not in page


def test_an_expired_button_from_this_site_offers_to_send_it_again(auth, make):
    question = make.question()
    auth.login(make.user(Role.MODERATOR).email)
    response = auth.client.post(
        f"/moderation/questions/{question.id}/lock",
        data={"csrf_token": "expired"},
        headers={"Referer": f"http://localhost/questions/{question.id}"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Send it again" in page
    assert f'action="/moderation/questions/{question.id}/lock"' in page
    assert f'href="/questions/{question.id}"' in page  # back to the page it came from


def test_too_many_posts_say_how_long_to_wait_and_keep_the_text(strict_limits, auth, make):
    question = make.question()
    auth.login(make.user().email)
    for i in range(3):
        response = auth.client.post(
            f"/questions/{question.id}/answers",
            data={
                "body": f"Answer attempt {i} here",
                "csrf_token": csrf_token(auth.client, f"/questions/{question.id}"),
            },
            headers={"Origin": "http://localhost"},
        )
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= 60
    assert f"You can try again in {wait} seconds." in page
    assert "Answer attempt 2 here</textarea>" in page and "Send it again" in page


def naughty_strings():
    path = require_shared_data("naughty-strings", "blns.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_naughty_strings_never_cause_a_500(client, auth, make):
    strings = naughty_strings()
    assert len(strings) > 400
    question = make.question()
    product = make.product()
    auth.login(make.user().email)
    token = csrf_token(client, "/ask")
    for text in strings:
        for url in (f"/?tag={text}&product={text}&sort={text}&page={text}",):
            assert client.get(url, query_string=None).status_code < 500, text
        responses = [
            client.post(
                "/ask",
                data={
                    "title": text,
                    "body": text,
                    "tags": text,
                    "product_id": product.id,
                    "csrf_token": token,
                },
            ),
            client.post(
                f"/questions/{question.id}/answers", data={"body": text, "csrf_token": token}
            ),
            client.post(
                f"/questions/{question.id}/comments",
                data={"body": text, "answer_id": text, "csrf_token": token},
            ),
            client.post(
                "/account/login", data={"email": text, "password": text, "csrf_token": token}
            ),
        ]
        for response in responses:
            assert response.status_code < 500, (text, response.status_code)


@pytest.fixture
def redis_limits(app_config):
    """Rate limits kept in the Redis that several app servers would share."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        message = "Redis at 127.0.0.1:6379 is not reachable"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    app_config.update(RATELIMIT_STORAGE_URI=url, RATELIMIT_LOGIN="2 per minute")
    yield url
    redis.Redis.from_url(url).flushdb()
    limiter.reset()


def test_rate_limits_can_live_in_redis(redis_limits, client, make):
    import redis

    user = make.user()
    codes = []
    for _ in range(3):
        data = {"email": user.email, "password": "wrong password", "csrf_token": csrf_token(client)}
        codes.append(client.post("/account/login", data=data).status_code)
    assert codes == [400, 400, 429]
    assert redis.Redis.from_url(redis_limits).keys("LIMITS*")  # the counters are in Redis


def test_a_signed_out_vote_is_sent_to_sign_in_and_back(client, make):
    from urllib.parse import parse_qs, urlsplit

    answer = make.answer(make.question())
    thread = f"/questions/{answer.question_id}"
    token = csrf_token(client, thread)
    url = f"/answers/{answer.id}/vote"
    as_json = client.post(
        url,
        data={"direction": "up", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 401
    assert as_json.get_json()["error"]["sign_in"] == "/account/login"
    as_form = client.post(
        url,
        data={"direction": "up", "csrf_token": token},
        headers={"Referer": f"http://localhost{thread}?sort=votes"},
    )
    location = urlsplit(as_form.headers["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == [f"{thread}?sort=votes"]
    page = client.get(as_form.headers["Location"]).get_data(as_text=True)
    assert "Please sign in to do that. You will come straight back here." in page
