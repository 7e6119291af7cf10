"""Webhooks: the endpoints that receive domain events, and their delivery, signing and retries.

Every change the store records (`Store.record_change`) is heard here (`Store.on_change`): it
joins the log of what was emitted (`MockServer.webhooks`) and, for each endpoint that wants its
event type, becomes a delivery. The caller (an API request, the clock's period job) only appends
the change to a hand-over queue; making the deliveries, shaping the body and sending happen in
passes 10 ms apart, with one bounded queue per endpoint: an API call never waits for a receiver,
however slow. They run on the server's own event loop when the app is served (`attach` at
start-up: awaiting a receiver costs the API nothing, and no second thread takes the GIL from it),
else on a loop of their own in a daemon thread (an app driven in-process without a server); the
clock may move from any thread either way.

Per endpoint, first attempts go out one at a time in the order the changes happened. A non-2xx
answer, a refused connection or a timeout (5 s an attempt) is retried `retries` times on its own
schedule (`backoff` x 1, 2, 4, ... seconds) while later messages go on, then recorded as failed;
a full queue is recorded as failed too. Nothing is dropped silently: `deliveries()` lists every
delivery with its attempts and last status or error, and `retry(id)` sends one again.

With a secret (`whsec_` + base64) a delivery is signed as Svix signs it (`svix-id`,
`svix-timestamp` in wall-clock seconds, `svix-signature`), the same id on every attempt, so a
receiver verifies it with the `svix` package as in production; without one it is a plain POST
(the real server's native mode). Secrets are never shown or logged.

Endpoints given at start-up (`--webhook-url`) survive `reset()`; endpoints, deliveries and the
emitted log made since are dropped by it.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx
import orjson

from .domain import Invalid, NotFound, Refused
from .store import IdFactory, Store, utc_now
from .webhook_payloads import Payloads

QUEUE_SIZE = 10_000  # waiting first attempts per endpoint; beyond that a delivery fails at once
LOG_SIZE = 10_000  # emitted events and deliveries kept for inspection; the oldest go first
ATTEMPT_TIMEOUT = 5.0
GATHER = 0.01  # seconds the sender waits to take changes in one pass
SECRET_PREFIX = "whsec_"


@dataclass(slots=True)
class WebhookOptions:
    """Start-up configuration (the CLI's `--webhook-*` options)."""

    urls: tuple[str, ...] = ()
    secret: str | None = None
    retries: int = 5
    backoff: float = 1.0
    timeout: float = ATTEMPT_TIMEOUT


@dataclass(slots=True)
class Endpoint:
    id: str
    ordinal: int  # 1, 2, ...: the suffix of its deliveries' ids
    url: str
    secret: str | None
    events: frozenset[str] | None  # None: every event type
    permanent: bool  # configured at start-up: kept by reset
    created_at: str
    signer: object = None  # svix.webhooks.Webhook for the secret

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events

    def describe(self) -> dict:
        return {"id": self.id, "url": self.url, "events": sorted(self.events) if self.events is not None else None,
                "signed": self.secret is not None, "created_at": self.created_at}


@dataclass(slots=True)
class Delivery:
    id: str
    message_id: str
    event_type: str
    endpoint: Endpoint
    created_at: str
    status: str = "pending"  # pending -> delivered | failed
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    change: dict = field(default_factory=dict, repr=False)  # the change, as recorded when it happened
    body: bytes = field(default=b"", repr=False)  # shaped at the first attempt

    def describe(self) -> dict:
        return {"id": self.id, "message_id": self.message_id, "event_type": self.event_type,
                "endpoint_id": self.endpoint.id, "url": self.endpoint.url, "status": self.status,
                "attempts": self.attempts, "last_status": self.last_status, "last_error": self.last_error,
                "created_at": self.created_at}


class Webhooks:
    def __init__(self, store: Store, payloads: Payloads, options: WebhookOptions | None = None, seed: int = 0) -> None:
        self.store, self.payloads = store, payloads
        self.ids = IdFactory(seed)  # its own, so configuring webhooks never changes the records' ids
        self.options = options = options or WebhookOptions()
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}
        self._deliveries: OrderedDict[str, Delivery] = OrderedDict()  # the oldest dropped in O(1)
        self._emitted: deque[dict] = deque(maxlen=LOG_SIZE)
        self._sender: Sender | None = None
        self._generation = 0  # moved on by every reset: what was on its way before is dropped
        self._ordinals = itertools.count(1)
        self._server_loop: asyncio.AbstractEventLoop | None = None
        for url in options.urls:
            self.add(url, options.secret, permanent=True)
        store.on_change(self.on_change)
        store.on_local_reset(self._reset)

    # -- endpoints ------------------------------------------------------------------------------
    def add(self, url: object, secret: object = None, events: object = None, permanent: bool = False) -> Endpoint:
        """A receiver for the events named in `events` (all when None)."""
        endpoint = Endpoint(self.ids.new("wh"), next(self._ordinals), _checked_url(url), _checked_secret(secret),
                            _checked_events(events), permanent, utc_now())
        if endpoint.secret is not None:
            from svix.webhooks import Webhook  # imported when first needed: the package loads its whole API client

            endpoint.signer = Webhook(endpoint.secret)
        with self._lock:
            self._endpoints[endpoint.id] = endpoint
        return endpoint

    def remove(self, endpoint_id: str) -> None:
        with self._lock:
            if self._endpoints.pop(endpoint_id, None) is None:
                raise NotFound("webhook endpoint", endpoint_id)
            sender = self._sender
        if sender is not None:
            sender.forget({endpoint_id})

    def endpoints(self) -> list[dict]:
        with self._lock:
            return [e.describe() for e in self._endpoints.values()]

    # -- what changed ---------------------------------------------------------------------------
    def on_change(self, change: dict) -> None:
        """Runs in the caller of `record_change`, under the store's lock: log it and hand it to
        the sender, no more (the deliveries are made on the sender's loop)."""
        with self._lock:
            self._emitted.append(change)
            if not self._endpoints:
                return
            generation, sender = self._generation, self._running_sender()
        sender.submit(generation, change)

    def deliveries_for(self, generation: int, change: dict) -> list[Delivery]:
        """One delivery per endpoint that wants the change; none if a reset came in between."""
        message_id = message_id_of(change)
        with self._lock:
            if generation != self._generation:
                return []
            made = [Delivery(f"whd_{message_id[4:]}_{e.ordinal}", message_id, change["event_type"], e, utc_now(),
                             change=change)
                    for e in self._endpoints.values() if e.wants(change["event_type"])]
            for delivery in made:
                self._remember(delivery)
        return made

    def emitted(self) -> list[dict]:
        """Every event emitted since the last reset, oldest first, as its body (what receivers get)."""
        with self._lock:
            changes = list(self._emitted)
        return [{"id": message_id_of(c), "event_type": c["event_type"], "payload": self.payloads.body(c)}
                for c in changes]

    # -- deliveries -----------------------------------------------------------------------------
    def deliveries(self) -> list[dict]:
        with self._lock:
            return [d.describe() for d in self._deliveries.values()]

    def retry(self, delivery_id: str) -> dict:
        """Send a delivery again (same message id), with its retries, whatever became of it."""
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None:
                raise NotFound("webhook delivery", delivery_id)
            if delivery.endpoint.id not in self._endpoints:
                raise Refused(f"the endpoint of delivery {delivery_id} was removed")
            delivery.status = "pending"
            sender = self._running_sender()
        sender.resend(delivery)
        return delivery.describe()

    def current(self, delivery: Delivery) -> bool:
        """Whether the delivery still counts: a reset drops what was pending, and a removed
        endpoint gets nothing more."""
        with self._lock:
            return self._deliveries.get(delivery.id) is delivery and delivery.endpoint.id in self._endpoints

    def body(self, change: dict) -> bytes:
        return orjson.dumps(self.payloads.body(change))

    def close(self) -> None:
        if self._sender is not None:
            self._sender.stop()
            self._sender = None

    def _remember(self, delivery: Delivery) -> None:
        self._deliveries[delivery.id] = delivery
        if len(self._deliveries) > LOG_SIZE:
            self._deliveries.popitem(last=False)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on the server's event loop from now on (called when the server starts)."""
        with self._lock:
            self._server_loop = loop
            previous, self._sender = self._sender, None
        if previous is not None:
            previous.stop()

    def detach(self) -> None:
        """The server stops: its loop is no longer there to deliver on."""
        with self._lock:
            self._server_loop = None
            previous, self._sender = self._sender, None
        if previous is not None:
            previous.stop()

    def _running_sender(self) -> Sender:
        if self._sender is None:
            self._sender = Sender(self, self._server_loop)
        return self._sender

    def _reset(self, _store: Store) -> None:
        with self._lock:
            self._generation += 1
            self._deliveries.clear()
            self._emitted.clear()
            dropped = {k for k, e in self._endpoints.items() if not e.permanent}
            self._endpoints = {k: e for k, e in self._endpoints.items() if e.permanent}
            sender = self._sender
        if sender is not None and dropped:
            sender.forget(dropped)


