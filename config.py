"""Settings for Crowd Answers, read from the environment when the app is created."""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """Raised when a setting the chosen environment requires is missing."""


def _instance_dir() -> Path:
    path = Path(os.environ.get("FORUM_INSTANCE_PATH", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _development_secret(instance: Path) -> str:
    """Generate a secret once and keep it in instance/, so sessions survive restarts."""
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _number(name: str, default, kind: type, low: float, high: float):
    """A numeric setting from the environment, refused with a message naming the variable if
    it is not a number of that kind in [low, high]."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what} from {low:g} to {high:g} (got {raw!r})") from None
    if not low <= value <= high or value != value:  # value != value: NaN
        raise ConfigError(f"{name} must be from {low:g} to {high:g} (got {raw!r})")
    return value


RATE_LIMIT = re.compile(
    r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.IGNORECASE
)


def check_search_backend(settings: dict) -> None:
    if settings.get("SEARCH_BACKEND") == "postgres" and not str(
        settings["SQLALCHEMY_DATABASE_URI"]
    ).startswith("postgresql"):
        raise ConfigError(
            "FORUM_SEARCH_BACKEND=postgres searches in the forum's PostgreSQL database: set "
            "FORUM_DATABASE_URL to a postgresql+psycopg:// address, or use the whoosh backend"
        )


def check_rate_limits(settings: dict) -> None:
    """Every RATELIMIT_* rule must parse ("10 per minute;100 per hour"), or start-up stops."""
    for key, value in settings.items():
        if not key.startswith("RATELIMIT_") or key in ("RATELIMIT_STORAGE_URI",):
            continue
        if not isinstance(value, str):
            continue
        parts = [part for part in value.split(";") if part.strip()]
        if not parts or not all(RATE_LIMIT.match(part) for part in parts):
            raise ConfigError(
                f"FORUM_{key} must be rules like '10 per minute;100 per hour' (got {value!r})"
            )


def _semantic_installed() -> bool:
    from search.semantic import available

    return available()


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
    return value


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() not in ("0", "false", "no", "")


def _cache_settings(url: str) -> dict:
    if url.startswith("redis://"):
        return {
            "CACHE_TYPE": "forum.caching.ResilientRedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_KEY_PREFIX": "forum:",
            # A Redis that hangs must not hang the page: give up quickly and serve uncached.
            "CACHE_OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    return {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}


def _require_redis() -> None:
    """Production shares rate limits and the cache between processes and hosts: both in
    Redis, or start-up stops with what to set."""
    missing = [
        name
        for name in ("FORUM_RATELIMIT_STORAGE", "FORUM_CACHE_URL")
        if not os.environ.get(name, "").startswith(("redis://", "rediss://"))
    ]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} must name a Redis server when FORUM_ENV=production "
            "(e.g. redis://127.0.0.1:6379/0 for the limits, redis://127.0.0.1:6379/1 for the "
            "cache): without it each process keeps its own counts and cache, so rate limits "
            "multiply by the number of processes and a change on one host goes unseen on another"
        )


def load(env: str | None = None) -> dict:
    """Return the settings for `env` ("development", "production" or "testing")."""
    env = env or os.environ.get("FORUM_ENV", "development")
    instance = _instance_dir()
    secret = os.environ.get("FORUM_SECRET_KEY")
    if not secret:
        if env == "production":
            raise ConfigError(
                "FORUM_SECRET_KEY must be set when FORUM_ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        secret = _development_secret(instance)

    if env == "production":
        _require_redis()
    secure_cookies = _flag("FORUM_SECURE_COOKIES", env == "production")
    login_days = _number("FORUM_LOGIN_SESSION_DAYS", 30, int, low=1, high=3650)
    return {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "FORUM_DATABASE_URL", f"sqlite:///{instance / 'forum.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Proxies in front of the app (a load balancer, nginx) whose X-Forwarded-For,
        # -Proto and -Host headers are believed: 0 (the default) believes none, since a
        # client can send them itself.
        "PROXY_COUNT": _number("FORUM_PROXY_COUNT", 0, int, low=0, high=5),
        "SEARCH_INDEX_DIR": os.environ.get("FORUM_SEARCH_INDEX", str(instance / "search-index")),
        # whoosh: an index on this host's disk (one host); postgres: PostgreSQL's full-text
        # search in the forum's own database, shared by every app server.
        "SEARCH_BACKEND": _choice("FORUM_SEARCH_BACKEND", "whoosh", ("whoosh", "postgres")),
        # Flask-Limiter: memory:// for one process, redis://host:6379 for several.
        "RATELIMIT_STORAGE_URI": os.environ.get("FORUM_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # With its Redis away, the limiter keeps counting in each process's memory (the same
        # limits, per process) and logs it, instead of failing requests; it goes back to
        # Redis when Redis answers again.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        "RATELIMIT_REGISTER": os.environ.get("FORUM_RATELIMIT_REGISTER", "10 per hour"),
        # Failed sign-ins only (a sign-in that works is never counted): per address, and per
        # account from any number of addresses, stepped so that guessing slows down further.
        "RATELIMIT_LOGIN": os.environ.get("FORUM_RATELIMIT_LOGIN", "20 per minute;100 per hour"),
        "RATELIMIT_LOGIN_ACCOUNT": os.environ.get(
            "FORUM_RATELIMIT_LOGIN_ACCOUNT", "5 per minute;20 per hour"
        ),
        "RATELIMIT_POST": os.environ.get("FORUM_RATELIMIT_POST", "20 per minute"),
        "RATELIMIT_COMMENT": os.environ.get("FORUM_RATELIMIT_COMMENT", "30 per minute"),
        "RATELIMIT_VOTE": os.environ.get("FORUM_RATELIMIT_VOTE", "60 per minute"),
        "RATELIMIT_REPORT": os.environ.get("FORUM_RATELIMIT_REPORT", "10 per hour"),
        "RATELIMIT_PREVIEW": os.environ.get("FORUM_RATELIMIT_PREVIEW", "60 per minute"),
        # werkzeug method string; scrypt is the strong default.
        "PASSWORD_HASH_METHOD": os.environ.get("FORUM_PASSWORD_HASH_METHOD", "scrypt"),
        # Moderation: hours before an unanswered thread is flagged, reports that hide a post,
        # and the priority from which an open flag counts as urgent in the staff header.
        "MODERATION_SLA_HOURS": _number("FORUM_SLA_HOURS", 24.0, float, low=0.01, high=24 * 365),
        "REPORTS_TO_HIDE": _number("FORUM_REPORTS_TO_HIDE", 3, int, low=1, high=1000),
        # Self-service deflection: days the raw events (visitor id, step, product, time) are
        # kept before only the daily roll-up remains.
        "SELF_SERVICE_EVENT_DAYS": _number("FORUM_SELF_SERVICE_EVENT_DAYS", 90, int, 3, 3650),
        # How long the dashboard's figures for one product and period are kept.
        "DASHBOARD_CACHE_SECONDS": _number("FORUM_DASHBOARD_CACHE_SECONDS", 300, int, 0, 86400),
        "URGENT_FLAG_PRIORITY": _number("FORUM_URGENT_FLAG_PRIORITY", 6.0, float, low=0, high=100),
        "QUESTIONS_PER_PAGE": _number("FORUM_QUESTIONS_PER_PAGE", 20, int, low=1, high=200),
        # Flask-Caching: in-process by default, Redis (redis://host:6379/1) for several servers.
        **_cache_settings(os.environ.get("FORUM_CACHE_URL", "")),
        # Seconds a question list's total count may lag behind new questions.
        "LIST_COUNT_CACHE_SECONDS": _number(
            "FORUM_LIST_COUNT_CACHE_SECONDS", 30, int, low=0, high=86400
        ),
        # Seconds a page of a question list is kept at most; any change to a thread makes a
        # new one at once, so this only bounds renamed authors and products.
        "LIST_CACHE_SECONDS": _number("FORUM_LIST_CACHE_SECONDS", 30, int, low=0, high=86400),
        # Seconds an anonymous reader's rendering of a thread is kept (0: never cached). A
        # change to the thread makes a new one at once; this only ages the "2 hours ago"s.
        "THREAD_CACHE_SECONDS": _number("FORUM_THREAD_CACHE_SECONDS", 60, int, low=0, high=86400),
        # Seconds a post's block of a thread page is kept (0: never). A block is kept under a
        # digest of everything it shows, so it is never stale: this only bounds the memory.
        "POST_BLOCK_CACHE_SECONDS": _number(
            "FORUM_POST_BLOCK_CACHE_SECONDS", 3600, int, low=0, high=7 * 86400
        ),
        # Megabytes of post blocks each process keeps in its own memory in front of the
        # shared cache (0: none); a block's key names its content, so none is ever stale.
        "POST_BLOCK_MEMORY_MB": _number("FORUM_POST_BLOCK_MEMORY_MB", 16, int, low=0, high=4096),
        # Megabytes of thread pages each process keeps in front of the shared cache (0: none),
        # by revision and each no longer than the shared cache keeps it.
        "THREAD_PAGE_MEMORY_MB": _number("FORUM_THREAD_PAGE_MEMORY_MB", 8, int, low=0, high=4096),
        # How much the worker's outbox lane (indexing, sentiment, reputation, the periodic
        # jobs) yields the processor to the web processes on the same machine: its nice value
        # (0: none). Under a burst of posts it falls behind and catches up after, instead of
        # making each post wait; the notification lane keeps the normal priority. At 19 a
        # steady load of searches starved it (a new thread not findable within 2 s).
        "WORKER_NICE": _number("FORUM_WORKER_NICE", 10, int, low=0, high=19),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies in production; FORUM_SECURE_COOKIES=0 only for plain-HTTP setups such
        # as the loopback benchmark.
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # A sign-in (and "keep me signed in") lasts this many days unless ended sooner.
        "LOGIN_SESSION_DAYS": login_days,
        "REMEMBER_COOKIE_DURATION": timedelta(days=login_days),
        # A form's CSRF token is good for this many seconds; a new one comes with every page.
        "WTF_CSRF_TIME_LIMIT": _number("FORUM_CSRF_SECONDS", 8 * 3600, int, low=60, high=7 * 86400),
        # Hosts whose pictures posts may show inline; other pictures become links, so that
        # no outside host learns who reads a thread. Comma-separated, e.g. "i.example.com".
        "IMAGE_HOSTS": [
            h.strip() for h in os.environ.get("FORUM_IMAGE_HOSTS", "").split(",") if h.strip()
        ],
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Notifications and mail. Links in mail point at SITE_URL (the worker has no request).
        "SITE_NAME": os.environ.get("FORUM_SITE_NAME", "Crowd Answers"),
        "SITE_URL": os.environ.get("FORUM_SITE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # smtp: the server below; file: one .eml per message in MAIL_DIR (development);
        # console: printed to the worker's log; off: nothing is sent.
        "MAIL_BACKEND": _choice("FORUM_MAIL_BACKEND", "file", ("smtp", "file", "console", "off")),
        "MAIL_HOST": os.environ.get("FORUM_MAIL_HOST", "127.0.0.1"),
        "MAIL_PORT": _number("FORUM_MAIL_PORT", 25, int, low=1, high=65535),
        "MAIL_USERNAME": os.environ.get("FORUM_MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("FORUM_MAIL_PASSWORD", ""),
        "MAIL_STARTTLS": _flag("FORUM_MAIL_STARTTLS", False),
        "MAIL_FROM": os.environ.get("FORUM_MAIL_FROM", "Crowd Answers <no-reply@localhost>"),
        "MAIL_DIR": os.environ.get("FORUM_MAIL_DIR", str(instance / "mail")),
        # At most one mail per thread per person in this many minutes; the rest waits for
        # the digest, which goes at most once per DIGEST_HOURS.
        "MAIL_THREAD_PAUSE_MINUTES": _number(
            "FORUM_MAIL_THREAD_PAUSE_MINUTES", 30, int, low=0, high=7 * 1440
        ),
        "DIGEST_HOURS": _number("FORUM_DIGEST_HOURS", 24, float, low=0.01, high=24 * 31),
        # "Did this solve it?": this many days after the first answer with none accepted.
        "NUDGE_DAYS": _number("FORUM_NUDGE_DAYS", 3, float, low=0.001, high=365),
        # How long the signed one-click links in mail work.
        "MAIL_LINK_DAYS": _number("FORUM_MAIL_LINK_DAYS", 14, int, low=1, high=365),
        # Meaning-aware search and similar questions (sentence embeddings made by the worker).
        # Off by default until a search with meaning meets its latency target on a small
        # machine (BENCHMARKS.md); "on" needs the model installed (the `semantic` extra).
        "EMBEDDINGS": _choice("FORUM_EMBEDDINGS", "off", ("on", "off")) == "on"
        and _semantic_installed(),
        # How the worker scores negativity: "learned" (sentence embeddings and the lexicon's
        # readings into the trained head, moderation/negative_head.json) or "lexicon" (VADER
        # and the customer-service phrases alone). "learned" falls back to the lexicon, with
        # a warning, where the model is not installed.
        "NEGATIVE_SCORER": _choice("FORUM_NEGATIVE_SCORER", "learned", ("learned", "lexicon")),
        # Reputation from upvotes a person can gain in one day (UTC), as the peers cap it;
        # accepted and verified answers are never capped.
        "REPUTATION_DAILY_VOTE_CAP": _number(
            "FORUM_REPUTATION_DAILY_VOTE_CAP", 200, int, low=10, high=100_000
        ),
        # Privileges that reputation earns (staff need none): voting down, commenting on
        # posts that are neither yours nor in a thread you asked, and posting links (a spam
        # guard for brand-new accounts).
        "REPUTATION_TO_DOWNVOTE": _number(
            "FORUM_REPUTATION_TO_DOWNVOTE", 15, int, low=0, high=10**6
        ),
        "REPUTATION_TO_COMMENT": _number("FORUM_REPUTATION_TO_COMMENT", 5, int, low=0, high=10**6),
        "REPUTATION_TO_POST_LINKS": _number(
            "FORUM_REPUTATION_TO_POST_LINKS", 10, int, low=0, high=10**6
        ),
        # Badges, awarded by the worker and announced in the inbox; "off" for a site that
        # wants no badges.
        "BADGES": _choice("FORUM_BADGES", "on", ("on", "off")) == "on",
        # Badges: "Helpful in <product>" after this many answers there that were accepted,
        # verified or upvoted; "Good question" at this score.
        "BADGE_HELPFUL_ANSWERS": _number("FORUM_BADGE_HELPFUL_ANSWERS", 5, int, low=1, high=1000),
        "BADGE_GOOD_QUESTION_SCORE": _number(
            "FORUM_BADGE_GOOD_QUESTION_SCORE", 3, int, low=1, high=1000
        ),
        # How often an open page asks for the unread count (seconds).
        "BELL_SECONDS": _number("FORUM_BELL_SECONDS", 30, int, low=1, high=3600),
    }
