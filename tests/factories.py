"""Builders for test data, going through the same services as the site. Each builder is an
outermost caller: it commits, then lets the worker catch up, as the site would be a moment
after the action."""

from __future__ import annotations

import itertools

from forum.extensions import db
from forum.models import Product, Role
from forum.services import accounts, posting
from forum.worker import drain

_seq = itertools.count(1)


def done(result):
    """Commit what a service did and let the worker consume it; return the result."""
    db.session.commit()
    drain()
    return result


class Factory:
    PASSWORD = "correct horse battery"

    def user(self, role: Role = Role.CUSTOMER, name: str | None = None, email: str | None = None):
        n = next(_seq)
        return done(
            accounts.register_user(
                email or f"user{n}@example.com", name or f"User {n}", self.PASSWORD, role
            )
        )

    def product(self, name: str | None = None, slug: str | None = None) -> Product:
        n = next(_seq)
        product = Product(name=name or f"Product {n}", slug=slug or f"product-{n}", description="")
        db.session.add(product)
        db.session.commit()
        return product

    def question(self, author=None, product=None, title=None, body=None, tags=""):
        n = next(_seq)
        return done(
            posting.ask_question(
                author or self.user(),
                (product or self.product()).id,
                title or f"How do I reset device number {n}?",
                # (No bare numbers: VADER reads "86" as slang for throwing someone out.)
                body or f"My device stopped working after the update. What can I do? Ref {n:05d}.",
                tags,
            )
        )

    def answer(self, question, author=None, body=None):
        return done(
            posting.post_answer(
                author or self.user(), question.id, body or "Hold the button for ten seconds."
            )
        )

    def comment(self, question, author=None, body=None, answer=None):
        return done(
            posting.post_comment(
                author or self.user(),
                question.id,
                body or "Thanks, that helps.",
                answer.id if answer else None,
            )
        )
