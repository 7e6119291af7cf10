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
within `LOCK_TTL`). Each request starts with a `poll()`: one read of `meta` says what the others
did (a reset, a write, the clock moved), which `domain.lifecycle` acts on. Any Redis failure is `Unavailable`
(503 in the envelope): socket timeouts bound every call, so a lost Redis never hangs a request,
and the connection pool reconnects once it is back. Redis Cluster is not supported (the scripts
name keys the prefix builds).
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
from datetime import datetime

import orjson
import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as Disconnected
from redis.exceptions import LockError, NoScriptError, RedisError
from redis.retry import Retry

from ..core.failures import Conflict, Invalid, Unavailable
from .store import ApiKey, Filter, Poll, Store, pack

log = logging.getLogger("mock_server")
# The stamp a request's key lookup read for its poll (`RedisStore.request`); None outside a request.
_prefetched: ContextVar[list | None] = ContextVar("flexprice_mock_prefetched_stamp", default=None)

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
SEP = "\x1f"  # between a unique key's field and value; the scripts join entries with \x1e

PUT = """
local p, res, id, expected, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local rk, uk, xk = p .. 'r:' .. res, p .. 'u:' .. res, p .. 'x:' .. res
local cur = redis.call('HGET', rk, id)
if expected ~= '*' and (cur or '') ~= expected then return {'changed'} end
for i = 6, #ARGV do
  local owner = redis.call('HGET', uk, ARGV[i])
  if owner and owner ~= id then return {'taken', ARGV[i]} end
end
local old = redis.call('HGET', xk, id)
if old then
  for entry in string.gmatch(old, '[^\\30]+') do
    if redis.call('HGET', uk, entry) == id then redis.call('HDEL', uk, entry) end
  end
end
if #ARGV >= 6 then
  for i = 6, #ARGV do redis.call('HSET', uk, ARGV[i], id) end
  redis.call('HSET', xk, id, table.concat(ARGV, '\\30', 6))
else
  redis.call('HDEL', xk, id)
end
redis.call('HSET', rk, id, text)
if not cur then
  redis.call('ZADD', p .. 'o:' .. res, redis.call('INCR', p .. 'order'), id)
  redis.call('SADD', p .. 'resources', res)
end
return {'ok', redis.call('HINCRBY', p .. 'meta', 'version', 1)}
"""

DELETE = """
local p, res, id = ARGV[1], ARGV[2], ARGV[3]
local rk, uk, xk = p .. 'r:' .. res, p .. 'u:' .. res, p .. 'x:' .. res
local cur = redis.call('HGET', rk, id)
if not cur then return false end
local old = redis.call('HGET', xk, id)
if old then
  for entry in string.gmatch(old, '[^\\30]+') do
    if redis.call('HGET', uk, entry) == id then redis.call('HDEL', uk, entry) end
  end
end
redis.call('HDEL', rk, id)
redis.call('HDEL', xk, id)
redis.call('ZREM', p .. 'o:' .. res, id)
redis.call('HINCRBY', p .. 'meta', 'version', 1)
return cur
"""

FIND = """
local id = redis.call('HGET', ARGV[1] .. 'u:' .. ARGV[2], ARGV[3])
if not id then return false end
return redis.call('HGET', ARGV[1] .. 'r:' .. ARGV[2], id)
"""

PAGE = """
local ids = redis.call('ZREVRANGE', ARGV[1] .. 'o:' .. ARGV[2], ARGV[3], ARGV[4])
if #ids == 0 then return {} end
return redis.call('HMGET', ARGV[1] .. 'r:' .. ARGV[2], unpack(ids))
"""

ADD_EVENTS = """
local p = ARGV[1]
local replaced = {}
for i = 2, #ARGV, 5 do
  local id, text, customer, name, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local series = p .. 's:' .. customer .. '\\31' .. name
  local old = redis.call('HGET', p .. 'es', id)
  if old then
    redis.call('ZREM', old, id)
    replaced[#replaced + 1] = id
    replaced[#replaced + 1] = redis.call('HGET', p .. 'e', id)
  end
  redis.call('HSET', p .. 'e', id, text)
  redis.call('HSET', p .. 'es', id, series)
  redis.call('ZADD', series, at, id)
  redis.call('SADD', p .. 'n:' .. name, customer)
end
return {redis.call('HINCRBY', p .. 'meta', 'version', 1), replaced}
"""

