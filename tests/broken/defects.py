"""One defect per class: each is the correct mock with exactly one rule broken.

`caught_by` names the gate checks expected to report it; the gate test asserts that at least
one of them does (and that the gate fails).
"""
from __future__ import annotations

import asyncio

from .proxy import Defect, Forward, Request, Response

KEYS = "/v1/secrets/api/keys"
HANG_SECONDS = 20.0
SLOW_SECONDS = 30.0


def is_list(request: Request) -> bool:
    return request.method == "GET" and request.path == KEYS


def is_create(request: Request) -> bool:
    return request.method == "POST" and request.path == KEYS


def is_delete(request: Request) -> bool:
    return request.method == "DELETE" and request.path.startswith(KEYS + "/")


class CreatedKeyMissingFromList(Defect):
    """The newest key never shows up in the list."""

    name, caught_by = "created_key_missing_from_list", frozenset({"read_after_write"})
    newest = ""

    def on_response(self, request: Request, response: Response) -> Response:
        if is_create(request) and response.status == 201:
            self.newest = response.json()["secret"]["id"]
        if is_list(request) and response.status == 200:
            page = response.json()
            page["items"] = [item for item in page["items"] if item["id"] != self.newest]
            response.set_json(page)
        return response


class ListedNameDiffers(Defect):
    """The list shows a name other than the one stored."""

    name, caught_by = "listed_name_differs", frozenset({"read_after_write"})

    def on_response(self, request: Request, response: Response) -> Response:
        if is_list(request) and response.status == 200:
            page = response.json()
            for item in page["items"]:
                item["name"] = item["name"].upper()
            response.set_json(page)
        return response


class DeletedKeyStillAuthenticates(Defect):
    """Revocation is not enforced: a deleted key keeps working."""

    name, caught_by = "deleted_key_still_authenticates", frozenset({"delete_means_gone"})

    def __init__(self, bootstrap_key: str) -> None:
        super().__init__(bootstrap_key)
        self.raw_by_id: dict[str, str] = {}
        self.revoked: set[str] = set()

    def on_request(self, request: Request) -> Request:
        if request.headers.get("x-api-key") in self.revoked:
            request.headers["x-api-key"] = self.bootstrap_key
        return request

    def on_response(self, request: Request, response: Response) -> Response:
        if is_create(request) and response.status == 201:
            payload = response.json()
            self.raw_by_id[payload["secret"]["id"]] = payload["api_key"]
        if is_delete(request) and response.status == 204:
            self.revoked.add(self.raw_by_id.get(request.path.rsplit("/", 1)[1], ""))
        return response