class Sender:
    """The delivery work on one event loop (the server's, or its own in a daemon thread): one
    queue and worker per endpoint, retries beside."""

    def __init__(self, webhooks: Webhooks, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.webhooks, self.options = webhooks, webhooks.options
        self.loop = loop or asyncio.new_event_loop()
        self._pending: deque[tuple[int, dict]] = deque()  # changes handed over, not yet on a queue
        self._woken = False
        self._queues: dict[str, asyncio.Queue] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._thread: threading.Thread | None = None
        if loop is None:
            self._thread = threading.Thread(target=self.loop.run_forever, name="webhooks", daemon=True)
            self._thread.start()

    def submit(self, generation: int, change: dict) -> None:
        """From any thread: one wake-up of the loop for however many changes arrive within
        `GATHER` seconds, so a burst of API calls costs the loop a few passes, not one each
        (and the API's thread hands the GIL over that much less often)."""
        self._pending.append((generation, change))
        if not self._woken:
            self._woken = True
            self.loop.call_soon_threadsafe(self.loop.call_later, GATHER, self._drain)

    def resend(self, delivery: Delivery) -> None:
        self.loop.call_soon_threadsafe(self._spawn, self._send_with_retries(delivery))

    def forget(self, endpoint_ids: set[str]) -> None:
        """Stop the workers of removed endpoints; what they had queued is no longer current."""
        def drop() -> None:
            for endpoint_id in endpoint_ids:
                worker = self._workers.pop(endpoint_id, None)
                self._queues.pop(endpoint_id, None)
                if worker is not None:
                    worker.cancel()

        self.loop.call_soon_threadsafe(drop)

    def stop(self) -> None:
        """Cancel what is in flight; an own loop is stopped and closed, the server's left running."""
        async def shutdown() -> None:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()
            if self._thread is not None:
                self.loop.stop()

        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(shutdown()))
        if self._thread is not None:
            self._thread.join(5)
            if not self._thread.is_alive():
                self.loop.close()

    # -- on the loop ----------------------------------------------------------------------------
    def _drain(self) -> None:
        self._woken = False
        while self._pending:
            self._enqueue(*self._pending.popleft())

    def _enqueue(self, generation: int, change: dict) -> None:
        """Queue each delivery behind its endpoint's. The body is shaped when it is first sent,
        not here: a burst of changes behind a slow receiver then costs the API's process a queue
        slot each, not the shaping of thousands of bodies at once (nor their memory)."""
        for delivery in self.webhooks.deliveries_for(generation, change):
            queue = self._queue(delivery.endpoint)
            if queue.full():
                delivery.status, delivery.last_error = "failed", f"delivery queue full ({QUEUE_SIZE} waiting)"
                continue
            queue.put_nowait(delivery)

    def _queue(self, endpoint: Endpoint) -> asyncio.Queue:
        queue = self._queues.get(endpoint.id)
        if queue is None:
            queue = self._queues[endpoint.id] = asyncio.Queue(QUEUE_SIZE)
            self._workers[endpoint.id] = self._spawn(self._work(queue))
        return queue

    def _spawn(self, coroutine) -> asyncio.Task:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _work(self, queue: asyncio.Queue) -> None:
        """First attempts in order; a failed one retries on its own schedule, not in the way."""
        while True:
            delivery = await queue.get()
            if self.webhooks.current(delivery) and not await self._attempt(delivery):
                self._spawn(self._retry(delivery))

    async def _send_with_retries(self, delivery: Delivery) -> None:
        if self.webhooks.current(delivery) and not await self._attempt(delivery):
            await self._retry(delivery)

    async def _retry(self, delivery: Delivery) -> None:
        for attempt in range(self.options.retries):
            await asyncio.sleep(self.options.backoff * 2 ** attempt)
            if not self.webhooks.current(delivery) or await self._attempt(delivery):
                return
        delivery.status = "failed"

    async def _attempt(self, delivery: Delivery) -> bool:
        """One POST; True when the receiver answered 2xx."""
        delivery.attempts += 1
        delivery.body = delivery.body or self.webhooks.body(delivery.change)
        try:
            response = await self._http().post(delivery.endpoint.url, content=delivery.body,
                                               headers=_headers(delivery), timeout=self.options.timeout)
        except httpx.HTTPError as exc:
            delivery.last_status, delivery.last_error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return False
        delivery.last_status = response.status_code
        delivery.last_error = None if response.is_success else f"HTTP {response.status_code}"
        if response.is_success:
            delivery.status = "delivered"
        return response.is_success

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client


