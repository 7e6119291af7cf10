"""Every error the mock sends is built here, in the served spec's `errors.ErrorResponse` shape.

A `Failure` raised anywhere under an endpoint or an admin call is answered by `answer`, one
wording per fault; Connexion's problem+json exceptions and Starlette's `HTTPException` (404 and
405 before any endpoint runs) by `from_problem` and `from_http_exception`. All end in the
Flexprice envelope `{code, message, http_status_code, details}`, so no other shape can leave
the server.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..core.failures import (
    Conflict,
    Failure,
    Invalid,
    InvalidOperation,
    NotFound,
    Refused,
    Unavailable,
)

log = logging.getLogger("mock_server")

# The `code` the real server puts beside each status.
CODES = {
    400: "validation_error",
    401: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_operation",
    406: "validation_error",
    409: "already_exists",
    413: "validation_error",
    414: "validation_error",
    415: "validation_error",
    422: "validation_error",
    431: "validation_error",
    429: "service_unavailable",
    500: "internal_error",
    503: "service_unavailable",
}
INVALID_API_KEY = "Invalid API key"


class ApiError(Failure):
    """A fault of the request itself rather than of what it asks for, answered with its own
    status: no key (401), a body too large (413) or of another media type (415), a `Prefer` the
    operation does not document."""

    def __init__(self, status: int, message: str, details: dict | None = None, code: str | None = None):
        super().__init__(message, details)
        self.status = status
        self.code = code or CODES.get(status, "invalid_operation" if status < 500 else "internal_error")


# How each domain refusal is answered: (status, code).
DOMAIN_STATUS = {Invalid: (400, "validation_error"), NotFound: (404, "not_found"),
                 Conflict: (409, "already_exists"), Refused: (400, "validation_error"),
                 InvalidOperation: (400, "invalid_operation"), Unavailable: (503, "service_unavailable")}

Shape = Callable[[int, dict], dict]  # an operation's own error schema, fitted to the envelope


def status_of(failure: Failure) -> tuple[int, str]:
    """The status and `code` a failure is answered with."""
    if isinstance(failure, ApiError):
        return failure.status, failure.code
    kind = next((k for k in type(failure).__mro__ if k in DOMAIN_STATUS), None)
    return DOMAIN_STATUS[kind] if kind is not None else (400, "invalid_operation")


def answer(failure: Failure, shape: Shape | None = None, headers: dict | None = None) -> Response:
    """The one place a failure becomes the error envelope. `shape` fits the envelope to the
    operation's own documented error body where it has one (`/rbac/roles/{id}`'s 404 map)."""
    status, code = status_of(failure)
    if status == 503:
        log.warning("answering 503: %s", failure.message)
    body = envelope(status, failure.message, code, failure.details)
    if shape is not None:
        body = shape(status, body)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def envelope(status: int, message: str, code: str | None = None, details: dict | None = None) -> dict:
    body = {"code": code or CODES.get(status, "internal_error"), "message": message, "http_status_code": status}
    if details:
        body["details"] = {key: value if isinstance(value, dict) else {"value": value} for key, value in details.items()}
    if status == 401:
        body["error"] = INVALID_API_KEY  # the real server's 401 body is `{"error": "Invalid API key"}`
    return body


def error_response(status: int, message: str, code: str | None = None, details: dict | None = None,
                   headers: dict | None = None) -> Response:
    body = orjson.dumps(envelope(status, message, code, details))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def from_problem(exc: ProblemException) -> Response:
    """Connexion's validation problems: 400 for anything about the request's content."""
    status = exc.status or 400
    message = _problem_message(exc)
    return error_response(status, message, headers=_allow_header(exc))


def from_http_exception(exc: HTTPException) -> Response:
    messages = {404: "route not found", 405: "method not allowed"}
    message = messages.get(exc.status_code, exc.detail or "request rejected")
    return error_response(exc.status_code, message, headers=exc.headers)


def internal(exc: BaseException) -> Response:
    log.error("internal error: %s", exc, exc_info=exc)  # called outside `except`: pass the traceback
    return error_response(500, "internal error in the mock: please report it", "internal_error")


def _problem_message(exc: ProblemException) -> str:
    return problem_message(str(exc.detail or exc.title or "invalid request"))


def problem_message(detail: str) -> str:
    """A validator's message as the mock words it: its first line; enum misses say so first."""
    detail = detail.split("\n", 1)[0]
    return f"unknown enum value: {detail}" if " is not one of " in detail else detail


def _allow_header(exc: ProblemException) -> dict | None:
    return dict(exc.headers) if getattr(exc, "headers", None) else None
