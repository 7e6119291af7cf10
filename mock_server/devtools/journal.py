"""The request journal and the access log: what reached the API, with API keys masked.

`JournalMiddleware` sits outside Connexion's exception handling, so it sees the final status of
every request, errors included. The hot path only appends a tuple to a bounded deque; masking and
formatting happen when someone reads the journal. The access log line is built only when the
`mock_server.access` logger is enabled for INFO (it is not by default).
"""
from __future__ import annotations

import logging
from collections import deque
from datetime import datetime, timezone
from time import perf_counter, time
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..http.asgi import header

ACCESS_LOG = logging.getLogger("mock_server.access")
JOURNAL_SIZE = 1000
ROUTING = "connexion_routing"  # the scope extension Connexion's router fills in
SECRET_WORDS = ("key", "token", "secret", "password")


def mask(secret: str) -> str:
    """Enough of a key to tell two apart, too little to use: like the real server's `display_id`."""
    return f"{secret[:5]}***{secret[-2:]}" if len(secret) >= 16 else "***"


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

    def entries(self) -> list[dict]:
        return [_entry(*entry) for entry in list(self._entries)]


def _entry(started: float, method: str, path: str, query: bytes, headers: list, status: int,
           ms: float, operation_id: str | None) -> dict:
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
    }


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

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            ms = (perf_counter() - clock) * 1000
            operation_id = extensions.get(ROUTING, {}).get("operation_id")
            method, path = scope["method"], scope["path"]
            self.journal.record((started, method, path, scope["query_string"], scope["headers"], status, ms, operation_id))
            if ACCESS_LOG.isEnabledFor(logging.INFO):
                ACCESS_LOG.info("%s %s %d %.1fms", method, path, status, ms, extra={
                    "method": method, "path": path, "status": status, "ms": round(ms, 2), "operation_id": operation_id,
                })
