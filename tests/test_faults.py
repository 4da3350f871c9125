"""Faults: the worker and the rebuild killed with SIGKILL, Redis and the database away, many
writers on one thread. Nothing acknowledged is lost, nothing stale goes unseen, and the
site recovers by itself."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import (
    Answer,
    Comment,
    Notification,
    OutboxEvent,
    Question,
    ReputationEvent,
    Role,
    User,
)
from forum.search_sync import check_drift, get_index, sync_threads
from forum.services import marks, moderation, posting, reputation, votes
from forum.worker import drain
from search import parse_query

from .factories import done

PROJECT = Path(__file__).resolve().parents[1]
NO_DRIFT = {"missing": [], "orphaned": [], "stale": [], "pending": []}


def findable(word: str) -> bool:
    return get_index().search(parse_query(word)).total > 0


# The worker keyed by revision ----------------------------------------------------------------


def test_out_of_order_and_repeated_changes_leave_the_latest_revision(make):
    question = make.question(title="Kettle stops boiling halfway")
    old_copy = db.session.get(Question, question.id).revision
    done(
        posting.edit_question(
            question.author, question, "Kettle stops boiling at night", "y" * 30, ""
        )
    )
    new_copy = db.session.get(Question, question.id).revision
    assert new_copy > old_copy and get_index().stored_revisions()[question.id] == new_copy
    # An older copy arriving late (a slow second worker) and the newest one again:
    from forum.search_sync import thread_documents

    newest, _ = thread_documents(db.session, [question.id])
    stale = [
        type(newest[0])(
            **{**newest[0].__dict__, "title": "Kettle stops boiling halfway", "revision": old_copy}
        )
    ]
    assert get_index().sync(stale, {}) == 0
    assert get_index().sync(newest, {}) == 1
    assert get_index().stored_revisions()[question.id] == new_copy
    assert findable("night") and not get_index().search(parse_query("halfway")).total
    # Every outbox row of the thread consumed again, twice, in reverse order: still the latest.
    db.session.execute(sa.update(OutboxEvent).values(processed_at=None))
    db.session.commit()
    sync_threads(db.session, [question.id])
    drain()
    assert check_drift(repair=False) == NO_DRIFT


@pytest.mark.parametrize("change", ["vote", "accept", "hide"])
def test_check_tells_a_change_waiting_for_the_worker_from_drift(runner, make, change):
    asker, moderator = make.user(), make.user(Role.MODERATOR)
    question = make.question(author=asker)
    answer = make.answer(question)
    assert check_drift(repair=False) == NO_DRIFT
    if change == "vote":
        votes.cast_vote(make.user(), answer, "up")
    elif change == "accept":
        marks.accept_answer(asker, answer)
    else:
        moderation.set_hidden(moderator, question, True)
    db.session.commit()
    # The outbox explains the difference: waiting for the worker, not broken.
    assert check_drift(repair=False) == {**NO_DRIFT, "pending": [question.id]}
    result = runner.invoke(args=["search", "check", "--no-repair"])
    assert result.exit_code == 0, result.output
    assert "waiting for the worker: 1" in result.output
    assert "The index matches the database" in result.output
    # The same difference with the outbox row gone (consumed, but the index lost it) is drift.
    db.session.execute(sa.update(OutboxEvent).values(processed_at=sa.func.now()))
    db.session.commit()
    report = check_drift(repair=False)
    assert report[("orphaned" if change == "hide" else "stale")] == [question.id]
    result = runner.invoke(args=["search", "check", "--no-repair"])
    assert result.exit_code != 0 and "repairs them" in result.output
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0 and "Repaired." in result.output
    assert check_drift(repair=False) == NO_DRIFT
    assert runner.invoke(args=["search", "check", "--no-repair"]).exit_code == 0


def test_a_new_install_reports_no_drift_before_the_worker_has_run(runner):
    """Demo data seeded, worker not yet run: nothing is broken, and check says so."""
    assert runner.invoke(args=["forum", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["search", "check", "--no-repair"])
    assert result.exit_code == 0, result.output
    assert "stale: 0" in result.output and "missing: 0" in result.output
    assert "waiting for the worker:" in result.output
    assert "Repaired" not in result.output
    drain()
    result = runner.invoke(args=["search", "check", "--no-repair"])
    assert "waiting for the worker" not in result.output
    assert "The index matches the database (by revision)." in result.output


# SIGKILL ---------------------------------------------------------------------------------------


def flask_env(app) -> dict:
    return {
        **os.environ,
        "FLASK_APP": "forum:create_app",
        "FORUM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FORUM_SEARCH_INDEX": app.config["SEARCH_INDEX_DIR"],
        "FORUM_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


def flask(app, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", *args],
        cwd=PROJECT,
        env=flask_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def write_lock_is_free(app) -> bool:
    """No process, dead or alive, keeps the index's write lock once this process's own
    background merge (started by the drain above) has finished."""
    index = get_index()
    index.wait_for_merges()
    index._follow()
    writer = index._index.writer(timeout=0.5)
    writer.cancel()
    return True


def test_a_worker_killed_at_random_points_loses_nothing(app, make):
    users = [make.user() for _ in range(4)]
    product = make.product()
    ids = [u.id for u in users]
    stop = threading.Event()
    acknowledged: list[str] = []

    def customers_keep_posting():
        with app.app_context():
            n = 0
            while not stop.is_set():
                n += 1
                user = db.session.get(User, ids[n % len(ids)])
                word = f"zq{n}x"
                try:
                    if n % 3 == 0 or not acknowledged:
                        posting.ask_question(user, product.id, f"Question {word} here", "b" * 30)
                    elif n % 4 == 0:  # an upvote on the latest answer: reputation for someone
                        answer = db.session.scalars(select(Answer).order_by(Answer.id.desc()))
                        votes.cast_vote(user, answer.first(), "up")
                    else:
                        question = db.session.scalars(
                            select(Question.id).order_by(Question.id.desc())
                        ).first()
                        posting.post_answer(user, question, f"Answer with {word} in it")
                    db.session.commit()
                    acknowledged.append(word)
                except Exception:  # noqa: BLE001 - a refused write is not acknowledged
                    db.session.rollback()
                time.sleep(0.02)
            db.session.remove()

    writer = threading.Thread(target=customers_keep_posting)
    writer.start()
    rng = random.Random(12)
    kills = 0
    try:
        for _ in range(20):
            worker = flask(app, "worker", "--poll", "0.02")
            time.sleep(rng.uniform(0.8, 2.0))  # past start-up, somewhere in its work
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=10)
            kills += 1
    finally:
        stop.set()
        writer.join(timeout=30)
    assert kills == 20 and len(acknowledged) > 20
    db.session.expire_all()
    drain()
    assert check_drift(repair=False) == NO_DRIFT
    assert write_lock_is_free(app)
    missing = [w for w in acknowledged if not findable(w)]
    assert missing == []
    # Every answer told its asker exactly once (unless they answered themselves), though
    # the worker died twenty times on the way.
    told = db.session.execute(
        select(Answer.id, func.count(Notification.id))
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(
            Notification,
            (Notification.post == sa.literal("answer:") + sa.cast(Answer.id, sa.String))
            & (Notification.user_id == Question.author_id),
        )
        .where(Answer.author_id != Question.author_id)
        .group_by(Answer.id)
    ).all()
    assert told and {count for _answer, count in told} == {1}
    # Every vote paid its author exactly once: each total is its ledger's sum, and the ledger
    # is what the posts carry now.
    assert db.session.scalar(select(func.count(ReputationEvent.id))) > 0
    assert reputation.drift() == {}
    assert reputation.reconcile(db.session.scalars(select(Question.id)).all()) == 0


def make_threads(app, count: int) -> None:
    """Many threads quickly (straight into the tables), for a rebuild that takes a while."""
    from forum.models import Product

    user = User(email="bulk@example.com", display_name="Bulk", password_hash="x", role="customer")
    product = Product(name="Bulk", slug="bulk", description="")
    db.session.add_all([user, product])
    db.session.flush()
    words = "router kettle printer headset charger bulb speaker camera battery screen".split()
    db.session.execute(
        sa.insert(Question),
        [
            {
                "product_id": product.id,
                "author_id": user.id,
                "title": f"{words[i % 10]} problem number {i} after the update",
                "body_source": f"{words[(i * 7) % 10]} " * 80,
                "body_html": f"<p>{words[(i * 7) % 10]} stopped working {i}</p>" * 20,
                "excerpt": "",
                "revision": 1,
            }
            for i in range(count)
        ],
    )
    db.session.commit()


def test_a_killed_rebuild_leaves_the_old_index_serving_and_no_process_behind(app, make):
    make_threads(app, 4000)
    from forum.search_sync import all_thread_ids, iter_all_documents

    ids = all_thread_ids(db.session)
    get_index().rebuild(iter_all_documents(db.session, ids))
    before = get_index().search(parse_query("router")).total
    assert before > 0
    rebuild = flask(app, "search", "reindex", "--procs", "2")
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children) < 2:
        children = psutil.Process(rebuild.pid).children(recursive=True)
        time.sleep(0.05)
    assert children, "the rebuild started no helper processes"
    rebuild.send_signal(signal.SIGKILL)
    rebuild.communicate(timeout=10)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert get_index().search(parse_query("router")).total == before
    assert write_lock_is_free(app)
    assert check_drift(repair=False) == NO_DRIFT
    # A later rebuild finishes and clears away what the killed one left.
    finished = flask(app, "search", "reindex", "--procs", "2")
    output, _ = finished.communicate(timeout=300)
    assert finished.returncode == 0, output
    assert len(list(Path(app.config["SEARCH_INDEX_DIR"]).glob("gen-*"))) == 1
    assert get_index().search(parse_query("router")).total == before


def test_searches_answer_during_a_rebuild(app, make):
    make_threads(app, 1500)
    from forum.search_sync import all_thread_ids, iter_all_documents

    ids = all_thread_ids(db.session)
    get_index().rebuild(iter_all_documents(db.session, ids))  # the live index
    counts: list[int] = []
    done_building = threading.Event()

    def rebuild():
        with app.app_context():
            get_index().rebuild(iter_all_documents(db.session, list(ids)))
            db.session.remove()
        done_building.set()

    builder = threading.Thread(target=rebuild)
    builder.start()
    while not done_building.is_set():
        counts.append(get_index().search(parse_query("kettle")).total)
        time.sleep(0.01)
    builder.join()
    counts.append(get_index().search(parse_query("kettle")).total)
    assert len(counts) > 3 and min(counts) > 0


# Redis and the database away -------------------------------------------------------------------


@pytest.fixture
def redis_away(app_config):
    app_config["CACHE_TYPE"] = "forum.caching.ResilientRedisCache"
    app_config["CACHE_REDIS_URL"] = "redis://127.0.0.1:1/1"  # nothing listens there
    app_config["CACHE_OPTIONS"] = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
    app_config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1"
    app_config["RATELIMIT_LOGIN"] = "20 per minute"


def test_with_redis_away_pages_and_posts_still_work(redis_away, client, auth, make):
    question = make.question(title="Speaker will not pair with my phone")
    assert client.get("/").status_code == 200
    assert "Speaker will not pair" in client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert auth.login(make.user().email).status_code == 302
    posted = auth.post(
        f"/questions/{question.id}/answers", {"body": "Forget the device first, then pair."}
    )
    assert posted.status_code == 302
    assert "Forget the device first" in client.get(f"/questions/{question.id}").get_data(
        as_text=True
    )
    # A reader who wrote nothing there gets the readers' page, made without the cache, with
    # their own vote shown; the list shows a new thread at once.
    from forum.services import votes

    auth.logout()
    reader = make.user()
    done(votes.cast_vote(reader, question, "up"))
    make.question(title="Charger gets hot overnight")
    auth.login(reader.email)
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert 'class="vote up" aria-pressed="true"' in page and "hole-" not in page
    home = client.get("/").get_data(as_text=True)
    assert "Charger gets hot overnight" in home
    # The filter menu's products, which the cache would keep, come from the database.
    assert f">{question.product.name}</option>" in home


def test_with_the_database_away_pages_say_503_with_retry_after(app_config):
    from forum import create_app

    app = create_app(
        {**app_config, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/gone"}
    )
    client = app.test_client()
    for url in ("/", "/questions/1", "/search?q=router"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.headers["Retry-After"] == "30"
        page = response.get_data(as_text=True)
        assert "Back in a moment" in page and "Crowd Answers" in page  # the site's layout
    as_json = client.get("/questions/1", headers={"Accept": "application/json"})
    assert as_json.status_code == 503 and as_json.get_json()["error"]["status"] == 503
    with app.app_context():
        db.engine.dispose()


# Many writers on one thread ---------------------------------------------------------------------


def test_eight_writers_on_one_thread_then_every_post_is_findable(app, make):
    question = make.question(title="Busy thread about the hub firmware")
    writers = [make.user() for _ in range(8)]
    ids, thread = [w.id for w in writers], question.id
    acknowledged: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 4

    def write(i):
        with app.app_context():
            n = 0
            while time.monotonic() < deadline:
                n += 1
                word = f"w{i}n{n}q"
                user = db.session.get(User, ids[i])
                try:
                    if n % 2:
                        posting.post_comment(user, thread, f"Comment {word}")
                    else:
                        posting.post_answer(user, thread, f"Answer with {word} inside")
                    db.session.commit()
                    with lock:
                        acknowledged.append(word)
                except Exception:  # noqa: BLE001 - not acknowledged, so not expected
                    db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(acknowledged) >= 16
    drain()
    assert check_drift(repair=False) == NO_DRIFT
    text_counts = (
        db.session.execute(
            select(func.count(Answer.id)).where(Answer.question_id == thread)
        ).scalar()
        + db.session.execute(
            select(func.count(Comment.id)).where(Comment.question_id == thread)
        ).scalar()
    )
    assert text_counts == len(acknowledged)
    hits = get_index().search(parse_query("busy hub firmware")).hits
    assert hits and hits[0].id == thread
    missing = [w for w in acknowledged if not findable(w)]
    assert missing == []


def _wait_for(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _asker_told(answer_id: int, asker_id: int) -> bool:
    db.session.rollback()  # a fresh look at what the worker committed
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.post == f"answer:{answer_id}", Notification.user_id == asker_id
            )
        )
        == 1
    )


def test_the_notification_lane_is_a_process_that_comes_back_and_dies_with_the_worker(app, make):
    """`flask worker` tells people from a child process of its own: killed alone, it is
    started again and nobody's notification is lost; the worker killed, it goes too."""
    asker, helper = make.user(), make.user()
    question = make.question(author=asker, title="Router drops the connection every night")
    worker = flask(app, "worker", "--poll", "0.02")

    def lanes():
        return [c for c in psutil.Process(worker.pid).children() if c.name() == "forum-notify"]

    try:
        assert _wait_for(lambda: len(lanes()) == 1)
        lane = lanes()[0]
        first = posting.post_answer(helper, question.id, "Turn off the nightly channel scan.")
        db.session.commit()
        assert _wait_for(lambda: _asker_told(first.id, asker.id))

        lane.kill()
        lane.wait(timeout=5)
        second = posting.post_answer(helper, question.id, "Or update the router's firmware.")
        db.session.commit()
        # Told by the lane started again; a write that finds the database locked is tried
        # again, never passed over (within a minute, whatever else the worker is doing).
        assert _wait_for(lambda: _asker_told(second.id, asker.id), 60)
        children = lanes()
        assert len(children) == 1 and children[0].pid != lane.pid
        lane = children[0]
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=10)
    assert _wait_for(lambda: not lane.is_running() or lane.status() == psutil.STATUS_ZOMBIE, 5)


