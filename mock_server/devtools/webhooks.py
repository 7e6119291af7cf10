"""Webhooks: the endpoints that receive domain events, and their delivery, signing and retries.

Every change the domain records (`Outbox.record`) is heard here (`Outbox.on_change`): it
joins the log of what was emitted (`MockServer.webhooks`) and, for each endpoint that wants its
event type, becomes a delivery. The caller (an API request, the clock's period job) only appends
the change to a hand-over list; making the deliveries, shaping the body and sending happen in
passes 10 ms apart, with one bounded queue per endpoint: an API call never waits for a receiver,
however slow. A pass records what it made for an endpoint as one `Batch` (its changes and one
timestamp); a `Delivery` object is made only for a change that is attempted. Behind a receiver
that hangs, the queue is full and every later change fails at once: a pass then costs one small
record, not an object and a clock read per change for the loop to build and the garbage collector
to walk (docs/benchmarks.md, Webhooks: per-change records kept the API's p99 20-40% above a run
without webhooks). Deliveries run on the server's own event loop when the app is served (`attach`
at start-up: awaiting a receiver costs the API nothing, and no second thread takes the GIL from
it), else on a loop of their own in a daemon thread (an app driven in-process without a server); the
clock may move from any thread either way.

Per endpoint, first attempts go out one at a time in the order the changes happened. A non-2xx
answer, a refused connection or a timeout (5 s an attempt) is retried `retries` times on its own
schedule (`backoff` x 1, 2, 4, ... seconds) while later messages go on, then recorded as failed;
a full queue is recorded as failed too. Nothing is dropped silently: `deliveries()` lists every
delivery with its attempts (each one's time, status or error and duration), the headers and the
start of the receiver's answer of the last (the last `LOG_SIZE`: one that leaves the log is still
sent and retried, only no longer listed), and `retry(id)` sends one again.

With a secret (`whsec_` + base64) a delivery is signed as Svix signs it (`svix-id`,
`svix-timestamp` in wall-clock seconds, `svix-signature`), the same id on every attempt, so a
receiver verifies it with the `svix` package as in production; without one it is a plain POST
(the real server's native mode). Secrets are never shown or logged.

Endpoints given at start-up (`--webhook-url`) are each process's own and survive `reset()`.
Endpoints added at run time (`POST /_mock/webhooks`) are kept in the store (a shared setting, the
secret with them, since every process signs with it), so every worker and replica sharing it
knows them: each delivers the changes it records, and a change is recorded by one process only,
so each endpoint gets each change once. Deliveries and their log stay with the process that
made them. A reset drops the run-time endpoints, the deliveries and the emitted log made since.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx
import orjson

from ..core.failures import Invalid, NotFound, Refused
from ..core.times import utc_now
from ..domain.events import Outbox
from ..domain.ids import IdFactory
from ..domain.lifecycle import Lifecycle
from .webhook_payloads import Payloads

QUEUE_SIZE = 10_000  # waiting first attempts per endpoint; beyond that a delivery fails at once
LOG_SIZE = 10_000  # emitted events and deliveries kept for inspection; the oldest go first
ATTEMPT_TIMEOUT = 5.0
GATHER = 0.01  # seconds the sender waits to take changes in one pass
SECRET_PREFIX = "whsec_"
SHARED = "webhook_endpoints"  # the store's setting listing the run-time endpoints
ANSWER_LIMIT = 2048  # characters of a receiver's answer kept for inspection


@dataclass(slots=True)
class WebhookOptions:
    """Start-up configuration (the CLI's `--webhook-*` options)."""

    urls: tuple[str, ...] = ()
    secret: str | None = None
    retries: int = 5
    backoff: float = 1.0
    timeout: float = ATTEMPT_TIMEOUT
    queue_size: int = QUEUE_SIZE  # tests make these small
    log_size: int = LOG_SIZE


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
class Batch:
    """The deliveries one sender pass made for one endpoint: its changes in order, one timestamp.
    The first `queued` wait on the endpoint's queue, the rest failed at once (queue full); only a
    change that is attempted (or retried by hand) gets a `Delivery` of its own."""

    endpoint: Endpoint
    generation: int
    created_at: str
    changes: list[dict]
    queued: int
    failure: str  # the error of those that did not fit on the queue
    start: int = 0  # changes[:start] have left the log (oldest first): unlisted, those queued still sent
    attempted: dict[int, Delivery] = field(default_factory=dict)

    def delivery(self, index: int) -> Delivery:
        found = self.attempted.get(index)
        if found is None:
            found = self.attempted[index] = Delivery(self, index)
        return found

    def describe(self, index: int) -> dict:
        change, delivery = self.changes[index], self.attempted.get(index)
        if delivery is not None:
            state = delivery.status, delivery.attempts, delivery.last_status, delivery.last_error
        else:
            state = ("pending", 0, None, None) if index < self.queued else ("failed", 0, None, self.failure)
        message_id = message_id_of(change)
        return {"id": f"whd_{message_id[4:]}_{self.endpoint.ordinal}", "message_id": message_id,
                "event_type": change["event_type"], "endpoint_id": self.endpoint.id, "url": self.endpoint.url,
                "status": state[0], "attempts": state[1], "last_status": state[2], "last_error": state[3],
                "created_at": self.created_at,
                "attempt_log": list(delivery.log) if delivery is not None else [],
                "request_headers": dict(delivery.headers) if delivery is not None else {},
                "response_body": delivery.answer if delivery is not None else None}


@dataclass(slots=True)
class Delivery:
    """One change's delivery to one endpoint, from its first attempt on."""

    batch: Batch
    index: int
    status: str = "pending"  # pending -> delivered | failed
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    body: bytes = field(default=b"", repr=False)  # shaped at the first attempt
    log: list[dict] = field(default_factory=list)  # every attempt: when, status or error, milliseconds
    headers: dict[str, str] = field(default_factory=dict)  # those the last attempt sent (the signature)
    answer: str | None = None  # the start of the receiver's last answer

    @property
    def change(self) -> dict:
        return self.batch.changes[self.index]

    @property
    def endpoint(self) -> Endpoint:
        return self.batch.endpoint

    @property
    def message_id(self) -> str:
        return message_id_of(self.change)

    def describe(self) -> dict:
        return self.batch.describe(self.index)


class Webhooks:
    def __init__(self, outbox: Outbox, lifecycle: Lifecycle, payloads: Payloads, options: WebhookOptions | None = None,
                 seed: int = 0) -> None:
        self.payloads = payloads
        self.lifecycle = lifecycle
        # its own, so configuring webhooks never changes the records' ids; from the OS when
        # processes share the store, so none draws another's endpoint id
        self.ids = IdFactory(None if lifecycle.store.shared else seed)
        self.options = options = options or WebhookOptions()
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}
        self._log: deque[Batch] = deque()  # the deliveries, oldest first, `options.log_size` of them
        self._logged = 0
        self._emitted: deque[dict] = deque(maxlen=options.log_size)
        self._pending: list[dict] = []  # changes handed over, not yet taken by a pass
        self._woken = False  # a pass is due
        self._sender: Sender | None = None
        self._generation = 0  # moved on by every reset: what was on its way before is dropped
        self._ordinals = itertools.count(1)
        self._server_loop: asyncio.AbstractEventLoop | None = None
        for url in options.urls:
            self.add(url, options.secret, permanent=True)
        outbox.on_change(self.on_change)
        lifecycle.on_local_reset(self._reset)
        lifecycle.watch(SHARED, self._adopt)

    # -- endpoints ------------------------------------------------------------------------------
    def add(self, url: object, secret: object = None, events: object = None, permanent: bool = False) -> Endpoint:
        """A receiver for the events named in `events` (all when None). One added at run time is
        shared: every process sharing the store delivers the changes it makes to it."""
        endpoint = Endpoint(self.ids.new("wh"), 0, _checked_url(url), _checked_secret(secret),
                            _checked_events(events), permanent, utc_now())
        if permanent:
            self._install([endpoint])
            return endpoint
        with self.lifecycle.store.atomic():  # read, add, write: one process at a time
            self._share([*self._shared(), _shared_form(endpoint)])
        return self._endpoints[endpoint.id]

    def remove(self, endpoint_id: str) -> None:
        with self._lock:
            permanent = endpoint_id in self._endpoints and self._endpoints[endpoint_id].permanent
        if permanent:
            self._uninstall({endpoint_id})
            return
        with self.lifecycle.store.atomic():
            shared = self._shared()
            if not any(e["id"] == endpoint_id for e in shared):
                raise NotFound("webhook endpoint", endpoint_id)
            self._share([e for e in shared if e["id"] != endpoint_id])

    def _shared(self) -> list[dict]:
        found = self.lifecycle.store.setting(SHARED)
        return orjson.loads(found) if found else []

    def _share(self, shared: list[dict]) -> None:
        """The run-time endpoints, for every process (`Lifecycle.share`), and for this one now."""
        value = orjson.dumps(shared).decode()
        self.lifecycle.share(SHARED, value)
        self._adopt(value)

    def _adopt(self, value: str | None) -> None:
        """The run-time endpoints as the store lists them: those new here are installed, those
        gone are stopped; those known stay as they are (their ordinal, their line)."""
        shared = orjson.loads(value) if value else []
        with self._lock:
            known = {k for k, e in self._endpoints.items() if not e.permanent}
        wanted = {e["id"] for e in shared}
        self._install([_endpoint_of(e) for e in shared if e["id"] not in known])
        self._uninstall(known - wanted)

    def _install(self, endpoints: list[Endpoint]) -> None:
        """Deliver to `endpoints` from now on; one already known (another thread adopted it
        first) is left as it is."""
        for endpoint in endpoints:
            if endpoint.secret is not None:
                from svix.webhooks import (
                    Webhook,  # imported when first needed: the package loads its whole API client
                )

                endpoint.signer = Webhook(endpoint.secret)
            with self._lock:
                if endpoint.id not in self._endpoints:
                    endpoint.ordinal = next(self._ordinals)  # this process's: the suffix of its delivery ids
                    self._endpoints[endpoint.id] = endpoint

    def _uninstall(self, endpoint_ids: set[str]) -> None:
        with self._lock:
            for endpoint_id in endpoint_ids:
                self._endpoints.pop(endpoint_id, None)
            sender = self._sender
        if sender is not None and endpoint_ids:
            sender.forget(endpoint_ids)

    def endpoints(self) -> list[dict]:
        with self._lock:
            return [e.describe() for e in self._endpoints.values()]

    # -- what changed ---------------------------------------------------------------------------
    def on_change(self, change: dict) -> None:
        """Runs in the caller of `Outbox.record`, under the outbox's lock: log it and hand it over,
        no more (a pass on the sender's loop makes the deliveries)."""
        with self._lock:
            self._emitted.append(change)
            if not self._endpoints:
                return
            self._pending.append(change)
            sender = self._due_sender()
        if sender is not None:
            sender.wake()

    def batches(self, room: Callable[[Endpoint, int], int]) -> list[Batch]:
        """What was handed over since the last pass, as one logged batch per endpoint that wants
        any of it; `room(endpoint, generation)` says how many more first attempts its queue takes."""
        with self._lock:
            changes, self._pending, self._woken = self._pending, [], False
            if not changes:
                return []
            created_at, made = utc_now(), []
            for endpoint in self._endpoints.values():
                wanted = changes if endpoint.events is None else [c for c in changes if endpoint.wants(c["event_type"])]
                if wanted:
                    made.append(Batch(endpoint, self._generation, created_at, wanted,
                                      min(len(wanted), room(endpoint, self._generation)),
                                      f"delivery queue full ({self.options.queue_size} waiting)"))
            for batch in made:
                self._remember(batch)
        return made

    def emitted(self) -> list[dict]:
        """Every event emitted since the last reset, oldest first, as its body (what receivers get)."""
        with self._lock:
            changes = list(self._emitted)
        return [{"id": message_id_of(c), "event_type": c["event_type"], "payload": self.payloads.body(c)}
                for c in changes]

    # -- deliveries -----------------------------------------------------------------------------
    def deliveries(self, last: int | None = None) -> list[dict]:
        """Oldest first (those one pass made, which share their `created_at`, endpoint by endpoint);
        `last`: only that many of the newest, read from the end of the log."""
        with self._lock:
            if last is None:
                return [batch.describe(i) for batch in self._log for i in range(batch.start, len(batch.changes))]
            newest: list[dict] = []
            for batch in reversed(self._log):
                for i in range(len(batch.changes) - 1, batch.start - 1, -1):
                    if len(newest) == last:
                        return newest[::-1]
                    newest.append(batch.describe(i))
            return newest[::-1]

    def retry(self, delivery_id: str) -> dict:
        """Send a delivery again (same message id), with its retries, whatever became of it."""
        with self._lock:
            found = self._find(delivery_id)
            if found is None:
                raise NotFound("webhook delivery", delivery_id)
            batch, index = found
            if batch.endpoint.id not in self._endpoints:
                raise Refused(f"the endpoint of delivery {delivery_id} was removed")
            delivery = batch.delivery(index)
            delivery.status = "pending"
            sender = self._running_sender()
        sender.resend(delivery)
        return delivery.describe()

    def current(self, batch: Batch) -> bool:
        """Whether a batch's deliveries still count: a reset drops what was pending, and a removed
        endpoint gets nothing more. One that left the log still counts: the log is for looking,
        and what was accepted onto a queue is sent."""
        with self._lock:
            return self._current(batch)

    def delivery(self, batch: Batch, index: int) -> Delivery | None:
        """The delivery of `batch.changes[index]`, made now if need be; None if no longer current."""
        with self._lock:
            return batch.delivery(index) if self._current(batch) else None

    def _current(self, batch: Batch) -> bool:
        return batch.generation == self._generation and batch.endpoint.id in self._endpoints

    def body(self, change: dict) -> bytes:
        return orjson.dumps(self.payloads.body(change))

    def close(self) -> None:
        if self._sender is not None:
            self._sender.stop()
            self._sender = None

    def _remember(self, batch: Batch) -> None:
        """Log a batch; the oldest deliveries leave the log beyond `log_size`."""
        self._log.append(batch)
        self._logged += len(batch.changes)
        while self._logged > self.options.log_size:
            oldest = self._log[0]
            leaving = min(self._logged - self.options.log_size, len(oldest.changes) - oldest.start)
            oldest.start += leaving
            self._logged -= leaving
            if oldest.start == len(oldest.changes):
                self._log.popleft()

    def _find(self, delivery_id: str) -> tuple[Batch, int] | None:
        """Where the log holds a delivery (`whd_<ULID of the event>_<endpoint ordinal>`): a scan,
        as retrying by hand is rare and an index would cost every change."""
        head, _, ordinal = delivery_id.rpartition("_")
        if not head.startswith("whd_"):
            return None
        wanted = "msg_" + head[4:]
        for batch in self._log:
            if str(batch.endpoint.ordinal) == ordinal:
                for index in range(batch.start, len(batch.changes)):
                    if message_id_of(batch.changes[index]) == wanted:
                        return batch, index
        return None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on the server's event loop from now on (called when the server starts)."""
        self._replace_sender(loop)

    def detach(self) -> None:
        """The server stops: its loop is no longer there to deliver on."""
        self._replace_sender(None)

    def _replace_sender(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The old sender stops; what was handed over and not yet taken goes to the next one."""
        with self._lock:
            self._server_loop = loop
            previous, self._sender, self._woken = self._sender, None, False
            sender = self._due_sender() if self._pending and loop is not None else None
        if previous is not None:
            previous.stop()
        if sender is not None:
            sender.wake()

    def _due_sender(self) -> Sender | None:
        """Under the lock: the sender to wake for a pass, None if one is already due."""
        if self._woken:
            return None
        self._woken = True
        return self._running_sender()

    def _running_sender(self) -> Sender:
        if self._sender is None:
            self._sender = Sender(self, self._server_loop)
        return self._sender

    def _reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._log.clear()
            self._logged = 0
            self._emitted.clear()
            self._pending.clear()
            dropped = {k for k, e in self._endpoints.items() if not e.permanent}
            self._endpoints = {k: e for k, e in self._endpoints.items() if e.permanent}
            sender = self._sender
        if sender is not None and dropped:
            sender.forget(dropped)


class Line:
    """One endpoint's first attempts, in the order the changes happened: the batches that still
    have some waiting, and how far the endpoint's worker got into the first."""

    def __init__(self, generation: int) -> None:
        self.generation = generation  # a reset starts a new line: this one's batches are dropped
        self.batches: deque[Batch] = deque()
        self.head = 0  # the next index in batches[0]
        self.waiting = 0  # first attempts not yet taken: the batches' `queued`, less `head`
        self.ready = asyncio.Event()
        self.worker: asyncio.Task | None = None

    def add(self, batch: Batch) -> None:
        self.batches.append(batch)
        self.waiting += batch.queued
        self.ready.set()

    def take(self, current: Callable[[Batch], bool]) -> tuple[Batch, int] | None:
        """The next first attempt still due, None when there is none. Batches no longer
        `current` are passed over whole: a worker back from a 5 s timeout behind thousands of
        them does not hold the loop stepping through each."""
        while self.batches:
            batch, index = self.batches[0], self.head
            if index < batch.queued and current(batch):
                self.waiting -= 1
                self.head = index + 1
                return batch, index
            self.waiting -= batch.queued - self.head
            self.batches.popleft()
            self.head = 0
        self.ready.clear()
        return None


class Sender:
    """The delivery work on one event loop (the server's, or its own in a daemon thread): one
    line of first attempts and one worker per endpoint, retries beside."""

    def __init__(self, webhooks: Webhooks, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.webhooks, self.options = webhooks, webhooks.options
        self.loop = loop or asyncio.new_event_loop()
        self._lines: dict[str, Line] = {}
        self._tasks: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._thread: threading.Thread | None = None
        if loop is None:
            self._thread = threading.Thread(target=self.loop.run_forever, name="webhooks", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """From any thread: one pass `GATHER` seconds from now takes whatever was handed over by
        then, so a burst of API calls costs the loop a few passes, not one each."""
        self.loop.call_soon_threadsafe(self.loop.call_later, GATHER, self._drain)

    def resend(self, delivery: Delivery) -> None:
        self.loop.call_soon_threadsafe(self._spawn, self._send_with_retries(delivery))

    def forget(self, endpoint_ids: set[str]) -> None:
        """Stop the workers of removed endpoints; what they had queued is no longer current."""
        def drop() -> None:
            for endpoint_id in endpoint_ids:
                line = self._lines.pop(endpoint_id, None)
                if line is not None and line.worker is not None:
                    line.worker.cancel()

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
        """One pass: each batch's first attempts join its endpoint's line. The body is shaped
        when a delivery is first sent, not here: a burst behind a slow receiver costs no shaping
        (nor memory) for what is still waiting."""
        for batch in self.webhooks.batches(self._room):
            if batch.queued:
                self._line(batch).add(batch)

    def _room(self, endpoint: Endpoint, generation: int) -> int:
        line = self._lines.get(endpoint.id)
        waiting = line.waiting if line is not None and line.generation == generation else 0
        return self.options.queue_size - waiting

    def _line(self, batch: Batch) -> Line:
        line = self._lines.get(batch.endpoint.id)
        if line is None or line.generation != batch.generation:
            if line is not None and line.worker is not None:
                line.worker.cancel()
            line = self._lines[batch.endpoint.id] = Line(batch.generation)
            line.worker = self._spawn(self._work(line))
        return line

    def _spawn(self, coroutine) -> asyncio.Task:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _work(self, line: Line) -> None:
        """First attempts in order; a failed one retries on its own schedule, not in the way."""
        while True:
            taken = line.take(self.webhooks.current)
            if taken is None:
                await line.ready.wait()
                continue
            delivery = self.webhooks.delivery(*taken)
            if delivery is not None and not await self._attempt(delivery):
                self._spawn(self._retry(delivery))

    async def _send_with_retries(self, delivery: Delivery) -> None:
        if self._current(delivery) and not await self._attempt(delivery):
            await self._retry(delivery)

    async def _retry(self, delivery: Delivery) -> None:
        for attempt in range(self.options.retries):
            await asyncio.sleep(self.options.backoff * 2 ** attempt)
            if not self._current(delivery) or await self._attempt(delivery):
                return
        delivery.status = "failed"

    def _current(self, delivery: Delivery) -> bool:
        return self.webhooks.current(delivery.batch)

    async def _attempt(self, delivery: Delivery) -> bool:
        """One POST; True when the receiver answered 2xx."""
        delivery.attempts += 1
        delivery.body = delivery.body or self.webhooks.body(delivery.change)
        delivery.headers = _headers(delivery)
        at, started, ok = utc_now(), time.perf_counter(), False
        try:
            response = await self._http().post(delivery.endpoint.url, content=delivery.body,
                                               headers=delivery.headers, timeout=self.options.timeout)
        except httpx.HTTPError as exc:
            delivery.last_status, delivery.last_error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            delivery.answer = None
        else:
            delivery.last_status = response.status_code
            delivery.last_error = None if response.is_success else f"HTTP {response.status_code}"
            delivery.answer = response.text[:ANSWER_LIMIT]
            ok = response.is_success
            if ok:
                delivery.status = "delivered"
        delivery.log.append({"at": at, "status": delivery.last_status, "error": delivery.last_error,
                             "ms": round((time.perf_counter() - started) * 1000, 1)})
        return ok

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client


def _shared_form(endpoint: Endpoint) -> dict:
    """What the store keeps of a run-time endpoint: every process signs with its secret."""
    return {"id": endpoint.id, "url": endpoint.url, "secret": endpoint.secret,
            "events": sorted(endpoint.events) if endpoint.events is not None else None,
            "created_at": endpoint.created_at}


def _endpoint_of(shared: dict) -> Endpoint:
    events = shared.get("events")
    return Endpoint(shared["id"], 0, shared["url"], shared.get("secret"),
                    frozenset(events) if events is not None else None, False, shared["created_at"])


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
