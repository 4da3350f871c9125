"""Settings an admin may change while the site runs (the settings page), over the values the
environment gave at start-up. Each read asks the database (one primary-key lookup), so every
web process and the worker see a change at once."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import SiteSetting, User, utcnow
from .admin import audit_admin, require_admin
from .errors import InvalidInput


@dataclass(frozen=True)
class LiveSetting:
    key: str
    config: str  # the app.config entry the environment fills
    kind: type
    low: float
    high: float
    label: str
    help: str


LIVE = {
    s.key: s
    for s in (
        LiveSetting(
            "sla_hours",
            "MODERATION_SLA_HOURS",
            float,
            0.01,
            24 * 365,
            "Service level, in hours",
            "An unanswered thread is flagged for staff after this long; the dashboard counts "
            "answers within it.",
        ),
        LiveSetting(
            "reports_to_hide",
            "REPORTS_TO_HIDE",
            int,
            1,
            1000,
            "Reports that hide a post",
            "Reports from different people that hide a post until a moderator looks at it.",
        ),
    )
}


def value(key: str):
    """The setting's value now: the admin's, else the environment's."""
    setting = LIVE[key]
    stored = db.session.scalar(select(SiteSetting.value).where(SiteSetting.key == key))
    if stored is None:
        return current_app.config[setting.config]
    return setting.kind(stored)


def overridden() -> dict[str, SiteSetting]:
    return {row.key: row for row in db.session.scalars(select(SiteSetting))}


def change(admin: User, key: str, raw: str) -> None:
    """Set a live setting (an empty value goes back to the environment's); audited. The
    caller commits."""
    require_admin(admin)
    setting = LIVE[key]
    row = db.session.get(SiteSetting, key)
    raw = (raw or "").strip()
    if raw == "":
        if row is not None:
            db.session.delete(row)
            audit_admin(admin, "setting reset", f"setting:{key}", f"back to {value_text(key)}")
        return
    try:
        parsed = setting.kind(raw)
    except ValueError:
        what = "a whole number" if setting.kind is int else "a number"
        raise InvalidInput(f"{setting.label} must be {what}.", field=key) from None
    if not setting.low <= parsed <= setting.high or parsed != parsed:
        raise InvalidInput(
            f"{setting.label} must be from {setting.low:g} to {setting.high:g}.", field=key
        )
    before = value(key)
    if parsed == before:
        return  # the form sends every setting; only a change is one
    if row is None:
        row = SiteSetting(key=key)
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = f"{parsed:g}", utcnow(), admin.id
    db.session.flush()
    audit_admin(admin, "setting changed", f"setting:{key}", f"{before:g} → {parsed:g}")


def value_text(key: str) -> str:
    return f"{current_app.config[LIVE[key].config]:g}"
