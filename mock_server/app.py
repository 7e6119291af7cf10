"""The ASGI application: Connexion routing and validation around the generic handlers.

The pipeline, in order: route (Connexion) -> authenticate (`ApiKeyMiddleware`) -> validate the
request (Connexion) -> handler (`handlers.Api`, `behaviours`) -> with `strict`, validate the
response -> any error becomes an `errors.ErrorResponse` (`errors.py`).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolution, Resolver
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .behaviours import BEHAVIOURS
from .errors import ApiError
from .handlers import Api, Call
from .params import NamedParameterValidator
from .resources import Model, Operation, generated_operation_id, infer
from .spec import Spec
from .store import Store

log = logging.getLogger("mock_server")
DEFAULT_API_KEY = "sk_flexprice_mock_dev_key"


class SpecResolver(Resolver):
    """Maps every operation, named or not, to a handler bound to its inferred role."""

    def __init__(self, api: Api, strict: bool) -> None:
        super().__init__()
        self.api = api
        self.strict = strict
        self.operations = {(op.method, op.path): op for op in api.model.operations}

    def resolve(self, operation) -> Resolution:
        op = self.operations[(operation.method.lower(), operation.path)]
        return Resolution(self.handler(op), op.operation_id)

    def resolve_operation_id(self, operation) -> str:
        return operation.operation_id or generated_operation_id(operation.method.lower(), operation.path)

    def handler(self, op: Operation):
        api, strict = self.api, self.strict
        body_name = "body"

        async def handle(**arguments) -> Response:
            body = arguments.pop(body_name, None)
            try:
                response = api.handle(Call(op, arguments, body))
            except ApiError as exc:
                return errors.from_api_error(exc)
            if strict:
                check_response(api, op, response)
            return response

        handle.__name__ = op.operation_id
        return handle


def check_response(api: Api, op: Operation, response: Response) -> None:
    """`--strict`: the mock checks its own answer against the spec and says so loudly."""
    if op.response_schema is None or response.status_code != op.status:
        return
    import orjson

    problems = api.schemas.errors(orjson.loads(response.body), op.response_schema)
    if problems:
        log.error("SPEC VIOLATION in the mock's own response to %s: %s", op.method_path, "; ".join(problems))


class ApiKeyMiddleware:
    """401 for secured operations without a live `x-api-key`. Runs after routing, so unknown paths
    are 404 whatever the key, and unsecured operations (webhook pages) need none."""

    def __init__(self, app: ASGIApp, store: Store, secured: set[str]) -> None:
        self.app = app
        self.store = store
        self.secured = secured

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            routing = scope.get("extensions", {}).get("connexion_routing", {})
            if routing.get("operation_id") in self.secured:
                key = _header(scope, b"x-api-key")
                if not self.store.authenticate(key):
                    response = errors.error_response(401, errors.INVALID_API_KEY)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


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


def _on_api_error(_request, exc: ApiError) -> ConnexionResponse:
    return _connexion_response(errors.from_api_error(exc))


def _on_crash(_request, exc: Exception) -> ConnexionResponse:
    return _connexion_response(errors.internal(exc))


def create_app(
    spec: Spec | str | Path | None = None,
    store: Store | None = None,
    api_keys: Iterable[str] = (DEFAULT_API_KEY,),
    strict: bool = False,
    seed: int = 0,
) -> AsyncApp:
    """The mock for `spec` (default: the seed spec), with all state in `store`."""
    spec = spec if isinstance(spec, Spec) else Spec.load(spec)
    model: Model = infer(spec)
    if store is None:
        store = Store({r.collection: r.unique_keys for r in model.resources.values()}, seed=seed)
    for key in api_keys:
        store.add_bootstrap_key(key)
    api = Api(spec, model, store, seed=seed)
    api.behaviours.update(BEHAVIOURS)

    middlewares = [m for m in ConnexionMiddleware.default_middlewares if m is not SecurityMiddleware]
    app = AsyncApp(__name__, middlewares=middlewares)
    app.add_middleware(
        ApiKeyMiddleware,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        store=store,
        secured={op.operation_id for op in model.operations if op.secured},
    )
    app.add_api(
        spec.copy_document(),
        resolver=SpecResolver(api, strict),
        validator_map={"parameter": NamedParameterValidator},
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui", spec_path="/openapi.json"),
    )
    app.add_error_handler(ProblemException, _on_problem)
    app.add_error_handler(HTTPException, _on_http)
    app.add_error_handler(ApiError, _on_api_error)
    app.add_error_handler(Exception, _on_crash)
    app.state = api  # the in-process runner and admin endpoints reach the store through this
    return app
