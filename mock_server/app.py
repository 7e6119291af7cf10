"""The ASGI application: Connexion's routing in front of one compiled endpoint per operation.

The stack, outermost first: admin endpoints and the dashboard (`/_mock/*`, `admin.py`) ->
journal and access log (`journal.py`) -> Connexion's exception handling, which turns anything raised into an
`errors.ErrorResponse` (`errors.py`) -> the served document and Swagger UI (`openapi_document.py`)
-> Connexion's routing -> the operation's `endpoint.Endpoint`: authenticate, read the body,
validate parameters and body, a scripted stub (`stubs.py`), `Prefer` and faults, the handler
(`handlers.Api`, `behaviours`), with `strict` a check of the answer.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

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
from flexprice_spec.resources import Model, Operation, generated_operation_id, infer

from .core.failures import DomainError
from .devtools.admin import AdminMiddleware
from .devtools.admin_auth import AdminAuth
from .devtools.dashboard import Dashboard
from .devtools.fixtures import Fixtures, read
from .devtools.journal import Journal, JournalMiddleware
from .devtools.webhook_payloads import Payloads
from .devtools.webhooks import WebhookOptions, Webhooks
from .domain.clock import Clock
from .http import errors
from .http.behaviours import BEHAVIOURS
from .http.endpoint import EndpointMiddleware, Handler, Wiring
from .http.errors import ApiError
from .http.faults import Faults
from .http.handlers import Api, Call
from .http.limits import DEFAULT_MAX_BODY
from .http.openapi_document import OpenApiDocumentMiddleware
from .http.prefer import Prefer
from .http.routing import tune
from .http.stubs import Stubs
from .spec import cache as spec_cache
from .storage.store import Store, open_store

DEFAULT_API_KEY = "sk_flexprice_mock_dev_key"


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


def _on_api_error(_request, exc: ApiError) -> ConnexionResponse:
    return _connexion_response(errors.from_api_error(exc))


def _on_domain_error(_request, exc: DomainError) -> ConnexionResponse:
    return _connexion_response(errors.from_api_error(errors.from_domain(exc)))


def _on_crash(_request, exc: Exception) -> ConnexionResponse:
    return _connexion_response(errors.internal(exc))


@asynccontextmanager
async def _delivering(webhooks: Webhooks, _app):
    """While the server runs, webhooks are delivered on its own event loop."""
    webhooks.attach(asyncio.get_running_loop())
    try:
        yield
    finally:
        webhooks.detach()


def create_app(
    spec: Spec | str | Path | None = None,
    store: Store | str | None = None,
    api_keys: Iterable[str] = (DEFAULT_API_KEY,),
    strict: bool = False,
    seed: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
    cors_origins: Iterable[str] = (),
    fixtures: Iterable[str | Path] = (),
    admin: bool = True,
    faults: Faults | None = None,
    clock: Clock | None = None,
    admin_token: str | None = None,
    webhooks: WebhookOptions | None = None,
    namespace: str = "default",
) -> AsyncApp:
    """The mock for `spec` (default: the seed spec), with all state in `store`. CORS is off
    unless `cors_origins` names the browser origins allowed to call it. `fixtures` (files or
    folders) are loaded now and after every reset; a bad one raises `fixtures.FixtureError`.
    `clock` is the billing clock (real time by default; `Clock(start)` starts frozen).
    `admin_token`, if given, is the Bearer token every `/_mock/` call must send (the dashboard at
    `/_mock/` asks for it); `webhooks` the
    endpoints to deliver domain events to from the start, and how to retry. `store` is a `Store`
    or the URL of one (`memory`, `redis://HOST:PORT/DB` with its key `namespace`)."""
    spec = spec if isinstance(spec, Spec) else Spec.load(spec)
    model: Model = infer(spec)
    if not isinstance(store, Store):
        store = open_store(store, {r.collection: r.unique_keys for r in model.resources.values()}, seed=seed,
                           clock=clock, namespace=namespace)
    for key in api_keys:
        store.add_bootstrap_key(key)
    api = Api(spec, model, store, seed=seed)
    api.behaviours.update(BEHAVIOURS)

    journal = Journal()
    store.on_local_reset(lambda _store: journal.clear())
    stubs = Stubs(api)
    store.on_local_reset(stubs.clear)  # before the fixtures' reload, which sets their stubs again
    loader = Fixtures(api, [document for path in fixtures for document in read(path)], stubs)
    if faults is not None:
        store.on_local_reset(faults.reseed)
    # after the fixtures, so its reset hook forgets what reloading them recorded: not news
    hooks = Webhooks(store, Payloads(spec, api.schemas, api.billing.records.get), webhooks, seed)
    wiring = Wiring(api, Prefer(api, faults), max_body, strict, stubs)
    auth = AdminAuth(admin_token)
    dashboard = Dashboard(api, journal, hooks, stubs, faults, auth) if admin else None
    outer = [
        # outermost, so preflights skip auth and routing and error responses carry the headers too
        *([partial(JsonCORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"], allow_headers=["*"])]
          if cors_origins else []),
        *([partial(AdminMiddleware, fixtures=loader, journal=journal, auth=auth, stubs=stubs,
                   webhooks=hooks, dashboard=dashboard)] if admin else []),
        partial(JournalMiddleware, journal=journal),
    ]
    app = AsyncApp(__name__, lifespan=partial(_delivering, hooks), middlewares=[
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
            resolver=SpecResolver(api),
            swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui", spec_path="/openapi.json"),
        )
    app.add_error_handler(ProblemException, _on_problem)
    app.add_error_handler(HTTPException, HttpErrorHandler(spec.base_path, model.operations))
    app.add_error_handler(ApiError, _on_api_error)
    app.add_error_handler(DomainError, _on_domain_error)
    app.add_error_handler(Exception, _on_crash)
    app.state = api  # the in-process runner and admin endpoints reach the store through this
    tune(app)
    app.journal, app.fixtures, app.stubs, app.webhooks = journal, loader, stubs, hooks
    store.ready()
    return app
