"""Domain errors shared by every service: a rule said no. HTTP maps them to 4xx naming the field."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a business rule."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    """The command addresses a record that does not exist."""

    status = 404


class AlreadyExists(DomainError):
    """The command would create a record that exists already."""

    status = 409


class Forbidden(DomainError):
    """The caller's roles or access groups do not allow this."""

    status = 403


class PreconditionFailed(DomainError):
    """``If-Match`` named a version that is no longer the current one (HTTP 412)."""

    status = 412

    def __init__(self, expected: int, actual: int | None) -> None:
        super().__init__(f"the record is at version {actual}, not {expected}; reload and retry", field="If-Match")
        self.actual = actual