ADD_DISTINCT_EVENTS = """
local p = ARGV[1]
local ids, texts, stored, where, series, names = {}, {}, {}, {}, {}, {}
for i = 2, #ARGV, 5 do
  local id, text, customer, name, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key = p .. 's:' .. customer .. '\\31' .. name
  ids[#ids + 1] = id
  stored[#stored + 1] = id
  stored[#stored + 1] = text
  where[#where + 1] = id
  where[#where + 1] = key
  if not series[key] then series[key] = {} end
  local members = series[key]
  members[#members + 1] = at
  members[#members + 1] = id
  if not names[name] then names[name] = {} end
  names[name][customer] = true
end
local before = redis.call('HMGET', p .. 'es', unpack(ids))
local replaced = {}
for k, old in ipairs(before) do
  if old then
    redis.call('ZREM', old, ids[k])
    replaced[#replaced + 1] = ids[k]
    replaced[#replaced + 1] = redis.call('HGET', p .. 'e', ids[k])
  end
end
redis.call('HSET', p .. 'e', unpack(stored))
redis.call('HSET', p .. 'es', unpack(where))
for key, members in pairs(series) do redis.call('ZADD', key, unpack(members)) end
for name, customers in pairs(names) do
  local list = {}
  for customer in pairs(customers) do list[#list + 1] = customer end
  redis.call('SADD', p .. 'n:' .. name, unpack(list))
end
return {redis.call('HINCRBY', p .. 'meta', 'version', 1), replaced}
"""

STAMP = """
local meta = ARGV[1]
local s = redis.call('HMGET', meta, 'ready', 'generation', 'version', 'settings')
local settings = false
if s[1] and ((s[4] or '0') .. ':' .. s[2]) ~= ARGV[2] then settings = redis.call('HGETALL', meta) end
local key = false
if ARGV[3] then key = redis.call('HGET', ARGV[3], ARGV[4]) end
return {s[1] or false, s[2] or false, s[3] or false, settings, key}
"""

PAGE_AND_TOTAL = """
local total = redis.call('ZCARD', ARGV[1] .. 'o:' .. ARGV[2])
local ids = redis.call('ZREVRANGE', ARGV[1] .. 'o:' .. ARGV[2], ARGV[3], ARGV[4])
if #ids == 0 then return {total, {}} end
return {total, redis.call('HMGET', ARGV[1] .. 'r:' .. ARGV[2], unpack(ids))}
"""

