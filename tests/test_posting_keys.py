"""Posting is idempotent: the same form sent twice (a retry after a lost response, a double
click, two sends at once) makes one post, and the second send lands on the first result."""

from __future__ import annotations

import re
import threading

import requests
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Answer, Comment, PostingKey, Question

from .browser import live_server

KEY = re.compile(r'name="posting_key" value="([^"]+)"')


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def form_key(client, url: str) -> str:
    return KEY.search(client.get(url).get_data(as_text=True)).group(1)


def test_an_answer_sent_twice_is_posted_once(client, auth, make):
    question = make.question()
    auth.login(make.user().email)
    thread = f"/questions/{question.id}"
    key = form_key(client, thread)
    data = {"body": "Hold the reset button for ten seconds.", "posting_key": key}
    first = auth.post(f"{thread}/answers", data, page=thread)
    assert first.status_code == 302 and "#answer-" in first.location
    again = auth.post(f"{thread}/answers", data, page=thread)  # the response was lost
    assert again.status_code == 303 and again.location == first.location
    page = client.get(again.location).get_data(as_text=True)
    assert "That was already posted; here it is." in page
    assert count(Answer) == 1
    # A new form has a new key, and posts anew.
    fresh = {**data, "posting_key": form_key(client, thread)}
    assert auth.post(f"{thread}/answers", fresh, page=thread).location != first.location
    assert count(Answer) == 2


def test_a_question_and_a_comment_sent_twice_are_posted_once(client, auth, make):
    product = make.product()
    auth.login(make.user().email)
    ask = {
        "title": "Router drops Wi-Fi every evening",
        "product_id": str(product.id),
        "body": "Every evening around 8 pm the Wi-Fi drops for a minute. Firmware is current.",
        "tags": "",
        "posting_key": form_key(client, "/ask"),
    }
    first = auth.post("/ask", ask, page="/ask")
    assert auth.post("/ask", ask, page="/ask").location == first.location
    assert count(Question) == 1
    thread = first.location.split("#")[0]
    comment = {"body": "Which firmware is it?", "posting_key": form_key(client, thread)}
    question_id = thread.rstrip("/").split("/questions/")[1].split("/")[0]
    url = f"/questions/{question_id}/comments"
    assert (
        auth.post(url, comment, page=thread).location
        == auth.post(url, comment, page=thread).location
    )
    assert count(Comment) == 1


def test_a_form_without_a_key_still_posts(client, auth, make):
    question = make.question()
    auth.login(make.user().email)
    thread = f"/questions/{question.id}"
    for body in ("First try, no key at all.", "A key that is not one: !!"):
        data = {"body": body} | ({"posting_key": "!!"} if "!!" in body else {})
        assert auth.post(f"{thread}/answers", data, page=thread).status_code == 302
    assert count(Answer) == 2 and count(PostingKey) == 0


def test_two_sends_at_once_make_one_post(app, make):
    question = make.question()
    person = make.user()
    thread = f"/questions/{question.id}"
    with live_server(app) as base:
        session = requests.Session()
        token = csrf_token_from(session, f"{base}/account/login")
        session.post(
            f"{base}/account/login",
            data={"email": person.email, "password": make.PASSWORD, "csrf_token": token},
        )
        for attempt in range(5):
            page = session.get(f"{base}{thread}").text
            data = {
                "body": f"Try the other power socket, attempt {attempt}.",
                "posting_key": KEY.search(page).group(1),
                "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
            }
            start = threading.Barrier(3)
            landed = []

            def send(data=data, start=start, landed=landed):
                start.wait()
                response = session.post(f"{base}{thread}/answers", data=data)
                landed.append((response.status_code, response.url))

            senders = [threading.Thread(target=send) for _ in range(3)]
            for s in senders:
                s.start()
            for s in senders:
                s.join()
            assert [code for code, _ in landed] == [200, 200, 200]
            assert len({url for _, url in landed}) == 1  # all on the one answer
        assert count(Answer) == 5


def csrf_token_from(session, url: str) -> str:
    page = session.get(url).text
    return re.search(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"', page).group(1)
