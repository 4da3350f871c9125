"""Asking, listing, reading, answering, commenting, editing and deleting."""

import pytest

from forum.extensions import db
from forum.models import Answer, Comment, Question, Revision, Role


def ask(auth, product, **fields):
    data = {
        "title": "Router drops Wi-Fi every evening",
        "product_id": str(product.id),
        "body": "Every evening around 8 pm the Wi-Fi drops for a minute. Firmware is current.",
        "tags": "wifi mesh",
        **fields,
    }
    return auth.post("/ask", data, page="/ask")


def test_ask_a_question_and_read_it(client, auth, make):
    user, product = make.user(), make.product(name="Orbit Router")
    auth.login(user.email)
    response = ask(auth, product)
    assert response.status_code == 302
    question = db.session.scalar(db.select(Question))
    assert response.headers["Location"].startswith(f"/questions/{question.id}/router-drops")
    assert [t.name for t in question.tags] == ["mesh", "wifi"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Router drops Wi-Fi every evening" in page
    assert "Orbit Router" in page and "Unanswered" in page
    # Each tag is a link, named, to the list of its threads.
    assert '<a class="tag" href="/?tag=mesh">mesh</a>' in page
    assert '<a class="tag" href="/?tag=wifi">wifi</a>' in page


def test_asking_requires_sign_in(client):
    response = client.get("/ask")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "short"}, "between 10 and 200"),
        ({"body": "too short"}, "between 20 and 30000"),
        ({"product_id": "0"}, "Choose the product"),
        ({"product_id": "99999"}, "Choose the product"),
        ({"product_id": "abc"}, "Choose the product"),
        ({"tags": "ok <script>"}, "not a valid tag"),
        ({"tags": "a b c d e f"}, "at most 5 tags"),
    ],
)
def test_bad_questions_come_back_with_a_message_and_the_text_intact(auth, make, fields, message):
    user, product = make.user(), make.product()
    auth.login(user.email)
    body = fields.get("body", "My keep-this-text body that is long enough to pass.")
    response = ask(auth, product, **{"body": body, **fields})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert body in page or "&lt;" in page
    assert db.session.scalar(db.select(db.func.count(Question.id))) == 0


def test_answer_and_comments_move_the_counters(client, auth, make):
    question = make.question()
    user = make.user()
    auth.login(user.email)
    response = auth.post(
        f"/questions/{question.id}/answers", {"body": "Move the satellite closer to the router."}
    )
    assert response.status_code == 302
    answer = db.session.scalar(db.select(Answer))
    auth.post(f"/questions/{question.id}/comments", {"body": "Which firmware exactly?"})
    auth.post(
        f"/questions/{question.id}/comments", {"body": "Worked for me.", "answer_id": answer.id}
    )
    db.session.expire_all()
    question = db.session.get(Question, question.id)
    assert (question.answer_count, question.comment_count) == (1, 2)
    comments = db.session.scalars(db.select(Comment).order_by(Comment.id)).all()
    assert [c.answer_id for c in comments] == [None, answer.id]
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Move the satellite closer" in page
    assert "Which firmware exactly?" in page and "Worked for me." in page


