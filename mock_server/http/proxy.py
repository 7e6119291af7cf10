"""The mock in front of a real Flexprice server: `--proxy URL --proxy-key KEY --proxy-mode MODE`.

- `fallback`: the mock answers what it models (every operation but the computed ones it only
  synthesizes), and forwards the rest, unknown paths included, to the real server;
- `record`: every API request is forwarded and each exchange handed to the recorder
  (`devtools/recording.py` writes it, keys and secrets masked);
- `replay`: a request the replayer recognizes gets the recorded answer; any other the mock's own.

Forwarded requests keep their method, path (under the upstream's base path), query, headers
and body; `--proxy-key` replaces the client's `x-api-key` (the mock's key means nothing to the
real server), and only on a request whose key the mock accepts (else 401, as the mock's own
operations answer): the real key is lent to the mock's clients, not to whoever reaches the port.
Hop-by-hop headers are dropped, and the answer comes back as the server gave it. An upstream
that cannot be reached is a 502 in the error envelope, and is not recorded. The served document, Swagger
UI and the admin endpoints are never forwarded. Forwarding uses httpx's async client, so a slow
upstream never blocks other requests.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Operation

from ..core.failures import Failure
from . import errors
from .behaviours import BEHAVIOURS
from .limits import read_body

log = logging.getLogger("mock_server")
MODES = ("fallback", "record", "replay")
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "host", "content-length"})
UNSENT = HOP_BY_HOP | {"content-encoding"}  # httpx hands the body back decoded


@dataclass(slots=True)
class Exchange:
    """One request and the answer it got, the path relative to the API's base path."""

    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    operation: Operation | None


@dataclass(slots=True, frozen=True)
class ProxyOptions:
    """`--proxy URL`, `--proxy-key`, `--proxy-mode` and the `--recording` file."""

    mode: str = "fallback"
    url: str | None = None
    key: str | None = None
    recording: str | None = None


Recorder = Callable[[Exchange], None]
Replayer = Callable[[str, str, str, bytes], "tuple[int, dict[str, str], bytes] | None"]


class Upstream:
    """The real server: where requests are forwarded, and the key they carry there."""

    def __init__(self, url: str, key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.client = httpx.AsyncClient(timeout=TIMEOUT)

    async def close(self) -> None:
        await self.client.aclose()

    async def forward(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        """The real server's answer; `Unreachable` when there is none."""
        sent = {name: value for name, value in headers.items() if name not in HOP_BY_HOP}
        if self.key:
            sent["x-api-key"] = self.key
        try:
            answer = await self.client.request(method, self.url + path + (f"?{query}" if query else ""),
                                               headers=sent, content=body)
        except httpx.HTTPError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise errors.ApiError(502, f"the upstream {self.url} cannot be reached: {reason}",
                                  code="service_unavailable") from None
        kept = {name: value for name, value in answer.headers.items() if name.lower() not in UNSENT}
        return Response(answer.content, status_code=answer.status_code, headers=kept)


class ProxyMiddleware:
    def __init__(self, app: ASGIApp, spec: Spec, model: Model, mode: str, max_body: int,
                 upstream: Upstream | None = None, recorder: Recorder | None = None,
                 replayer: Replayer | None = None, authenticate: Callable[[str | None], bool] | None = None) -> None:
        self.app, self.mode, self.max_body, self.authenticate = app, mode, max_body, authenticate
        self.upstream, self.recorder, self.replayer = upstream, recorder, replayer
        self.base = spec.base_path
        self.own = {f"{self.base}/openapi.json", f"{self.base}/openapi.yaml"}
        # the most specific template first, as routing goes: `/customers/search` before `/customers/{id}`
        ordered = sorted(model.operations, key=lambda op: op.path.count("{"))
        self.routes = [(op.method.upper(), compile_path(self.base + op.path)[0], op) for op in ordered]

    def operation(self, method: str, path: str) -> Operation | None:
        return next((op for verb, regex, op in self.routes if verb == method and regex.match(path)), None)

    @staticmethod
    def modelled(op: Operation | None) -> bool:
        """What the mock answers itself in `fallback`: every operation but those it only synthesizes."""
        return op is not None and (op.role != "computed" or op.operation_id in BEHAVIOURS)

    def handles(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path = scope["path"]
        return path.startswith(self.base + "/") and path not in self.own and not path.startswith(f"{self.base}/ui")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.handles(scope):
            await self.app(scope, receive, send)
            return
        method, op = scope["method"], None
        if self.mode == "fallback":
            op = self.operation(method, scope["path"])
            if self.modelled(op):
                await self.app(scope, receive, send)
                return
        try:
            await self.proxy(scope, receive, send, op)
        except Failure as exc:
            await errors.answer(exc)(scope, receive, send)

    async def proxy(self, scope: Scope, receive: Receive, send: Send, op: Operation | None) -> None:
        """Forward, record or replay the request, as the mode says."""
        method = scope["method"]
        body = await read_body(scope, receive, self.max_body)
        path, query = scope["path"][len(self.base):], scope["query_string"].decode("latin-1")
        if self.mode == "replay":
            found = self.replayer(method, path, query, body)
            if found is None:
                await self.app(scope, _replaying(body, receive), send)
                return
            status, headers, content = found
            await Response(content, status_code=status, headers=headers)(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if self.upstream.key and self.authenticate is not None and not self.authenticate(headers.get("x-api-key")):
            raise errors.ApiError(401, errors.INVALID_API_KEY)
        response = await self.upstream.forward(method, path, query, headers, body)
        if self.recorder is not None:
            op = op or self.operation(method, scope["path"])
            self.recorder(Exchange(method, path, query, headers, body, response.status_code, dict(response.headers),
                                   response.body, op))
        await response(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The request's body, read already, handed to the app once more."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again

