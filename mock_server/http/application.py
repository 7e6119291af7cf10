"""The mock's ASGI app, `App`: what start-up builds, and Connexion's app behind it, built when needed.

Start-up builds the outer layers and the fast path to each operation's endpoint; the endpoints
themselves are compiled on their first request (`endpoint.Endpoints`), and Connexion (the served
document, Swagger UI, routing for what the fast path leaves, `connexion_app.py`) is imported and
built on the first request that reaches it. So the first answer to an API request needs neither
Connexion nor any operation but its own.

The stack, outermost first: the last resort (anything that escapes every other layer, the admin
endpoints' included, is a 500 in the envelope) -> `outer` (what the caller
adds: CORS, the admin endpoints, the index, the journal, the proxy) -> the fast path
(`dispatch.py`) -> Connexion's app. Lifespan events are the app's own (`lifespan`: webhooks are
delivered while the server runs).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model

from . import errors
from .dispatch import FastPath, RouteTable
from .endpoint import Endpoints, Wiring

if TYPE_CHECKING:
    from connexion import AsyncApp


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight (400) in the error envelope, not plain text."""

    def preflight_response(self, request_headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return errors.error_response(400, response.body.decode(), headers=headers)


async def _last_resort(_request, exc: Exception) -> Response:
    """What a crash outside every endpoint answers (a defect in an outer layer): the 500 envelope."""
    return errors.internal(exc)


def cors(origins: Iterable[str]) -> Callable:
    """The CORS middleware for browsers from `origins` (`*` for any)."""
    return partial(JsonCORSMiddleware, allow_origins=list(origins), allow_methods=["*"], allow_headers=["*"])


class App:
    """The ASGI app `create_app` returns; `connexion` is Connexion's app, built on first use."""

    def __init__(self, spec: Spec, model: Model, wiring: Wiring, outer: list[Callable], lifespan: Callable) -> None:
        self.spec, self.model = spec, model
        self.endpoints = Endpoints(wiring)
        self.fast = FastPath(self._behind, spec.base_path, RouteTable(spec, model), self.endpoints)
        app = self.fast
        for layer in reversed(outer):
            app = layer(app)
        self.stack = ServerErrorMiddleware(app, handler=_last_resort)
        self.lifespan = Router(lifespan=lifespan)
        self._connexion: AsyncApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
        else:
            await self.stack(scope, receive, send)

    @property
    def connexion(self) -> AsyncApp:
        if self._connexion is None:
            from . import connexion_app  # noqa: PLC0415 - imported with its app, on first use

            self._connexion = connexion_app.build(self.spec, self.model, self.endpoints)
        return self._connexion

    def test_client(self, **options):
        """Starlette's test client over this app (what Connexion's apps offer as `test_client`)."""
        with warnings.catch_warnings():  # Starlette's notice about httpx is for Starlette's users
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient  # noqa: PLC0415 - tests only
        return TestClient(self, **options)

    async def _behind(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.connexion(scope, receive, send)


def build(spec: Spec, model: Model, wiring: Wiring, outer: list[Callable], lifespan: Callable) -> App:
    """The mock's app for `spec`, `outer` middlewares around the API."""
    return App(spec, model, wiring, outer, lifespan)
