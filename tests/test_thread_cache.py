"""Anonymous readers get a cached rendering of a thread, which no change to the thread outlives."""

import re

from flask import g

from forum.extensions import cache
from forum.models import Question, Role
from forum.services import marks, moderation, posting, votes

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
    cache.clear()
    fresh = page(client, question)
    assert cached == fresh


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


def test_signed_in_readers_are_never_served_the_cache(client, auth, make, count_queries):
    question = build_thread(make, answers=2, comments_per_post=1)
    user = make.user()
    auth.login(user.email)
    url = f"/questions/{question.id}"
    first = statements_for(client, count_queries, url)
    assert statements_for(client, count_queries, url) == first
    assert "Your answer" in page(client, question) and 'name="body"' in page(client, question)
