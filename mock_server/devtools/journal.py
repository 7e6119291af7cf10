"""The request journal and the access log: what reached the API, with API keys masked.

`JournalMiddleware` sits outside Connexion's exception handling, so it sees the final status of
every request, errors included. The hot path only keeps references to the request's headers and
body chunks and the answer's body chunks, and appends a tuple to a bounded deque; joining,
clipping (`BODY_LIMIT` bytes of each body), masking and formatting happen when someone reads the
journal. The access log line is built only when the `mock_server.access` logger is enabled for
INFO (it is not by default). A body is only what the API read of it: a request refused before
its body was read (401, 413) shows none.
"""
from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timezone
from time import perf_counter, time
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..http.asgi import header

ACCESS_LOG = logging.getLogger("mock_server.access")
JOURNAL_SIZE = 1000
ROUTING = "connexion_routing"  # the scope extension Connexion's router fills in
SECRET_WORDS = ("key", "token", "secret", "password")
BODY_LIMIT = 8 * 1024  # bytes of each body shown; the rest is counted, not kept
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})
# JSON fields whose string values are secrets (an API key's `api_key` as created, passwords, tokens)
SECRET_FIELD = re.compile(r'"(api_key|password|secret_key|private_key|token|access_token|refresh_token|client_secret|'
                          r'webhook_secret)"(\s*:\s*)"((?:[^"\\]|\\.)*)(?:"|$)')  # a clipped body may end inside one


def mask(secret: str) -> str:
    """Enough of a key to tell two apart, too little to use: like the real server's `display_id`."""
    return f"{secret[:5]}***{secret[-2:]}" if len(secret) >= 16 else "***"


def masked_body(raw: bytes | None, size: int) -> str | None:
    """A body as text with the values of secret JSON fields masked; a clipped one says so. A
    regular expression rather than a parse, so a clipped document is masked as well."""
    if raw is None:
        return None
    text = SECRET_FIELD.sub(lambda m: f'"{m[1]}"{m[2]}"{mask(m[3])}"', raw.decode("utf-8", "replace"))
    return text if size <= len(raw) else f"{text}... ({size:,} bytes in all)"


def masked_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    masked = {}
    for key, value in headers:
        name = key.decode("latin-1")
        masked[name] = mask(value.decode("latin-1")) if name in SECRET_HEADERS else value.decode("latin-1")
    return masked


def masked_query(raw: bytes) -> str:
    """The query string with the value of any key-like parameter (`api_key`, `x-api-key`) masked."""
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, mask(v) if any(w in k.lower() for w in SECRET_WORDS) else v) for k, v in pairs], safe="*")


class Journal:
    """The last `size` requests, oldest first. `deque.append` is atomic, so no lock is needed."""

    def __init__(self, size: int = JOURNAL_SIZE) -> None:
        self._entries: deque[tuple] = deque(maxlen=size)

    def record(self, entry: tuple) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def entries(self, last: int | None = None) -> list[dict]:
        """Oldest first; `last`: only that many of the newest."""
        kept = list(self._entries)
        return [_entry(*entry) for entry in (kept[-last:] if last else kept)]

    def newest(self) -> Iterator[dict]:
        """Newest first, each formatted only when reached: a reader that stops early pays for
        what it read."""
        return (_entry(*entry) for entry in reversed(list(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)


def _entry(started: float, method: str, path: str, query: bytes, headers: list, status: int,
           ms: float, operation_id: str | None, request: tuple[bytes, int] | None = None,
           answer: tuple[bytes, int] | None = None) -> dict:
    key = header(headers, b"x-api-key")
    return {
        "time": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": method,
        "path": path,
        "query": masked_query(query),
        "status": status,
        "latency_ms": round(ms, 2),
        "operation_id": operation_id,
        "api_key": mask(key) if key else None,
        "request_headers": masked_headers(headers),
        "request_body": masked_body(*request) if request else None,
        "response_body": masked_body(*answer) if answer else None,
    }


def _kept(chunks: list[bytes]) -> tuple[bytes, int] | None:
    """A body's first `BODY_LIMIT` bytes and its size; one chunk within the limit is kept as is."""
    if not chunks:
        return None
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return (body if len(body) <= BODY_LIMIT else body[:BODY_LIMIT]), len(body)


class JournalMiddleware:
    """Times each request, records it in the journal and writes the access log line."""

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, clock = time(), perf_counter()
        status = 500  # what the client gets if the app raises before answering
        # Connexion's router copies the scope, but a shallow copy shares this dict with us.
        extensions = scope.setdefault("extensions", {})
        received: list[bytes] = []
        sent: list[bytes] = []

        async def receive_body() -> Message:
            message = await receive()
            if message.get("body"):
                received.append(message["body"])
            return message

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message.get("body"):
                sent.append(message["body"])
            await send(message)

        try:
            await self.app(scope, receive_body, send_status)
        finally:
            ms = (perf_counter() - clock) * 1000
            operation_id = extensions.get(ROUTING, {}).get("operation_id")
            method, path = scope["method"], scope["path"]
            self.journal.record((started, method, path, scope["query_string"], scope["headers"], status, ms, operation_id,
                                 _kept(received), _kept(sent)))
            if ACCESS_LOG.isEnabledFor(logging.INFO):
                ACCESS_LOG.info("%s %s %d %.1fms", method, path, status, ms, extra={
                    "method": method, "path": path, "status": status, "ms": round(ms, 2), "operation_id": operation_id,
                })
