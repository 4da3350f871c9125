"""A thread page made anew takes its unchanged posts from their blocks, which are kept by what
they show: nothing shown is ever stale, and readers' own values still go in per request."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from forum import local_memory, post_blocks, templating
from forum.extensions import cache, db
from forum.local_memory import LocalMemory
from forum.models import Question, User, utcnow
from forum.post_blocks import PREFIX
from forum.services import marks, posting, votes

from .conftest import AuthActions
from .factories import done
from .test_performance_counts import build_thread

CSRF_IN_FORMS = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def page_cache_off(app):
    """Every request makes its page anew, as after every change to a thread."""
    app.config["THREAD_CACHE_SECONDS"] = 0
    cache.clear()
    yield
    app.config["THREAD_CACHE_SECONDS"] = 60


def blocks_kept() -> set[str]:
    return {key for key in cache.cache._cache if key.startswith(PREFIX)}


def anonymous_page(app, question_id: int) -> str:
    response = app.test_client().get(f"/questions/{question_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_change_renders_only_the_post_it_changed(app, make, page_cache_off):
    question = build_thread(make, answers=3, comments_per_post=1)
    edited = sorted(question.answers, key=lambda a: a.id)[1]
    thread, author = question.id, edited.author
    anonymous_page(app, thread)
    before = blocks_kept()
    # The thread's head, the question, the answers' heading, three answers (each with its
    # comments), and the page's forms.
    assert len(before) == 7

    posting.edit_answer(author, edited, "Answer rewritten: reset the router first.")
    db.session.commit()
    html = anonymous_page(app, thread)

    assert "Answer rewritten: reset the router first." in html
    assert "Answer number 1 here." not in html
    assert html.count('data-testid="answer"') == 3
    after = blocks_kept()
    assert before < after and len(after - before) == 1  # the edited answer's block alone


def answer_block(app, thread: int, answer_id: int) -> str:
    html = anonymous_page(app, thread)
    start = html.index(f'id="answer-{answer_id}"')
    return html[start : html.index("</article>", start)]


def test_an_authors_new_reputation_shows_at_once(app, make, page_cache_off):
    """Reputation changes without the thread changing."""
    question = build_thread(make, answers=1, comments_per_post=0)
    answer = question.answers[0]
    thread, answer_id, author_id = question.id, answer.id, answer.author_id
    assert "4321" not in answer_block(app, thread, answer_id)
    db.session.execute(update(User).where(User.id == author_id).values(reputation=4321))
    db.session.commit()
    assert re.search(r'data-testid="reputation"[^>]*>4321<', answer_block(app, thread, answer_id))


class ThreeHoursLater(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(hours=3)


def test_the_ago_texts_follow_the_clock_from_the_same_blocks(
    app, make, page_cache_off, monkeypatch
):
    question = build_thread(make, answers=1, comments_per_post=1)
    thread, answer_id = question.id, question.answers[0].id
    block = answer_block(app, thread, answer_id)
    assert block.count("just now") == 2  # the answer and its comment
    kept = blocks_kept()

    monkeypatch.setattr(templating, "datetime", ThreeHoursLater)
    block = answer_block(app, thread, answer_id)
    assert block.count("3 hours ago") == 2 and "just now" not in block
    assert blocks_kept() == kept  # aging made no block anew: the texts are filled per page


def test_a_kept_page_says_how_long_ago_at_each_request(app, make, count_queries, monkeypatch):
    question = build_thread(make, answers=1, comments_per_post=0)
    thread, answer_id = question.id, question.answers[0].id
    cache.clear()
    assert "just now" in answer_block(app, thread, answer_id)  # makes and keeps the page
    monkeypatch.setattr(templating, "datetime", ThreeHoursLater)
    with count_queries() as counter:
        block = answer_block(app, thread, answer_id)
    assert counter.count == 1  # the thread's header: the page itself came from the cache
    assert "3 hours ago" in block and "just now" not in block


def test_a_reused_block_gets_each_readers_own_token_and_votes(app, make, page_cache_off):
    question = build_thread(make, answers=2, comments_per_post=1)
    first_answer = sorted(question.answers, key=lambda a: a.id)[0]
    voter, other = make.user(), make.user()
    thread, answer_id, emails = question.id, first_answer.id, (voter.email, other.email)
    done(votes.cast_vote(voter, first_answer, "up"))
    pages = []
    for email in emails:
        client = app.test_client()
        assert AuthActions(client).login(email).status_code == 302
        pages.append(client.get(f"/questions/{thread}").get_data(as_text=True))
    kept = blocks_kept()
    # The second reader's page was made from the blocks the first one's made: the head, the
    # question, the heading, two answers, the forms.
    assert len(kept) == 6
    for html in pages:
        assert "hole-" not in html
        head = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
        assert set(CSRF_IN_FORMS.findall(html)) == {head}
    assert CSRF_IN_FORMS.findall(pages[0])[0] != CSRF_IN_FORMS.findall(pages[1])[0]
    box = 'class="vote up" aria-pressed="true"'
    assert box in pages[0][pages[0].index(f'id="answer-{answer_id}"') :]
    assert box not in pages[1]


def test_authors_pages_are_made_for_them_and_keep_no_block(app, make, page_cache_off):
    question = build_thread(make, answers=2, comments_per_post=0)
    mine = question.answers[0]
    thread, mine_id, email = question.id, mine.id, mine.author.email
    anonymous_page(app, thread)
    kept = blocks_kept()
    client = app.test_client()
    assert AuthActions(client).login(email).status_code == 302
    html = client.get(f"/questions/{thread}").get_data(as_text=True)
    assert f'href="/answers/{mine_id}/edit"' in html
    assert blocks_kept() == kept
    # ...and the anonymous blocks never show the author's controls.
    assert f'href="/answers/{mine_id}/edit"' not in anonymous_page(app, thread)


def test_with_blocks_off_every_post_is_rendered_and_none_kept(app, make, page_cache_off):
    app.config["POST_BLOCK_CACHE_SECONDS"] = 0
    try:
        question = build_thread(make, answers=2, comments_per_post=1)
        thread = question.id
        html = anonymous_page(app, thread)
        assert html.count('data-testid="answer"') == 2
        assert blocks_kept() == set()
    finally:
        app.config["POST_BLOCK_CACHE_SECONDS"] = 3600


def test_marks_and_votes_change_the_blocks_they_show_in(app, make, page_cache_off):
    question = build_thread(make, answers=2, comments_per_post=0)
    asker = db.session.get(Question, question.id).author
    answer = sorted(question.answers, key=lambda a: a.id)[0]
    thread, answer_id = question.id, answer.id
    anonymous_page(app, thread)
    done(votes.cast_vote(make.user(), answer, "up"))
    done(marks.accept_answer(asker, answer))
    html = anonymous_page(app, thread)
    block = html[html.index(f'id="answer-{answer_id}"') :]
    assert 'data-testid="accepted-badge"' in block
    assert re.search(r'data-testid="score">1<', block)
    done(marks.unaccept_answer(asker, db.session.get(Question, thread)))
    assert 'data-testid="accepted-badge"' not in anonymous_page(app, thread)


def test_a_process_keeps_the_blocks_it_used_when_the_shared_cache_loses_them(
    app, make, page_cache_off
):
    question = build_thread(make, answers=3, comments_per_post=1)
    edited = sorted(question.answers, key=lambda a: a.id)[0]
    thread, author = question.id, edited.author
    first = anonymous_page(app, thread)
    cache.clear()  # the shared cache forgets every block (evicted, or Redis restarted)

    posting.edit_answer(author, edited, "Unplug it for a minute, then hold the power button.")
    db.session.commit()
    html = anonymous_page(app, thread)

    assert "Unplug it for a minute, then hold the power button." in html
    assert html.count('data-testid="answer"') == 3
    assert html.count('data-testid="comment"') == first.count('data-testid="comment"') == 4
    # Only the edited answer was rendered (and so kept again): the question and the other
    # answers came from this process's own memory.
    assert len(blocks_kept()) == 1


def test_without_memory_for_blocks_each_page_asks_the_shared_cache(app, make, page_cache_off):
    app.extensions[local_memory.EXTENSION][local_memory.POST_BLOCKS] = LocalMemory(0)
    question = build_thread(make, answers=2, comments_per_post=0)
    thread = question.id
    anonymous_page(app, thread)
    assert len(blocks_kept()) == 6  # the head, the question, the heading, two answers, forms
    assert len(post_blocks.local_blocks()) == 0
    cache.clear()
    html = anonymous_page(app, thread)
    assert html.count('data-testid="answer"') == 2
    assert len(blocks_kept()) == 6  # all rendered again


def test_a_process_holds_blocks_up_to_its_size_dropping_the_least_recently_used():
    size = local_memory.footprint
    four = size("a", ["1234"])  # every one-letter key with one 4-character piece costs this
    local = LocalMemory(capacity=3 * four - 1)
    local.put_many({"a": ["1234"], "b": ["1234"]})
    assert local.get_many(["a"]) == {"a": ["1234"]}  # "a" is now the newest
    local.put_many({"c": ["1234"]})  # three do not fit: "b", the oldest, goes
    assert local.get_many(["a", "b", "c"]) == {"a": ["1234"], "c": ["1234"]}
    assert local.size == 2 * four
    local.put_many({"d": ["x" * 3 * four]})  # larger than the whole: never kept
    assert local.get_many(["d"]) == {} and len(local) == 2
    local.put_many({"a": ["123456"]})  # the same key again replaces, not adds
    assert local.size == four + size("a", ["123456"])
    assert local.get_many(["a"]) == {"a": ["123456"]}


def test_a_block_is_counted_in_the_bytes_python_holds_it_in():
    ascii_block = local_memory.footprint("k", ["e" * 1000])
    euros = local_memory.footprint("k", ["\u20ac" * 1000])
    assert ascii_block > 1000
    assert euros - ascii_block >= 900  # "€" takes its string to 2 bytes a character


def test_a_blocks_key_names_what_it_shows_not_the_objects_holding_it():
    from datetime import UTC

    from forum.models import Role

    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    name = "".join(["Ada ", "Lovelace"])  # equal texts in other objects give the same key
    shown = ("a", 1, "<p>Reset the router.</p>", (when.timestamp(), "3 days ago"), name)
    again = ("a", 1, "<p>Reset the router.</p>", (when.timestamp(), "3 days ago"), "Ada Lovelace")
    assert post_blocks._digest(*shown) == post_blocks._digest(*again)
    edited = ("a", 1, "<p>Reset the router first.</p>", *shown[3:])
    assert post_blocks._digest(*edited) != post_blocks._digest(*shown)
    later = (*shown[:3], (when.timestamp(), "4 days ago"), name)
    assert post_blocks._digest(*later) != post_blocks._digest(*shown)
    # A value marshal cannot write still makes a key, and a distinct one.
    assert post_blocks._digest(Role.STAFF, when) != post_blocks._digest(Role.CUSTOMER, when)


def test_a_locked_thread_is_made_from_its_blocks_too(app, make, page_cache_off, monkeypatch):
    question = build_thread(make, answers=2, comments_per_post=1)
    thread = question.id
    locked = utcnow() - timedelta(seconds=59)
    db.session.execute(update(Question).where(Question.id == thread).values(locked_at=locked))
    db.session.commit()
    first = anonymous_page(app, thread)
    kept = blocks_kept()
    assert len(kept) == 6 and 'data-testid="locked-notice"' in first

    class TwoSecondsLater(datetime):  # the lock is now a minute old, the posts "just now"
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(seconds=2)

    monkeypatch.setattr(templating, "datetime", TwoSecondsLater)
    again = anonymous_page(app, thread)
    assert again.count('data-testid="answer"') == 2 and "just now" in again
    assert blocks_kept() == kept  # the second page came from the same blocks


def _without_tokens(html: str) -> str:
    """The page with its per-request values (CSRF tokens) blanked, to compare two pages."""
    html = CSRF_IN_FORMS.sub('name="csrf_token" value=""', html)
    return re.sub(r'<meta name="csrf-token" content="[^"]+"', '<meta name="csrf-token"', html)


def test_a_page_joined_from_kept_blocks_is_the_page_rendered(app, make, page_cache_off):
    """Every part of the thread is in a block: a page whose blocks are all kept is their
    join, runs no thread template, and is the same page."""
    from flask import template_rendered

    question = build_thread(make, answers=3, comments_per_post=2)
    thread = question.id
    rendered: list[str] = []

    def record(_app, template, **_extra):
        rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        client = app.test_client()
        first = client.get(f"/questions/{thread}").get_data(as_text=True)
        assert "questions/_thread.html" in rendered
        rendered.clear()
        again = client.get(f"/questions/{thread}").get_data(as_text=True)
    finally:
        template_rendered.disconnect(record, app)
    assert rendered == ["questions/show.html"]  # the layout only: the thread was joined
    assert _without_tokens(again) == _without_tokens(first)
    assert again.count('data-testid="answer"') == 3 and again.count('data-testid="comment"') == 8
    # Nothing of how the pieces were kept reaches the reader.
    assert "hole-" not in again and "\x00" not in again


def test_the_threads_head_and_answer_count_follow_it_both_ways(app, make, page_cache_off):
    """The head (title, tags, state) and the answers' heading are blocks too: each change
    shows at once, and so does its undoing."""
    question = build_thread(make, answers=2, comments_per_post=0)
    thread, asker = question.id, question.author
    answers = sorted(question.answers, key=lambda a: a.id)
    html = anonymous_page(app, thread)
    assert "2 Answers" in html and 'class="badge solved"' not in html

    done(marks.accept_answer(asker, answers[0]))
    html = anonymous_page(app, thread)
    assert 'class="badge solved"' in html and 'data-testid="accepted-badge"' in html

    done(marks.unaccept_answer(asker, db.session.get(Question, thread)))
    html = anonymous_page(app, thread)
    assert 'class="badge solved"' not in html and 'data-testid="accepted-badge"' not in html

    body = "It drops off the network at 2 am."
    question = db.session.get(Question, thread)
    done(posting.edit_question(asker, question, "Router drops every night", body, "alpha beta"))
    html = anonymous_page(app, thread)
    assert '<h1 id="question-title">Router drops every night</h1>' in html
    question = db.session.get(Question, thread)
    done(posting.edit_question(asker, question, "Router drops every night", body, "gamma"))
    html = anonymous_page(app, thread)
    assert 'href="/?tag=gamma"' in html and 'href="/?tag=alpha"' not in html

    done(posting.delete_post(answers[1].author, db.session.get(type(answers[1]), answers[1].id)))
    html = anonymous_page(app, thread)
    assert "1 Answer<" in html and html.count('data-testid="answer"') == 1


def test_plain_rows_are_the_rows_sqlalchemy_reads(app, make):
    """`read_plain` gives the driver's values: the same rows as SQLAlchemy's, times as the
    driver keeps them (`as_utc` makes them the same datetimes)."""
    from forum.extensions import as_utc, read_plain, read_rows
    from forum.models import Answer
    from forum.services.threads import POST, _post_rows_statement

    question = build_thread(make, answers=3, comments_per_post=0)
    statement = _post_rows_statement(Answer, True, True)
    plain = read_plain(statement, {"question_id": question.id})
    typed = read_rows(statement, {"question_id": question.id}).all()
    assert len(plain) == len(typed) == 3
    for raw, row in zip(plain, typed, strict=True):
        converted = [as_utc(v) if n in POST.TIMES else v for n, v in enumerate(raw)]
        assert converted == list(row)
        assert row[POST.TIMES[0]].tzinfo is not None


def test_a_user_read_plainly_is_the_sessions_own_and_can_be_changed(app, make):
    from forum.extensions import as_loaded
    from forum.services.accounts import _USER_ATTRIBUTES

    user = make.user()
    user_id = user.id
    values = {key: getattr(user, key) for key in _USER_ATTRIBUTES}
    assert as_loaded(User, values) is user  # already in the session: that one
    db.session.expunge_all()
    loaded = as_loaded(User, values)
    assert loaded.id == user_id and not db.session.dirty and loaded in db.session
    assert db.session.get(User, user_id) is loaded  # no second copy, no query
    loaded.display_name = "Renamed Reader"
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(User, user_id).display_name == "Renamed Reader"
