"""The ASGI application Connexion assembles around the endpoints: routing off the spec, the
served document and Swagger UI, and every error raised outside an endpoint (Connexion's
problems, Starlette's 404 and 405, anything unexpected) in the error envelope.

The stack, outermost first: `outer` (what the caller adds: CORS, the admin endpoints, the
journal) -> Connexion's exception handling -> the served document and Swagger UI
(`openapi_document.py`) -> Connexion's routing -> the operation's `endpoint.Endpoint`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolution, Resolver
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import compile_path

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Operation, generated_operation_id

from . import errors, spec_cache
from .endpoint import EndpointMiddleware, Handler, Wiring
from .handlers import Api, Call
from .openapi_document import OpenApiDocumentMiddleware
from .routing import tune


class SpecResolver(Resolver):
    """Maps every operation, named or not, to a handler bound to its inferred role."""

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api
        self.operations = {(op.method, op.path): op for op in api.model.operations}

    def resolve(self, operation) -> Resolution:
        op = self.operations[(operation.method.lower(), operation.path)]
        return Resolution(self.handler(op), op.operation_id)

    def resolve_operation_id(self, operation) -> str:
        return operation.operation_id or generated_operation_id(operation.method.lower(), operation.path)

    def handler(self, op: Operation) -> Handler:
        api = self.api

        def handle(params: dict, body: object) -> Response:
            return api.handle(Call(op, params, body))

        handle.__name__ = op.operation_id
        return handle


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight (400) in the error envelope, not plain text."""

    def preflight_response(self, request_headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return errors.error_response(400, response.body.decode(), headers=headers)


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


def cors(origins: Iterable[str]) -> Callable:
    """The CORS middleware for browsers from `origins` (`*` for any)."""
    return partial(JsonCORSMiddleware, allow_origins=list(origins), allow_methods=["*"], allow_headers=["*"])


def build(spec: Spec, model: Model, wiring: Wiring, outer: list[Callable], lifespan: Callable) -> AsyncApp:
    """Connexion's app for `spec`, every operation answered by its endpoint, `outer`
    middlewares around it all."""
    app = AsyncApp(__name__, lifespan=lifespan, middlewares=[
        ServerErrorMiddleware,
        *outer,
        ExceptionMiddleware,
        partial(OpenApiDocumentMiddleware, spec=spec),
        SwaggerUIMiddleware,
        RoutingMiddleware,
        partial(EndpointMiddleware, wiring=wiring),
        LifespanMiddleware,  # the endpoints answer every routed request; only lifespan events pass them
    ])
    with spec_cache.trusted(spec):  # Connexion's OpenAPI-schema check, once per document
        app.add_api(
            spec.copy_document(),
            resolver=SpecResolver(wiring.api),
            swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui", spec_path="/openapi.json"),
        )
    app.add_error_handler(ProblemException, _on_problem)
    app.add_error_handler(HTTPException, HttpErrorHandler(spec.base_path, model.operations))
    app.add_error_handler(Exception, _on_crash)
    tune(app)
    return app
