"""The worker: consumes the outbox in order, in batches, and does what writes cause elsewhere.

Consumers, each idempotent and keyed by the thread's revision, so that duplicates, retries and
reordering (several workers on PostgreSQL) are harmless:

- search: index each thread of the batch as the database has it now (`search_sync`); after
  the batch commits, embed the ones whose title or question changed, a few per turn
  (`embeddings`, when on);
- moderation: score new and edited posts and apply the flag rules (`services.moderation`);
- notifications: tell the people concerned (`services.notifications`), one per person and
  row, however often the row runs. This lane has its own cursor (`notified_at`) and runs in
  a thread of its own, so people are told while a large indexing batch is still running.

Between batches it sends the mail that is due (`forum.mail`), and once a minute it runs the
timed jobs (`forum.scheduler`): the moderation scan, the asker's "Did this solve it?" nudge,
digests, the roll-up of self-service events, the search drift check and the outbox purge,
each once per period however many workers run.

Plain database polling rather than a broker (RQ, Dramatiq): the outbox table already is the
durable queue, written in the same transaction as the change, so a broker would be a second
copy to keep in step. On PostgreSQL several workers claim rows with FOR UPDATE SKIP LOCKED;
on SQLite one worker runs. A batch's database effects and its "processed" mark commit
together; the index write happens before that commit, so a crash between the two only means
the batch runs again, which the revision check makes harmless.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from search.index import die_with_parent

from .extensions import db, read_plain, take_write_lock
from .models import Answer, Comment, OutboxEvent, Question, utcnow
from .search_sync import sync_threads

log = logging.getLogger(__name__)

# Rows consumed in one transaction. On SQLite its writes hold the lock that posting waits
# for: 200 rows held it up to 400 ms under a burst of posts (posting p99 300 ms), 50 rows
# about a quarter of that.
BATCH = 50
MAX_ATTEMPTS = 8  # then the row waits for a person (`flask worker status` lists it)
KEEP_PROCESSED = timedelta(days=7)
SCHEDULER_SECONDS = 15.0  # how often the scheduler thread looks for due periodic jobs
SCORED = {"question_posted", "answer_posted", "comment_posted", "post_edited"}
POSTS = {"question": Question, "answer": Answer, "comment": Comment}


def _claim(limit: int) -> list[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(
            OutboxEvent.processed_at.is_(None),
            OutboxEvent.available_at <= utcnow(),
            OutboxEvent.attempts < MAX_ATTEMPTS,
        )
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def _consume(rows: list[OutboxEvent]) -> None:
    from .services import badges, reputation
    from .services.moderation import apply_judgement, judge_posts

    # The index first, while the transaction has only read; then every post is judged
    # (reading only, all the batch's sentences through the scorer at once) before any
    # judgement is written: on SQLite the write lock, which posting waits for, is then held
    # just for the short writes at the end.
    sync_threads(db.session, [row.question_id for row in rows])
    posts = []
    for row in rows:
        if row.kind in SCORED and row.post:
            kind, _, post_id = row.post.partition(":")
            post = db.session.get(POSTS[kind], int(post_id))
            if post is not None and post.deleted_at is None:
                posts.append(post)
    for judgement in judge_posts(posts) if posts else []:
        apply_judgement(judgement)
    threads = [row.question_id for row in rows]
    reputation.reconcile(threads)
    badges.award(badges.authors_of([row.post for row in rows]))


def process_batch(limit: int = BATCH) -> int:
    """Claim and consume up to `limit` pending rows; returns how many were claimed. Commits.

    A failing batch is retried row by row, so one bad row cannot hold back the others; a
    failing row backs off and is retried later."""
    rows = _claim(limit)
    if not rows:
        db.session.rollback()
        return 0
    ids = [row.id for row in rows]
    try:
        _consume(rows)
        _mark_processed(ids)
        db.session.commit()
        _to_embed.update(row.question_id for row in rows)
    except Exception as error:
        db.session.rollback()
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            raise  # the database went away: the caller waits and tries again
        if len(ids) == 1:
            _fail(ids[0], error)
        else:
            for _ in ids:
                process_batch(1)
    return len(ids)


def _mark_processed(ids: list[int]) -> None:
    db.session.execute(
        update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(processed_at=utcnow())
    )


def _fail(row_id: int, error: Exception) -> None:
    log.exception("Outbox row %s failed", row_id, exc_info=error)
    row = db.session.get(OutboxEvent, row_id)
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    row.available_at = utcnow() + timedelta(seconds=min(3600, 2**row.attempts))
    db.session.commit()


NOTIFY_BATCH = 50
NOTIFY_POLL = 0.02  # the lane looks this often: a look is one indexed query


def notify_batch(limit: int = NOTIFY_BATCH) -> int:
    """The notification lane: tell people about up to `limit` rows not yet told, in order,
    and move the lane's cursor (`notified_at`) in the same commit. Returns how many rows were
    claimed. A row whose delivery fails on its own is logged and passed over, so that one bad
    row cannot silence everyone after it."""
    from .services import notifications

    query = (
        select(OutboxEvent)
        .where(OutboxEvent.notified_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(query))
    if not rows:
        db.session.rollback()
        return 0
    ids = [row.id for row in rows]
    try:
        planned = notifications.plan(rows)
        take_write_lock(db.session)  # people are waiting: do not queue behind posting
        notifications.write(planned)
        _mark_notified(ids)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if isinstance(error, (OperationalError, sqlite3.OperationalError)):
            raise  # the database is away or locked, not this row: the lane tries again
        if len(ids) > 1:
            for _ in ids:
                notify_batch(1)
        else:
            log.exception("Notifications for outbox row %s failed; passed over", ids[0])
            _mark_notified(ids)
            db.session.commit()
    return len(ids)


@cache
def _untold_statement():
    return select(OutboxEvent.id).where(OutboxEvent.notified_at.is_(None)).limit(1)


def anything_to_tell() -> bool:
    """Whether a row waits for the notification lane: the lane's look while idle (fifty a
    second), one indexed statement through the driver alone. Looking with the ORM's query,
    as `notify_batch` claims rows, kept 8.6% of a core busy on an idle site."""
    found = read_plain(_untold_statement(), {})
    db.session.rollback()
    return bool(found)


def _mark_notified(ids: list[int]) -> None:
    db.session.execute(
        update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(notified_at=utcnow())
    )


def drain(limit: int = 100_000) -> int:
    """Consume everything pending now, notifications and embeddings included (tests,
    commands, the end of an import)."""
    while notify_batch():
        pass
    done = 0
    while done < limit:
        claimed = process_batch()
        if not claimed:
            break
        done += claimed
    while embed_some(EMBED_SLICE):
        pass
    return done


# Embeddings take tens of milliseconds a thread: they are made after the batch that changed
# the thread has committed (its index entry and notifications are out), a few threads per
# turn of the loop, so they never hold up the next batch. A worker killed with threads still
# queued leaves them to the minute's repair (recently active threads with no embedding) or
# to the thread's next change.
EMBED_SLICE = 16
_to_embed: set[int] = set()


def embed_some(limit: int) -> int:
    """Embed up to `limit` queued threads. Commits. Returns how many were taken."""
    from . import embeddings

    if not embeddings.enabled():
        _to_embed.clear()
        return 0
    taken = sorted(_to_embed)[:limit]
    if not taken:
        return 0
    _to_embed.difference_update(taken)
    embeddings.embed_threads(db.session, taken)
    db.session.commit()
    return len(taken)


def timed_jobs(now=None) -> dict[str, object]:
    """The jobs that run by the clock, not by the outbox: those due and claimed by this
    worker (`forum.scheduler`: once per period across every host), and this process's own
    look for threads that lack an embedding. Commits."""
    from . import scheduler

    results = scheduler.run_due(now)
    queue_missing_embeddings()
    return results


def queue_missing_embeddings() -> None:
    """Queue recently active threads that lack an embedding (a worker killed before making
    one), in this process: the outbox lane makes them a few at a time."""
    from .embeddings import missing_recent

    _to_embed.update(missing_recent())


def send_mail() -> int:
    from . import mail

    return mail.send_pending()


def _carry_on(job: Callable[[], object]) -> None:
    """Run a side job; a bug in it is logged, and the outbox keeps being consumed. The
    database going away is left to the caller, which waits for it."""
    try:
        job()
    except DBAPIError:
        raise
    except Exception:
        db.session.rollback()
        log.exception("%s failed; carrying on", getattr(job, "__name__", job))


def purge_processed() -> int:
    """Drop rows processed (and told) more than KEEP_PROCESSED ago. Commits."""
    gone = db.session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.processed_at < utcnow() - KEEP_PROCESSED,
            OutboxEvent.notified_at.is_not(None),
        )
    ).rowcount
    db.session.commit()
    return gone


def pending_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count(OutboxEvent.id)).where(OutboxEvent.processed_at.is_(None))
    )


def run(
    poll: float = 0.1,
    should_stop: Callable[[], bool] = lambda: False,
    exit_with_parent: bool = False,
    lane_process: bool = False,
    nice: int = 0,
) -> None:
    """Consume the outbox until told to stop. When the database goes away it waits, with a
    growing pause, and carries on when it is back.

    Notifications have a lane of their own (their own cursor and session), so a long indexing
    batch never keeps people waiting. `lane_process` (the `flask worker` command) runs that
    lane in a child process: as a thread it would share Python's lock with the indexing, and
    wait for it at each of its database calls. The child dies with the worker, even killed,
    and is started again if it dies alone.

    `nice`: the outbox lane and the periodic jobs then run at that lower priority (Linux
    gives each thread its own, and threads and processes started later inherit it). The
    notification lane is started before, at the normal one; should it die, it is started
    again from the outbox lane, at that lane's priority."""
    app = current_app._get_current_object()
    lane = NotificationLane(app, poll, process=lane_process)
    lane.start()
    if nice:
        os.nice(nice)
    clock = SchedulerLane(app)
    clock.start()

    def between_batches() -> None:
        lane.keep_alive()
        clock.keep_alive()

    try:
        _outbox_lane(poll, should_stop, exit_with_parent, between_batches)
    finally:
        clock.stop()
        lane.stop()


