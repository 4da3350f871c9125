"""Settings for Crowd Answers, read from the environment when the app is created."""

from __future__ import annotations

import os
import secrets
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


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() not in ("0", "false", "no", "")


def _cache_settings(url: str) -> dict:
    if url.startswith("redis://"):
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url, "CACHE_KEY_PREFIX": "forum:"}
    return {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}


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

    secure_cookies = _flag("FORUM_SECURE_COOKIES", env == "production")
    return {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "FORUM_DATABASE_URL", f"sqlite:///{instance / 'forum.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SEARCH_INDEX_DIR": os.environ.get("FORUM_SEARCH_INDEX", str(instance / "search-index")),
        # Flask-Limiter: memory:// for one process, redis://host:6379 for several.
        "RATELIMIT_STORAGE_URI": os.environ.get("FORUM_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_REGISTER": os.environ.get("FORUM_RATELIMIT_REGISTER", "10 per hour"),
        "RATELIMIT_LOGIN": os.environ.get("FORUM_RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_POST": os.environ.get("FORUM_RATELIMIT_POST", "20 per minute"),
        "RATELIMIT_COMMENT": os.environ.get("FORUM_RATELIMIT_COMMENT", "30 per minute"),
        "RATELIMIT_VOTE": os.environ.get("FORUM_RATELIMIT_VOTE", "60 per minute"),
        # werkzeug method string; scrypt is the strong default.
        "PASSWORD_HASH_METHOD": os.environ.get("FORUM_PASSWORD_HASH_METHOD", "scrypt"),
        # Moderation: hours before an unanswered thread is flagged, reports that hide a post,
        # and the priority from which an open flag counts as urgent in the staff header.
        "MODERATION_SLA_HOURS": float(os.environ.get("FORUM_SLA_HOURS", "24")),
        "REPORTS_TO_HIDE": int(os.environ.get("FORUM_REPORTS_TO_HIDE", "3")),
        "URGENT_FLAG_PRIORITY": float(os.environ.get("FORUM_URGENT_FLAG_PRIORITY", "6")),
        "QUESTIONS_PER_PAGE": int(os.environ.get("FORUM_QUESTIONS_PER_PAGE", "20")),
        # Flask-Caching: in-process by default, Redis (redis://host:6379/1) for several servers.
        **_cache_settings(os.environ.get("FORUM_CACHE_URL", "")),
        # Seconds a question list's total count may lag behind new questions.
        "LIST_COUNT_CACHE_SECONDS": int(os.environ.get("FORUM_LIST_COUNT_CACHE_SECONDS", "30")),
        # Seconds an anonymous reader's rendering of a thread is kept (0: never cached). A
        # change to the thread makes a new one at once; this only ages the "2 hours ago"s.
        "THREAD_CACHE_SECONDS": int(os.environ.get("FORUM_THREAD_CACHE_SECONDS", "60")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies in production; FORUM_SECURE_COOKIES=0 only for plain-HTTP setups such
        # as the loopback benchmark.
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
