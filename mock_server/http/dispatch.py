"""The hot path: a request for an API operation goes from the outer layers straight to its endpoint.

Connexion's app (`application.py`) puts five layers between the outer middlewares (CORS, admin,
journal) and an endpoint: its exception handling, the served document, Swagger UI, its routing
(a mount, a router, a context variable) and the endpoint lookup by operationId. Together they
were half of a GET's CPU in the app (cProfile), and building them half of start-up. `FastPath`
routes on its own table instead, made from the spec model at start-up without Connexion, and
takes the operation Connexion's router would: paths in the spec's order, each as Connexion hands
it to Starlette (`template`), the first route whose pattern and method match fully. It fills in
what the routing layer would (the path parameters, the operationId the journal reads) and calls
the operation's endpoint, compiled on its first request. Everything else goes to the app behind
it, built on the first request that needs it: a path under the segments the served document and
Swagger UI answer (`SHADOWED`), a 404, a 405, a trailing-slash redirect, a mount under a root
path. `tests/test_routing.py` checks the table against Connexion's router on every operation.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Operation

from . import errors

ROUTING = "connexion_routing"  # the scope extension Connexion's router fills in, which the journal reads
SHADOWED = frozenset({"openapi.json", "openapi.yaml", "ui"})  # first segments the served document and Swagger UI answer
PATH_PARAMETER = re.compile(r"\{([^}]*)\}")
CONVERTERS = {"integer": "int", "number": "float", "path": "path"}  # Connexion's, by the parameter's type


def first_segment(path: str) -> str:
    """What routers index routes by (`routing.IndexedRouter`)."""
    return path.lstrip("/").split("/", 1)[0]


def template(spec: Spec, op: Operation) -> str:
    """The operation's path as Connexion gives it to Starlette (its `starlettify_path`): a `-` in
    a parameter name becomes `_`; an integer, number or `format: path` string gets a convertor."""
    types = {}
    for param in op.parameters:
        if param.get("in") == "path":
            schema = spec.resolve(param.get("schema") or {})
            path_string = schema.get("type") == "string" and schema.get("format") == "path"
            types[param["name"]] = "path" if path_string else schema.get("type")

    def convert(match: re.Match) -> str:
        name = match.group(1)
        converter = CONVERTERS.get(types.get(name))
        return "{" + name.replace("-", "_") + (":" + converter if converter else "") + "}"

    return PATH_PARAMETER.sub(convert, op.path)


class Route:
    """One operation's route; its pattern is compiled on first use."""

    __slots__ = ("template", "methods", "op", "_compiled")

    def __init__(self, path: str, op: Operation) -> None:
        self.template, self.op = path, op
        self.methods = {op.method.upper()} | ({"HEAD"} if op.method == "get" else set())
        self._compiled = None

    def match(self, route_path: str) -> dict | None:
        """The path parameters, converted, if the route's pattern matches; None otherwise."""
        if self._compiled is None:
            self._compiled = compile_path(self.template)
        regex, _, convertors = self._compiled
        found = regex.match(route_path)
        if found is None:
            return None
        return {name: convertors[name].convert(value) for name, value in found.groupdict().items()}


class RouteTable:
    """Every operation's route in the spec's order, indexed by first path segment as
    `routing.IndexedRouter` indexes Connexion's: each list keeps the order and holds the routes
    whose first segment is a parameter too."""

    def __init__(self, spec: Spec, model: Model) -> None:
        routes = [Route(template(spec, op), op) for op in model.operations]
        anywhere = [r for r in routes if "{" in first_segment(r.template) or not first_segment(r.template)]
        segments = {first_segment(r.template) for r in routes} - {first_segment(r.template) for r in anywhere}
        self.anywhere = anywhere
        self.index = {s: [r for r in routes if r in anywhere or first_segment(r.template) == s] for s in segments}
        # A request for a path with no parameter in it (`/customers`) finds what the first such
        # request found: the search depends on the method and the path alone.
        self.fixed = {(m, r.template) for r in routes if "{" not in r.template for m in r.methods}
        self._found: dict[tuple[str, str], tuple[Route, dict] | None] = {}

    def find(self, method: str, route_path: str) -> tuple[Route, dict] | None:
        """The first route matching fully (pattern and method); a partial match goes on, as in Starlette."""
        key = (method, route_path)
        if key in self._found:
            route, params = self._found[key]
            return route, dict(params)
        found = self.search(method, route_path)
        if key in self.fixed and found is not None:
            self._found[key] = found
        return found

    def search(self, method: str, route_path: str) -> tuple[Route, dict] | None:
        for route in self.index.get(first_segment(route_path), self.anywhere):
            if method in route.methods:
                params = route.match(route_path)
                if params is not None:
                    return route, params
        return None


class FastPath:
    def __init__(self, app: ASGIApp, base_path: str, table: RouteTable, endpoint: Callable[[Operation], ASGIApp]) -> None:
        self.app = app
        self.prefix = base_path
        self.table = table
        self.endpoint = endpoint
        self.context = {"api_base_path": base_path}

    def route(self, scope: Scope) -> tuple[Route, dict] | None:
        """The route Connexion's stack would take for this request, with its path parameters;
        None where the app behind should decide."""
        path, prefix = scope["path"], self.prefix
        if scope.get("root_path") or not path.startswith(prefix + "/"):
            return None
        route_path = path[len(prefix):]
        if first_segment(route_path) in SHADOWED:
            return None
        return self.table.find(scope["method"], route_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.route(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        route, params = found
        scope["path_params"] = params
        scope.setdefault("extensions", {})[ROUTING] = {**self.context, "operation_id": route.op.operation_id}
        try:
            await self.endpoint(route.op)(scope, receive, send)
        except Exception as exc:  # an endpoint answers every `Failure` itself: this is a crash
            await errors.internal(exc)(scope, receive, send)
