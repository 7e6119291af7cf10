"""A webhook receiver for tests: a threaded HTTP server on an ephemeral loopback port that
verifies every delivery's signature with the `svix` package, as a production handler does.

`WebhookReceiver(secret)` records each POST as a `Received` (headers, body, whether its signature
verified); `answers=[500, 500]` makes it answer those statuses first (then 200), `hang=True`
makes it hold every request until it stops, and `gate=threading.Event()` holds each until the
event is set, then records and answers it: a slow receiver that catches up. `wait_for(n)` blocks
until n deliveries arrived.
The pytest plugin's `flexprice_webhooks` fixture is one of these, registered on the mock.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def new_secret() -> str:
    """A fresh `whsec_` secret (24 random bytes, base64), as Svix issues them."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(slots=True)
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool | None  # None when the receiver has no secret

    @property
    def payload(self) -> dict:
        return json.loads(self.body)

    @property
    def event_type(self) -> str:
        return self.payload["event_type"]

    @property
    def message_id(self) -> str | None:
        return self.headers.get("svix-id")


class WebhookReceiver:
    def __init__(self, secret: str | None = None, answers: list[int] | None = None, hang: bool = False,
                 gate: threading.Event | None = None) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self._answers = list(answers or [])
        self._hang = hang
        self._gate = gate
        self._stopping = threading.Event()
        self._arrived = threading.Condition()
        self._verifier = None
        if secret is not None:
            from svix.webhooks import Webhook

            self._verifier = Webhook(secret)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def event_types(self) -> list[str]:
        with self._arrived:
            return [r.event_type for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` deliveries, once they arrived; AssertionError after `timeout`."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} webhook deliveries arrived, {count} expected")
            return list(self.received[:count])

    def _verified(self, headers: dict[str, str], body: bytes) -> bool | None:
        if self._verifier is None:
            return None
        try:
            self._verifier.verify(body, headers)
        except Exception:  # svix raises WebhookVerificationError, or a decoding error for malformed headers
            return False
        return True

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        """The status to answer, after recording the delivery."""
        with self._arrived:
            self.received.append(Received(headers, body, self._verified(headers, body)))
            self._arrived.notify_all()
            return self._answers.pop(0) if self._answers else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if receiver._hang:
                    receiver._stopping.wait()
                    return
                if receiver._gate is not None:
                    receiver._gate.wait()
                status = receiver._record({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler
