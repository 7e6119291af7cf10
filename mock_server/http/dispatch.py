"""The hot path: a request for an API operation goes from the outer layers straight to its endpoint.

Connexion's stack puts five layers between the outer middlewares (CORS, admin, journal) and an
endpoint: its exception handling, the served document, Swagger UI, its routing (a mount, a
router, a context variable) and the endpoint lookup by operationId. Each costs a few µs a
request; together they were half of a GET's CPU in the app (measured with cProfile). `FastPath`
sits first among them and makes the same decision in one step: the operation whose route
Connexion's router would match fully (the first, in the router's order, through
`routing.IndexedRouter.candidates`), unless a layer before the router would answer the path
itself (the served document, Swagger UI). It fills in what the routing layer would (the path
parameters, the operationId the journal reads) and calls the endpoint; an exception the endpoint
does not answer goes to Connexion's exception handlers, as it would have. Everything else (a
404, a 405, a trailing-slash redirect, the documents, a mount under a root path) takes the full
stack, unchanged.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

ROUTING = "connexion_routing"  # the scope extension Connexion's router fills in


def first_segment(path: str) -> str:
    """What routers index routes by (`routing.IndexedRouter`)."""
    return path.lstrip("/").split("/", 1)[0]


@dataclass(slots=True, frozen=True)
class Target:
    """A route of the API's router and the endpoint of its operation."""

    route: Route
    endpoint: ASGIApp
    operation_id: str


class FastPath:
    """Until `fit` is called (by `routing.tune`, once the stack is built) every request passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.prefix: str | None = None
        self.targets: dict[int, Target] = {}
        self.index: dict[str, list] = {}
        self.anywhere: list = []
        self.shadowed: frozenset[str] | None = frozenset()
        self.claimed: Callable[[str], bool] = bool
        self.exceptions: ExceptionMiddleware | None = None
        self.context: dict = {}

    def fit(self, mount: Mount, endpoints: Mapping[str, ASGIApp], claimed: Callable[[str], bool],
            shadowed: frozenset[str] | None, exceptions: ExceptionMiddleware) -> None:
        """`mount`: the routing layer's mount of the API, its router fitted (`IndexedRouter`);
        `endpoints` by operationId; `claimed`: whether a layer before the router answers a path
        itself, asked only for paths whose first segment under the mount is `shadowed` (always
        when that is None)."""
        router = mount.app
        self.prefix = mount.path
        self.index, self.anywhere = router.index, router.anywhere
        self.targets = {id(route): Target(route, endpoints[route.endpoint.operation_id], route.endpoint.operation_id)
                        for route in router.routes
                        if isinstance(route, Route) and getattr(route.endpoint, "operation_id", None) in endpoints}
        self.claimed, self.shadowed = claimed, shadowed
        self.exceptions = exceptions
        self.context = {"api_base_path": mount.path}

    def route(self, scope: Scope) -> tuple[Target, dict] | None:
        """The target Connexion's stack would call for this request, with its path parameters."""
        path, prefix = scope["path"], self.prefix
        if prefix is None or scope.get("root_path") or not path.startswith(prefix + "/"):
            return None
        route_path = path[len(prefix):]
        segment = first_segment(route_path)
        if (self.shadowed is None or segment in self.shadowed) and self.claimed(path):
            return None
        method = scope["method"]
        for route in self.index.get(segment, self.anywhere):  # `IndexedRouter.candidates`
            match = route.path_regex.match(route_path)
            if match is None or method not in route.methods:
                continue  # a partial match goes on, as in Starlette; only a full one is taken
            target = self.targets.get(id(route))
            if target is None:
                return None
            params = match.groupdict()
            if params:
                convertors = route.param_convertors
                params = {name: convertors[name].convert(value) for name, value in params.items()}
            return target, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.route(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        target, params = found
        scope["path_params"] = params
        scope.setdefault("extensions", {})[ROUTING] = {**self.context, "operation_id": target.operation_id}
        try:
            await target.endpoint(scope, receive, send)
        except Exception as exc:  # an endpoint answers every `Failure` itself: this is a crash
            await self.answer(exc, scope, receive, send)

    async def answer(self, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        """What Connexion's exception layer answers for `exc`: its handlers, looked up as it does."""
        async def raising(_scope: Scope, _receive: Receive, _send: Send) -> None:
            raise exc

        exceptions = self.exceptions
        scope["starlette.exception_handlers"] = (exceptions._exception_handlers, exceptions._status_handlers)
        await wrap_app_handling_exceptions(raising, Request(scope, receive))(scope, receive, send)
