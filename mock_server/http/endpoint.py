"""The end of the request path: one `Endpoint` per operation, compiled from the spec at start-up.

Connexion routes the request and names its operation (`RoutingMiddleware`, fitted by
`routing.py`); the operation's `Endpoint` does the rest in one call: authenticate -> read the body
(`limits`) -> parameters (`params`) -> body (`bodies`) -> the fault rules (`faults`: stubs, rules set
at run time, `--latency`, `--error-rate`) -> `Prefer` (`prefer`) -> the handler the resolver bound to the operation (`app.SpecResolver`) -> with
`strict`, check the answer against the spec. Connexion's request-validation, parameter and context layers did this
work too, but rebuilt their parsers and validators on every request (over half of a create's
CPU, measured with py-spy), so the mock's stack leaves them out.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flexprice_spec.resources import Operation

from ..core.failures import Failure
from . import errors
from .asgi import header
from .bodies import RequestBody
from .errors import ApiError
from .faults import FaultRules, wait
from .handlers import Api
from .limits import read_body
from .params import Parameters
from .prefer import Prefer

log = logging.getLogger("mock_server")
Handler = Callable[[dict, object], Response]


@dataclass(slots=True)
class Wiring:
    """What every endpoint shares."""

    api: Api
    prefer: Prefer
    faults: FaultRules
    max_body: int
    strict: bool = False


class Endpoint:
    def __init__(self, wiring: Wiring, op: Operation, handler: Handler) -> None:
        api = wiring.api
        raw = api.spec.document["paths"][op.path][op.method]
        self.op = op
        self.handler = handler
        self.wiring = wiring
        self.authenticate = api.backend.keys.authenticate if op.secured else None
        self.parameters = Parameters(api.spec, api.schemas, op.parameters)
        self.body = RequestBody(api.spec, api.schemas, raw.get("requestBody"))
        self.responses = raw.get("responses", {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.respond(scope, receive)
        except Failure as exc:  # the one place the API's refusals are answered
            response = errors.answer(exc, self.shape)
        await response(scope, receive, send)

    def shape(self, status: int, body: dict) -> dict:
        """An operation that documents its own error body for a status (`/rbac/roles/{id}`'s 404
        is a map of strings) gets the envelope's fields that fit it, the real server's `error`
        among them."""
        declared = self.op.error_schemas.get(status)
        if declared is None:
            return body
        return self.wiring.api.schemas.conform({**body, "error": body["message"]}, declared)

    async def respond(self, scope: Scope, receive: Receive) -> Response:
        if self.authenticate is not None and not self.authenticate(header(scope["headers"], b"x-api-key")):
            raise ApiError(401, errors.INVALID_API_KEY)
        raw = await read_body(scope, receive, self.wiring.max_body)
        params = self.parameters.read(scope)
        body = self.body.read(scope["headers"], raw)
        latency, injected = self.wiring.faults.decide(self.op, self.responses)
        if injected is not None:
            await wait(latency)
            return injected
        preferred = await self.wiring.prefer.response(scope, self.op, self.responses, latency)
        if preferred is not None:
            return preferred
        response = self.handler(params, body)
        if self.wiring.strict:
            self.check(response)
        return response

    def check(self, response: Response) -> None:
        """`--strict`: the mock checks its own answer against the spec and says so loudly."""
        op = self.op
        if op.response_schema is None or response.status_code != op.status:
            return
        problems = self.wiring.api.schemas.errors(orjson.loads(response.body), op.response_schema)
        if problems:
            log.error("SPEC VIOLATION in the mock's own response to %s: %s", op.method_path, "; ".join(problems))


class EndpointAPI(RoutedAPI[Endpoint]):
    def __init__(self, *args, wiring: Wiring, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wiring = wiring
        self.model_operations = wiring.api.model.by_operation_id()
        self.add_paths()

    def make_operation(self, operation) -> Endpoint:
        op = self.model_operations[operation.operation_id]  # `app.SpecResolver` named it
        return Endpoint(self.wiring, op, operation.function)


class EndpointMiddleware(RoutedMiddleware[EndpointAPI]):
    """Runs the endpoint of the operation Connexion routed to; anything else (lifespan) passes on."""

    api_cls = EndpointAPI

    def __init__(self, app: ASGIApp, wiring: Wiring) -> None:
        super().__init__(app)
        self.wiring = wiring

    def add_api(self, specification, **kwargs) -> EndpointAPI:
        api = self.api_cls(specification, next_app=self.app, wiring=self.wiring, **kwargs)
        self.apis[api.base_path].append(api)
        return api
