"""The service desk's figures for one product (or all) over one period, aggregated in SQL that
runs on SQLite and PostgreSQL alike.

What each figure means (the dashboard's page says the same beside it):

- Threads: questions asked in the period, neither deleted nor hidden.
- Time to first answer: from the question to its first visible answer by someone other than
  the asker (`Question.first_answer_seconds`, kept beside `first_answer_at`); to first staff
  answer likewise for staff's answers.
  Median and 90th percentile over the threads that have one; "within the service level" is
  the share of all the period's threads answered within `sla_hours`.
- Backlog: threads with no answer by anyone but the asker, now, by age.
- Resolution: a thread is solved when it has an accepted or a verified answer; it was solved
  by staff or by a customer according to who wrote that answer (the verified one if both).
- Moderation: open flags now by kind and age; time from a flag to its closing, for flags
  closed in the period; reports made in the period; posts hidden now and hidden in it.
- Sentiment: threads of each week that were flagged negative, and the time from the negative
  flag to the staff reply that closed it.
- Self-service deflection: see `services.self_service`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import aliased

from ..extensions import cache, db
from ..models import (
    ACTIVE_FLAG_STATUSES,
    Answer,
    Comment,
    Flag,
    FlagKind,
    Product,
    Question,
    Report,
    Tag,
    User,
    UTCDateTime,
    question_tags,
    utcnow,
)
from ..sql import seconds_between, whole_part
from . import reputation, self_service, site_settings
from .errors import InvalidInput
from .lifecycle import AUTO, STAFF_ROLES

PERIODS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days"}
MAX_DAYS = 3660
BACKLOG_AGES = (
    ("under 1 day", 0, 1),
    ("1–3 days", 1, 3),
    ("3–7 days", 3, 7),
    ("7–30 days", 7, 30),
    ("over 30 days", 30, None),
)
FLAG_AGES = (("under 1 day", 0, 1), ("1–7 days", 1, 7), ("over 7 days", 7, None))
STAFF_REPLIED = f"{AUTO}: staff replied"


@dataclass(frozen=True)
class Scope:
    product_id: int | None
    product_name: str
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    period: str  # "7", "30", "90" or "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    @property
    def bucket_days(self) -> int:
        """Days per bar of the trend charts: daily for two weeks, weekly up to half a year."""
        if self.days <= 14:
            return 1
        if self.days <= 186:
            return 7
        return 30 if self.days <= 1100 else 91

    @property
    def label(self) -> str:
        where = self.product_name
        if self.period in PERIODS:
            days = f"{self.start:%d %b} – {self.end:%d %b %Y}"
            return f"{where}, {PERIODS[self.period].lower()} ({days})"
        return f"{where}, {self.start:%d %b %Y} – {self.end:%d %b %Y}"


def scope_for(
    product_slug: str | None,
    period: str | None,
    start: str | None = None,
    end: str | None = None,
    today: date | None = None,
) -> Scope:
    """The scope a request asks for; a custom period with dates that do not make sense is
    refused with a message (the form shows it and keeps the dates)."""
    today = today or utcnow().date()
    product = (
        db.session.scalar(select(Product).where(Product.slug == product_slug))
        if product_slug
        else None
    )
    if product_slug and product is None:
        raise InvalidInput("There is no such product; showing all products instead.", "product")
    name = product.name if product else "All products"
    pid = product.id if product else None
    period = period or "30"
    if period in PERIODS:
        return Scope(pid, name, today - timedelta(days=int(period) - 1), today, period)
    if period != "custom":
        raise InvalidInput("Choose 7, 30 or 90 days, or dates of your own.", "period")
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise InvalidInput("Give both dates as year-month-day, e.g. 2026-01-31.", "start") from None
    if first > last:
        raise InvalidInput("The first day must come before the last.", "start")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"Choose at most {MAX_DAYS} days.", "start")
    return Scope(pid, name, first, last, "custom")


@dataclass
class Timing:
    """Times in hours, over the threads that have one."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    within_sla: float | None = None  # share of all the period's threads


@dataclass
class Bucket:
    start: date
    threads: int = 0
    answered: int = 0
    answered_in_sla: int = 0
    staff_answered: int = 0
    staff_in_sla: int = 0
    solved: int = 0
    solved_by_staff: int = 0
    solved_by_customer: int = 0
    verified: int = 0
    accepted: int = 0
    negative: int = 0
    negative_reply_median: float | None = None  # hours
    looks: int = 0
    deflected: int = 0


