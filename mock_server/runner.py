"""Serving the app: the uvicorn server behind the CLI, and `MockServer` for in-process use.

Both bind the socket themselves so `port=0` works and the real port is known before the first
request; `MockServer` runs uvicorn in a daemon thread and stops it cleanly on exit.
"""
from __future__ import annotations

import gc
import socket
import threading
from collections.abc import Iterable
from pathlib import Path

import uvicorn

from flexprice_spec.document import Spec

from .app import DEFAULT_API_KEY, create_app
from .core.times import parse_instant
from .devtools.fixtures import read
from .domain.backend import Backend
from .domain.clock import Clock
from .http.limits import GuardedHttpProtocol
from .storage.store import Store


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket, spec: Spec) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{spec.base_path}"


class AnnouncingServer(uvicorn.Server):
    """Prints the base URL once the server accepts connections: the CLI's readiness line.

    Just before that, the CLI's server moves what start-up built (the parsed spec, Connexion's
    operations, routes and validators: ~100k objects on the full spec) out of the cyclic GC's
    reach with `gc.freeze()`. Full collections then walk only what requests created; without it
    each one paused every in-flight request for 70 ms or more on the full spec. The in-process
    `MockServer` announces nothing and leaves the host process's GC alone.
    """

    announce: str = ""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.announce and not self.should_exit:
            gc.collect()
            gc.freeze()
            print(self.announce, flush=True)


def server_for(app, log_level: str = "warning", announce: str = "") -> uvicorn.Server:
    # the API has no WebSocket endpoint: `Upgrade: websocket` is served as plain HTTP (a JSON 4xx)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on", http=GuardedHttpProtocol,
                            ws="none")
    server = AnnouncingServer(config)
    server.announce = announce
    return server


class MockServer:
    """`with MockServer() as mock:` a live mock on an ephemeral loopback port.

    `mock.url` ends with the spec's base path (`/v1`), ready for the SDK's `server_url`.
    `fixtures=[path, ...]` loads data fixtures now and after every `reset()`; `overlays=[path, ...]`
    are Overlay 1.0 files applied to the spec in memory; `mock.requests` is the request journal
    (API keys masked). `clock="2026-01-01T00:00:00Z"` starts the billing clock frozen there;
    `mock.clock.advance("P1M")` moves it and bills what that ends.
    `mock.webhooks` lists the webhook bodies emitted since the last reset;
    `mock.add_webhook(url, secret)` delivers them to a receiver (`webhooks.py`).
    `world = mock.snapshot()` keeps the whole state; `mock.restore(world)` goes back to it in
    milliseconds, as a reset goes back to the start-up state (build a rich world once, restore
    it before each test).
    """

    def __init__(
        self,
        spec: str | Path | None = None,
        api_key: str = DEFAULT_API_KEY,
        api_keys: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = False,
        clock: str | Clock | None = None,
        overlays: Iterable[str | Path] = (),
        **options,
    ) -> None:
        self.spec = Spec.load(spec, overlays)
        self.api_key = api_key
        if isinstance(clock, str):
            clock = Clock(parse_instant(clock, "clock"))
        self.app = create_app(self.spec, api_keys=[api_key, *api_keys], strict=strict, clock=clock, **options)
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def backend(self) -> Backend:
        """The domain: records, billing, keys, the clock (`mock.backend.billing.invoices`, ...)."""
        return self.app.state

    @property
    def store(self) -> Store:
        return self.backend.store

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @property
    def outbox(self) -> list[dict]:
        """Every domain event recorded since the last reset, oldest first (what webhooks deliver)."""
        return self.backend.outbox.entries()

    @property
    def webhooks(self) -> list[dict]:
        """Every webhook emitted since the last reset, oldest first: `{"id", "event_type",
        "payload"}`, the payload being the body a receiver gets."""
        return self.app.webhooks.emitted()

    def add_webhook(self, url: str, secret: str | None = None, events: list[str] | None = None) -> dict:
        """Deliver events (those named in `events`, or all) to `url` until the next reset."""
        return self.app.webhooks.add(url, secret, events).describe()

    @property
    def requests(self) -> list[dict]:
        return self.app.journal.entries()

    def reset(self) -> None:
        """Back to the fixtures the mock started with; the journal is emptied too."""
        self.backend.reset()

    def snapshot(self) -> dict:
        """The whole state (records, key digests, events, sequences, clock) as a JSON document,
        the one `GET /_mock/state/export` answers."""
        return self.backend.snapshot()

    def restore(self, snapshot: dict) -> dict[str, int]:
        """Back to `snapshot`, as a reset would go back to the start-up state: the journal, stubs
        and outbox are emptied too. The records restored, by resource."""
        return self.backend.restore(snapshot)

    def stub(self, operation: str | None = None, *, status: int, body: object = None, times: int = 1,
             delay: str | None = None, method: str | None = None, path: str | None = None) -> dict:
        """The next `times` requests of `operation` (an operationId, or `method` and `path`) answer
        `status` with `body` (default: the error envelope, or fake data for a documented 2xx),
        until a reset; `stubs.StubError` says why a stub is refused."""
        fields = {"operation": operation, "method": method, "path": path, "body": body, "delay": delay}
        return self.app.stubs.add({**{k: v for k, v in fields.items() if v is not None}, "status": status,
                                   "times": times})

    def load_fixtures(self, source: str | Path | dict) -> dict[str, int]:
        """More fixtures (a file, a folder or a document) until the next reset."""
        documents = [("<dict>", source)] if isinstance(source, dict) else read(source)
        return self.app.fixtures.load(documents)

    def start(self) -> MockServer:
        sock = bind(self._host, self._port)
        self.url = base_url(sock, self.spec)
        self._server = server_for(self.app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the mock server failed to start")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
        self.app.webhooks.close()
        self.store.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
