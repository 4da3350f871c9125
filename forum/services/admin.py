"""What admins change: people's roles and accounts, and the products. Every change is a line
in the audit log (with no thread: "user:5", "product:2"). Callers commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import (
    Answer,
    AuditEntry,
    Comment,
    LoginSession,
    Product,
    Question,
    Role,
    User,
    utcnow,
)
from .accounts import end_sessions
from .errors import InvalidInput, NotFound, PermissionDenied

USERS_PER_PAGE = 50
NAME_LENGTH = (2, 120)
DESCRIPTION_LENGTH = 2000
SLUG = re.compile(r"[^a-z0-9]+")


def require_admin(user: User | None) -> User:
    if user is None or not user.is_authenticated or user.role != Role.ADMIN:
        raise PermissionDenied("Only admins can do that.")
    return user


def audit_admin(actor: User, action: str, target: str, detail: str = "") -> None:
    """A line in the audit log for a change outside any thread."""
    db.session.add(
        AuditEntry(question_id=None, actor_id=actor.id, action=action, post=target, detail=detail)
    )


def admin_log(limit: int = 100) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.question_id.is_(None))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


# People ----------------------------------------------------------------------------------------


@dataclass
class PersonRow:
    user: User
    questions: int
    answers: int
    last_sign_in: datetime | None


def find_people(text: str = "", role: str | None = None, page: int = 1) -> list[PersonRow]:
    """People whose name or e-mail contains `text`, newest first, with their activity."""
    query = select(User)
    text = text.strip().lower()
    if text:
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(func.lower(User.email).like(pattern), func.lower(User.display_name).like(pattern))
        )
    if role in set(Role):
        query = query.where(User.role == role)
    people = db.session.scalars(
        query.order_by(User.id.desc()).limit(USERS_PER_PAGE).offset((page - 1) * USERS_PER_PAGE)
    ).all()
    ids = [u.id for u in people] or [-1]

    def counts(model) -> dict[int, int]:
        return dict(
            db.session.execute(
                select(model.author_id, func.count(model.id))
                .where(model.author_id.in_(ids), model.deleted_at.is_(None))
                .group_by(model.author_id)
            ).all()
        )

    questions, answers = counts(Question), counts(Answer)
    last = dict(
        db.session.execute(
            select(LoginSession.user_id, func.max(LoginSession.created_at))
            .where(LoginSession.user_id.in_(ids))
            .group_by(LoginSession.user_id)
        ).all()
    )
    return [
        PersonRow(u, questions.get(u.id, 0), answers.get(u.id, 0), last.get(u.id)) for u in people
    ]


def person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    return user


def activity(user: User, limit: int = 20) -> dict:
    """What a person did lately, for the admin's page about them."""

    def latest(model):
        return db.session.scalars(
            select(model).where(model.author_id == user.id).order_by(model.id.desc()).limit(limit)
        ).all()

    sessions = db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user.id)
        .order_by(LoginSession.id.desc())
        .limit(10)
    ).all()
    log = db.session.scalars(
        select(AuditEntry)
        .where(or_(AuditEntry.actor_id == user.id, AuditEntry.post == f"user:{user.id}"))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    return {
        "questions": latest(Question),
        "answers": latest(Answer),
        "comments": latest(Comment),
        "sessions": sessions,
        "open_sessions": sum(1 for s in sessions if s.revoked_at is None),
        "log": log,
    }


def change_role(admin: User, user: User, role: str) -> None:
    require_admin(admin)
    if role not in set(Role):
        raise InvalidInput("Choose one of the roles.", field="role")
    if user.id == admin.id and role != Role.ADMIN:
        raise InvalidInput("You cannot take away your own admin role; ask another admin.")
    if user.role == role:
        return
    before, user.role = user.role, role
    audit_admin(admin, "role changed", f"user:{user.id}", f"{before} → {role}")


def set_active(admin: User, user: User, active: bool) -> int:
    """Deactivate (every sign-in ends at once) or reactivate an account; returns how many
    sign-ins were ended."""
    require_admin(admin)
    if user.id == admin.id and not active:
        raise InvalidInput("You cannot deactivate your own account.")
    if user.active == active:
        return 0
    user.active = active
    ended = 0 if active else end_sessions(user)
    detail = "" if active else f"{ended} sign-in(s) ended"
    audit_admin(admin, "reactivated" if active else "deactivated", f"user:{user.id}", detail)
    return ended


# Products --------------------------------------------------------------------------------------


def _clean_product(name: str, description: str) -> tuple[str, str]:
    name, description = (name or "").strip(), (description or "").strip()
    problems = []
    if not NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1]:
        problems.append(
            InvalidInput(
                f"The name must be {NAME_LENGTH[0]} to {NAME_LENGTH[1]} characters.", "name"
            )
        )
    if len(description) > DESCRIPTION_LENGTH:
        problems.append(
            InvalidInput(
                f"The description can be at most {DESCRIPTION_LENGTH} characters.", "description"
            )
        )
    if problems:
        raise InvalidInput.together(problems)
    return name, description


def _unique_slug(name: str, exclude: int | None = None) -> str:
    base = SLUG.sub("-", name.lower()).strip("-")[:100] or "product"
    slug, n = base, 2
    while db.session.scalar(
        select(Product.id).where(Product.slug == slug, Product.id != (exclude or -1))
    ):
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_product(admin: User, name: str, description: str = "") -> Product:
    require_admin(admin)
    name, description = _clean_product(name, description)
    if db.session.scalar(select(Product.id).where(func.lower(Product.name) == name.lower())):
        raise InvalidInput(f"There is already a product called {name}.", "name")
    product = Product(name=name, slug=_unique_slug(name), description=description)
    db.session.add(product)
    db.session.flush()
    audit_admin(admin, "product created", f"product:{product.id}", name)
    return product


def update_product(admin: User, product: Product, name: str, description: str) -> None:
    """Rename or describe a product; its address (slug) stays, so links keep working."""
    require_admin(admin)
    name, description = _clean_product(name, description)
    clash = db.session.scalar(
        select(Product.id).where(func.lower(Product.name) == name.lower(), Product.id != product.id)
    )
    if clash:
        raise InvalidInput(f"There is already a product called {name}.", "name")
    changes = []
    if name != product.name:
        changes.append(f"renamed {product.name} → {name}")
    if description != product.description:
        changes.append("description changed")
    if not changes:
        return
    product.name, product.description = name, description
    audit_admin(admin, "product changed", f"product:{product.id}", "; ".join(changes))


def set_archived(admin: User, product: Product, archived: bool) -> None:
    require_admin(admin)
    if product.is_archived == archived:
        return
    product.archived_at = utcnow() if archived else None
    audit_admin(
        admin, "product archived" if archived else "product restored", f"product:{product.id}"
    )


def product_or_404(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    return product


def product_counts() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(Question.product_id, func.count(Question.id))
            .where(Question.deleted_at.is_(None))
            .group_by(Question.product_id)
        ).all()
    )
