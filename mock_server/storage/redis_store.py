"""`RedisStore`: the store in Redis, shared by every mock process pointed at one server and
namespace, so N replicas behind a load balancer serve one consistent API.

Everything lives under `flexprice-mock:<namespace>:`:

    meta                    hash: the shared settings (the tenant's ids, the clock's state, as
                            `domain.lifecycle` writes them), generation, version (moved on by
                            every write), ready (set-up finished)
    r:<resource>            hash: id -> the record's JSON
    o:<resource>            sorted set: ids in insertion order
    u:<resource>            hash: "<field>\\x1f<value>" -> id, one entry per unique key
    x:<resource>            hash: id -> the unique entries it holds (to free them)
    resources               set of resource names
    k                       hash: SHA-256 of a key (hex) -> [secret id, expiry or null]
    e / es                  hashes: event id -> its stored JSON / the key of its series
    s:<customer>\\x1f<name>  sorted set: that customer's events of that name, scored by time (µs)
    n:<name>                set: the customers with events of that name
    q:<name>, order         counters (sequences, insertion order)
    generation              counter: one more per reset (kept by reset)
    lock, setup             the write lock; the claim of the first set-up

A write that checks unique keys is one Lua script, so a key is unique across processes; updates
merge in Python and are written only if the record is still what was read (compare and set).
Writes that read first run under `atomic()`, a Redis lock with a TTL (a crashed holder frees it
within `LOCK_TTL`). Each request starts with a `poll()`: one read of `meta`, in the round trip
that checks the request's API key, says what the others did (a reset, a write, the clock moved),
which `domain.lifecycle` acts on. Every record write moves `meta`'s version on, in its script,
so a request that finds the version where this process left it may answer its record reads
from what it read before (`ReadCache`): a list page or the tenant's tax links unchanged since
the last request cost no round trip. API keys are cached alike (their writes move the version
too), so a request received before the process last read the stamp is served on that stamp,
with no round trip to authenticate and catch up: whatever another process acknowledged before
the request was received, that stamp shows (`request`). A write of this process's own drops its
resource's entries; any other change, or a new connection (Redis may have restarted without
its last writes), drops them all. Scripts run on a connection of the process's own (`Link`).
Any Redis failure is `Unavailable` (503 in the envelope): socket timeouts bound every call, so
a lost Redis never hangs a request, and connections are made again once it is back. Redis
Cluster is not supported (the scripts name keys the prefix builds).
"""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

import orjson
import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as Disconnected
from redis.exceptions import LockError, NoScriptError, RedisError
from redis.retry import Retry

from ..core.failures import Conflict, Invalid, Unavailable
from .read_cache import MISSING, ReadCache
from .redis_scripts import ADD_DISTINCT_EVENTS, ADD_EVENTS, DELETE, FIND, PAGE, PAGE_AND_TOTAL, PUT, STAMP, WINDOW
from .redis_link import Link
from .store import ApiKey, Filter, Poll, Store, pack

log = logging.getLogger("mock_server")


@dataclass(slots=True)
class _Frame:
    """One request's span (`RedisStore.request`)."""

    received: int | None  # when the request was received (`time.monotonic_ns`), if the server said
    stamp: list | None = None  # what its key lookup read for its poll, until the poll takes it
    sent: int = 0  # when that lookup was sent
    epoch: int = 0  # the read cache's epoch then
    digest: str = ""  # the key it looked up
    shared: bool = False  # its key and its poll are those of a stamp read after it was received
    polled: bool = False  # it caught up: its reads may be answered from the read cache


_frame: ContextVar[_Frame | None] = ContextVar("flexprice_mock_request_frame", default=None)

