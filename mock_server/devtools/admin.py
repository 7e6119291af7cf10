"""The admin endpoints under `/_mock/`, outside the served spec: reset, state (with snapshots:
`GET /_mock/state/export`, `POST /_mock/state/import`, `domain/snapshots.py`), fixtures, journal,
stubs, fault rules (`/_mock/faults`, `http/faults.py`), the billing clock (`GET|POST /_mock/clock`:
`{"advance": "P1M"}` or `{"to": RFC 3339}`, `clock_moves.py`), webhook endpoints with their
deliveries (`/_mock/webhooks`, see `webhooks.py`), and the dashboard's pages (`dashboard/`).

They are answered before Connexion sees the request, so they are never routed, validated,
journaled or fuzzed, and cannot collide with an API path. Without a token anyone who can reach the
mock's address can call them (the CLI binds loopback only, and refuses any other address unless
given `--admin-token` or `--no-admin`); with a token every call needs `Authorization: Bearer
TOKEN` or the dashboard's session cookie (`admin_auth.py`), and the token is never logged or
journaled; the dashboard's pages then answer its login form instead. `--no-admin` leaves them
out, and then they are 404 like any unknown path.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.failures import Failure, Invalid
from ..http import errors
from ..http.handlers import json_response
from ..http.limits import DEFAULT_MAX_BODY, parse_json, read_body
from ..http.rule_fields import RuleReader
from ..http.stubs import SOURCE as STUBS
from ..http.stubs import Stubs
from .admin_auth import AdminAuth
from .clock_moves import move_clock
from .dashboard import Dashboard
from .fixtures import Fixtures, parse
from .journal import Journal
from .webhooks import Webhooks

PREFIX = "/_mock/"
REQUEST_BODY = "request body"
ROUTES = (  # (method, path, handler, the part it needs): what the index and a 404 list, in this order
    ("POST", "/_mock/reset", "reset", None),
    ("GET", "/_mock/state", "state", None),
    ("GET", "/_mock/state/export", "export_state", None),
    ("POST", "/_mock/state/import", "import_state", None),
    ("POST", "/_mock/fixtures", "load", None),
    ("GET", "/_mock/requests", "requests", None),
    ("DELETE", "/_mock/requests", "forget_requests", None),
    ("GET", "/_mock/clock", "clock", None),
    ("POST", "/_mock/clock", "move_clock", None),
    ("POST", "/_mock/stubs", "add_stub", "stubs"),
    ("GET", "/_mock/stubs", "list_stubs", "stubs"),
    ("DELETE", "/_mock/stubs", "clear_stubs", "stubs"),
    ("POST", "/_mock/faults", "add_fault", "faults"),
    ("GET", "/_mock/faults", "list_faults", "faults"),
    ("DELETE", "/_mock/faults", "clear_faults", "faults"),
    ("DELETE", "/_mock/faults/{id}", "remove_fault", "faults"),
    ("POST", "/_mock/webhooks", "add_webhook", "webhooks"),
    ("GET", "/_mock/webhooks", "list_webhooks", "webhooks"),
    ("DELETE", "/_mock/webhooks/{id}", "remove_webhook", "webhooks"),
    ("GET", "/_mock/webhooks/deliveries", "deliveries", "webhooks"),
    ("POST", "/_mock/webhooks/deliveries/{id}/retry", "retry_delivery", "webhooks"),
)


def endpoints(parts: set[str]) -> list[tuple[tuple[str, str], str]]:
    """The admin routes of a mock that has `parts` (stubs, faults, webhooks), with their handlers' names."""
    return [((method, path), name) for method, path, name, needs in ROUTES if needs is None or needs in parts]


