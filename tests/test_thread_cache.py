"""Anonymous readers get a cached rendering of a thread, which no change to the thread outlives."""

import re
import time

from flask import g
from sqlalchemy import select

from forum import local_memory
from forum.extensions import cache, db
from forum.models import Answer, Question, Role, User
from forum.services import marks, moderation, posting, votes, watching

from .conftest import AuthActions
from .factories import done
from .test_performance_counts import build_thread, statements_for

CSRF_IN_FORMS = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_IN_HEAD = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def page(client, question) -> str:
    response = client.get(f"/questions/{question.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_second_anonymous_view_costs_one_statement(client, make, count_queries):
    question = build_thread(make, answers=3, comments_per_post=2)
    url = f"/questions/{question.id}"
    first = statements_for(client, count_queries, url)
    second = statements_for(client, count_queries, url)
    assert second == 1
    assert first > second


def test_cached_page_equals_a_fresh_rendering(client, make, app_config):
    question = build_thread(make, answers=2, comments_per_post=1)
    client.get(f"/questions/{question.id}")  # fills the cache
    cached = page(client, question)
    forget_pages()
    fresh = page(client, question)
    assert cached == fresh


def forget_pages() -> None:
    """Drop every kept rendering: the shared cache's and this process's."""
    cache.clear()
    local_memory.kept(local_memory.THREAD_PAGES).clear()


def test_a_process_serves_the_pages_it_kept_without_the_shared_cache(
    client, make, count_queries
):
    question = build_thread(make, answers=2, comments_per_post=1)
    first = page(client, question)
    cache.clear()  # the shared cache lost it (Redis restarted, say)
    with count_queries() as counter:
        again = page(client, question)
    assert counter.count == 1  # the thread's header: the page came from this process
    assert again.count('data-testid="answer"') == 2
    tokens = re.compile(r'(name="csrf_token" value|name="csrf-token" content)="[^"]+"')
    assert tokens.sub("", again) == tokens.sub("", first)


def test_a_process_keeps_a_page_no_longer_than_the_shared_cache(
    client, make, count_queries, monkeypatch
):
    question = build_thread(make, answers=1, comments_per_post=0)
    page(client, question)
    cache.clear()
    later = time.time() + 61  # the shared cache keeps a page 60 seconds
    monkeypatch.setattr(local_memory.time, "time", lambda: later)
    with count_queries() as counter:
        html = page(client, question)
    assert counter.count > 1 and html.count('data-testid="answer"') == 1  # made anew


def test_each_reader_gets_their_own_csrf_token_in_cached_forms(app, make):
    question = build_thread(make, answers=2, comments_per_post=0)
    pages = []
    for _ in range(2):
        g.pop("csrf_token", None)  # tests share one app context; real requests each have one
        pages.append(page(app.test_client(), question))
    tokens = []
    for html in pages:
        in_head = CSRF_IN_HEAD.search(html).group(1)
        in_forms = set(CSRF_IN_FORMS.findall(html))
        assert in_forms == {in_head}  # every vote form carries this reader's token
        tokens.append(in_head)
    assert tokens[0] != tokens[1]


def test_every_kind_of_change_shows_at_once(client, make, app):
    question = build_thread(make, answers=1, comments_per_post=0)
    asker, staff = question.author, make.user(Role.STAFF)
    page(client, question)

    answer = done(posting.post_answer(make.user(), question.id, "Unplug the hub for a minute."))
    assert "Unplug the hub for a minute." in page(client, question)

    done(posting.post_comment(asker, question.id, "That worked, thanks!", answer_id=answer.id))
    assert "That worked, thanks!" in page(client, question)

    before = page(client, question)
    done(votes.cast_vote(make.user(), answer, "up"))
    after = page(client, question)
    assert after != before and f'id="answer-{answer.id}"' in after

    done(marks.accept_answer(asker, answer))
    assert 'data-testid="accepted-badge"' in page(client, question)

    done(marks.verify_answer(staff, answer, "Confirmed by support"))
    assert "Confirmed by support" in page(client, question)

    done(posting.edit_answer(answer.author, answer, "Unplug the hub for two minutes instead."))
    assert "two minutes instead" in page(client, question)

    moderator = make.user(Role.MODERATOR)
    done(moderation.set_locked(moderator, question, True))
    assert 'data-testid="locked-notice"' in page(client, question)

    done(moderation.set_hidden(moderator, question, True))
    assert client.get(f"/questions/{question.id}").status_code == 404


def test_revision_moves_on_every_commit_that_touches_the_thread(make, app):
    from forum.extensions import db

    question = make.question()
    start = db.session.get(Question, question.id).revision
    done(posting.post_answer(make.user(), question.id, "Try a different cable first."))
    db.session.expire_all()
    after_answer = db.session.get(Question, question.id).revision
    assert after_answer > start
    make.user()  # a commit that touches no thread
    db.session.expire_all()
    assert db.session.get(Question, question.id).revision == after_answer


def signed_in_page(app, user, question) -> str:
    """The thread as this person sees it, signed in on a client of their own."""
    client = app.test_client()
    email = user if isinstance(user, str) else user.email
    assert AuthActions(client).login(email).status_code == 302
    response = client.get(f"/questions/{question if isinstance(question, int) else question.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_signed_in_readers_share_one_rendering_with_their_own_votes(app, make, count_queries):
    question = build_thread(make, answers=3, comments_per_post=1)
    answers = sorted(question.answers, key=lambda a: a.id)
    up_voter, down_voter, quiet = make.user(), make.user(), make.user()
    done(votes.cast_vote(up_voter, answers[0], "up"))
    done(votes.cast_vote(down_voter, answers[1], "down"))
    done(votes.cast_vote(down_voter, question, "up"))

    def pressed(html: str, post_id: str) -> tuple[str, str]:
        box = html[html.index(f'id="{post_id}"') :]
        up = re.search(r'class="vote up" aria-pressed="(\w+)"', box).group(1)
        down = re.search(r'class="vote down" aria-pressed="(\w+)"', box).group(1)
        return up, down

    first_answer, second_answer = f"answer-{answers[0].id}", f"answer-{answers[1].id}"
    thread, second_email, third_email = question.id, down_voter.email, quiet.email
    first = signed_in_page(app, up_voter, thread)
    with count_queries() as counter:
        second = signed_in_page(app, second_email, thread)
    third = signed_in_page(app, third_email, thread)

    assert pressed(first, first_answer) == ("true", "false")
    assert pressed(first, second_answer) == ("false", "false")
    assert pressed(second, first_answer) == ("false", "false")
    assert pressed(second, second_answer) == ("false", "true")
    assert pressed(second, "question") == ("true", "false")
    assert 'aria-pressed="true"' not in third
    # The second reader's thread came from the first one's rendering: no answers were read.
    assert not any("FROM answers" in s and "body_html" in s for s in counter.statements)
    # Each reader's own token in every form, and a posting key of its own in each form.
    for html in (first, second, third):
        in_head = CSRF_IN_HEAD.search(html).group(1)
        assert set(CSRF_IN_FORMS.findall(html)) == {in_head}
        keys = re.findall(r'name="posting_key" value="([^"]+)"', html)
        assert len(keys) == len(set(keys)) >= 5  # the answer form and each comment form
    assert CSRF_IN_HEAD.search(first).group(1) != CSRF_IN_HEAD.search(second).group(1)
    assert "hole-" not in first + second + third


def test_a_vote_shows_at_once_for_its_voter(app, make):
    question = build_thread(make, answers=1, comments_per_post=0)
    answer = question.answers[0]
    reader = make.user()
    assert 'aria-pressed="true"' not in signed_in_page(app, reader, question)
    done(votes.cast_vote(reader, answer, "up"))
    html = signed_in_page(app, reader, question)
    assert 'class="vote up" aria-pressed="true"' in html
    done(votes.cast_vote(reader, answer, "up"))  # the same arrow again takes the vote back
    assert 'aria-pressed="true"' not in signed_in_page(app, reader, question)


def test_authors_asker_and_staff_get_their_own_controls(app, make):
    question = build_thread(make, answers=2, comments_per_post=0)
    mine = question.answers[0]
    author, stranger, staff = mine.author, make.user(), make.user(Role.STAFF)
    edit_link = f'href="/answers/{mine.id}/edit"'
    # A stranger's rendering is shared; it must not leak into the others' pages, nor theirs
    # into it.
    stranger_page = signed_in_page(app, stranger, question)
    assert "/edit" not in stranger_page and "Accept this answer" not in stranger_page
    assert edit_link in signed_in_page(app, author, question)
    assert "Accept this answer" in signed_in_page(app, question.author, question)
    assert "Verify as the official answer" in signed_in_page(app, staff, question)
    assert signed_in_page(app, make.user(), question).count("/edit") == 0
    # A comment is enough to count as writing in the thread: its edit link shows.
    commenter = make.user()
    comment = done(posting.post_comment(commenter, question.id, "Which model is it?"))
    assert f'href="/comments/{comment.id}/edit"' in signed_in_page(app, commenter, question)


def test_the_comment_hint_names_each_readers_own_reputation(app, make):
    app.config["REPUTATION_TO_COMMENT"] = 50
    question = build_thread(make, answers=1, comments_per_post=0)
    newcomer, regular = make.user(), make.user()
    newcomer.reputation, regular.reputation = 3, 80
    done(None)
    newcomer_page = signed_in_page(app, newcomer, question)
    assert "needs 50 reputation (you have 3)" in newcomer_page
    assert "Add a comment" not in newcomer_page
    regular_page = signed_in_page(app, regular, question)
    assert "Add a comment" in regular_page and "needs 50" not in regular_page
    # Another newcomer, with other points, shares the newcomer's rendering (the number is a
    # hole filled per reader) and sees their own.
    other = make.user()
    other.reputation = 12
    done(None)
    kept = {key for key in cache.cache._cache if key.startswith("thread-page")}
    other_page = signed_in_page(app, other, question)
    assert "needs 50 reputation (you have 12)" in other_page and "you have 3" not in other_page
    assert {key for key in cache.cache._cache if key.startswith("thread-page")} == kept


def test_the_templates_url_for_builds_what_flasks_does(app):
    from flask import url_for

    from forum.templating import PatternUrls

    urls = PatternUrls()
    cases = [
        ("marks.vote", {"kind": "answers", "post_id": 12}),
        ("marks.vote", {"kind": "questions", "post_id": 7}),
        ("people.profile", {"user_id": 3}),
        ("questions.show", {"question_id": 41, "slug": "a-title"}),
        ("questions.history", {"kind": "comments", "post_id": 123456}),
        ("questions.index", {"product": "lamp", "page": 3}),
        ("questions.index", {"tag": "wifi"}),
        ("questions.index", {"tag": "wi fi & more", "page": 2}),
        ("questions.index", {"product": "lamp-2.0", "state": "solved", "page": 10}),
        ("questions.show", {"question_id": 9, "slug": "café-au-lait"}),
        ("accounts.login", {"next": "/questions/5"}),
        ("notifications.inbox", {}),  # no values: the URL is kept whole
        ("accounts.change_password", {}),
    ]
    with app.test_request_context("/", base_url="http://forum.example/help"):
        for endpoint, values in cases * 2:  # the second time from the kept pattern
            assert urls(endpoint, **values) == url_for(endpoint, **values)
        assert urls("people.profile", user_id=3, _anchor="x") == "/help/users/3#x"
    with app.test_request_context("/"):  # another mount point: URLs of its own
        assert urls("notifications.inbox") == url_for("notifications.inbox")
        assert not urls("notifications.inbox").startswith("/help")


def test_a_reader_of_a_shared_rendering_sees_their_own_bell_watch_and_votes(
    app, make, count_queries
):
    question = build_thread(make, answers=2, comments_per_post=1)
    answer = question.answers[0]
    reader = make.user()
    theirs = make.question(author=reader)
    make.answer(theirs)  # tells the reader: one unread notification
    done(watching.set_watch(reader, question, "watching"))
    thread, email, answer_id = question.id, reader.email, answer.id
    client = app.test_client()
    assert AuthActions(client).login(email).status_code == 302
    client.get(f"/questions/{thread}")  # the shared rendering is made once

    def read() -> tuple[str, list[str]]:
        with count_queries() as counter:
            response = client.get(f"/questions/{thread}")
        assert response.status_code == 200
        return response.get_data(as_text=True), counter.statements

    html, statements = read()
    assert re.search(r'data-testid="bell-count">1<', html)
    assert re.search(r'data-testid="watch-state">Watching', html)
    assert 'aria-pressed="true"' not in html
    # The sign-in, then the thread's header with everything of the reader's: nothing else.
    assert len(statements) == 2, statements

    reader = db.session.scalar(select(User).where(User.email == email))
    done(votes.cast_vote(reader, db.session.get(Answer, answer_id), "up"))
    done(
        watching.set_watch(
            db.session.get(User, reader.id), db.session.get(Question, thread), "muted"
        )
    )
    client.get(f"/questions/{thread}")  # the vote changed the score: a new rendering
    html, statements = read()
    assert 'class="vote up" aria-pressed="true"' in html[html.index(f'id="answer-{answer_id}"') :]
    assert re.search(r'data-testid="watch-state">Muted', html)
    assert len(statements) == 3, statements  # and the reader's votes, now that there are some
