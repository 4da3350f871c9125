"""Search in the app: kept in step with the database, on real imported threads."""

import re

import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.importer import import_site
from forum.markup import plain_text
from forum.models import Answer, Question, Role
from forum.search_sync import get_index
from forum.services import marks, posting
from forum.worker import drain
from search import SearchQuery, parse_query

from .conftest import SEARCH_BACKENDS, require_shared_data
from .factories import done


@pytest.fixture(params=SEARCH_BACKENDS)
def app_config(request, app_config):
    """Every test here runs on each search backend the database allows."""
    return {**app_config, "SEARCH_BACKEND": request.param}


def found(text: str, **options) -> list[int]:
    return [h.id for h in get_index().search(parse_query(text, per_page=50, **options)).hits]


@pytest.fixture
def gadgets(app):
    """The AskAboutGadgets dump imported and indexed (198 questions)."""
    import_site(require_shared_data("stackexchange", "askaboutgadgets"))
    drain()  # the worker indexes what the import queued
    return app


def test_import_indexes_every_thread(gadgets):
    assert get_index().doc_count() == db.session.scalar(select(func.count(Question.id))) == 198


def test_threads_are_found_at_rank_1_by_their_titles(gadgets):
    questions = db.session.scalars(select(Question).order_by(Question.id)).all()
    titles = [q for q in questions if len(q.title.split()) >= 4][::6]
    assert len(titles) >= 25
    misses = [(q.id, q.title) for q in titles if found(q.title)[:1] != [q.id]]
    assert misses == []


def test_a_phrase_only_in_an_accepted_answer_finds_its_thread(gadgets):
    checked = 0
    for question in db.session.scalars(
        select(Question).where(Question.accepted_answer_id.is_not(None)).order_by(Question.id)
    ):
        answer = db.session.get(Answer, question.accepted_answer_id)
        words = re.findall(r"[A-Za-z]{4,}", plain_text(answer.body_html))
        for start in range(0, max(0, len(words) - 4), 3):
            phrase = " ".join(words[start : start + 4])
            elsewhere = db.session.scalar(
                select(func.count(Question.id)).where(
                    func.lower(Question.title + " " + Question.body_source).contains(phrase.lower())
                )
            ) + db.session.scalar(
                select(func.count(Answer.id)).where(
                    Answer.id != answer.id, func.lower(Answer.body_source).contains(phrase.lower())
                )
            )
            if elsewhere == 0 and phrase.lower() in answer.body_source.lower():
                assert found(f'"{phrase}"') == [question.id], phrase
                checked += 1
                break
        if checked >= 5:
            break
    assert checked == 5


def test_filters_and_sorts_on_real_threads(gadgets):
    solved = set(found("is:solved", sort="newest"))
    assert solved and all(db.session.get(Question, i).accepted_answer_id for i in solved)
    unanswered = set(found("is:unanswered"))
    assert unanswered and all(db.session.get(Question, i).answer_count == 0 for i in unanswered)
    assert get_index().search(parse_query("is:unanswered")).total == 45  # per the data README

    by_votes = get_index().search(SearchQuery(text="phone", sort="votes", per_page=50)).hits
    scores = [h.score for h in by_votes]
    assert len(scores) > 5 and scores == sorted(scores, reverse=True)
    by_date = get_index().search(SearchQuery(text="phone", sort="newest", per_page=50)).hits
    dates = [h.created_at for h in by_date]
    assert dates == sorted(dates, reverse=True)
    tag = db.session.scalar(select(Question).where(Question.tags.any())).tags[0].name
    tagged = found(f"tag:{tag}")
    assert tagged and all(tag in [t.name for t in db.session.get(Question, i).tags] for i in tagged)


def test_new_posts_are_found_at_once_and_rolled_back_ones_never(app, make):
    question = make.question(title="Thermostat shows error code quintessential")
    assert found("quintessential") == [question.id]
    make.answer(question, body="Replace the batteries: flibbertigibbet mode ends.")
    assert found("flibbertigibbet") == [question.id]

    product = make.product()
    ghost = Question(
        product_id=product.id,
        author_id=question.author_id,
        title="Rolled back zanzibarian question",
        body_source="x",
        body_html="x",
    )
    db.session.add(ghost)
    db.session.flush()
    db.session.rollback()
    make.question(title="An unrelated later commit")  # a commit after the rollback
    assert found("zanzibarian") == []


def test_deleted_posts_leave_the_results_at_once(app, make):
    author = make.user()
    question = make.question(author=author, title="Mysterious snorkelwacker fault")
    answer_author = make.user()
    answer = make.answer(question, author=answer_author, body="Try the gobbledygook reset.")
    assert found("gobbledygook") == [question.id]
    done(posting.delete_post(answer_author, answer))
    assert found("gobbledygook") == []
    done(posting.delete_post(author, question))
    assert found("snorkelwacker") == []


def test_votes_and_marks_reach_the_index(app, make):
    asker = make.user()
    question = make.question(author=asker, title="Kettle descaling question")
    answer = make.answer(question)
    done(marks.accept_answer(asker, answer))
    assert found("kettle is:solved") == [question.id]
    done(marks.verify_answer(make.user(Role.STAFF), answer))
    assert found("kettle is:verified") == [question.id]
    from forum.services import votes

    done(votes.cast_vote(make.user(), question, "up"))
    assert get_index().search(parse_query("kettle")).hits[0].score == 1


