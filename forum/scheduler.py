"""The periodic jobs, run by the worker: any number of hosts may run a worker, and each job
still runs once per period.

A worker claims a due job with one compare-and-set UPDATE of its row in `scheduled_jobs`
("set the start to now where the last start is older than the period"): the database lets
exactly one of several workers asking at once see its UPDATE change the row (on PostgreSQL
the others wait for the row lock and then find the condition false; SQLite has one writer at
a time). That is the PostgreSQL advisory lock's guarantee without holding a lock while the
job runs, and the same code works on SQLite. The claim commits before the job starts, so a
job that fails or is killed waits for its next period rather than running twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import DBAPIError

from .extensions import db, insert_unless_taken
from .models import ScheduledJob, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], object]  # commits its own work


def moderation_scan(now: datetime | None = None) -> dict[str, int]:
    """The moderation scan, committing a batch at a time (`scan_in_batches`): posting never
    waits behind the whole scan. For the worker's job and `flask moderation scan`."""
    from .services.moderation import scan_in_batches

    total = {"unanswered": 0, "needs_staff": 0}
    for batch in scan_in_batches(now):
        db.session.commit()
        for kind, count in batch.items():
            total[kind] += count
    return total


def _nudges(now: datetime):
    from .services import nudges

    result = nudges.scan(now)
    db.session.commit()
    return result


def _digests(now: datetime):
    from . import mail

    return mail.send_digests(now)


def _self_service(now: datetime):
    from .services import self_service

    result = self_service.roll_up(now)
    db.session.commit()
    return result


def _search_drift(_now: datetime):
    from .search_sync import check_drift

    report = check_drift(repair=True)
    db.session.commit()
    return {kind: len(ids) for kind, ids in report.items()}


def _purge(now: datetime):
    from .services import posting_keys
    from .worker import purge_processed

    keys = posting_keys.purge(now)
    db.session.commit()
    return {"outbox rows": purge_processed(), "posting keys": keys}


JOBS = (
    Job("moderation scan", timedelta(minutes=1), moderation_scan),
    Job("nudges", timedelta(minutes=1), _nudges),
    Job("digests", timedelta(minutes=1), _digests),
    Job("self-service roll-up", timedelta(minutes=10), _self_service),
    Job("search drift check", timedelta(hours=1), _search_drift),
    Job("purge", timedelta(hours=1), _purge),
)


def claim(job: Job, now: datetime) -> bool:
    """Take this period's run of the job, if no worker has; commits the claim."""
    db.session.execute(insert_unless_taken(ScheduledJob, {"name": job.name, "runs": 0}))
    claimed = db.session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.name == job.name,
            or_(
                ScheduledJob.last_started_at.is_(None),
                ScheduledJob.last_started_at <= now - job.every,
            ),
        )
        .values(last_started_at=now, runs=ScheduledJob.runs + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def run_due(now: datetime | None = None, jobs=JOBS) -> dict[str, object]:
    """Run each job that is due and that this worker claimed; returns what each returned.
    A failing job is logged and recorded on its row; the others still run. The database
    going away is left to the caller (the worker waits for it)."""
    now = now or utcnow()
    results: dict[str, object] = {}
    for job in jobs:
        if not claim(job, now):
            continue
        error = None
        try:
            results[job.name] = job.run(now)
        except DBAPIError:
            raise
        except Exception as failure:  # noqa: BLE001 - one job's bug must not stop the rest
            db.session.rollback()
            log.exception("Scheduled job %r failed", job.name)
            error = f"{type(failure).__name__}: {failure}"[:2000]
        db.session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.name == job.name)
            .values(last_finished_at=utcnow(), last_error=error)
        )
        db.session.commit()
    return results