def message_id_of(change: dict) -> str:
    """The `svix-id` of a change's messages: `msg_` and the ULID of its event id."""
    return "msg_" + change["id"].rsplit("_", 1)[-1]


def _headers(delivery: Delivery) -> dict[str, str]:
    headers = {"content-type": "application/json", "user-agent": "flexprice-mock-webhooks"}
    signer = delivery.endpoint.signer
    if signer is not None:
        now = datetime.now(timezone.utc)  # wall clock, never the billing clock: receivers reject stale stamps
        headers.update({"svix-id": delivery.message_id, "svix-timestamp": str(int(now.timestamp())),
                        "svix-signature": signer.sign(delivery.message_id, now, delivery.body.decode())})
    return headers


def _checked_url(url: object) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("url", f"url must be an http(s) URL, got {url!r}")
    return url


def _checked_secret(secret: object) -> str | None:
    if secret is None:
        return None
    encoded = secret[len(SECRET_PREFIX):] if isinstance(secret, str) and secret.startswith(SECRET_PREFIX) else None
    try:
        valid = bool(encoded) and bool(base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True))
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise Invalid("secret", "secret must be whsec_ followed by base64 (the Standard Webhooks format)")
    return secret


def _checked_events(events: object) -> frozenset[str] | None:
    if events is None:
        return None
    if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
        raise Invalid("events", "events must be a list of event type names, such as [\"customer.created\"]")
    return frozenset(events)