class DeleteNotPersisted(Defect):
    """Delete answers 204 but nothing is deleted."""

    name, caught_by = "delete_not_persisted", frozenset({"delete_means_gone"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if is_delete(request) and request.headers.get("x-api-key"):
            return Response(204)
        return await forward(request)


class NewKeyNotFoundOnDelete(Defect):
    """A key just created cannot be deleted: 404, as if the create never stored it."""

    name, caught_by = "new_key_not_found_on_delete", frozenset({"ensure_resource_availability", "delete_means_gone"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if is_delete(request) and request.headers.get("x-api-key"):
            return Response(404).set_json({"code": "not_found", "message": "secret not found", "http_status_code": 404})
        return await forward(request)


class UnknownDeleteIs204(Defect):
    """Deleting an id nobody created answers 204 instead of 404."""

    name, caught_by = "unknown_delete_is_204", frozenset({"delete_means_gone", "unknown_id_is_404"})

    def on_response(self, request: Request, response: Response) -> Response:
        if is_delete(request) and response.status == 404:
            return Response(204)
        return response


class LimitIgnored(Defect):
    """`limit` is dropped: every page has the default size."""

    name, caught_by = "limit_ignored", frozenset({"pagination"})

    def on_request(self, request: Request) -> Request:
        if is_list(request):
            request.query.pop("limit", None)
        return request


class OffsetIgnored(Defect):
    """`offset` is dropped: every page starts at the first key."""

    name, caught_by = "offset_ignored", frozenset({"pagination"})

    def on_request(self, request: Request) -> Request:
        if is_list(request):
            request.query.pop("offset", None)
        return request


class WrongTotal(Defect):
    """`pagination.total` is off by one."""

    name, caught_by = "wrong_total", frozenset({"pagination"})

    def on_response(self, request: Request, response: Response) -> Response:
        if is_list(request) and response.status == 200:
            page = response.json()
            page["pagination"]["total"] += 1
            response.set_json(page)
        return response


class OldestFirst(Defect):
    """Pages are in creation order instead of newest first."""

    name, caught_by = "oldest_first", frozenset({"pagination"})

    def on_response(self, request: Request, response: Response) -> Response:
        if is_list(request) and response.status == 200:
            page = response.json()
            page["items"].reverse()
            response.set_json(page)
        return response


class InvalidLimitClamped(Defect):
    """`limit=0` or `limit=5000` is silently clamped instead of rejected with 400."""

    name, caught_by = "invalid_limit_clamped", frozenset({"pagination"})

    def on_request(self, request: Request) -> Request:
        limit = request.query.get("limit", "")
        if is_list(request) and limit.lstrip("-").isdigit():
            request.query["limit"] = str(min(max(int(limit), 1), 1000))
        return request


class IntegrationKeyAccepted(Defect):
    """`type: integration` is created instead of refused."""

    name, caught_by = "integration_key_accepted", frozenset({"integration_key_rejected", "negative_data_rejection"})

    def on_request(self, request: Request) -> Request:
        body = request.json()
        if is_create(request) and isinstance(body, dict) and body.get("type") == "integration":
            request.body = request.body.replace(b'"integration"', b'"private_key"')
        return request


class ServerErrorOnEmptyName(Defect):
    """An empty name crashes the handler (500)."""

    name, caught_by = "server_error_on_empty_name", frozenset({"not_a_server_error"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        body = request.json()
        if is_create(request) and isinstance(body, dict) and body.get("name") == "":
            return Response(500).set_json({"code": "internal_error", "message": "boom", "http_status_code": 500})
        return await forward(request)


class ListAsPlainText(Defect):
    """The list is sent as text/plain."""

    name, caught_by = "list_as_plain_text", frozenset({"content_type_conformance"})

    def on_response(self, request: Request, response: Response) -> Response:
        if is_list(request) and response.status == 200:
            response.headers["content-type"] = "text/plain"
        return response


class SchemaInvalidSecret(Defect):
    """`secret.created_at` is a number, not a date-time string."""

    name, caught_by = "schema_invalid_secret", frozenset({"response_schema_conformance"})

    def on_response(self, request: Request, response: Response) -> Response:
        if is_create(request) and response.status == 201:
            payload = response.json()
            payload["secret"]["created_at"] = 1700000000
            response.set_json(payload)
        return response


class ProblemJsonErrors(Defect):
    """Errors come back as RFC 7807 problem+json instead of errors.ErrorResponse."""

    name, caught_by = "problem_json_errors", frozenset({"error_envelope", "invalid_input_is_400", "unknown_id_is_404"})

    def on_response(self, request: Request, response: Response) -> Response:
        if response.status >= 400 and response.status != 401:
            problem = {"type": "about:blank", "title": "Bad Request", "status": response.status, "detail": "invalid"}
            return Response(response.status).set_json(problem, "application/problem+json")
        return response


class WrongErrorCode(Defect):
    """400s say `internal_error` with http_status_code 500."""

    name, caught_by = "wrong_error_code", frozenset({"error_envelope", "invalid_input_is_400"})

    def on_response(self, request: Request, response: Response) -> Response:
        if response.status == 400:
            return Response(400).set_json({"code": "internal_error", "message": "bad", "http_status_code": 500})
        return response


class AuthIgnored(Defect):
    """Missing and unknown keys are let through as if they were the bootstrap key."""

    name, caught_by = "auth_ignored", frozenset({"auth_required", "ignored_auth"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        original = dict(request.headers)
        request.headers["x-api-key"] = self.bootstrap_key
        response = await forward(request)
        if response.status == 401:
            request.headers = original
            return await forward(request)
        return response


class UnauthorizedAsText(Defect):
    """401s are a bare text/plain `Unauthorized`."""

    name, caught_by = "unauthorized_as_text", frozenset({"auth_required", "error_envelope"})

    def on_response(self, request: Request, response: Response) -> Response:
        if response.status == 401:
            return Response(401, {"content-type": "text/plain"}, b"Unauthorized")
        return response


class NewKeyRejected(Defect):
    """Only the bootstrap key authenticates; keys created through the API never do."""

    name, caught_by = "new_key_rejected", frozenset({"new_key_authenticates"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if request.headers.get("x-api-key") not in (None, self.bootstrap_key):
            request.headers.pop("x-api-key")
        return await forward(request)


class HangingList(Defect):
    """Listing every key never answers in time."""

    name, caught_by = "hanging_list", frozenset({"response_time"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if is_list(request) and request.query.get("limit") == "1000":
            await asyncio.sleep(HANG_SECONDS)
        return await forward(request)


class SlowDelete(Defect):
    """Deleting an API key takes 30 s: one slow operation must cost two timeouts, not minutes."""

    name, caught_by = "slow_delete", frozenset({"response_time"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if is_delete(request):
            await asyncio.sleep(SLOW_SECONDS)
        return await forward(request)


DEFECTS: tuple[type[Defect], ...] = (
    CreatedKeyMissingFromList, ListedNameDiffers, DeletedKeyStillAuthenticates, DeleteNotPersisted,
    NewKeyNotFoundOnDelete, UnknownDeleteIs204, LimitIgnored, OffsetIgnored, WrongTotal, OldestFirst, InvalidLimitClamped,
    IntegrationKeyAccepted, ServerErrorOnEmptyName, ListAsPlainText, SchemaInvalidSecret,
    ProblemJsonErrors, WrongErrorCode, AuthIgnored, UnauthorizedAsText, NewKeyRejected, HangingList,
    SlowDelete,
)