KEY_PREFIX = "flexprice-mock"
NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Seconds: a lost Redis answers 503, never a hang. A dropped connection (Redis restarted) is
# retried once on a new one; a command that timed out is not (Redis may be paused or busy).
CONNECT_TIMEOUT, COMMAND_TIMEOUT = 1.0, 2.0
LOCK_TTL, LOCK_WAIT = 30.0, 5.0  # the write lock frees itself; a writer waits this long for it
SETUP_WAIT = 60.0  # how long a process waits for another to finish setting a namespace up
CHUNK = 5_000  # ids read per script call (Lua's unpack has a limit)
BULK = 1_000  # events written per script call: the API's largest bulk, well under unpack's limit
SETTING = "s:"  # a shared setting's field in `meta`
KEYS = "k"  # the API keys' entries in the read cache (no resource has the name)
SEP = "\x1f"  # between a unique key's field and value; the scripts join entries with \x1e


class _Client(redis.Redis):
    """redis-py's client whose every failure is the domain's `Unavailable`: one place, so no
    Redis error can reach a handler as a 500."""

    def execute_command(self, *args, **options):
        try:
            return super().execute_command(*args, **options)
        except NoScriptError:
            raise  # a script not yet loaded (or lost in a restart): redis-py loads it and retries
        except RedisError as exc:
            raise unavailable(exc) from None


def unavailable(exc: Exception) -> Unavailable:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Unavailable(f"the shared store (Redis) cannot be reached: {reason}", {"store": "redis"})


def checked_namespace(namespace: str) -> str:
    if not NAMESPACE.fullmatch(namespace or ""):
        raise Invalid("namespace", f"a namespace is 1-64 letters, digits, '.', '_' or '-', got {namespace!r}")
    return namespace


def _entry(field: str, value: object) -> str | None:
    """A unique key's index entry, typed as the memory store's dict keys are (1 is not "1")."""
    if isinstance(value, str) and value:
        return f"{field}{SEP}s{value}"
    if isinstance(value, int):
        return f"{field}{SEP}i{int(value)}"
    return None


class RedisRecords(Sequence[dict]):
    """All records of a resource, newest first, read from Redis as they are needed: the length
    is one call, a page one more."""

    __slots__ = ("_store", "_resource", "_length")

    def __init__(self, store: RedisStore, resource: str) -> None:
        self._store, self._resource = store, resource
        self._length: int | None = None  # read with the first page, or on its own if asked first

    def __len__(self) -> int:
        if self._length is None:
            store, resource = self._store, self._resource
            self._length = store._cached(resource, ("length",), lambda: store._redis.zcard(store._k("o:" + resource)))
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice) and self._length is None and index.step in (None, 1) and \
                (index.start or 0) >= 0 and index.stop is not None and index.stop >= 0:
            start, stop = index.start or 0, index.stop
            if stop <= start:
                return []
            store, resource = self._store, self._resource
            self._length, texts = store._cached(
                resource, ("page", start, stop), lambda: _page(store._page_and_total(args=[store._prefix, resource, start, stop - 1])),
                lambda page: len(page[1]))
            return [orjson.loads(t) for t in texts if t is not None]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return list(self)[index]
            return [orjson.loads(t) for t in self._store._texts(self._resource, start, stop - 1)] if stop > start else []
        found = self[index:index + 1] if index >= 0 else self[len(self) + index:len(self) + index + 1]
        if not found:
            raise IndexError(index)
        return found[0]

    def __iter__(self):
        return iter([orjson.loads(t) for t in self._store._texts(self._resource, 0, -1)])


