"""Self-service deflection: visitors who looked for an answer (searched, or saw similar
questions while asking) and did not go on to ask.

What is recorded, and no more: a random visitor id kept in the visitor's own session cookie
(no account, address or query text), the kind of step, the product it concerned and when;
only for browsers that returned the session cookie every page sets (so from a visitor's second
page on, and never for clients that keep no cookies).
A visitor's looks on one day count once, as one "look"; the look is **deflected** unless the
same visitor asked a question within 24 hours after their first look that day. The worker
rolls finished days up into `SelfServiceDay` (a day is final once the next day is over) and
deletes raw events older than `SELF_SERVICE_EVENT_DAYS`; the dashboard reads the roll-up and
works out the days not yet rolled up from the raw events the same way.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, request, session
from flask_login import current_user
from sqlalchemy import delete, select

from ..extensions import db
from ..models import SelfServiceDay, SelfServiceEvent, SiteSetting, utcnow

LOOK_KINDS = ("search", "similar")
ASKED = "asked"
WINDOW = timedelta(hours=24)
ROLLED_UP = "rolled_up:self_service"  # the last day rolled up, in site_settings
BOTS = re.compile(r"bot|crawl|spider|slurp|fetch|preview|monitor", re.IGNORECASE)
SESSION_KEY = "visitor"


def visitor_id(create: bool = True) -> str | None:
    """This visitor's random id, from their session cookie (made on first need)."""
    visitor = session.get(SESSION_KEY)
    if visitor is None and create:
        visitor = session[SESSION_KEY] = secrets.token_urlsafe(12)
    return visitor


def record(kind: str, product_id: int | None = None) -> bool:
    """Note one step of this visitor's (once per visitor, day, kind and product: typing a
    title asks for similar questions many times). Part of the caller's transaction; says
    whether anything was added."""
    if BOTS.search(request.user_agent.string or ""):
        return False
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        # Every page gives a browser its session cookie; a client that never sends it back
        # (scripts, most crawlers, load tests) is not a visitor looking for an answer.
        return False
    if kind == ASKED and not current_user.is_authenticated:
        return False
    now = utcnow()
    seen_key = f"{now.date().isoformat()}|{kind}|{product_id or 0}"
    seen = [k for k in session.get("looked", []) if k.startswith(now.date().isoformat())]
    if kind != ASKED and seen_key in seen:
        return False
    db.session.add(
        SelfServiceEvent(
            visitor=visitor_id(), kind=kind, product_id=product_id, day=now.date(), created_at=now
        )
    )
    if kind != ASKED:
        session["looked"] = [*seen, seen_key][-20:]
    return True


@dataclass
class Looks:
    looks: int = 0
    deflected: int = 0

    @property
    def rate(self) -> float | None:
        return self.deflected / self.looks if self.looks else None


def count_looks(events: Iterable[SelfServiceEvent], days: set[date]) -> dict[tuple, Looks]:
    """Looks and deflected looks by (day, product id or 0), for looks on `days`; `events`
    must also hold the asks of the day after each (the 24-hour window)."""
    firsts: dict[tuple[str, date], SelfServiceEvent] = {}
    asks: dict[str, list[datetime]] = {}
    for event in sorted(events, key=lambda e: (e.created_at, e.id or 0)):
        if event.kind == ASKED:
            asks.setdefault(event.visitor, []).append(event.created_at)
        elif event.day in days:
            firsts.setdefault((event.visitor, event.day), event)
    counts: dict[tuple, Looks] = {}
    for (visitor, day), first in firsts.items():
        entry = counts.setdefault((day, first.product_id or 0), Looks())
        entry.looks += 1
        asked = any(
            first.created_at <= at <= first.created_at + WINDOW for at in asks.get(visitor, ())
        )
        entry.deflected += 0 if asked else 1
    return counts


def _events(first_day: date, last_day: date) -> list[SelfServiceEvent]:
    return list(
        db.session.scalars(
            select(SelfServiceEvent).where(
                SelfServiceEvent.day >= first_day, SelfServiceEvent.day <= last_day
            )
        )
    )


def rolled_up_through() -> date | None:
    row = db.session.get(SiteSetting, ROLLED_UP)
    return date.fromisoformat(row.value) if row else None


def roll_up(now: datetime | None = None) -> int:
    """Roll every final day not yet rolled up into `SelfServiceDay`, then delete raw events
    past their keeping time that are rolled up. Returns the days rolled up. Idempotent: a
    day rolled up again replaces its rows. The caller commits."""
    today = (now or utcnow()).date()
    last_final = today - timedelta(days=2)  # the next day is over, so its asks are in
    through = rolled_up_through()
    first = db.session.scalar(select(db.func.min(SelfServiceEvent.day)))
    start = through + timedelta(days=1) if through else first
    rolled = 0
    if start is not None and start <= last_final:
        days = {start + timedelta(days=n) for n in range((last_final - start).days + 1)}
        counts = count_looks(_events(start, last_final + timedelta(days=1)), days)
        db.session.execute(delete(SelfServiceDay).where(SelfServiceDay.day.in_(days)))
        db.session.add_all(
            SelfServiceDay(day=day, product_id=product, looks=c.looks, deflected=c.deflected)
            for (day, product), c in counts.items()
        )
        row = db.session.get(SiteSetting, ROLLED_UP) or SiteSetting(key=ROLLED_UP)
        row.value, row.updated_at = last_final.isoformat(), utcnow()
        db.session.add(row)
        through, rolled = last_final, len(days)
    if through is not None:
        keep_from = today - timedelta(days=current_app.config["SELF_SERVICE_EVENT_DAYS"])
        db.session.execute(
            delete(SelfServiceEvent).where(
                SelfServiceEvent.day < keep_from, SelfServiceEvent.day <= through
            )
        )
    db.session.flush()
    return rolled


def counts_between(first_day: date, last_day: date) -> dict[tuple[date, int], Looks]:
    """Looks and deflected looks by (day, product id or 0) in [first_day, last_day]: rolled-up
    days from the roll-up, the rest from the raw events (provisional until rolled up)."""
    through = rolled_up_through()
    result: dict[tuple[date, int], Looks] = {}
    if through is not None:
        for row in db.session.scalars(
            select(SelfServiceDay).where(
                SelfServiceDay.day >= first_day, SelfServiceDay.day <= min(last_day, through)
            )
        ):
            result[(row.day, row.product_id)] = Looks(row.looks, row.deflected)
    live_from = max(first_day, through + timedelta(days=1)) if through else first_day
    if live_from <= last_day:
        days = {live_from + timedelta(days=n) for n in range((last_day - live_from).days + 1)}
        result.update(count_looks(_events(live_from, last_day + timedelta(days=1)), days))
    return result


def summed(counts: dict[tuple[date, int], Looks], by: int) -> dict:
    """`counts` summed by day (by=0) or by product (by=1)."""
    result: dict = {}
    for key, c in counts.items():
        entry = result.setdefault(key[by], Looks())
        entry.looks += c.looks
        entry.deflected += c.deflected
    return result
