"""Failures: what the mock refuses, said in domain terms, one class per fault.

Every layer raises these (the store a `Conflict` or `Unavailable`, the domain the rest, the HTTP
layer its protocol faults as `http.errors.ApiError`, a `Failure` too); `http.errors.answer` is
the one place that turns them into the `errors.ErrorResponse` envelope, with one wording per fault.
"""
from __future__ import annotations


class Failure(Exception):
    """A refusal; `details` names what was refused (`{"field": "meter_id"}`)."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(Failure):
    """Input the real server rejects: 400 `validation_error` naming the field."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message, {"field": field} if field else None)
        self.field = field


class NotFound(Failure):
    """A record that does not exist: 404 `not_found`, worded `<entity> <key> not found` whoever
    looked (a path id, a reference in a body); `field` names where the key came from."""

    def __init__(self, entity: str, key: str, field: str = "id") -> None:
        super().__init__(f"{entity} {key} not found", {field: key})


class Conflict(Failure):
    """A unique key already taken: 409 `already_exists`."""

    def __init__(self, field: str, value: object, what: str = "a record") -> None:
        super().__init__(f"{what} with {field} '{value}' already exists", {field: value})


class Refused(Failure):
    """A transition the record's state does not allow (finalize a voided invoice, cancel twice):
    400 `validation_error`, as the real server marks these."""


class InvalidOperation(Failure):
    """An operation on a record that can no longer take it (a top-up of a closed wallet): 400
    `invalid_operation`, the real server's `ErrInvalidOperation`."""


class Unavailable(Failure):
    """The shared store (Redis) cannot be reached: 503 `service_unavailable`, so a client retries
    instead of reading a refusal into it. Like any timeout, it does not say whether a write took
    effect (a paused Redis applies what it had received once it resumes): a retried create may
    then meet its own 409."""
