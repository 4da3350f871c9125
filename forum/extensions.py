"""Flask extensions, created unbound and attached to the app by the factory."""

import sqlite3
import time
from datetime import UTC, datetime

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


WRITE_LOCK_PATIENCE = 15.0  # seconds, as the connections' busy_timeout
_DML = ("insert", "update", "delete", "replace")


def take_write_lock(session, patience: float = WRITE_LOCK_PATIENCE) -> None:
    """On SQLite, start the transaction's writing part now (see `begin_writing`), before
    the statements that decide what to write. PostgreSQL has row locks: nothing to do."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    begin_writing(connection.connection.driver_connection, patience)


def begin_writing(raw: sqlite3.Connection, patience: float = WRITE_LOCK_PATIENCE) -> None:
    """Take SQLite's write lock for the transaction about to write, looking for it every
    millisecond. A writer left to SQLite's own wait looks again after ever longer pauses (up
    to a tenth of a second): under a steady stream of short writes it loses the race to
    those who look more often, for a second and more. Every writer looking as often makes
    the wait about as long as the writes ahead of it. Nothing to do inside a transaction."""
    if raw.in_transaction:
        return
    timeout = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + patience
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(timeout)}")


def writes(statement: str) -> bool:
    """Whether SQLite's driver would open a transaction for this statement (its first word
    is INSERT, UPDATE, DELETE or REPLACE)."""
    return statement.lstrip()[:7].lower().startswith(_DML)


def read_rows(statement, parameters: dict | None = None):
    """The rows of a statement of plain columns, on the session's connection and in its
    transaction, without the ORM's loading layer, which columns do not need (a thread page
    reads half a dozen). It sees what the session has flushed, not what it merely holds:
    for the reads of pages, which change nothing."""
    return db.session.connection().execute(statement, parameters)


_PLAIN_FORMS: dict = {}  # (statement, dialect name) -> (sql, parameter names or None, defaults)


def _plain_form(statement, dialect):
    form = _PLAIN_FORMS.get((statement, dialect.name))
    if form is None:
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup) if compiled.positional else None
        defaults = {  # the values written into the statement (a literal, say)
            name: bind.effective_value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        }
        form = (compiled.string, names, defaults)
        _PLAIN_FORMS[(statement, dialect.name)] = form
    return form


def read_plain(statement, parameters: dict) -> list[tuple]:
    """The rows of a read-only statement of plain columns as the driver gives them, on the
    session's connection and in its transaction, like `read_rows`, for the few statements
    of the pages read most (a thread page made anew runs five). SQLAlchemy's execution and
    row processing cost two to three times the driver's work on a thread of 30 answers.

    The statement is compiled once per dialect, so it must be built once (`functools.cache`)
    and take parameters the driver accepts as they are (ids, text: no bind processing). Its
    values come back unprocessed: a time is the driver's (text on SQLite: see `as_utc`), an
    enum its stored text. The engine's `before_cursor_execute` listeners still see each
    statement (the SQL-count fixture counts it)."""
    connection = db.session.connection()
    sql, names, defaults = _plain_form(statement, connection.dialect)
    values = defaults | parameters
    arguments = tuple(values[name] for name in names) if names is not None else values
    cursor = connection.connection.cursor()
    try:
        connection.dispatch.before_cursor_execute(
            connection, cursor, sql, arguments, None, False
        )
        cursor.execute(sql, arguments)
        return cursor.fetchall()
    finally:
        cursor.close()


def as_utc(value):
    """A time from `read_plain` as an aware UTC datetime: SQLite gives the text SQLAlchemy
    stored ("2026-12-04 10:00:00.123456", naive UTC), PostgreSQL an aware datetime."""
    if value is None:
        return None
    if type(value) is str:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def as_loaded(model, values: dict):
    """The session's instance of `model` with these column values (every column, the
    primary key among them), as if a query had loaded it: the one already in the session
    when there is one, else a new one put in the session with no changes pending."""
    session = db.session
    key = session.identity_key(model, values[model.__mapper__.primary_key[0].key])
    instance = session.identity_map.get(key)
    if instance is not None:
        return instance
    instance = model()
    for name, value in values.items():
        set_committed_value(instance, name, value)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def insert_unless_taken(model, values):
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike), for rows two writers
    may add at once: the unique index lets one through and the other does nothing, without
    an error that would abort its transaction. Add `.returning(...)` to learn which won."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(values).on_conflict_do_nothing()


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
# Short-lived values that are safe to serve slightly stale (list counts); shared through
# Redis when several app servers run (FORUM_CACHE_URL).
cache = Cache()
