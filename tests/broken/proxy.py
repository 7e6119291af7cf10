"""A small ASGI reverse proxy in front of a live server, with one `Defect` deciding what it alters.

A defect sees every request before it is forwarded and every response before it is sent back;
it may also answer on its own without forwarding. Running the real mock behind it means each
broken server differs from the correct one by exactly one defect.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, payload: Any, content_type: str = "application/json") -> Response:
        self.body = json.dumps(payload).encode()
        self.headers["content-type"] = content_type
        return self


Forward = Callable[[Request], Awaitable[Response]]


class Defect:
    """The correct behaviour: forward unchanged. Subclasses override one of the hooks."""

    name = "none"
    caught_by: frozenset[str] = frozenset()

    def __init__(self, bootstrap_key: str) -> None:
        self.bootstrap_key = bootstrap_key

    async def handle(self, request: Request, forward: Forward) -> Response:
        request = self.on_request(request)
        return self.on_response(request, await forward(request))

    def on_request(self, request: Request) -> Request:
        return request

    def on_response(self, request: Request, response: Response) -> Response:
        return response


class Proxy:
    """The ASGI app: reads the request, lets the defect decide, sends the answer."""

    def __init__(self, upstream: str, defect: Defect) -> None:
        self.upstream = upstream.rstrip("/")
        self.defect = defect
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        request = Request(scope["method"], path, query, headers, body)
        response = await self.defect.handle(request, self._forward)
        response.headers["content-length"] = str(len(response.body))
        await send({
            "type": "http.response.start", "status": response.status,
            "headers": [(k.encode(), v.encode()) for k, v in response.headers.items()],
        })
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(timeout=30)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        url = self.upstream + request.path + ("?" + urlencode(request.query) if request.query else "")
        upstream = await self.client.request(request.method, url, headers=headers, content=request.body)
        kept = {k: v for k, v in upstream.headers.items() if k in ("content-type",)}
        return Response(upstream.status_code, kept, upstream.content)


class ThreadedServer:
    """`with ThreadedServer(app) as url:` the app served by uvicorn on an ephemeral loopback port."""

    def __init__(self, app: Callable) -> None:
        config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="on", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def __enter__(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the proxy failed to start")
            self.thread.join(0.01)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
