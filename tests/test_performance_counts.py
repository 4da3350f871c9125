"""Pages issue a fixed number of SQL statements, whatever the size of the thread (no N+1)."""

from sqlalchemy import select

from forum import local_memory
from forum.extensions import cache
from forum.models import Role


def build_thread(make, answers: int, comments_per_post: int):
    question = make.question(tags="alpha beta")
    authors = [make.user() for _ in range(5)]
    for c in range(comments_per_post):
        make.comment(question, author=authors[c % 5], body=f"Question comment {c}")
    for i in range(answers):
        answer = make.answer(question, author=authors[i % 5], body=f"Answer number {i} here.")
        for c in range(comments_per_post):
            make.comment(
                question, author=authors[(i + c) % 5], answer=answer, body=f"Comment {c} on {i}"
            )
    return question


def statements_for(client, count_queries, url: str, cached: bool = True) -> int:
    if not cached:  # no rendering kept, by the shared cache or by this process
        cache.clear()
        local_memory.kept(local_memory.THREAD_PAGES).clear()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def test_thread_page_statement_count_does_not_grow_with_answers(client, make, count_queries):
    small = build_thread(make, answers=1, comments_per_post=1).id
    large = build_thread(make, answers=50, comments_per_post=3).id
    small_count = statements_for(client, count_queries, f"/questions/{small}", cached=False)
    large_count = statements_for(client, count_queries, f"/questions/{large}", cached=False)
    assert large_count == small_count
    assert small_count <= 8


def test_thread_page_count_is_the_same_for_staff_viewers(client, auth, make, count_queries):
    small = build_thread(make, answers=1, comments_per_post=0).id
    large = build_thread(make, answers=20, comments_per_post=2).id
    auth.login(make.user(Role.STAFF).email)
    assert statements_for(client, count_queries, f"/questions/{small}") == statements_for(
        client, count_queries, f"/questions/{large}"
    )


def test_question_list_statement_count_does_not_grow_with_rows(client, make, count_queries):
    make.question(tags="one")
    few = statements_for(client, count_queries, "/", cached=False)
    for _ in range(15):
        make.question(tags="two three")
    many = statements_for(client, count_queries, "/", cached=False)
    assert many == few


def test_question_list_count_is_cached_briefly(client, make, count_queries, app):
    app.config["LIST_CACHE_SECONDS"] = 0  # the count alone, without the list's page cache
    make.question()
    uncached = statements_for(client, count_queries, "/", cached=False)
    assert statements_for(client, count_queries, "/") == uncached - 1
    assert "1 question" in client.get("/").get_data(as_text=True)


def test_profile_statement_count_does_not_grow_with_posts_or_reputation(
    client, make, count_queries
):
    from forum.services import votes

    from .factories import done

    def person_with(posts: int):
        person = make.user()
        for n in range(posts):
            question = make.question(author=person, title=f"Question number {n} of a person")
            answer = make.answer(make.question(), author=person, body=f"Answer number {n} here.")
            done(votes.cast_vote(make.user(), answer, "up"))
            done(votes.cast_vote(make.user(), question, "up"))
        return person.id

    few, many = person_with(1), person_with(8)
    assert statements_for(client, count_queries, f"/users/{few}") == statements_for(
        client, count_queries, f"/users/{many}"
    )


def test_a_cached_list_page_shows_every_change_at_once(client, auth, make, count_queries):
    from forum.extensions import db
    from forum.models import Question
    from forum.services import moderation, posting

    from .factories import done

    first = make.question(title="Kettle whistles before boiling").id
    uncached = statements_for(client, count_queries, "/", cached=False)
    assert statements_for(client, count_queries, "/") < uncached  # the rows come from the cache
    assert "Kettle whistles" in client.get("/").get_data(as_text=True)

    second = make.question(title="Toaster pops too early").id
    page = client.get("/").get_data(as_text=True)
    assert "Toaster pops too early" in page  # (the count may lag: LIST_COUNT_CACHE_SECONDS)
    done(posting.post_answer(make.user(), first, "Descale it with vinegar."))
    page = client.get("/").get_data(as_text=True)
    assert page.index("Kettle whistles") < page.index("Toaster pops")  # recently active first
    moderator = make.user(Role.MODERATOR)
    done(moderation.set_hidden(moderator, db.session.get(Question, second), True))
    assert "Toaster pops" not in client.get("/").get_data(as_text=True)
    # Staff have lists of their own, with the hidden thread in them.
    auth.login(moderator.email)
    assert "Toaster pops" in client.get("/").get_data(as_text=True)


def test_posting_an_answer_settles_a_plain_thread_in_fewer_statements(
    client, auth, make, count_queries
):
    """An answer to a thread with no mark and no flag (most threads) restores the thread's
    invariants in one statement; one with an accepted answer and a report reads those too.
    Either way the count does not depend on the thread's size."""
    from forum.extensions import db
    from forum.models import Answer, Question
    from forum.services import marks, moderation

    from .conftest import csrf_token
    from .factories import done

    plain, small, marked = (build_thread(make, answers=n, comments_per_post=1) for n in (12, 1, 3))
    accepted = db.session.scalars(
        select(Answer).where(Answer.question_id == marked.id).order_by(Answer.id)
    ).first()
    done(marks.accept_answer(db.session.get(Question, marked.id).author, accepted))
    done(moderation.report_post(make.user(), db.session.get(Answer, accepted.id), "spam"))
    threads = [plain.id, small.id, marked.id]
    auth.login(make.user().email)

    def statements_to_answer(question_id: int) -> int:
        token = csrf_token(client, f"/questions/{question_id}")
        with count_queries() as counter:
            response = client.post(
                f"/questions/{question_id}/answers",
                data={"csrf_token": token, "body": "Hold the reset button for ten seconds."},
            )
        assert response.status_code == 302
        assert db.session.get(Question, question_id).answer_count == (
            db.session.query(Answer).filter_by(question_id=question_id).count()
        )
        return counter.count

    on_plain, on_small, on_marked = (statements_to_answer(i) for i in threads)
    assert on_plain == on_small
    assert on_plain < on_marked
    assert on_plain <= 8  # 12 before the marks and flags were read only where there are some
