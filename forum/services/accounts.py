"""Accounts: registration, sign-in checks, password changes and staff creation."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import bindparam, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import as_loaded, db, insert_unless_taken, read_plain
from ..models import LoginSession, Role, User, utcnow
from .errors import InvalidInput

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(str(exc), field="email") from exc
    return result.normalized.lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.", field="password"
        )


def register_user(email: str, display_name: str, password: str, role: Role = Role.CUSTOMER) -> User:
    """Create an account (anyone may call it; roles above customer come from the CLI). Two
    registrations of one address at once make one account and one clear refusal: the insert
    does nothing on a conflict. The caller commits."""
    email = normalise_email(email)
    display_name = display_name.strip()
    if not 2 <= len(display_name) <= 80:
        raise InvalidInput("Display names are 2 to 80 characters.", field="display_name")
    _check_password(password)
    if find_user_by_email(email) is not None:
        raise InvalidInput("An account with this e-mail address already exists.", field="email")
    user_id = db.session.scalar(
        insert_unless_taken(
            User,
            {
                "email": email,
                "display_name": display_name,
                "password_hash": _hash(password),
                "role": Role(role).value,
                "active": True,
                "created_at": utcnow(),
            },
        ).returning(User.id)
    )
    if user_id is None:
        raise InvalidInput("An account with this e-mail address already exists.", field="email")
    return db.session.get(User, user_id)


_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash of nothing anyone knows, made once per method: checked for unknown accounts so
    they cost exactly what a wrong password costs (one hash, not two)."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Reads only."""
    user = find_user_by_email(email)
    usable = user is not None and user.password_hash and user.active
    matches = check_password_hash(user.password_hash if usable else _dummy_hash(), password)
    return user if usable and matches else None


def change_password(user: User, current_password: str, new_password: str) -> None:
    """The signed-in user replaces their own password; every other sign-in of theirs ends.
    The caller commits."""
    if not user.password_hash or not check_password_hash(user.password_hash, current_password):
        raise InvalidInput("Your current password is not right.", field="current_password")
    _check_password(new_password)
    user.password_hash = _hash(new_password)
    end_sessions(user, keep=user.login_token)


# Sign-ins ------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, user_agent: str = "") -> str:
    """Record a new sign-in for `user` and give it to them (user.login_token). The caller
    commits, then hands the user to Flask-Login."""
    token = secrets.token_urlsafe(32)
    days = current_app.config["LOGIN_SESSION_DAYS"]
    db.session.add(
        LoginSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            user_agent=(user_agent or "")[:200],
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    user.login_token = token
    return token


def end_session(user: User) -> None:
    """Sign out this sign-in (the one the user came with). The caller commits."""
    if user.login_token:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == _token_hash(user.login_token))
            .values(revoked_at=utcnow())
        )


def end_sessions(user: User, keep: str | None = None) -> int:
    """Sign out all of the user's sign-ins but `keep` (a token); how many ended. The caller
    commits."""
    query = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if keep:
        query = query.where(LoginSession.token_hash != _token_hash(keep))
    return db.session.execute(query.values(revoked_at=utcnow())).rowcount


# The user's columns by attribute name, for `signed_in_user`.
_USER_ATTRIBUTES = tuple(attribute.key for attribute in User.__mapper__.column_attrs)


@functools.cache
def _signed_in_statement():
    """Built once: a request that signs in a reader runs it, and building it costs about as
    much as running it. The user's columns as a plain row (see `signed_in_user`)."""
    return (
        select(*(getattr(User, key) for key in _USER_ATTRIBUTES))
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == bindparam("user_id"),
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > bindparam("now"),
        )
    )


def signed_in_user(session_id: str) -> User | None:
    """The user behind Flask-Login's id ("<user id>:<token>") while that sign-in is live: not
    signed out, not expired, the account active. One query.

    Every signed-in request runs it, and the ORM's loading of one entity cost twice the
    statement: the row is read through the driver alone (`read_plain`), its values made
    what the columns' types make them, and made the session's `User` as if loaded
    (`as_loaded`)."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    dialect = db.session.get_bind().dialect
    now_processor, processors = _user_row_processors(dialect)
    now = utcnow()
    rows = read_plain(
        _signed_in_statement(),
        {
            "user_id": int(user_id),
            "token_hash": _token_hash(token),
            "now": now_processor(now) if now_processor else now,
        },
    )
    if not rows:
        return None
    values = {
        key: process(value) if process and value is not None else value
        for key, process, value in zip(_USER_ATTRIBUTES, processors, rows[0], strict=True)
    }
    user = as_loaded(User, values)
    user.login_token = token
    return user


_ROW_PROCESSORS: dict = {}  # dialect name -> what `_user_row_processors` gives


def _user_row_processors(dialect):
    """What the driver's values go through for the `now` parameter and each user column,
    as SQLAlchemy's own execution would put them (None: nothing). Kept per dialect name, as
    `read_plain` keeps its statements: every test's app has an engine of its own."""
    found = _ROW_PROCESSORS.get(dialect.name)
    if found is None:
        expires = LoginSession.__table__.c.expires_at.type.dialect_impl(dialect)
        columns = [User.__mapper__.columns[key] for key in _USER_ATTRIBUTES]
        found = _ROW_PROCESSORS[dialect.name] = (
            expires.bind_processor(dialect),
            tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns),
        )
    return found
