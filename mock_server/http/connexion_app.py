"""Connexion's app, behind the fast path (`dispatch.py`): built on the first request the fast
path leaves to it, by `application.App`, so start-up neither imports nor builds it.

What it answers: the served document and Swagger UI (`openapi_document.py`), a path no operation
routes (404) or routes with another method (405, with an `Allow` naming every method the spec
documents), a trailing-slash redirect, and an operation's request under a root path (through
the same `endpoint.Endpoints`); and every error raised outside an endpoint (Connexion's
problems, Starlette's 404 and 405, anything unexpected) in the error envelope. The stack,
outermost first: Connexion's exception handling -> the served document -> Swagger UI ->
Connexion's routing (fitted by `routing.py`) -> the operation's endpoint.

Connexion is imported here first, with its import-time notices silenced (its own imports use
jsonschema's deprecated RefResolver and Starlette's TestClient over httpx), so they never land in
a user's pytest output; every module that imports Connexion is imported from here.
"""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import connexion  # noqa: F401
    import connexion.json_schema  # noqa: F401

from collections.abc import Iterable  # noqa: E402
from functools import partial  # noqa: E402

from connexion import AsyncApp  # noqa: E402
from connexion.exceptions import ProblemException  # noqa: E402
from connexion.lifecycle import ConnexionResponse  # noqa: E402
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware  # noqa: E402
from connexion.middleware.exceptions import ExceptionMiddleware  # noqa: E402
from connexion.middleware.routing import RoutingMiddleware  # noqa: E402
from connexion.middleware.swagger_ui import SwaggerUIMiddleware  # noqa: E402
from connexion.options import SwaggerUIOptions  # noqa: E402
from connexion.resolver import Resolution, Resolver  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import compile_path  # noqa: E402
from starlette.types import ASGIApp  # noqa: E402

from flexprice_spec.document import Spec  # noqa: E402
from flexprice_spec.resources import Model, Operation, generated_operation_id  # noqa: E402

from . import errors, spec_cache  # noqa: E402
from .endpoint import Endpoint, Endpoints  # noqa: E402
from .handlers import Api  # noqa: E402
from .openapi_document import OpenApiDocumentMiddleware  # noqa: E402
from .routing import tune  # noqa: E402


class SpecResolver(Resolver):
    """Maps every operation, named or not, to a handler bound to its inferred role."""

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api
        self.operations = {(op.method, op.path): op for op in api.model.operations}

    def resolve(self, operation) -> Resolution:
        op = self.operations[(operation.method.lower(), operation.path)]
        return Resolution(self.api.handler(op), op.operation_id)

    def resolve_operation_id(self, operation) -> str:
        return operation.operation_id or generated_operation_id(operation.method.lower(), operation.path)


def _connexion_response(response: Response) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=response.status_code,
        body=response.body,
        mimetype="application/json",
        headers={k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")},
    )


def _on_problem(_request, exc: ProblemException) -> ConnexionResponse:
    return _connexion_response(errors.from_problem(exc))


def _on_http(_request, exc: HTTPException) -> ConnexionResponse:
    return _connexion_response(errors.from_http_exception(exc))


class HttpErrorHandler:
    """Starlette's 404/405 in the error envelope. A 405's `Allow` names every method the spec
    documents for the path: Starlette's router names only those of the first route that matched."""

    def __init__(self, base_path: str, operations: Iterable[Operation]) -> None:
        methods: dict[str, set[str]] = {}
        for op in operations:
            methods.setdefault(base_path + op.path, set()).add(op.method.upper())
        # most specific first, as routing goes: `/addons/search` before `/addons/{id}`
        ordered = sorted(methods.items(), key=lambda item: item[0].count("{"))
        self.routes = [(compile_path(path)[0], found) for path, found in ordered]

    def __call__(self, request, exc: HTTPException) -> ConnexionResponse:
        if exc.status_code == 405:
            allowed = next((set(found) for regex, found in self.routes if regex.match(request.url.path)), None)
            if allowed:
                allowed |= {"HEAD"} if "GET" in allowed else set()
                exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": ", ".join(sorted(allowed))})
        return _on_http(request, exc)


def _on_crash(_request, exc: Exception) -> ConnexionResponse:
    return _connexion_response(errors.internal(exc))


class EndpointAPI(RoutedAPI[Endpoint]):
    def __init__(self, *args, endpoints: Endpoints, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints = endpoints
        self.model_operations = endpoints.wiring.api.model.by_operation_id()
        self.add_paths()

    def make_operation(self, operation) -> Endpoint:
        return self.endpoints(self.model_operations[operation.operation_id])  # `SpecResolver` named it


class EndpointMiddleware(RoutedMiddleware[EndpointAPI]):
    """Runs the endpoint of the operation Connexion routed to."""

    api_cls = EndpointAPI

    def __init__(self, app: ASGIApp, endpoints: Endpoints) -> None:
        super().__init__(app)
        self.endpoints = endpoints

    def add_api(self, specification, **kwargs) -> EndpointAPI:
        api = self.api_cls(specification, next_app=self.app, endpoints=self.endpoints, **kwargs)
        self.apis[api.base_path].append(api)
        return api


def build(spec: Spec, model: Model, endpoints: Endpoints) -> AsyncApp:
    """Connexion's app for `spec`, every routed operation answered by its endpoint."""
    app = AsyncApp(__name__, middlewares=[
        ExceptionMiddleware,
        partial(OpenApiDocumentMiddleware, spec=spec),
        SwaggerUIMiddleware,
        RoutingMiddleware,
        partial(EndpointMiddleware, endpoints=endpoints),
    ])
    with spec_cache.trusted(spec):  # Connexion's OpenAPI-schema check, once per document
        app.add_api(
            spec.copy_document(),
            resolver=SpecResolver(endpoints.wiring.api),
            swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui", spec_path="/openapi.json"),
        )
    app.add_error_handler(ProblemException, _on_problem)
    app.add_error_handler(HTTPException, HttpErrorHandler(spec.base_path, model.operations))
    app.add_error_handler(Exception, _on_crash)
    tune(app)
    return app
