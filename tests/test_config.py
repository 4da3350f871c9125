"""Settings come from the environment with safe defaults; production insists on a secret."""

import subprocess
from pathlib import Path

import pytest

import config
from forum import create_app


def test_production_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="FORUM_SECRET_KEY must be set"):
        create_app({"ENV_NAME": "production"})


def test_production_refuses_to_start_without_redis(monkeypatch):
    monkeypatch.setenv("FORUM_SECRET_KEY", "s" * 64)
    monkeypatch.delenv("FORUM_CACHE_URL", raising=False)
    monkeypatch.setenv("FORUM_RATELIMIT_STORAGE", "memory://")
    with pytest.raises(config.ConfigError) as refused:
        create_app({"ENV_NAME": "production"})
    message = str(refused.value)
    assert "FORUM_RATELIMIT_STORAGE and FORUM_CACHE_URL must name a Redis server" in message
    monkeypatch.setenv("FORUM_RATELIMIT_STORAGE", "redis://127.0.0.1:6379/0")
    with pytest.raises(config.ConfigError, match="^FORUM_CACHE_URL must name a Redis"):
        create_app({"ENV_NAME": "production"})


def test_production_uses_the_given_secret_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("FORUM_SECRET_KEY", "s" * 64)
    monkeypatch.setenv("FORUM_RATELIMIT_STORAGE", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("FORUM_CACHE_URL", "redis://127.0.0.1:6379/1")
    app = create_app({"ENV_NAME": "production"})
    assert app.config["SECRET_KEY"] == "s" * 64
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_secret_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path))
    first = config.load("development")["SECRET_KEY"]
    assert len(first) == 64
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert config.load("development")["SECRET_KEY"] == first


def test_default_database_is_sqlite_in_instance_and_env_selects_another(monkeypatch, tmp_path):
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FORUM_DATABASE_URL", raising=False)
    assert config.load()["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'forum.sqlite3'}"
    monkeypatch.setenv("FORUM_DATABASE_URL", "postgresql+psycopg://u@db/forum")
    assert config.load()["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/forum"


def test_create_app_applies_overrides_last():
    app = create_app({"QUESTIONS_PER_PAGE": 7, "RATELIMIT_STORAGE_URI": "memory://"})
    assert app.config["QUESTIONS_PER_PAGE"] == 7


def test_passwords_are_hashed_with_scrypt_by_default():
    assert config.load()["PASSWORD_HASH_METHOD"] == "scrypt"


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("FORUM_SLA_HOURS", "0", "FORUM_SLA_HOURS must be from 0.01 to 8760 (got '0')"),
        ("FORUM_SLA_HOURS", "soon", "FORUM_SLA_HOURS must be a number"),
        ("FORUM_SLA_HOURS", "nan", "FORUM_SLA_HOURS must be from"),
        ("FORUM_REPORTS_TO_HIDE", "2.5", "FORUM_REPORTS_TO_HIDE must be a whole number"),
        ("FORUM_QUESTIONS_PER_PAGE", "-1", "FORUM_QUESTIONS_PER_PAGE must be from 1 to 200"),
        ("FORUM_THREAD_CACHE_SECONDS", "1e9", "FORUM_THREAD_CACHE_SECONDS must be a whole"),
        ("FORUM_RATELIMIT_LOGIN", "lots", "FORUM_RATELIMIT_LOGIN must be rules like"),
        ("FORUM_RATELIMIT_POST", "5 per fortnight", "FORUM_RATELIMIT_POST must be rules"),
    ],
)
def test_bad_settings_stop_the_start_with_the_variable_named(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app()


def test_good_settings_are_read_with_their_types(monkeypatch):
    monkeypatch.setenv("FORUM_SLA_HOURS", "0.5")
    monkeypatch.setenv("FORUM_RATELIMIT_LOGIN", "3 per minute; 10/hour")
    app = create_app()
    assert app.config["MODERATION_SLA_HOURS"] == 0.5
    assert app.config["RATELIMIT_LOGIN"] == "3 per minute; 10/hour"


def test_make_run_serves_on_the_port_and_host_asked_for():
    """`make run PORT=… HOST=…`, for machines where port 5000 is taken."""
    root = Path(__file__).resolve().parents[1]
    planned = subprocess.run(
        ["make", "-n", "run", "PORT=5057", "HOST=0.0.0.0"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "flask run --host 0.0.0.0 --port 5057" in planned
    default = subprocess.run(
        ["make", "-n", "run"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert "flask run --host 127.0.0.1 --port 5000" in default


def test_behind_a_proxy_the_client_address_comes_from_its_header(monkeypatch):
    from flask import request

    seen = {}
    for count, expected in [(0, "127.0.0.1"), (1, "203.0.113.9")]:
        app = create_app({"ENV_NAME": "testing", "PROXY_COUNT": count})

        @app.get("/whoami")
        def whoami(count=count):
            seen[count] = (request.remote_addr, request.scheme)
            return ""

        app.test_client().get(
            "/whoami",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        assert seen[count][0] == expected
    assert seen[1][1] == "https" and seen[0][1] == "http"


def test_the_postgres_search_backend_needs_postgresql():
    with pytest.raises(config.ConfigError, match="FORUM_SEARCH_BACKEND=postgres searches in"):
        create_app({"ENV_NAME": "testing", "SEARCH_BACKEND": "postgres"})