def test_bad_answer_keeps_the_text_and_shows_why(auth, make):
    question = make.question()
    auth.login(make.user().email)
    response = auth.post(f"/questions/{question.id}/answers", {"body": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "between 10 and 30000" in page
    assert "\nshort</textarea>" in page


def test_bad_comment_keeps_the_text(auth, make):
    question = make.question()
    auth.login(make.user().email)
    response = auth.post(f"/questions/{question.id}/comments", {"body": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ">x</textarea>" in page and "between 2 and 600" in page


def test_comment_on_an_answer_of_another_thread_is_refused(auth, make):
    one, other = make.question(), make.question()
    answer = make.answer(other)
    auth.login(make.user().email)
    response = auth.post(
        f"/questions/{one.id}/comments", {"body": "Sneaky comment", "answer_id": answer.id}
    )
    assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(Comment.id))) == 0


def test_editing_keeps_the_previous_text_as_a_revision(client, auth, make):
    author = make.user()
    question = make.question(author=author, title="Original title for my question")
    auth.login(author.email)
    page = client.get(f"/questions/{question.id}/edit").get_data(as_text=True)
    assert "Original title for my question" in page
    response = auth.post(
        f"/questions/{question.id}/edit",
        {
            "title": "Edited title for my question",
            "body": "A brand new body that is long enough.",
            "tags": "edited",
        },
        page=f"/questions/{question.id}/edit",
    )
    assert response.status_code == 302
    db.session.expire_all()
    revision = db.session.scalar(db.select(Revision))
    assert revision.title == "Original title for my question"
    assert revision.question_id == question.id and revision.editor_id == author.id
    edited = db.session.get(Question, question.id)
    assert edited.title == "Edited title for my question" and edited.edited_at is not None


def test_edit_answer_and_comment_keep_revisions(auth, make):
    author = make.user()
    question = make.question()
    answer = make.answer(question, author=author, body="First version of the answer.")
    comment = make.comment(question, author=author, body="First comment")
    auth.login(author.email)
    assert (
        auth.post(
            f"/answers/{answer.id}/edit",
            {"body": "Second version of it."},
            page=f"/answers/{answer.id}/edit",
        ).status_code
        == 302
    )
    assert (
        auth.post(
            f"/comments/{comment.id}/edit",
            {"body": "Second comment"},
            page=f"/comments/{comment.id}/edit",
        ).status_code
        == 302
    )
    bodies = db.session.scalars(db.select(Revision.body_source).order_by(Revision.id)).all()
    assert bodies == ["First version of the answer.", "First comment"]


@pytest.mark.parametrize(
    "url",
    [
        "/questions/{q}/edit",
        "/answers/{a}/edit",
        "/comments/{c}/edit",
        "/questions/{q}/delete",
        "/answers/{a}/delete",
        "/comments/{c}/delete",
    ],
)
def test_a_customer_cannot_edit_or_delete_another_users_post(auth, make, url):
    owner = make.user()
    question = make.question(author=owner)
    answer = make.answer(question, author=owner)
    comment = make.comment(question, author=owner)
    auth.login(make.user().email)
    target = url.format(q=question.id, a=answer.id, c=comment.id)
    data = {
        "title": "Hijacked title here",
        "body": "Hijacked body, long enough to pass.",
        "tags": "",
    }
    assert auth.post(target, data).status_code == 403
    if target.endswith("/edit"):
        assert auth.client.get(target).status_code == 403
    db.session.expire_all()
    assert db.session.get(Question, question.id).deleted_at is None
    assert db.session.get(Answer, answer.id).body_source != data["body"]
    assert db.session.scalar(db.select(db.func.count(Revision.id))) == 0


def test_moderators_may_edit_any_post(auth, make):
    question = make.question()
    auth.login(make.user(Role.MODERATOR).email)
    response = auth.post(
        f"/questions/{question.id}/edit",
        {
            "title": "Clarified by a moderator",
            "body": "Clarified body of the question here.",
            "tags": "",
        },
    )
    assert response.status_code == 302


def test_soft_delete_hides_from_customers_but_staff_still_see(client, auth, make):
    author = make.user()
    question = make.question(author=author, title="This thread will be deleted")
    answer_author = make.user()
    answer = make.answer(question, author=answer_author, body="An answer about to be deleted.")
    auth.login(answer_author.email)
    assert auth.post(f"/answers/{answer.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Question, question.id).answer_count == 0
    assert "about to be deleted" not in client.get(f"/questions/{question.id}").get_data(
        as_text=True
    )
    auth.logout()
    auth.login(author.email)
    assert auth.post(f"/questions/{question.id}/delete").status_code == 302
    assert client.get(f"/questions/{question.id}").status_code == 404
    assert "This thread will be deleted" not in client.get("/").get_data(as_text=True)
    auth.logout()

    auth.login(make.user(Role.STAFF).email)
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "This thread will be deleted" in page and "Deleted" in page
    assert "about to be deleted" in page
    assert "This thread will be deleted" in client.get("/").get_data(as_text=True)


def test_answering_a_deleted_question_is_refused(auth, make):
    author = make.user()
    question = make.question(author=author)
    auth.login(author.email)
    auth.post(f"/questions/{question.id}/delete")
    response = auth.post(f"/questions/{question.id}/answers", {"body": "Too late to answer this."})
    assert response.status_code == 404


def test_lists_sort_filter_and_paginate(client, make, app):
    app.config["QUESTIONS_PER_PAGE"] = 2
    bulb, router = make.product(slug="bulb"), make.product(slug="router")
    old = make.question(product=bulb, title="Old bulb question about pairing", tags="pairing")
    answered = make.question(product=router, title="Router question with an answer")
    newest = make.question(product=bulb, title="Newest bulb question about colour")
    make.answer(answered)

    def titles(url):
        page = client.get(url).get_data(as_text=True)
        return [t for t in (old.title, answered.title, newest.title) if t in page]

    assert titles("/?sort=unanswered&page=1") == [old.title, newest.title]
    assert titles("/?product=bulb") == [old.title, newest.title]
    assert titles("/?tag=pairing") == [old.title]
    assert titles("/?product=router") == [answered.title]
    # Newest first, two per page.
    assert titles("/?sort=newest") == [answered.title, newest.title]
    assert titles("/?sort=newest&page=2") == [old.title]
    newest_page = client.get("/?sort=newest").get_data(as_text=True)
    assert newest_page.index(newest.title) < newest_page.index(answered.title)
    # Recently active: the answered one moved to the top.
    first_page = client.get("/?sort=active").get_data(as_text=True)
    assert first_page.index(answered.title) < first_page.index(newest.title)
    assert client.get("/?sort=bogus&page=-3&product=%00").status_code == 200


def test_preview_uses_the_same_sanitiser(auth, make):
    auth.login(make.user().email)
    response = auth.post(
        "/preview",
        {"body": "**bold** <script>alert(1)</script>"},
        headers={"Accept": "application/json"},
    )
    html = response.get_json()["html"]
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
