"""The end of the request path: one `Endpoint` per operation, compiled from the spec on the
operation's first request (`Endpoints`).

The fast path (`dispatch.py`) or, behind it, Connexion's routing names the operation; its
`Endpoint` does the rest in one call: authenticate -> read the body (`limits`) -> parameters
(`params`) -> body (`bodies`) -> the fault rules (`faults`: stubs, rules set at run time,
`--latency`, `--error-rate`) -> `Prefer` (`prefer`) -> the operation's handler (`Api.handler`) ->
with `strict`, check the answer against the spec. Connexion's request-validation, parameter and context layers did this
work too, but rebuilt their parsers and validators on every request (over half of a create's
CPU, measured with py-spy), so the mock's stack leaves them out.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from flexprice_spec.resources import Operation

from ..core.failures import Failure
from . import errors
from .bodies import RequestBody
from .errors import ApiError
from .faults import FaultRules, wait
from .handlers import Api
from .limits import RECEIVED, read_body
from .params import Parameters
from .prefer import QUERY_PREFIX, Prefer

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
        self.authenticate = api.backend.authenticate if op.secured else None
        self.request = api.backend.store.request  # a shared store reads the key and its poll at once
        self.parameters = Parameters(api.spec, api.schemas, op.parameters)
        self.body = RequestBody(api.spec, api.schemas, raw.get("requestBody"))
        self.responses = raw.get("responses", {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.request(scope.get(RECEIVED)):
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
        headers = dict(reversed(scope["headers"]))  # the first value of each, as `asgi.header` reads
        if self.authenticate is not None and not self.authenticate(_text(headers.get(b"x-api-key"))):
            raise ApiError(401, errors.INVALID_API_KEY)
        raw = await read_body(scope, receive, self.wiring.max_body, headers.get(b"content-length"))
        params = self.parameters.read(scope)
        body = self.body.read(_text(headers.get(b"content-type")), raw)
        latency, injected = self.wiring.faults.decide(self.op, self.responses)
        if injected is not None:
            await wait(latency)
            return injected
        if latency or b"prefer" in headers or QUERY_PREFIX in scope["query_string"]:  # else it has nothing to do
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


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


class Endpoints:
    """Every operation's endpoint, compiled on its first request: start-up builds none."""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self._built: dict[str, Endpoint] = {}

    def __call__(self, op: Operation) -> Endpoint:
        found = self._built.get(op.operation_id)
        if found is None:
            found = self._built[op.operation_id] = Endpoint(self.wiring, op, self.wiring.api.handler(op))
        return found