@dataclass
class Dashboard:
    scope: Scope
    sla_hours: float
    threads: int = 0
    first_answer: Timing = field(default_factory=Timing)
    first_staff_answer: Timing = field(default_factory=Timing)
    backlog: list[tuple[str, int]] = field(default_factory=list)
    backlog_past_sla: int = 0
    solved: int = 0
    solved_by_staff: int = 0
    solved_by_customer: int = 0
    verified: int = 0
    accepted: int = 0
    buckets: list[Bucket] = field(default_factory=list)
    open_flags: list[tuple[str, list[int]]] = field(default_factory=list)
    flag_times: list[tuple[str, Timing]] = field(default_factory=list)
    reports: int = 0
    hidden_now: int = 0
    hidden_in_period: int = 0
    negative: int = 0
    negative_reply: Timing = field(default_factory=Timing)
    looks: int = 0
    deflected: int = 0
    deflection_by_product: list[tuple[str, int, int]] = field(default_factory=list)
    contributors: list[tuple[int, str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)

    def share(self, part: int, whole: int | None = None) -> float | None:
        whole = self.threads if whole is None else whole
        return part / whole if whole else None

    # Chart series ------------------------------------------------------------------------

    def percent_per_bucket(self, figure: str) -> list[float | None]:
        """A bucket figure as a percentage of the bucket's threads (None: no threads)."""
        return [100 * getattr(b, figure) / b.threads if b.threads else None for b in self.buckets]

    @property
    def open_flag_totals(self) -> list[tuple[str, int]]:
        return [(kind.replace("_", " "), sum(ages)) for kind, ages in self.open_flags]

    @property
    def contributor_bars(self) -> list[tuple[str, int]]:
        return [(name, points) for _, name, points in self.contributors]


def build(scope: Scope, use_cache: bool = True) -> Dashboard:
    """Every figure for the scope, kept for `DASHBOARD_CACHE_SECONDS`."""
    sla = float(site_settings.value("sla_hours"))
    key = f"dashboard:{scope.product_id}:{scope.start}:{scope.end}:{sla:g}"
    seconds = current_app.config["DASHBOARD_CACHE_SECONDS"]
    if use_cache and seconds:
        kept = cache.get(key)
        if kept is not None:
            return kept
    board = Dashboard(scope=scope, sla_hours=sla)
    _threads(board)
    _timings(board)
    _backlog(board)
    _moderation(board)
    _sentiment(board)
    _deflection(board)
    _people_and_tags(board)
    if seconds:
        cache.set(key, board, timeout=seconds)
    return board


# Helpers -------------------------------------------------------------------------------------


def _in_product(board: Dashboard, query, product_column=Question.product_id):
    if board.scope.product_id is not None:
        query = query.where(product_column == board.scope.product_id)
    return query


def _of_product(board: Dashboard, query, thread_column):
    """Rows (flags, reports) of the product's threads; all of them for all products, without
    reading a thread's row for each."""
    if board.scope.product_id is None:
        return query
    return query.join(Question, Question.id == thread_column).where(
        Question.product_id == board.scope.product_id
    )


def _asked_in_scope(board: Dashboard):
    """The period's threads: asked in it, neither deleted nor hidden, in the product."""
    conditions = [
        Question.created_at >= board.scope.since,
        Question.created_at < board.scope.until,
        Question.deleted_at.is_(None),
        Question.hidden_at.is_(None),
    ]
    if board.scope.product_id is not None:
        conditions.append(Question.product_id == board.scope.product_id)
    return and_(*conditions)


def _bucket_of(board: Dashboard, column):
    width = board.scope.bucket_days * 86400.0
    start = db.bindparam(None, board.scope.since, type_=UTCDateTime)
    return whole_part(seconds_between(start, column) / width).label("bucket")


def _hours(values: list[float]) -> Timing:
    values = sorted(v / 3600 for v in values if v is not None and v >= 0)
    if not values:
        return Timing()
    p90 = (
        values[-1]
        if len(values) < 2
        else statistics.quantiles(values, n=10, method="inclusive")[-1]
    )
    return Timing(count=len(values), median=statistics.median(values), p90=p90)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# Figures -------------------------------------------------------------------------------------


def _threads(board: Dashboard) -> None:
    """Per bucket: threads, answered (within the service level), solved and by whom,
    verified, accepted, flagged negative. One grouped query."""
    sla = board.sla_hours * 3600
    solving = aliased(Answer)
    solver = aliased(User)
    first = Question.first_answer_seconds
    staff_first = Question.first_staff_answer_seconds
    solved = func.coalesce(Question.verified_answer_id, Question.accepted_answer_id)
    bucket = _bucket_of(board, Question.created_at)
    rows = db.session.execute(
        select(
            bucket,
            func.count(Question.id),
            func.count(first),
            _count_if(first <= sla),
            func.count(staff_first),
            _count_if(staff_first <= sla),
            func.count(solved),
            _count_if(solver.role.in_(STAFF_ROLES)),
            _count_if(and_(solved.is_not(None), solver.role.not_in(STAFF_ROLES))),
            func.count(Question.verified_answer_id),
            func.count(Question.accepted_answer_id),
        )
        .outerjoin(solving, solving.id == solved)
        .outerjoin(solver, solver.id == solving.author_id)
        .where(_asked_in_scope(board))
        .group_by(bucket)
    ).all()
    # Threads flagged negative: few, so counted from the flags rather than probed per thread.
    negative = (
        select(bucket, func.count(func.distinct(Question.id)))
        .join(Flag, Flag.question_id == Question.id)
        .where(_asked_in_scope(board), Flag.kind == FlagKind.NEGATIVE)
        .group_by(bucket)
    )
    flagged = dict(db.session.execute(negative).all())
    buckets = _empty_buckets(board)
    for row in rows:
        index, *figures = row
        target = buckets[min(max(int(index), 0), len(buckets) - 1)]
        for name, value in zip(BUCKET_FIGURES, [*figures, flagged.get(index, 0)], strict=True):
            setattr(target, name, getattr(target, name) + int(value or 0))
    board.buckets = buckets
    for name in ("threads", "solved", "solved_by_staff", "solved_by_customer", "verified"):
        setattr(board, name, sum(getattr(b, name) for b in buckets))
    board.accepted = sum(b.accepted for b in buckets)
    board.negative = sum(b.negative for b in buckets)


BUCKET_FIGURES = (
    "threads",
    "answered",
    "answered_in_sla",
    "staff_answered",
    "staff_in_sla",
    "solved",
    "solved_by_staff",
    "solved_by_customer",
    "verified",
    "accepted",
    "negative",
)


def _empty_buckets(board: Dashboard) -> list[Bucket]:
    width = board.scope.bucket_days
    count = -(-board.scope.days // width)
    return [Bucket(start=board.scope.start + timedelta(days=i * width)) for i in range(count)]


def _timings(board: Dashboard) -> None:
    """Median and 90th percentile of the times to first answer and to first staff answer
    (whole seconds, read from the dashboard's index; plain values, no row objects)."""

    def seconds(column) -> list[int]:
        return list(
            db.session.scalars(select(column).where(_asked_in_scope(board), column.is_not(None)))
        )

    board.first_answer = _hours(seconds(Question.first_answer_seconds))
    board.first_staff_answer = _hours(seconds(Question.first_staff_answer_seconds))
    board.first_answer.within_sla = board.share(sum(b.answered_in_sla for b in board.buckets))
    board.first_staff_answer.within_sla = board.share(sum(b.staff_in_sla for b in board.buckets))


def _age_case(column, ages, now: datetime):
    whens = []
    for label, _low, high in ages:
        if high is not None:
            whens.append((column > now - timedelta(days=high), label))
    return case(*whens, else_=ages[-1][0]).label("age")


def _backlog(board: Dashboard) -> None:
    """Threads with no answer by anyone but the asker, now, by age (whatever the period),
    and how many of them are past the service level: one grouped query."""
    now = utcnow()
    age = _age_case(Question.created_at, BACKLOG_AGES, now)
    past = Question.created_at <= now - timedelta(hours=board.sla_hours)
    query = (
        select(age, func.count(Question.id), _count_if(past))
        .where(
            Question.first_answer_at.is_(None),
            Question.deleted_at.is_(None),
            Question.hidden_at.is_(None),
        )
        .group_by(age)
    )
    rows = db.session.execute(_in_product(board, query)).all()
    counts = {label: int(n) for label, n, _ in rows}
    board.backlog = [(label, counts.get(label, 0)) for label, _, _ in BACKLOG_AGES]
    board.backlog_past_sla = sum(int(p) for _, _, p in rows)


def _moderation(board: Dashboard) -> None:
    now = utcnow()
    age = _age_case(Flag.created_at, FLAG_AGES, now)
    query = (
        select(Flag.kind, age, func.count(Flag.id))
        .where(Flag.status.in_(ACTIVE_FLAG_STATUSES))
        .group_by(Flag.kind, age)
    )
    open_counts: dict[str, dict[str, int]] = {}
    for kind, label, count in db.session.execute(_of_product(board, query, Flag.question_id)):
        open_counts.setdefault(kind, {})[label] = int(count)
    board.open_flags = [
        (kind.value, [open_counts.get(kind.value, {}).get(label, 0) for label, _, _ in FLAG_AGES])
        for kind in FlagKind
    ]
    closed = select(Flag.kind, seconds_between(Flag.created_at, Flag.closed_at)).where(
        Flag.closed_at >= board.scope.since, Flag.closed_at < board.scope.until
    )
    times: dict[str, list[float]] = {}
    for kind, seconds in db.session.execute(_of_product(board, closed, Flag.question_id)):
        times.setdefault(kind, []).append(seconds)
    board.flag_times = [(kind.value, _hours(times.get(kind.value, []))) for kind in FlagKind]
    reports = select(func.count(Report.id)).where(
        Report.created_at >= board.scope.since, Report.created_at < board.scope.until
    )
    board.reports = db.session.scalar(_of_product(board, reports, Report.question_id))
    for model in (Question, Answer, Comment):
        hidden = select(
            func.count(model.id),
            _count_if(
                and_(model.hidden_at >= board.scope.since, model.hidden_at < board.scope.until)
            ),
        ).where(model.hidden_at.is_not(None), model.deleted_at.is_(None))
        if board.scope.product_id is not None:
            # From the few hidden posts to their thread's product (never from the product's
            # many threads to their posts).
            thread = aliased(Question)
            hidden = hidden.where(
                exists().where(
                    thread.id == (model.id if model is Question else model.question_id),
                    thread.product_id == board.scope.product_id,
                )
            )
        now_count, in_period = db.session.execute(hidden).one()
        board.hidden_now += int(now_count)
        board.hidden_in_period += int(in_period or 0)


def _sentiment(board: Dashboard) -> None:
    """How fast staff replied to threads flagged negative: from the flag to the staff reply
    that closed it, by the bucket the flag was raised in."""
    bucket = _bucket_of(board, Flag.created_at)
    query = select(bucket, seconds_between(Flag.created_at, Flag.closed_at)).where(
        Flag.kind == FlagKind.NEGATIVE,
        Flag.note == STAFF_REPLIED,
        Flag.created_at >= board.scope.since,
        Flag.created_at < board.scope.until,
    )
    by_bucket: dict[int, list[float]] = {}
    for index, seconds in db.session.execute(_of_product(board, query, Flag.question_id)):
        by_bucket.setdefault(int(index), []).append(seconds)
    for index, values in by_bucket.items():
        if 0 <= index < len(board.buckets):
            board.buckets[index].negative_reply_median = _hours(values).median
    board.negative_reply = _hours([v for values in by_bucket.values() for v in values])


def _deflection(board: Dashboard) -> None:
    counts = self_service.counts_between(board.scope.start, board.scope.end)
    names = dict(db.session.execute(select(Product.id, Product.name)).all())
    by_product = self_service.summed(counts, by=1)
    for product_id, looks in sorted(by_product.items(), key=lambda item: -item[1].looks):
        if board.scope.product_id is None or product_id == board.scope.product_id:
            name = names.get(product_id, "Outside any one product")
            board.deflection_by_product.append((name, looks.looks, looks.deflected))
    width = board.scope.bucket_days
    for (day, product_id), looks in counts.items():
        if board.scope.product_id is not None and product_id != board.scope.product_id:
            continue
        index = (day - board.scope.start).days // width
        if 0 <= index < len(board.buckets):
            board.buckets[index].looks += looks.looks
            board.buckets[index].deflected += looks.deflected
    board.looks = sum(b.looks for b in board.buckets)
    board.deflected = sum(b.deflected for b in board.buckets)


def _people_and_tags(board: Dashboard) -> None:
    board.contributors = [
        (user.id, user.display_name, int(points))
        for user, points in reputation.contributors_between(
            board.scope.product_id, board.scope.since, board.scope.until, limit=10
        )
    ]
    count = func.count(Question.id)
    query = (
        select(question_tags.c.tag_id, count)
        .join(Question, Question.id == question_tags.c.question_id)
        .where(_asked_in_scope(board))
        .group_by(question_tags.c.tag_id)
        .order_by(count.desc(), question_tags.c.tag_id)
        .limit(10)
    )
    busiest = db.session.execute(query).all()
    names = dict(
        db.session.execute(
            select(Tag.id, Tag.name).where(Tag.id.in_([tag for tag, _ in busiest] or [-1]))
        ).all()
    )
    board.tags = sorted(((names[tag], int(n)) for tag, n in busiest), key=lambda t: (-t[1], t[0]))


# Export --------------------------------------------------------------------------------------

CSV_HEADER = ("section", "figure", "bucket_start", "value", "unit")


def _rounded(value: float | None, digits: int = 2):
    return "" if value is None else round(value, digits)


def rows(board: Dashboard) -> list[tuple]:
    """The figures as rows (section, figure, bucket start or "", value, unit): the CSV export
    and `flask stats` print these."""
    out: list[tuple] = []

    def total(section: str, figure: str, value, unit: str) -> None:
        out.append((section, figure, "", value, unit))

    def share(section: str, figure: str, part: int, whole: int | None = None) -> None:
        total(section, figure, _rounded(board.share(part, whole), 4), "share")

    scope = board.scope
    total("scope", "product", scope.product_name, "")
    total("scope", "first day", scope.start.isoformat(), "date")
    total("scope", "last day", scope.end.isoformat(), "date")
    total("scope", "service level", board.sla_hours, "hours")
    total("response", "threads", board.threads, "threads")
    for name, timing in (
        ("first answer", board.first_answer),
        ("first staff answer", board.first_staff_answer),
    ):
        total("response", f"{name}: threads with one", timing.count, "threads")
        total("response", f"{name}: median", _rounded(timing.median), "hours")
        total("response", f"{name}: 90th percentile", _rounded(timing.p90), "hours")
        total("response", f"{name}: within service level", _rounded(timing.within_sla, 4), "share")
    for label, n in board.backlog:
        total("backlog", f"unanswered {label}", n, "threads")
    total("backlog", "unanswered past service level", board.backlog_past_sla, "threads")
    total("resolution", "solved", board.solved, "threads")
    total("resolution", "solved by a customer's answer", board.solved_by_customer, "threads")
    total("resolution", "solved by staff's answer", board.solved_by_staff, "threads")
    share("resolution", "community resolution rate", board.solved_by_customer)
    share("resolution", "verified coverage", board.verified)
    share("resolution", "marked solved by the asker", board.accepted)
    for kind, ages in board.open_flags:
        for (label, _, _), n in zip(FLAG_AGES, ages, strict=True):
            total("moderation", f"open {kind} flags {label}", n, "flags")
    for kind, timing in board.flag_times:
        total("moderation", f"{kind} flags closed", timing.count, "flags")
        total("moderation", f"{kind} flags: median time to close", _rounded(timing.median), "hours")
    total("moderation", "reports", board.reports, "reports")
    total("moderation", "posts hidden now", board.hidden_now, "posts")
    total("moderation", "posts hidden in the period", board.hidden_in_period, "posts")
    total("sentiment", "threads flagged negative", board.negative, "threads")
    share("sentiment", "share flagged negative", board.negative)
    median = _rounded(board.negative_reply.median)
    total("sentiment", "staff reply to negative: median", median, "hours")
    total("self-service", "looks", board.looks, "visitors")
    total("self-service", "deflected", board.deflected, "visitors")
    share("self-service", "deflection rate", board.deflected, board.looks)
    for name, looks, _ in board.deflection_by_product:
        total("self-service", f"looks in {name}", looks, "visitors")
    for _, name, points in board.contributors:
        total("people", f"top contributor {name}", points, "reputation")
    for name, n in board.tags:
        total("tags", f"busiest tag {name}", n, "threads")
    for b in board.buckets:
        start = b.start.isoformat()
        for figure, value, unit in (
            ("threads", b.threads, "threads"),
            ("answered within service level", b.answered_in_sla, "threads"),
            ("solved", b.solved, "threads"),
            ("flagged negative", b.negative, "threads"),
            ("looks", b.looks, "visitors"),
            ("deflected", b.deflected, "visitors"),
        ):
            out.append(("trend", figure, start, value, unit))
    return out


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading
    apostrophe: display names and tags are people's text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(board: Dashboard) -> list[tuple]:
    return [tuple(spreadsheet_safe(v) for v in row) for row in rows(board)]
