"""Fixtures: an app on a real database (SQLite file, or PostgreSQL when asked), clients, roles."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g

# Keep the generated secret and any index out of the checkout.
os.environ.setdefault("FORUM_INSTANCE_PATH", tempfile.mkdtemp(prefix="forum-test-instance-"))

from forum import create_app  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.search_sync import close_index  # noqa: E402

from .factories import Factory  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_shared_data(*parts: str) -> Path:
    """The path under ../shared/data, or skip (outside CI) / fail (in CI) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: these tests need the shared data sets beside the checkout"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("FORUM_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'forum.sqlite3'}"
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        pytest.exit(f"FORUM_TEST_DATABASE_URL is set but unreachable: {error}", returncode=3)
    finally:
        engine.dispose()
    return url


# The search backends the suite runs its search tests on: PostgreSQL's needs PostgreSQL.
SEARCH_BACKENDS = ["whoosh"] + (
    ["postgres"] if os.environ.get("FORUM_TEST_DATABASE_URL", "").startswith("postgresql") else []
)

TEST_CONFIG = {
    "TESTING": True,
    "ENV_NAME": "testing",
    # Cheap hashing keeps the suite fast; the scrypt default is checked in test_config.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "RATELIMIT_REGISTER": "1000 per minute",
    "RATELIMIT_LOGIN": "1000 per minute",
    "RATELIMIT_POST": "1000 per minute",
    "RATELIMIT_COMMENT": "1000 per minute",
    "RATELIMIT_VOTE": "1000 per minute",
    "RATELIMIT_LOGIN_ACCOUNT": "1000 per minute",
    "RATELIMIT_REPORT": "1000 per minute",
    "RATELIMIT_PREVIEW": "1000 per minute",
    # BM25 alone unless a test turns meaning-aware search on (tests/test_semantic.py).
    "EMBEDDINGS": False,
    "NEGATIVE_SCORER": "lexicon",  # the learned scorer has its own tests
    # Reputation's privileges have their own tests; elsewhere new accounts do everything.
    "REPUTATION_TO_DOWNVOTE": 0,
    "REPUTATION_TO_COMMENT": 0,
    "REPUTATION_TO_POST_LINKS": 0,
    "BADGES": False,  # their announcements would crowd every notification test; own tests
    "DASHBOARD_CACHE_SECONDS": 0,  # the dashboard tests change figures between views
}


@pytest.fixture(scope="session")
def _schema(database_url):
    """Build the schema once per run through the real migrations."""
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        # Drop whatever an earlier run left, whichever schema version it had.
        existing = sa.inspect(db.engine).get_table_names()
        with db.engine.begin() as conn:
            cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
            for name in existing:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"{cascade}'))
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            # The PostgreSQL search backend's own tables, where a test made them.
            if conn.scalar(sa.text("SELECT to_regclass('search_threads')")) is not None:
                conn.execute(sa.text("TRUNCATE search_threads, search_words"))
        else:
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for name in reversed(tables):
                conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
def app_config(_schema, tmp_path) -> dict:
    """Override in a test module to change settings before the app is built."""
    return {
        **TEST_CONFIG,
        "SQLALCHEMY_DATABASE_URI": _schema,
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "MAIL_DIR": str(tmp_path / "mail"),
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)

    @app.teardown_request
    def _forget_the_request(_error=None):
        # Requests in tests run inside the fixture's app context, so they share its `g`; in
        # production every request has its own. Drop what Flask-Login and Flask-WTF keep there.
        g.pop("_login_user", None)
        g.pop(app.config["WTF_CSRF_FIELD_NAME"], None)

    with app.app_context():
        yield app
        close_index(app)
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factory:
    return Factory()


TOKEN = re.compile(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"')


def csrf_token(client, url: str = "/account/login") -> str:
    page = client.get(url).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = Factory.PASSWORD, remember: bool = False):
        data = {"email": email, "password": password, "csrf_token": csrf_token(self.client)}
        if remember:
            data["remember"] = "y"
        return self.client.post("/account/login", data=data)

    def logout(self):
        return self.client.post(
            "/account/logout", data={"csrf_token": csrf_token(self.client, "/")}
        )

    def post(self, url: str, data: dict | None = None, page: str = "/", **kwargs):
        """POST a form the way a browser does: with the CSRF token from a page."""
        return self.client.post(
            url, data={**(data or {}), "csrf_token": csrf_token(self.client, page)}, **kwargs
        )


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


class StatementCounter:
    """Counts the statements this thread sends (the test client serves the request in it);
    a background thread of the app (a search merge, a worker) is not the page's doing."""

    def __init__(self):
        self.statements: list[str] = []
        self.thread = threading.get_ident()

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == self.thread:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Use as `with count_queries() as counter:`; counts SQL statements sent to the database."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        # Requests in tests share the fixture's app context and so its session; start from an
        # empty identity map, as a real request does, so counts don't depend on test setup.
        db.session.expunge_all()
        g.pop("_login_user", None)  # Flask-Login's per-request cache lives on that context too
        counter = StatementCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)

    return counting