class RedisStore(Store):
    shared = True

    def __init__(self, url: str, unique_keys: dict[str, tuple[str, ...]] | None = None,
                 namespace: str = "default") -> None:
        super().__init__(unique_keys)
        self.namespace = checked_namespace(namespace)
        self._prefix = f"{KEY_PREFIX}:{namespace}:"
        self._reads = ReadCache()  # valid for the stamp (`_generation`, `_version`) this process knows
        self._read_at = 0  # when the last stamp this process caught up with was read (monotonic ns)
        try:
            self._redis = _Client.from_url(url, decode_responses=True, socket_timeout=COMMAND_TIMEOUT,
                                           socket_connect_timeout=CONNECT_TIMEOUT, retry=Retry(NoBackoff(), 1, (Disconnected,)),
                                           redis_connect_func=self._connected)
        except ValueError as exc:
            raise Invalid("store", f"not a Redis URL ({exc}); use redis://HOST:PORT/DB") from None
        self.url = url
        self._link = Link(self._redis)
        self._put, self._delete, self._find = (self._script(s) for s in (PUT, DELETE, FIND))
        self._page, self._add_events, self._in_window = (self._script(s) for s in (PAGE, ADD_EVENTS, WINDOW))
        self._stamp, self._page_and_total = (self._script(s) for s in (STAMP, PAGE_AND_TOTAL))
        self._add_distinct_events = self._script(ADD_DISTINCT_EVENTS)
        self._local = threading.RLock()
        self._depth = 0
        self._lock = self._redis.lock(self._k("lock"), timeout=LOCK_TTL, sleep=0.002,
                                      blocking_timeout=LOCK_WAIT, thread_local=False)
        self._generation = self._version = -1
        self._settings: dict[str, str] = {}  # the shared settings as last read, and their stamp
        self._settings_stamp = ""

    def _connected(self, connection) -> None:
        """A new connection: Redis may have restarted, and one restored from its append-only
        file may lack the last writes, so a stamp seen again no longer proves a read fresh."""
        self._reads.clear()
        connection.on_connect()

    def _k(self, name: str) -> str:
        return self._prefix + name

    def _script(self, text: str):
        """A script run on this process's own connection (`Link`); its failures are `Unavailable`."""
        script, link = self._redis.register_script(text), self._link

        def run(args: list) -> object:
            try:
                return link.run(script, args)
            except RedisError as exc:
                raise unavailable(exc) from None

        return run

    # -- shared settings and coordination -------------------------------------------------------
    def join(self) -> dict[str, str] | None:
        """Adopt the namespace's settings, or claim its set-up if it is empty; a process that
        finds another setting it up waits for it, up to `SETUP_WAIT`."""
        deadline = time.monotonic() + SETUP_WAIT
        while True:
            meta = self._redis.hgetall(self._k("meta"))
            if meta.get("ready"):
                self._reads.clear()
                self._generation, self._version = int(meta["generation"]), int(meta.get("version") or 0)
                return self._cache_settings(meta)
            if self._redis.set(self._k("setup"), uuid.uuid4().hex, nx=True, ex=int(SETUP_WAIT)):
                return None
            if time.monotonic() > deadline:
                raise Unavailable(f"namespace {self.namespace!r} is still being set up by another process")
            time.sleep(0.05)

    def publish(self, settings: dict[str, str], ready: bool) -> None:
        """A new generation of the namespace, with `settings`, kept as this process's view of
        them: the stamp a poll compares is the settings' counter and the generation, so a view
        older than what was just written must not survive it."""
        self._wipe()
        self._reads.clear()
        generation = self._redis.incr(self._k("generation"))
        if generation <= self._generation:  # the counter went with a flush: never repeat a generation seen here
            generation = self._generation + 1
            self._redis.set(self._k("generation"), generation)
        self._generation, self._version = generation, 0
        meta = {**{SETTING + k: v for k, v in settings.items()}, "generation": generation, "version": 0,
                "settings": 0}
        self._redis.hset(self._k("meta"), mapping={**meta, **({"ready": "1"} if ready else {})})
        self._cache_settings({k: str(v) for k, v in meta.items()})

    def mark_ready(self) -> None:
        self._redis.hset(self._k("meta"), "ready", "1")
        self._redis.delete(self._k("setup"))

    def save_setting(self, name: str, value: str) -> None:
        with self._redis.pipeline(transaction=True) as saving:  # the value and its stamp at once
            saving.hset(self._k("meta"), SETTING + name, value)
            saving.hincrby(self._k("meta"), "settings", 1)
            saving.execute()

    @contextmanager
    def request(self, received: int | None = None) -> Iterator[None]:
        """Within it, the first key lookup also reads the stamp the next `poll` needs, in the
        same round trip: an API request authenticates, then catches up, with one call. A request
        `received` before this process last read the stamp needs no call at all when its key
        was read then too: whatever another process had acknowledged before it was received,
        that stamp covers, so it is served as if it had arrived then (what 16 connections
        served one at a time are)."""
        token = _frame.set(_Frame(received))
        try:
            yield
        finally:
            _frame.reset(token)

    def setting(self, name: str) -> str | None:
        return self._redis.hget(self._k("meta"), SETTING + name)

    def poll(self) -> Poll:
        """What others did, from the namespace's stamp (`meta`'s ready, generation and version),
        read this request if a key lookup read it already; the settings themselves are read
        only when their stamp moved (a reset, a clock move, a setting saved)."""
        frame = _frame.get()
        if frame is not None and frame.shared and not frame.polled:
            frame.polled = True
            return Poll(lost=False, reset=False, wrote=False, settings=dict(self._settings))
        if frame is not None and frame.stamp is not None:
            answer, frame.stamp, sent = frame.stamp, None, frame.sent
        else:
            sent = time.monotonic_ns()
            answer = self._stamp(args=[self._k("meta"), self._settings_stamp])
        ready, generation, version, meta, _ = answer
        if not ready:
            self._reads.clear()
            return Poll(lost=True, reset=False, wrote=False, settings={})
        if meta is not None:
            self._cache_settings(dict(zip(meta[::2], meta[1::2], strict=True)))
        generation, version = int(generation), int(version or 0)
        reset = generation != self._generation
        wrote = reset or version != self._version
        if wrote:
            self._reads.clear()
        self._generation, self._version = generation, version
        self._read_at = max(self._read_at, sent)
        if frame is not None:
            if frame.digest:
                self._reads.keep(frame.epoch, KEYS, frame.digest, answer[4])
            frame.polled = True
        return Poll(lost=False, reset=reset, wrote=wrote, settings=dict(self._settings))

    def _cache_settings(self, meta: dict[str, str]) -> dict[str, str]:
        self._settings = _settings(meta)
        self._settings_stamp = f"{meta.get('settings') or 0}:{meta.get('generation')}"
        return dict(self._settings)

    def _wipe(self) -> None:
        """Every key of the namespace but the lock, the generation counter and the set-up claim."""
        kept = {self._k("lock"), self._k("generation"), self._k("setup")}
        batch = []
        for key in self._redis.scan_iter(match=self._prefix + "*", count=1000):
            if key not in kept:
                batch.append(key)
            if len(batch) >= 1000:
                self._redis.unlink(*batch)
                batch = []
        if batch:
            self._redis.unlink(*batch)

    def _wrote(self, version: int, resource: str | None = None) -> None:
        """Our own write (to `resource`'s records, if any) moved the version on: no news, and
        only that resource's cached reads are stale, unless another process wrote too."""
        if version == self._version + 1:
            self._version = version
            if resource is not None:
                self._reads.drop(resource)
        else:
            self._reads.clear()

    def _cached(self, resource: str, key: tuple, read, size=lambda found: 1):
        """`read()`, answered from the read cache inside a request that has caught up (its
        poll checked the stamp the cache is valid for); else from Redis, as outside requests."""
        frame = _frame.get()
        if frame is None or not frame.polled:
            return read()
        return self._reads.read(resource, key, read, size)

    @contextmanager
    def atomic(self):
        with self._local:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            if not self._lock.acquire():
                raise Unavailable(f"the shared store's write lock stayed taken for {LOCK_WAIT:g} s", {"store": "redis"})
            self._depth = 1
            try:
                if self.caught_up is not None:
                    self.caught_up()  # what the last holder wrote, the clock included
                yield
            finally:
                self._depth = 0
                try:
                    self._lock.release()
                except (LockError, Unavailable):
                    pass  # it expired, or Redis is gone: its TTL frees it either way

    def close(self) -> None:
        self._link.close()
        self._redis.close()

    # -- API keys -------------------------------------------------------------------------------
    def put_key(self, key: bytes, secret_id: str, expires_at: datetime | None) -> None:
        self._write_keys(lambda keys: keys.hset(self._k("k"), key.hex(),
                                                pack([secret_id, expires_at.isoformat() if expires_at else None])))

    def key(self, key: bytes) -> ApiKey | None:
        frame, digest = _frame.get(), key.hex()
        if frame is None or frame.polled or frame.stamp is not None:
            found = self._redis.hget(self._k("k"), digest)
        elif frame.received is not None and frame.received < self._read_at and \
                (found := self._reads.get(KEYS, digest)) is not MISSING:
            frame.shared = True  # its poll too is that stamp's, which this process has caught up with
        else:  # the request's first lookup: with the stamp its poll will need
            frame.sent, frame.epoch, frame.digest = time.monotonic_ns(), self._reads.epoch, digest
            frame.stamp = self._stamp(args=[self._k("meta"), self._settings_stamp, self._k("k"), digest])
            found = frame.stamp[4]
        return None if found is None else _api_key(found)

    def revoke_keys_of(self, secret_id: str) -> None:
        owned = [sha for sha, key in self.key_digests() if key.secret_id == secret_id]
        if owned:
            self._write_keys(lambda keys: keys.hdel(self._k("k"), *owned))

    def _write_keys(self, write) -> None:
        """A change to the keys, with the version it moves on (read caches hold keys too)."""
        with self._redis.pipeline(transaction=True) as keys:
            write(keys)
            keys.hincrby(self._k("meta"), "version", 1)
            self._wrote(keys.execute()[-1], KEYS)

    def key_digests(self) -> list[tuple[str, ApiKey]]:
        return [(sha, _api_key(found)) for sha, found in self._redis.hgetall(self._k("k")).items()]

    # -- records --------------------------------------------------------------------------------
    def _entries(self, resource: str, record: dict) -> list[str]:
        return [e for e in (_entry(key, record.get(key)) for key in self._unique_keys.get(resource, ())) if e]

    def _write(self, resource: str, record: dict, expected: str) -> str:
        """Write `record` if the stored text is still `expected` ('*': whatever it is):
        'ok' or 'changed'; `Conflict` when a unique key is another record's."""
        answer = self._put(args=[self._prefix, resource, record["id"], expected, pack(record),
                                 *self._entries(resource, record)])
        if answer[0] == "taken":
            field = answer[1].split(SEP, 1)[0]
            raise Conflict(field, record.get(field))
        if answer[0] == "ok":
            self._wrote(int(answer[1]), resource)
        return answer[0]

    def insert(self, resource: str, record: dict) -> dict:
        self._write(resource, record, "*")
        return record

    def get(self, resource: str, record_id: str) -> dict | None:
        packed = self._cached(resource, ("get", record_id), lambda: self._redis.hget(self._k("r:" + resource), record_id))
        return None if packed is None else orjson.loads(packed)

    def find(self, resource: str, key: str, value: object) -> dict | None:
        if key in self._unique_keys.get(resource, ()):
            entry = _entry(key, value)
            packed = self._cached(resource, ("find", entry), lambda: self._find(args=[self._prefix, resource, entry])) \
                if entry else None
            return None if packed is None else orjson.loads(packed)
        return next((r for r in RedisRecords(self, resource) if r.get(key) == value), None)

    def update(self, resource: str, record_id: str, changes: dict) -> dict | None:
        while True:
            packed = self._redis.hget(self._k("r:" + resource), record_id)
            if packed is None:
                return None
            merged = {**orjson.loads(packed), **changes}
            if self._write(resource, merged, packed) == "ok":
                return merged

    def delete(self, resource: str, record_id: str) -> dict | None:
        answer = self._delete(args=[self._prefix, resource, record_id])
        if answer is None:
            return None
        packed, version = answer
        self._wrote(version, resource)
        return orjson.loads(packed)

    def _texts(self, resource: str, start: int, stop: int) -> tuple[str, ...]:
        """Stored texts by rank, newest first, `start` to `stop` inclusive (-1: the last)."""
        return self._cached(resource, ("texts", start, stop), lambda: self._read_texts(resource, start, stop), len)

    def _read_texts(self, resource: str, start: int, stop: int) -> tuple[str, ...]:
        texts: list[str] = []
        while stop < 0 or start <= stop:
            last = start + CHUNK - 1 if stop < 0 else min(stop, start + CHUNK - 1)
            found = self._page(args=[self._prefix, resource, start, last])
            texts += [t for t in found if t is not None]
            if len(found) < last - start + 1:
                break
            start = last + 1
        return tuple(texts)

    def select(self, resource: str, where: Filter | None = None) -> Sequence[dict]:
        if where is None:
            return RedisRecords(self, resource)
        return where.select(self._texts(resource, 0, -1))

    def dump(self) -> dict[str, list[dict]]:
        found = {name: list(reversed(self._texts(name, 0, -1))) for name in sorted(self._redis.smembers(self._k("resources")))}
        return {name: [orjson.loads(t) for t in texts] for name, texts in found.items() if texts}

    def next_in_sequence(self, name: str) -> int:
        return self._redis.incr(self._k("q:" + name))

    def sequences(self) -> dict[str, int]:
        names = list(self._redis.scan_iter(match=self._k("q:*"), count=1000))
        values = self._redis.mget(names) if names else []
        start = len(self._k("q:"))
        return {name[start:]: int(value) for name, value in zip(names, values, strict=True) if value is not None}

    def set_sequence(self, name: str, value: int) -> None:
        self._redis.set(self._k("q:" + name), value)

    # -- usage events ---------------------------------------------------------------------------
    def add_events(self, events: Sequence[tuple[int, str, dict]]) -> list[dict]:
        """One script per `BULK` events (the API's largest bulk: one transaction), each of
        distinct ids in a few commands; with an id repeated, one event at a time, in order."""
        replaced = []
        for first in range(0, len(events), BULK):
            chunk = events[first:first + BULK]
            args: list[object] = [self._prefix]
            for at, event_id, fields in chunk:
                args += [event_id, pack(fields), fields["external_customer_id"], fields["event_name"], at]
            distinct = len({event_id for _, event_id, _ in chunk}) == len(chunk)
            version, texts = (self._add_distinct_events if distinct else self._add_events)(args=args)
            self._wrote(version)
            replaced += [self._event(i, text) for i, text in zip(texts[::2], texts[1::2], strict=True)]
        return replaced

    def _event_text(self, event_id: str) -> str | None:
        return self._redis.hget(self._k("e"), event_id)

    def _window(self, customer: str, name: str, start: int | None, end: int | None) -> list[tuple[str, str]]:
        found = self._in_window(args=[self._k(f"s:{customer}{SEP}{name}"), "-inf" if start is None else start,
                                      "+inf" if end is None else f"({end}", self._k("e")])
        return list(zip(found[::2], found[1::2], strict=True))

    def _customers_with(self, name: str) -> list[str]:
        return sorted(self._redis.smembers(self._k("n:" + name)))

    def _all_event_texts(self) -> list[tuple[str, str]]:
        return list(self._redis.hscan_iter(self._k("e"), count=1000))


def _page(answer: list) -> tuple[int, tuple[str, ...]]:
    return answer[0], tuple(answer[1])


def _settings(meta: dict[str, str]) -> dict[str, str]:
    return {key[len(SETTING):]: value for key, value in meta.items() if key.startswith(SETTING)}


def _api_key(found: str) -> ApiKey:
    secret_id, expires_at = orjson.loads(found)
    return ApiKey(secret_id, datetime.fromisoformat(expires_at) if expires_at else None)