class AdminMiddleware:
    def __init__(self, app: ASGIApp, fixtures: Fixtures, journal: Journal, auth: AdminAuth | None = None,
                 stubs: Stubs | None = None, webhooks: Webhooks | None = None,
                 dashboard: Dashboard | None = None, faults: RuleReader | None = None,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body
        self.auth = auth or AdminAuth()
        self.dashboard = dashboard
        self.fixtures = fixtures
        self.backend = fixtures.backend
        self.journal = journal
        self.stubs = stubs
        self.webhooks = webhooks
        self.faults = faults
        parts = {"stubs": stubs, "faults": faults, "webhooks": webhooks}
        self.routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            **{route: getattr(self, name) for route, name in endpoints({p for p, given in parts.items() if given})},
            **(dashboard.routes if dashboard is not None else {}),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        handler, params = self._route(scope["method"], path)
        if not (self.auth.allows(scope) or (self.dashboard is not None and self.dashboard.public(handler))):
            response = self.refusal(scope, path)
        elif handler is not None:
            response = await self.answer(handler, Request({**scope, "path_params": params}, receive))
        elif allowed := sorted(method for method, route in self.routes if _match(route, path) is not None):
            response = errors.error_response(405, "method not allowed", headers={"Allow": ", ".join(allowed)})
        else:
            endpoints = ", ".join(f"{method} {route}" for method, route in self.routes)
            response = errors.error_response(404, f"no admin endpoint {path}; there are: {endpoints}")
        await response(scope, receive, send)

    async def answer(self, handler: Callable[[Request], Awaitable[Response]], request: Request) -> Response:
        """The handler's answer, with the state as other processes left it. The one place the
        admin surface's refusals are answered: in the envelope, like the API's (a store that
        cannot be reached is a 503, a defect of the mock a 500)."""
        try:
            self.backend.lifecycle.sync()
            return await handler(request)
        except Failure as exc:
            return errors.answer(exc)
        except Exception as exc:  # a defect: still the envelope, and the server goes on
            return errors.internal(exc)

    async def _body(self, request: Request) -> bytes:
        """The request's body, refused (413) past the API's own limit (`--max-body`)."""
        return await read_body(request.scope, request.receive, self.max_body)

    def refusal(self, scope: Scope, path: str) -> Response:
        """The dashboard's login form for one of its pages, else the 401 envelope."""
        if self.dashboard is not None and scope["method"] == "GET" and self.dashboard.page(path):
            return self.dashboard.login_form(scope)
        return errors.error_response(401, "the admin endpoints need 'Authorization: Bearer <admin token>'",
                                     "permission_denied", headers={"WWW-Authenticate": "Bearer"})

    async def reset(self, _request: Request) -> Response:
        """Back to the fixtures the mock started with; the journal is emptied too."""
        self.backend.reset()
        return json_response({"records": self._counts()})

    async def state(self, _request: Request) -> Response:
        return json_response(self.fixtures.export())

    async def export_state(self, _request: Request) -> Response:
        """The whole state as a versioned snapshot, offered to a browser as a file to keep."""
        response = json_response(self.backend.snapshot())
        response.headers["content-disposition"] = 'attachment; filename="flexprice-mock-snapshot.json"'
        return response

    async def import_state(self, request: Request) -> Response:
        """Back to a snapshot `export_state` answered: the whole state is replaced by it."""
        loaded = self.backend.restore(parse_json(await self._body(request)))
        return json_response({"loaded": loaded, "records": self._counts()})

    async def load(self, request: Request) -> Response:
        """More fixtures (YAML or JSON body) into the current state; a reset drops them again."""
        body = await self._body(request)
        with self.backend.store.atomic():
            loaded = self.fixtures.load([(REQUEST_BODY, parse(body.decode("utf-8", "replace"), REQUEST_BODY))])
        return json_response({"loaded": loaded, "records": self._counts()})

    async def requests(self, _request: Request) -> Response:
        return json_response({"requests": self.journal.entries()})

    async def forget_requests(self, _request: Request) -> Response:
        self.journal.clear()
        return Response(status_code=204)

    async def clock(self, _request: Request) -> Response:
        return json_response(self.backend.clock.describe())

    async def move_clock(self, request: Request) -> Response:
        """Forward only; every subscription period that ends on the way is billed and renewed,
        and cancellations due by then take effect, before this answers."""
        try:
            body = orjson.loads(await self._body(request) or b"{}")
        except orjson.JSONDecodeError:
            raise Invalid(None, "the body must be JSON: {\"advance\": \"P1M\"} or {\"to\": \"<RFC 3339>\"}") from None
        if not isinstance(body, dict) or len({"advance", "to"} & body.keys()) != 1:
            raise Invalid("advance", 'send exactly one of {"advance": "P1M"} or {"to": "<RFC 3339>"}')
        how = "advance" if "advance" in body else "to"
        return json_response(move_clock(self.backend, how, body[how]))

    async def add_stub(self, request: Request) -> Response:
        """The next `times` requests of an operation answer `status` (and `body`); see `stubs.py`."""
        return json_response({"stub": self.stubs.add(parse_json(await self._body(request)))}, 201)

    async def list_stubs(self, _request: Request) -> Response:
        return json_response({"stubs": self.stubs.entries()})

    async def clear_stubs(self, _request: Request) -> Response:
        self.stubs.clear()
        return Response(status_code=204)

    async def add_fault(self, request: Request) -> Response:
        """A fault rule by operation or path pattern (`rule_fields.py`), listed with its hits."""
        rule = self.faults.fault(parse_json(await self._body(request)))
        return json_response({"rule": rule.public()}, 201)

    async def list_faults(self, _request: Request) -> Response:
        """Every rule, whoever set it (`/_mock/faults`, stubs, the command line), with its hits."""
        return json_response({"rules": [rule.public() for rule in self.faults.rules.entries()]})

    async def clear_faults(self, _request: Request) -> Response:
        """The rules set at run time go (stubs too); the command line's stay."""
        self.faults.rules.clear("faults", STUBS)
        return Response(status_code=204)

    async def remove_fault(self, request: Request) -> Response:
        self.faults.rules.remove(request.path_params["id"])
        return Response(status_code=204)

    async def add_webhook(self, request: Request) -> Response:
        """`{"url", "secret"?, "events"?}`: a receiver for those event types (all when absent)."""
        body = parse_json(await self._body(request) or b"{}")
        if not isinstance(body, dict):
            raise Invalid(None, "the body must be a JSON object")
        endpoint = self.webhooks.add(body.get("url"), body.get("secret"), body.get("events"))
        return json_response(endpoint.describe(), 201)

    async def list_webhooks(self, _request: Request) -> Response:
        return json_response({"endpoints": self.webhooks.endpoints()})

    async def remove_webhook(self, request: Request) -> Response:
        self.webhooks.remove(request.path_params["id"])
        return Response(status_code=204)

    async def deliveries(self, _request: Request) -> Response:
        return json_response({"deliveries": self.webhooks.deliveries()})

    async def retry_delivery(self, request: Request) -> Response:
        return json_response(self.webhooks.retry(request.path_params["id"]), 202)

    def _route(self, method: str, path: str) -> tuple[Callable[[Request], Awaitable[Response]] | None, dict]:
        handler = self.routes.get((method, path))
        if handler is not None:
            return handler, {}
        for (route_method, route), found in self.routes.items():
            params = _match(route, path) if route_method == method else None
            if params is not None:
                return found, params
        return None, {}

    def _counts(self) -> dict[str, int]:
        return {name.lstrip("/"): len(records) for name, records in self.backend.store.dump().items()}


def _match(route: str, path: str) -> dict | None:
    """The path parameters when `path` fits `route` (`/_mock/webhooks/{id}`), else None."""
    parts, given = route.split("/"), path.split("/")
    if len(parts) != len(given):
        return None
    params = {}
    for part, value in zip(parts, given, strict=True):
        if part.startswith("{"):
            if not value:
                return None
            params[part[1:-1]] = value
        elif part != value:
            return None
    return params

