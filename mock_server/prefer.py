"""The `Prefer` header, compatible with Prism, and the faults it shares a place with.

`Prefer: code=404` answers with that documented response; `example=NAME` with that named spec
example; `dynamic=true` with fresh fake data for the schema; `latency=200ms` delays this request.
Clients that cannot set headers use `__code`, `__example`, `__dynamic` query parameters, which are
removed before the handler sees the query. The middleware runs after authentication and request
validation, so a request that fails either gets that error whatever it prefers. A preferred
response bypasses the handler (the store is untouched), except a preferred code equal to the
operation's own success status without `example` or `dynamic`: that is just the normal answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .asgi import header
from .errors import ApiError
from .faults import Faults, injected_error, parse_duration, wait
from .handlers import Api, json_response
from .journal import ROUTING
from .resources import Operation

QUERY_PREFIX = b"__"


@dataclass(slots=True)
class Preferences:
    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    latency: float | None = None

    @property
    def shapes_response(self) -> bool:
        return self.code is not None or self.example is not None or self.dynamic


def parse(header: str | None, query: list[tuple[str, str]]) -> Preferences:
    """`Prefer: code=400, example=ok` and `?__code=400`; tokens this mock does not know (RFC 7240's
    `return=minimal`, ...) are ignored, as Prism ignores them."""
    found: dict[str, str] = {}
    for token in (header or "").split(","):
        name, _, value = token.partition("=")
        found[name.strip().lower()] = value.strip().strip('"')
    for name, value in query:
        found[name[2:].lower()] = value
    prefs = Preferences(example=found.get("example") or None, dynamic=found.get("dynamic", "").lower() == "true")
    if "code" in found:
        if not found["code"].isdigit() or not 100 <= int(found["code"]) <= 599:
            raise errors.validation(f"Prefer code must be an HTTP status, got {found['code']!r}", "code")
        prefs.code = int(found["code"])
    if "latency" in found:
        try:
            prefs.latency = parse_duration(found["latency"])
        except ValueError as exc:
            raise errors.validation(f"Prefer {exc}", "latency") from None
    return prefs


class PreferMiddleware:
    """Applies `Prefer` and the configured faults to requests routed to an operation."""

    def __init__(self, app: ASGIApp, api: Api, faults: Faults | None = None) -> None:
        self.app = app
        self.api = api
        self.faults = faults if faults is not None and faults.active else None
        paths = api.spec.document["paths"]
        self.operations = {
            op.operation_id: (op, paths[op.path][op.method].get("responses", {})) for op in api.model.operations
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = self.operations.get(scope.get("extensions", {}).get(ROUTING, {}).get("operation_id"))
            prefer = header(scope["headers"], b"prefer")
            if found is not None and (prefer is not None or QUERY_PREFIX in scope["query_string"] or self.faults):
                response = await self.intervene(scope, found, prefer)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def intervene(self, scope: Scope, found: tuple[Operation, dict], header: str | None) -> Response | None:
        """The response that replaces the handler's, if any; strips `__` parameters from the query."""
        op, responses = found
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        ours = [(k, v) for k, v in query if k.startswith("__")]
        if ours:
            scope["query_string"] = urlencode([(k, v) for k, v in query if not k.startswith("__")]).encode("latin-1")
        try:
            prefs = parse(header, ours)
        except ApiError as exc:
            return errors.from_api_error(exc)
        if prefs.latency is not None:
            await wait(prefs.latency)
        elif self.faults is not None:
            await wait(self.faults.delay())
        if self.faults is not None and self.faults.fails():
            return injected_error(set(responses))
        if not prefs.shapes_response:
            return None
        try:
            return self.preferred(op, responses, prefs)
        except ApiError as exc:
            return errors.from_api_error(exc)

    def preferred(self, op: Operation, responses: dict, prefs: Preferences) -> Response | None:
        code = prefs.code or op.status
        documented = sorted(responses)
        if str(code) not in responses and "default" not in responses:
            raise ApiError(400, f"Prefer code={code} is not documented for {op.operation_id}; "
                                f"documented: {', '.join(documented)}", {"code": code})
        media = self.api.spec.resolve(responses.get(str(code), responses.get("default"))).get("content", {}).get(
            "application/json") or {}
        if prefs.example is not None:
            return json_response(self.example(op, code, media, prefs.example), code)
        if code == op.status and not prefs.dynamic:
            return None
        schema = media.get("schema")
        if schema is None:
            return Response(status_code=code)
        if code >= 400:
            message = f"{op.operation_id}: status {code} requested with Prefer"
            if self.api.schemas.is_valid(errors.envelope(code, message), schema):
                return errors.error_response(code, message)
        return json_response(self.api.fake.value(schema), code)

    def example(self, op: Operation, code: int, media: dict, name: str) -> object:
        examples = {key: self.api.spec.resolve(value).get("value") for key, value in media.get("examples", {}).items()}
        if "example" in media:
            examples.setdefault("default", media["example"])
        if name not in examples:
            known = f"examples: {', '.join(examples)}" if examples else "the spec documents no examples for it"
            raise ApiError(400, f"no example named {name!r} for {op.operation_id} {code}; {known}", {"example": name})
        return examples[name]
