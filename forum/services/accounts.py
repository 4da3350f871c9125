"""Accounts: registration, sign-in checks, password changes and staff creation."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Role, User
from . import events
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
    """Create an account (anyone may call it; roles above customer come from the CLI). Commits."""
    email = normalise_email(email)
    display_name = display_name.strip()
    if not 2 <= len(display_name) <= 80:
        raise InvalidInput("Display names are 2 to 80 characters.", field="display_name")
    _check_password(password)
    if find_user_by_email(email) is not None:
        raise InvalidInput("An account with this e-mail address already exists.", field="email")
    user = User(
        email=email,
        display_name=display_name,
        password_hash=_hash(password),
        role=Role(role).value,
    )
    db.session.add(user)
    db.session.commit()
    events.user_registered.send(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Reads only."""
    user = find_user_by_email(email)
    if user is None or not user.password_hash or not user.active:
        # Hash anyway so a missing account takes as long as a wrong password.
        check_password_hash(_hash("x"), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """The signed-in user replaces their own password. Commits."""
    if not user.password_hash or not check_password_hash(user.password_hash, current_password):
        raise InvalidInput("Your current password is not right.", field="current_password")
    _check_password(new_password)
    user.password_hash = _hash(new_password)
    db.session.commit()
