"""Every post's revision history: versions with who and when, and a readable diff."""

from forum.models import Role
from forum.services import posting

from .factories import done


def test_history_shows_each_version_with_editor_and_diff(client, auth, make):
    moderator = make.user(Role.MODERATOR, name="Mo Moderator")
    question = make.question(
        title="Router keeps dropping the wifi", body="It drops every hour or so since Monday."
    )
    done(
        posting.edit_question(
            question.author,
            question,
            "Router keeps dropping the wifi at night",
            "It drops every night since Monday.",
            "",
        )
    )
    done(
        posting.edit_question(
            moderator,
            question,
            "Router keeps dropping the wifi at night",
            "It drops every night since Monday. Firmware 2.1.",
            "",
        )
    )
    thread = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert f'href="/history/questions/{question.id}"' in thread
    page = client.get(f"/history/questions/{question.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count('data-testid="version"') == 3
    assert "Version 3 (current)" in text and "Edited by Mo Moderator" in text
    assert f"Written by {question.author.display_name}" in text
    assert "<del>hour or so</del>" in text and "<ins>night</ins>" in text
    assert "<ins> at night</ins>" in text or "<ins>at night</ins>" in text
    assert "<ins> Firmware 2.1.</ins>" in text or "<ins>Firmware 2.1.</ins>" in text


def test_answer_history_and_who_may_see_a_deleted_posts_history(client, auth, make):
    question = make.question()
    answer = make.answer(question, body="Hold the button for ten seconds.")
    done(posting.edit_answer(answer.author, answer, "Hold the button for twenty seconds."))
    page = client.get(f"/history/answers/{answer.id}").get_data(as_text=True)
    assert "<del>ten</del>" in page and "<ins>twenty</ins>" in page
    done(posting.delete_post(answer.author, answer))
    assert client.get(f"/history/answers/{answer.id}").status_code == 404
    auth.login(make.user().email)
    assert client.get(f"/history/answers/{answer.id}").status_code == 404
    auth.logout()
    auth.login(make.user(Role.STAFF).email)
    staff_view = client.get(f"/history/answers/{answer.id}")
    assert staff_view.status_code == 200 and "<ins>twenty</ins>" in staff_view.get_data(
        as_text=True
    )


def test_user_text_in_history_is_escaped(client, make):
    question = make.question()
    answer = make.answer(question, body="Plain first version of the answer.")
    done(posting.edit_answer(answer.author, answer, "Now with <script>alert(1)</script> inside."))
    page = client.get(f"/history/answers/{answer.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
