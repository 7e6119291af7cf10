"""A server whose every answer is wrong in shape, drawn from a seeded random generator.

It is a plain socket server, not an ASGI app, so it can also answer with what no framework would
send: a closed connection, a body shorter than its `Content-Length`, bytes that are not HTTP.
The gate must report each as a failure with its `curl`, never crash.
"""
from __future__ import annotations

import json
import random
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STATUSES = (200, 201, 204, 400, 401, 404, 409, 500)


def _json(payload: object) -> tuple[str, bytes]:
    return "application/json", json.dumps(payload).encode()


# Each builds (content type, body) from the random generator; None answers are not HTTP at all.
BODIES: tuple[Callable[[random.Random], tuple[str, bytes] | None], ...] = (
    lambda r: _json({}),
    lambda r: _json({"items": "not a list", "pagination": 5}),
    lambda r: _json({"items": [1, "two", None], "pagination": {"total": "many", "limit": None}}),
    lambda r: _json({"id": r.randint(0, 10**6), "secret": "x", "api_key": None}),
    lambda r: _json({"secret": {"id": None, "name": 7}, "api_key": 12}),
    lambda r: _json({"code": 404, "message": None, "http_status_code": "404"}),
    lambda r: _json([r.random(), {"id": []}]),
    lambda r: _json("just a string"),
    lambda r: _json(None),
    lambda r: _json(r.randint(-5, 5)),
    lambda r: ("text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    lambda r: ("application/json", b""),
    lambda r: ("application/json", b'{"items": [{"id": "a"'),
    lambda r: ("text/plain", "\u00e9t\u00e9".encode("latin-1")),
    lambda r: ("application/json", b"\xff\xfe\x00garbage"),
    lambda r: None,
)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        try:
            if not self._read_request():
                return
            self.request.sendall(self.server.answer())
        except OSError:
            pass

    def _read_request(self) -> bool:
        """Read the head and a `Content-Length` body; False when the client went away."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        while len(body) < length:
            chunk = self.request.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, seed: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def answer(self) -> bytes:
        """One wrong answer: a random status and a random wrong body, sometimes not HTTP at all."""
        with self.lock:
            status = self.random.choice(STATUSES)
            drawn = self.random.choice(BODIES)(self.random)
            truncated = self.random.random() < 0.1
        if drawn is None:
            return b""
        content_type, body = drawn
        declared = len(body) + (20 if truncated else 0)
        head = (
            f"HTTP/1.1 {status} Whatever\r\ncontent-type: {content_type}\r\n"
            f"content-length: {declared}\r\nconnection: close\r\n\r\n"
        )
        return head.encode() + body


@contextmanager
def wrong_shapes_server(seed: int) -> Iterator[str]:
    """Yield the base URL (with `/v1`) of a server answering every request with a wrong shape."""
    server = _Server(seed)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()