def test_search_page_highlights_and_escapes(client, make):
    make.question(
        title="Display shows garbled text",
        body="The screen prints `<b>marquee</b>` and <script>alert(1)</script> marquee text.",
    )
    page = client.get("/search?q=marquee").get_data(as_text=True)
    snippet = page.split('data-testid="snippet">', 1)[1].split("</p>", 1)[0]
    assert "<mark>marquee</mark>" in snippet
    assert "<b>" not in snippet and "<script" not in snippet
    assert "&lt;b&gt;" in snippet
    assert "1 result" in page


def test_search_page_filters_sort_paginate_and_suggest(client, make, app):
    app.config["QUESTIONS_PER_PAGE"] = 2
    for n in range(5):
        make.question(title=f"Printer jam number {n} again", tags="printer")
    page1 = client.get("/search?q=printer+jam&sort=newest").get_data(as_text=True)
    assert "5 results" in page1 and "Page 1 of 3" in page1
    page3 = client.get("/search?q=printer+jam&sort=newest&page=3").get_data(as_text=True)
    assert page3.count('data-testid="search-hit"') == 1
    assert "number 0" in page3  # the oldest is last when sorting by newest
    # A misspelling that finds nothing shows the corrected results at once.
    typo = client.get("/search?q=printr+jamm").get_data(as_text=True)
    assert 'data-testid="corrected"' in typo and "<strong>printer jam</strong>" in typo
    assert "5 results" in typo and "Search instead for" in typo
    exact = client.get("/search?q=printr+jamm&exact=1").get_data(as_text=True)
    assert "0 results" in exact and 'data-testid="did-you-mean"' in exact
    assert ">printer jam</a>" in exact
    # What cannot be understood is said, not silently dropped.
    bogus = client.get("/search?q=printer+is:bogus+tag:").get_data(as_text=True)
    assert "“is:bogus” is not a filter" in bogus and "“tag:” needs a value" in bogus
    assert "5 results" in bogus
    assert "0 results" in client.get("/search?q=printer+is:unanswered+tag:nope").get_data(
        as_text=True
    )


def test_every_page_has_a_search_box(client):
    for url in ("/", "/account/login", "/search?q=x"):
        assert 'role="search"' in client.get(url).get_data(as_text=True)


def test_similar_questions_endpoint(client, make):
    asker = make.user()
    solved = make.question(author=asker, title="Bluetooth speaker will not connect")
    done(marks.accept_answer(asker, make.answer(solved)))
    make.question(title="Speaker battery drains overnight")
    data = client.get("/search/similar?title=speaker won't connect").get_json()
    assert data["results"][0]["id"] == solved.id
    assert data["results"][0]["solved"] is True
    assert data["results"][0]["url"].startswith(f"/questions/{solved.id}/")
    assert client.get("/search/similar?title=ab").get_json() == {"results": []}


def test_similar_questions_prefer_the_chosen_product_show_the_answer_and_do_not_pad(client, make):
    asker, staff = make.user(), make.user(Role.STAFF)
    lamp, router = make.product(name="Lamp"), make.product(name="Router")
    elsewhere = make.question(product=router, title="Router will not connect to wifi")
    here = make.question(author=asker, product=lamp, title="Lamp will not connect to wifi")
    answer = make.answer(here, author=staff, body="Hold the switch for **ten seconds** to pair.")
    done(marks.verify_answer(staff, answer))
    make.question(product=lamp, title="Lamp colour looks too warm in the evening")
    data = client.get(f"/search/similar?title=will not connect to wifi&product_id={lamp.id}")
    results = data.get_json()["results"]
    assert [r["id"] for r in results] == [here.id, elsewhere.id]  # the colour thread: no
    assert results[0]["answer"] == "Hold the switch for ten seconds to pair."
    assert results[0]["verified"] is True and results[1]["answer"] == ""


def test_hostile_queries_through_the_search_page(client, make):
    make.question(title="Something to find in the index")
    strings = require_shared_data("naughty-strings", "blns.txt").read_text(encoding="utf-8")
    xss = require_shared_data("xss-payloads", "xss-payload-list.dev.txt").read_text(
        encoding="utf-8", errors="replace"
    )
    lines = [s for s in strings.splitlines() if s and not s.startswith("#")]
    lines += xss.splitlines()[::25]
    lines += ['"unbalanced', "AND OR NOT", "x" * 20000, "\x00\x07", "((((", "is:", "product:"]
    failures = []
    for line in lines:
        for url in ("/search", "/search/similar"):
            response = client.get(
                url, query_string={"q": line, "title": line, "page": line, "sort": line}
            )
            if response.status_code >= 500:
                failures.append((url, line))
        if "<script" in line.lower():
            assert (
                "<script>alert"
                not in client.get("/search", query_string={"q": line})
                .get_data(as_text=True)
                .split('<main id="main"', 1)[1]
            )
    assert failures == []


def test_cli_reindex_and_check_repair_drift(runner, make):
    questions = [make.question(title=f"Drift check thread {n}") for n in range(3)]
    get_index().remove_threads([questions[0].id])
    report = runner.invoke(args=["search", "check"])
    assert report.exit_code == 0, report.output
    assert "missing: 1" in report.output and "Repaired." in report.output
    assert (
        "The index matches the database (by revision)."
        in runner.invoke(args=["search", "check"]).output
    )
    rebuilt = runner.invoke(args=["search", "reindex"])
    assert rebuilt.exit_code == 0 and "Indexed 3 threads;" in rebuilt.output
    assert get_index().doc_count() == 3
