"""Errors that services raise; one handler in forum.errors maps them to 400/403/404."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ServiceError):
    status_code = 400

    @classmethod
    def together(cls, problems: list[InvalidInput]) -> InvalidInput:
        """Every problem of a form at once: the first's message, all of them in `problems`,
        so a form can show each beside its field after one submit."""
        error = cls(problems[0].message, problems[0].field)
        error.problems = problems
        return error

    @property
    def all(self) -> list[InvalidInput]:
        return getattr(self, "problems", [self])


class PermissionDenied(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404