def test_the_outbox_lane_yields_to_the_web_and_the_notification_lane_does_not(app, make):
    """`flask worker` runs indexing, judging and reputation at a lower priority
    (FORUM_WORKER_NICE), so a burst of posts is not slowed by them; telling people keeps
    the normal priority. Both still do their work."""
    asker, helper = make.user(), make.user()
    question = make.question(author=asker, title="Charger light blinks orange")
    env = {**flask_env(app), "FORUM_WORKER_NICE": "7"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--poll", "0.02"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    own = psutil.Process().nice()
    try:
        process = psutil.Process(worker.pid)
        assert _wait_for(lambda: any(c.name() == "forum-notify" for c in process.children()))
        lane = next(c for c in process.children() if c.name() == "forum-notify")
        answer = posting.post_answer(helper, question.id, "Reseat the cable: quasarwidget.")
        db.session.commit()
        assert _wait_for(lambda: findable("quasarwidget"))  # indexed by the lower lane
        assert _wait_for(lambda: _asker_told(answer.id, asker.id))
        assert process.nice() == own + 7
        assert lane.nice() == own
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)


def test_serving_processes_leave_their_start_up_out_of_full_collections():
    """gunicorn's hook, after a web process has loaded the app (`forum.freeze_start_up`)."""
    code = (
        "import gc, runpy; hooks = runpy.run_path('gunicorn.conf.py'); "
        "assert gc.get_freeze_count() == 0; hooks['post_worker_init'](None); "
        "print(gc.get_freeze_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert int(out.stdout) > 1000


def test_the_notification_write_waits_for_the_lock_and_then_takes_it(app, make):
    """A notification batch does not queue behind posting for long: it takes the write lock
    as soon as it is free, and gives up with the database's own error past its patience."""
    from forum.extensions import take_write_lock

    user = make.user()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        take_write_lock(db.session)  # row locks on PostgreSQL: nothing to take
        assert db.session.get(User, user.id).display_name
        return
    import sqlite3

    other = sqlite3.connect(
        url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")  # someone else is writing
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        take_write_lock(db.session, patience=0.2)
    db.session.rollback()
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    take_write_lock(db.session)  # waits for the other writer, then holds the lock
    release.join()
    db.session.get(User, user.id).display_name = "Renamed while others wait"
    db.session.commit()
    assert other.execute("SELECT display_name FROM users WHERE id = ?", (user.id,)).fetchone() == (
        "Renamed while others wait",
    )
    # The connection's own patience for other writes is back to what it was.
    assert db.session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 15000
    other.close()


def test_a_locked_database_never_passes_a_notification_over(app, make, monkeypatch):
    """A notification whose write finds the database locked past the lane's patience is
    tried again later, not passed over as a bad row: nobody loses it."""
    import functools

    from forum import worker
    from forum.extensions import take_write_lock

    asker, helper = make.user(), make.user()
    question = make.question(author=asker, title="Thermostat forgets its schedule")
    answer = posting.post_answer(helper, question.id, "Replace the backup battery.")
    db.session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        import sqlite3

        monkeypatch.setattr(
            worker, "take_write_lock", functools.partial(take_write_lock, patience=0.2)
        )
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # someone else holds the write lock throughout
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            worker.notify_batch()
        other.execute("COMMIT")
        other.close()
        assert not _asker_told(answer.id, asker.id)
    worker.notify_batch()
    assert _asker_told(answer.id, asker.id)


def _post_beside_a_busy_writer(app, auth, question_id: int, body: str) -> tuple[int, int]:
    """Post an answer while another connection writes in a steady stream of short
    transactions (holding the lock about nine tenths of the time); returns the answer's
    status and how many of the other's transactions went through while it waited."""
    import sqlite3

    other = sqlite3.connect(
        app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"),
        isolation_level=None,
        check_same_thread=False,
    )
    other.execute("PRAGMA busy_timeout=15000")
    stop, started, writes_seen = threading.Event(), threading.Event(), []

    def busy_writer():
        while not stop.is_set():
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE questions SET view_count = view_count + 1 WHERE id = ?",
                          (question_id,))
            started.set()
            time.sleep(0.005)
            other.execute("COMMIT")
            writes_seen.append(1)
            time.sleep(0.0005)

    writer = threading.Thread(target=busy_writer)
    writer.start()
    started.wait(5)
    before = len(writes_seen)
    try:
        status = auth.post(f"/questions/{question_id}/answers", {"body": body}).status_code
    finally:
        during = len(writes_seen) - before
        stop.set()
        writer.join()
        other.close()
    return status, during


def test_a_post_beside_a_busy_writer_waits_its_turn(app, client, auth, make):
    """Every write on SQLite takes the write lock by looking for it often (`begin_writing`),
    not by SQLite's own growing pauses, which lose the race to a steady stream of short
    writes (the worker's, the notification lane's, the other web processes') again and
    again. A customer's answer sent beside such a stream waits for a few of its writes,
    then is posted and shown."""
    from forum.extensions import writes

    assert writes("INSERT INTO answers ...") and writes("  update questions SET ...")
    assert writes("DELETE FROM votes") and writes("REPLACE INTO x VALUES (1)")
    assert not writes("SELECT 1") and not writes("PRAGMA busy_timeout")
    question = make.question(title="Doorbell chime is silent")
    assert auth.login(make.user().email).status_code == 302
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        waits = []
        for n in range(5):
            body = "Check the transformer wiring of the chime." + " Really." * n
            status, waited_for = _post_beside_a_busy_writer(app, auth, question.id, body)
            assert status == 302
            waits.append(waited_for)
        # Looking every millisecond, each waited for a handful of the other's writes (5 to
        # 10 here). Left to SQLite's pauses (up to a tenth of a second each), some post of
        # the five waited for 60 to 400 of them in every run.
        assert max(waits) < 40, waits
        assert db.session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 15000
    else:  # PostgreSQL takes row locks: the post simply goes through
        body = {"body": "Check the transformer wiring of the chime."}
        assert auth.post(f"/questions/{question.id}/answers", body).status_code == 302
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Check the transformer wiring of the chime." in page
