"""Flag rules as pure functions: what to flag, and how urgent it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from .sentiment import FLAG_THRESHOLD

KINDS = ("negative", "unanswered", "report", "spam", "needs_staff")
# An angry customer in public outranks a quiet thread that is merely overdue.
SEVERITY = {"negative": 4.0, "spam": 3.5, "report": 3.0, "needs_staff": 3.0, "unanswered": 1.5}


@dataclass(frozen=True)
class FlagDecision:
    kind: str
    reasons: tuple[str, ...]
    severity: float  # 0..1 within its kind


def negative_flag(
    thread_score: float, reasons: list[str], bar: float = FLAG_THRESHOLD
) -> FlagDecision | None:
    if thread_score < bar:
        return None
    return FlagDecision("negative", tuple(reasons[:5]), thread_score)


def unanswered_flag(
    created_at: datetime, answer_count: int, now: datetime, sla_hours: float
) -> FlagDecision | None:
    """A thread with no answer once it is past the service level."""
    waited = now - created_at
    if answer_count or waited < timedelta(hours=sla_hours):
        return None
    hours = waited.total_seconds() / 3600
    return FlagDecision(
        "unanswered",
        (f"No answer after {hours:.0f} hours (service level {sla_hours:g} h).",),
        min(1.0, hours / (sla_hours * 4)),
    )


def needs_staff_flag(
    negative_since: datetime | None, staff_replied: bool, now: datetime, sla_hours: float
) -> FlagDecision | None:
    """A negative thread that staff have not answered within the service level."""
    if negative_since is None or staff_replied:
        return None
    if now - negative_since < timedelta(hours=sla_hours):
        return None
    return FlagDecision("needs_staff", ("Negative thread with no staff reply.",), 0.8)


LINK = re.compile(r"https?://", re.IGNORECASE)


def spam_signals(text: str, account_age: timedelta, repeated: bool) -> FlagDecision | None:
    """Simple signals: a new account, many links, the same text posted again."""
    reasons = []
    links = len(LINK.findall(text or ""))
    if links >= 3:
        reasons.append(f"{links} links in one post.")
    if repeated:
        reasons.append("The same text was posted before.")
    if reasons and account_age < timedelta(days=2):
        reasons.append("New account.")
    if len(reasons) < 2:
        return None
    return FlagDecision("spam", tuple(reasons), min(1.0, len(reasons) / 3))


def priority(kind: str, severity: float, hours_past_sla: float, views: int) -> float:
    """Higher first: the kind's weight, how bad, how overdue, how many saw it."""
    return round(
        SEVERITY.get(kind, 1.0) * (1 + severity)
        + min(hours_past_sla, 72) / 24
        + min(views, 5000) ** 0.5 / 20,
        3,
    )
