"""The admin endpoints under `/_mock/`, outside the served spec: reset, state, fixtures, journal,
stubs, and the billing clock (`GET|POST /_mock/clock`: `{"advance": "P1M"}` or `{"to": RFC 3339}`).

They are answered before Connexion sees the request, so they are never routed, validated,
journaled or fuzzed, and cannot collide with an API path. Without a token anyone who can reach the
mock's address can call them (the CLI binds loopback only, and refuses any other address unless
given `--admin-token` or `--no-admin`); with `token` every call needs `Authorization: Bearer
TOKEN`, compared in constant time, and the token is never logged or journaled. `--no-admin`
leaves them out, and then they are 404 like any unknown path.
"""
from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .domain import DomainError
from .fixtures import FixtureError, Fixtures, parse
from .asgi import header
from .handlers import json_response
from .journal import Journal
from .limits import BodyRejected, parse_json
from .stubs import StubError, Stubs

PREFIX = "/_mock/"
REQUEST_BODY = "request body"


class AdminMiddleware:
    def __init__(self, app: ASGIApp, fixtures: Fixtures, journal: Journal, token: str | None = None,
                 stubs: Stubs | None = None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.fixtures = fixtures
        self.store = fixtures.api.store
        self.journal = journal
        self.stubs = stubs
        self.routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("POST", "/_mock/reset"): self.reset,
            ("GET", "/_mock/state"): self.state,
            ("POST", "/_mock/fixtures"): self.load,
            ("GET", "/_mock/requests"): self.requests,
            ("DELETE", "/_mock/requests"): self.forget_requests,
            ("GET", "/_mock/clock"): self.clock,
            ("POST", "/_mock/clock"): self.move_clock,
            **({("POST", "/_mock/stubs"): self.add_stub, ("GET", "/_mock/stubs"): self.list_stubs,
                ("DELETE", "/_mock/stubs"): self.clear_stubs} if stubs is not None else {}),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        handler = self.routes.get((scope["method"], path))
        if not self.authorized(scope):
            response = errors.error_response(401, "the admin endpoints need 'Authorization: Bearer <admin token>'",
                                             "permission_denied", headers={"WWW-Authenticate": "Bearer"})
        elif handler is not None:
            response = await handler(Request(scope, receive))
        elif allowed := sorted(method for method, route in self.routes if route == path):
            response = errors.error_response(405, "method not allowed", headers={"Allow": ", ".join(allowed)})
        else:
            endpoints = ", ".join(f"{method} {route}" for method, route in self.routes)
            response = errors.error_response(404, f"no admin endpoint {path}; there are: {endpoints}")
        await response(scope, receive, send)

    def authorized(self, scope: Scope) -> bool:
        if self.expected is None:
            return True
        given = (header(scope["headers"], b"authorization") or "").encode("latin-1")
        return hmac.compare_digest(given, self.expected)

    async def reset(self, _request: Request) -> Response:
        """Back to the fixtures the mock started with; the journal is emptied too."""
        self.store.reset()
        return json_response({"records": self._counts()})

    async def state(self, _request: Request) -> Response:
        return json_response(self.fixtures.export())

    async def load(self, request: Request) -> Response:
        """More fixtures (YAML or JSON body) into the current state; a reset drops them again."""
        body = await request.body()
        try:
            loaded = self.fixtures.load([(REQUEST_BODY, parse(body.decode("utf-8", "replace"), REQUEST_BODY))])
        except FixtureError as exc:
            where = {"object": exc.object, "field": exc.field}
            return errors.error_response(400, str(exc), details={k: v for k, v in where.items() if v})
        return json_response({"loaded": loaded, "records": self._counts()})

    async def requests(self, _request: Request) -> Response:
        return json_response({"requests": self.journal.entries()})

    async def forget_requests(self, _request: Request) -> Response:
        self.journal.clear()
        return Response(status_code=204)

    async def clock(self, _request: Request) -> Response:
        return json_response(self.store.clock.describe())

    async def move_clock(self, request: Request) -> Response:
        """Forward only; every subscription period that ends on the way is billed and renewed,
        and cancellations due by then take effect, before this answers."""
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return errors.error_response(400, "the body must be JSON: {\"advance\": \"P1M\"} or {\"to\": \"<RFC 3339>\"}")
        if not isinstance(body, dict) or len({"advance", "to"} & body.keys()) != 1:
            return errors.error_response(400, 'send exactly one of {"advance": "P1M"} or {"to": "<RFC 3339>"}',
                                         details={"field": "advance"})
        clock = self.store.clock
        try:
            clock.advance(body["advance"]) if "advance" in body else clock.to(body["to"])
        except DomainError as exc:
            return errors.from_api_error(errors.from_domain(exc))
        return json_response(clock.describe())

    async def add_stub(self, request: Request) -> Response:
        """The next `times` requests of an operation answer `status` (and `body`); see `stubs.py`."""
        try:
            stub = self.stubs.add(parse_json(await request.body()))
        except BodyRejected as exc:
            return errors.error_response(exc.status, str(exc))
        except StubError as exc:
            return errors.error_response(400, str(exc), details={"field": exc.field} if exc.field else None)
        return json_response({"stub": stub.public()}, 201)

    async def list_stubs(self, _request: Request) -> Response:
        return json_response({"stubs": self.stubs.entries()})

    async def clear_stubs(self, _request: Request) -> Response:
        self.stubs.clear()
        return Response(status_code=204)

    def _counts(self) -> dict[str, int]:
        return {name.lstrip("/"): len(records) for name, records in self.store.dump().items()}
