"""Domain errors: what a billing service or the store refuses, said in domain terms.

Services and the store know nothing of HTTP; `errors.from_domain` is the one place that turns
these into the `errors.ErrorResponse` envelope (400, 404, 409).
"""
from __future__ import annotations


class DomainError(Exception):
    """A refusal; `details` names what was refused (`{"field": "meter_id"}`)."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    """Input the real server rejects: 400 `validation_error` naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, {"field": field})
        self.field = field


class NotFound(DomainError):
    """A record that does not exist: 404 `not_found`."""

    def __init__(self, entity: str, key: str, field: str = "id") -> None:
        super().__init__(f"{entity} {key} not found", {field: key})


class Conflict(DomainError):
    """A unique key already taken: 409 `already_exists`."""

    def __init__(self, field: str, value: object, what: str = "a record") -> None:
        super().__init__(f"{what} with {field} '{value}' already exists", {field: value})


class Refused(DomainError):
    """A transition the record's state does not allow (finalize a voided invoice, cancel twice):
    400 `validation_error`, as the real server marks these."""


class InvalidOperation(DomainError):
    """An operation on a record that can no longer take it (a top-up of a closed wallet): 400
    `invalid_operation`, the real server's `ErrInvalidOperation`."""


class Unavailable(DomainError):
    """The shared store (Redis) cannot be reached: 503 `service_unavailable`, so a client retries
    instead of reading a refusal into it. Like any timeout, it does not say whether a write took
    effect (a paused Redis applies what it had received once it resumes): a retried create may
    then meet its own 409."""