WINDOW = """
local ids = redis.call('ZRANGEBYSCORE', ARGV[1], ARGV[2], ARGV[3])
local out = {}
for i, id in ipairs(ids) do
  out[2 * i - 1] = id
  out[2 * i] = redis.call('HGET', ARGV[4], id)
end
return out
"""


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
            self._length = self._store._redis.zcard(self._store._k("o:" + self._resource))
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice) and self._length is None and index.step in (None, 1) and \
                (index.start or 0) >= 0 and index.stop is not None and index.stop >= 0:
            start, stop = index.start or 0, index.stop
            if stop <= start:
                return []
            store = self._store
            self._length, texts = store._page_and_total(args=[store._prefix, self._resource, start, stop - 1])
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
        try:
            self._redis = _Client.from_url(url, decode_responses=True, socket_timeout=COMMAND_TIMEOUT,
                                           socket_connect_timeout=CONNECT_TIMEOUT, retry=Retry(NoBackoff(), 1, (Disconnected,)))
        except ValueError as exc:
            raise Invalid("store", f"not a Redis URL ({exc}); use redis://HOST:PORT/DB") from None
        self.url = url
        self._put, self._delete, self._find = (self._redis.register_script(s) for s in (PUT, DELETE, FIND))
        self._page, self._add_events, self._in_window = (self._redis.register_script(s) for s in (PAGE, ADD_EVENTS, WINDOW))
        self._stamp, self._page_and_total = (self._redis.register_script(s) for s in (STAMP, PAGE_AND_TOTAL))
        self._add_distinct_events = self._redis.register_script(ADD_DISTINCT_EVENTS)
        self._local = threading.RLock()
        self._depth = 0
        self._lock = self._redis.lock(self._k("lock"), timeout=LOCK_TTL, sleep=0.002,
                                      blocking_timeout=LOCK_WAIT, thread_local=False)
        self._generation = self._version = -1
        self._settings: dict[str, str] = {}  # the shared settings as last read, and their stamp
        self._settings_stamp = ""

    def _k(self, name: str) -> str:
        return self._prefix + name

    # -- shared settings and coordination -------------------------------------------------------
    def join(self) -> dict[str, str] | None:
        """Adopt the namespace's settings, or claim its set-up if it is empty; a process that
        finds another setting it up waits for it, up to `SETUP_WAIT`."""
        deadline = time.monotonic() + SETUP_WAIT
        while True:
            meta = self._redis.hgetall(self._k("meta"))
            if meta.get("ready"):
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
    def request(self) -> Iterator[None]:
        """Within it, the first key lookup also reads the stamp the next `poll` needs, in the
        same round trip: an API request authenticates, then catches up, with one call."""
        token = _prefetched.set([])
        try:
            yield
        finally:
            _prefetched.reset(token)

    def setting(self, name: str) -> str | None:
        return self._redis.hget(self._k("meta"), SETTING + name)

    def poll(self) -> Poll:
        """What others did, from the namespace's stamp (`meta`'s ready, generation and version),
        read this request if a key lookup read it already; the settings themselves are read
        only when their stamp moved (a reset, a clock move, a setting saved)."""
        frame = _prefetched.get()
        answer = frame.pop() if frame else self._stamp(args=[self._k("meta"), self._settings_stamp])
        ready, generation, version, meta, _ = answer
        if not ready:
            return Poll(lost=True, reset=False, wrote=False, settings={})
        if meta is not None:
            self._cache_settings(dict(zip(meta[::2], meta[1::2], strict=True)))
        generation, version = int(generation), int(version or 0)
        reset = generation != self._generation
        wrote = reset or version != self._version
        self._generation, self._version = generation, version
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

    def _wrote(self, version: int) -> None:
        """Our own write moved the version on: no news, unless another process wrote too."""
        if version == self._version + 1:
            self._version = version

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
        self._redis.close()

    # -- API keys -------------------------------------------------------------------------------
    def put_key(self, key: bytes, secret_id: str, expires_at: datetime | None) -> None:
        self._redis.hset(self._k("k"), key.hex(), pack([secret_id, expires_at.isoformat() if expires_at else None]))

    def key(self, key: bytes) -> ApiKey | None:
        frame = _prefetched.get()
        if frame is None or frame:
            found = self._redis.hget(self._k("k"), key.hex())
        else:  # the request's first lookup: with the stamp its poll will need
            answer = self._stamp(args=[self._k("meta"), self._settings_stamp, self._k("k"), key.hex()])
            frame.append(answer)
            found = answer[4]
        return None if found is None else _api_key(found)

    def revoke_keys_of(self, secret_id: str) -> None:
        owned = [sha for sha, key in self.key_digests() if key.secret_id == secret_id]
        if owned:
            self._redis.hdel(self._k("k"), *owned)

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
            self._wrote(int(answer[1]))
        return answer[0]

    def insert(self, resource: str, record: dict) -> dict:
        self._write(resource, record, "*")
        return record

    def get(self, resource: str, record_id: str) -> dict | None:
        packed = self._redis.hget(self._k("r:" + resource), record_id)
        return None if packed is None else orjson.loads(packed)

    def find(self, resource: str, key: str, value: object) -> dict | None:
        if key in self._unique_keys.get(resource, ()):
            entry = _entry(key, value)
            packed = self._find(args=[self._prefix, resource, entry]) if entry else None
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
        packed = self._delete(args=[self._prefix, resource, record_id])
        return None if packed is None else orjson.loads(packed)

    def _texts(self, resource: str, start: int, stop: int) -> list[str]:
        """Stored texts by rank, newest first, `start` to `stop` inclusive (-1: the last)."""
        texts: list[str] = []
        while stop < 0 or start <= stop:
            last = start + CHUNK - 1 if stop < 0 else min(stop, start + CHUNK - 1)
            found = self._page(args=[self._prefix, resource, start, last])
            texts += [t for t in found if t is not None]
            if len(found) < last - start + 1:
                break
            start = last + 1
        return texts

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


def _settings(meta: dict[str, str]) -> dict[str, str]:
    return {key[len(SETTING):]: value for key, value in meta.items() if key.startswith(SETTING)}


def _api_key(found: str) -> ApiKey:
    secret_id, expires_at = orjson.loads(found)
    return ApiKey(secret_id, datetime.fromisoformat(expires_at) if expires_at else None)
