"""The periodic jobs: each runs once per period, however many workers ask at once."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from forum import scheduler
from forum.extensions import db
from forum.models import Flag, Question, ScheduledJob, utcnow


def counting_job(name: str, every=timedelta(minutes=1), fail: bool = False):
    calls = []

    def run(now):
        calls.append(now)
        if fail:
            raise RuntimeError("the job's own bug")
        return len(calls)

    return scheduler.Job(name, every, run), calls


def test_a_job_runs_once_per_period(app):
    job, calls = counting_job("tally")
    now = utcnow()
    assert scheduler.run_due(now, jobs=[job]) == {"tally": 1}
    assert scheduler.run_due(now + timedelta(seconds=30), jobs=[job]) == {}
    assert scheduler.run_due(now + timedelta(minutes=1), jobs=[job]) == {"tally": 2}
    row = db.session.get(ScheduledJob, "tally")
    assert row.runs == 2 and row.last_error is None and row.last_finished_at is not None


def test_a_failing_job_is_recorded_and_the_others_still_run(app):
    broken, _ = counting_job("broken", fail=True)
    fine, calls = counting_job("fine")
    assert scheduler.run_due(utcnow(), jobs=[broken, fine]) == {"fine": 1}
    db.session.expire_all()
    assert "RuntimeError: the job's own bug" in db.session.get(ScheduledJob, "broken").last_error
    assert len(calls) == 1


def test_workers_asking_at_once_run_it_once(app):
    job, calls = counting_job("shared")
    now = utcnow()
    start = threading.Barrier(4)
    claimed = []

    def worker():
        with app.app_context():
            start.wait()
            claimed.append(scheduler.claim(job, now))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == [False, False, False, True]
    assert db.session.get(ScheduledJob, "shared").runs == 1


def test_the_worker_runs_the_moderation_scan_itself(app, make):
    app.config["MODERATION_SLA_HOURS"] = 24
    question = make.question()
    db.session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(created_at=utcnow() - timedelta(hours=30))
    )
    db.session.commit()
    from forum.worker import timed_jobs

    results = timed_jobs()
    assert results["moderation scan"]["unanswered"] == 1
    assert db.session.scalar(select(Flag.kind).where(Flag.question_id == question.id)) == (
        "unanswered"
    )
    assert "moderation scan" not in timed_jobs()  # not due again for a minute