class SchedulerLane:
    """The periodic jobs (`forum.scheduler`) in a thread beside the outbox lane, so a long one
    (the scan reads every unanswered thread, the drift check every thread's revision) never
    holds up indexing; started again if it dies. It looks for due jobs every
    SCHEDULER_SECONDS; claiming one that is not due changes nothing. (As a child process of
    its own, the bench found answers findable later, not sooner.)"""

    def __init__(self, app):
        self.app = app
        self._stop = threading.Event()
        self._runner: threading.Thread | None = None

    def start(self) -> None:
        self._runner = threading.Thread(
            target=_scheduler_lane, args=(self.app, self._stop), name="scheduler", daemon=True
        )
        self._runner.start()

    def keep_alive(self) -> None:
        if self._runner is not None and not self._runner.is_alive() and not self._stop.is_set():
            log.warning("The scheduler stopped; starting it again.")
            self.start()

    def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.join(timeout=30)


def name_process(name: str) -> None:
    """Give this process a name of its own (what `ps` and psutil show, Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(15, name.encode()[:15])  # PR_SET_NAME
    except OSError:
        pass


def _scheduler_lane(app, stop: threading.Event) -> None:
    from . import scheduler

    pause = SCHEDULER_SECONDS
    while not stop.is_set():
        with app.app_context():
            try:
                scheduler.run_due()
                pause = SCHEDULER_SECONDS
            except DBAPIError as error:
                db.session.rollback()
                log.warning("Database unavailable for the periodic jobs (%s)", error)
                pause = min(pause * 2, 60.0)
            except Exception:
                db.session.rollback()
                log.exception("The periodic jobs failed; trying again")
            finally:
                db.session.remove()
        stop.wait(pause)


class NotificationLane:
    """The notification lane, as a thread of this process or as a process of its own.

    The process is a new interpreter (`flask worker notify-lane`), not a fork of this one:
    a forked child would inherit this process's SQLite state (its connections and the locks
    it believes it holds), and a lane started again while another thread here is writing
    could then wait on a lock that nobody in it holds."""

    def __init__(self, app, poll: float, process: bool):
        self.app, self.poll, self.process = app, poll, process
        self._stop = threading.Event()
        self._runner: threading.Thread | subprocess.Popen | None = None

    def start(self) -> None:
        if self.process:
            command = [sys.executable, "-m", "flask", "--app", "forum:create_app", "worker"]
            self._runner = subprocess.Popen(
                [*command, "notify-lane", "--poll", str(self.poll)],
                preexec_fn=_dies_with(os.getpid()),
            )
            return
        self._runner = threading.Thread(
            target=_notification_lane,
            args=(self.app, self.poll, self._stop),
            name="notifications",
            daemon=True,
        )
        self._runner.start()

    def _alive(self) -> bool:
        if isinstance(self._runner, subprocess.Popen):
            return self._runner.poll() is None
        return self._runner is not None and self._runner.is_alive()

    def keep_alive(self) -> None:
        if self._runner is not None and not self._alive() and not self._stop.is_set():
            log.warning("The notification lane stopped; starting it again.")
            self.start()

    def stop(self) -> None:
        self._stop.set()
        if isinstance(self._runner, threading.Thread):
            self._runner.join(timeout=10)
        elif self._runner is not None:
            self._runner.terminate()
            try:
                self._runner.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._runner.kill()


def _dies_with(parent: int) -> Callable[[], None]:
    """For a child process, before it runs its program: be killed when `parent` dies, even
    by SIGKILL, from the first instruction on (Linux; elsewhere nothing). Prepared here, so
    the child only calls a function (no imports between fork and exec)."""
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        return lambda: None
    getppid, exit_now = os.getppid, os._exit

    def in_child() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, kept across exec
        if getppid() != parent:  # the parent died before that: go now
            exit_now(0)

    return in_child


def notification_process(poll: float) -> None:
    """The notification lane as a process of its own (`flask worker notify-lane`, started by
    the worker): it dies with the worker, even killed, and stops on SIGTERM."""
    die_with_parent()
    name_process("forum-notify")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which stops us
    _notification_lane(current_app._get_current_object(), poll, stop)


def _notification_lane(app, poll: float, stop: threading.Event) -> None:
    with app.app_context():
        pause = poll
        try:
            while not stop.is_set():
                try:
                    told = notify_batch() if anything_to_tell() else 0
                except DBAPIError as error:
                    db.session.rollback()
                    log.warning(
                        "Database unavailable (%s); notifying again in %.1f s", error, pause
                    )
                    stop.wait(pause)
                    pause = min(pause * 2, 5.0)
                    continue
                except Exception:
                    db.session.rollback()
                    log.exception("The notification lane failed; carrying on")
                    told = 0
                pause = poll
                if not told:
                    stop.wait(min(poll, NOTIFY_POLL))
        finally:
            db.session.remove()


def _outbox_lane(
    poll: float,
    should_stop: Callable[[], bool],
    exit_with_parent: bool,
    between_batches: Callable[[], None] = lambda: None,
) -> None:
    parent = os.getppid()
    pause = poll
    last_embed_check = 0.0
    while not should_stop():
        if exit_with_parent and os.getppid() != parent:
            log.info("The process that started the worker is gone; stopping.")
            return
        between_batches()
        try:
            claimed = process_batch()
            _carry_on(send_mail)
            _carry_on(lambda: embed_some(EMBED_SLICE))
            if time.monotonic() - last_embed_check > 60:
                _carry_on(queue_missing_embeddings)
                last_embed_check = time.monotonic()
        except DBAPIError as error:
            db.session.rollback()
            log.warning("Database unavailable (%s); retrying in %.1f s", error, pause)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
            continue
        pause = poll
        if not claimed:
            time.sleep(poll)
