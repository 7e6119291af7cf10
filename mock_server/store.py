"""All state of a running mock: records by resource, unique-key indexes, API-key hashes, usage
events indexed by customer and event name in time order, the billing clock and the outbox of
domain events.

Methods are named in domain terms and take plain dicts; they know nothing about HTTP. One lock
guards every method, so the store is safe under uvicorn's event loop and the in-process runner's
threads alike. `reset()` brings it back to what it was after construction.

Records are kept as their JSON text and decoded when read: one flat object per record
instead of a tree of dicts, strings and lists, which is about half the memory and nothing for the
cyclic garbage collector to walk (with 100k records as dicts, its full collections paused the
server for 40-100 ms, measured). Every read returns a fresh dict, so no caller can change a
stored record behind the store's back.
"""
from __future__ import annotations

import bisect
import hashlib
import random
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

import orjson
from ulid import ULID

from .billing.clock import Clock, micros, when
from .domain import Conflict


def utc_now() -> str:
    """RFC 3339 in UTC with milliseconds, like the real server's JSON."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_key(raw: str) -> str:
    return _digest(raw).hex()


def _digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


class IdFactory:
    """`<prefix>_<ULID>` ids: time-ordered like the real server's, random part seeded for replay."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def new(self, prefix: str) -> str:
        ulid = ULID.from_timestamp(datetime.now(timezone.utc).timestamp())
        raw = bytes(ulid)[:6] + self._random.randbytes(10)
        return f"{prefix}_{ULID.from_bytes(raw)}" if prefix else str(ULID.from_bytes(raw))


@dataclass(slots=True)
class Collection:
    """Records of one resource in creation order, plus an index per unique key."""

    unique_keys: tuple[str, ...]
    records: dict[str, str] = field(default_factory=dict)  # id -> the record's JSON
    indexes: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indexes = {key: {} for key in self.unique_keys}


def _pack(record: dict) -> str:
    """Text, not orjson's bytes: those keep orjson's whole working buffer (4 KiB) allocated."""
    return orjson.dumps(record).decode()


class ApiKey(NamedTuple):
    """A key as state export describes it."""

    secret_id: str
    expires_at: datetime | None


class Records(Sequence[dict]):
    """Stored records, newest first, decoded as they are read: a list page decodes its page only."""

    __slots__ = ("_packed",)

    def __init__(self, packed: list[str]) -> None:
        self._packed = packed

    def __len__(self) -> int:
        return len(self._packed)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [orjson.loads(packed) for packed in self._packed[index]]
        return orjson.loads(self._packed[index])


EVENT_DEFAULTS = {"customer_id": "", "source": "", "properties": {}}  # empty fields are not stored
UNSTORED = frozenset({"id", "environment_id"})  # the key, and what every event of the store shares
OUTBOX_SIZE = 10_000  # domain events kept for delivery and inspection; the oldest go first


@dataclass(slots=True)
class EventSeries:
    """One customer's events of one name: ids in timestamp order, the times beside them as a
    packed array of microseconds (8 bytes an event, no int objects)."""

    times: array = field(default_factory=lambda: array("q"))
    ids: list[str] = field(default_factory=list)

    def add(self, at: int, event_id: str) -> None:
        if not self.times or at >= self.times[-1]:
            self.times.append(at)
            self.ids.append(event_id)
            return
        where = bisect.bisect_right(self.times, at)
        self.times.insert(where, at)
        self.ids.insert(where, event_id)

    def remove(self, at: int, event_id: str) -> None:
        where = bisect.bisect_left(self.times, at)
        while self.ids[where] != event_id:
            where += 1
        del self.times[where], self.ids[where]

    def window(self, start: int | None, end: int | None) -> list[str]:
        """Ids with `start <= time < end`, oldest first: two bisections, then the slice."""
        low = 0 if start is None else bisect.bisect_left(self.times, start)
        high = len(self.times) if end is None else bisect.bisect_left(self.times, end)
        return self.ids[low:high]


@dataclass(slots=True)
class Filter:
    """Field tests a record must all pass: equality, or membership for id lists (a set). Data,
    not a callable, so the store can also pass over records whose text cannot match."""

    tests: list[tuple[str, object]]

    def __call__(self, record: dict) -> bool:
        return all((str(record.get(f)) in w) if isinstance(w, set) else record.get(f) == w for f, w in self.tests)

    @property
    def needles(self) -> tuple[str, ...]:
        """Text the stored JSON of every match contains: each wanted string, JSON-encoded."""
        return tuple(orjson.dumps(w).decode() for _, w in self.tests if isinstance(w, str))


class Store:
    def __init__(self, unique_keys: dict[str, tuple[str, ...]] | None = None, seed: int = 0,
                 clock: Clock | None = None) -> None:
        self._unique_keys = dict(unique_keys or {})
        self._seed = seed
        self._lock = threading.RLock()
        self.clock = clock or Clock()
        self._initial_digests: list[bytes] = []  # bootstrap keys, kept as digests like every other key
        self._on_reset: list[Callable[[Store], None]] = []
        self._on_change: list[Callable[[dict], None]] = []
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.ids = IdFactory(self._seed)
            self._collections: dict[str, Collection] = {
                name: Collection(keys) for name, keys in self._unique_keys.items()
            }
            self._keys: dict[bytes, str] = {}  # SHA-256 digest -> secret id ("" for bootstrap keys)
            self._expiries: dict[bytes, datetime] = {}
            self._events: dict[str, str] = {}  # id -> the event's JSON without its id and empty fields
            self._series: dict[tuple[str, str], EventSeries] = {}
            self.outbox: deque[dict] = deque(maxlen=OUTBOX_SIZE)
            self._sequences: dict[str, int] = {}
            self.clock.reset()
            self.tenant_id = self.ids.new("tenant")
            self.environment_id = self.ids.new("env")
            self.user_id = self.ids.new("user")
            for digest in self._initial_digests:
                self._keys[digest] = ""
            for hook in self._on_reset:
                hook(self)

    def on_reset(self, hook: Callable[[Store], None]) -> None:
        """Run `hook` now and after every reset (bootstrap data such as fixtures)."""
        with self._lock:
            self._on_reset.append(hook)
            hook(self)

    # -- API keys -------------------------------------------------------------------------------
    # Keys are held as raw SHA-256 digests (32 bytes, not 64 hex characters) mapped to their
    # secret's id; the few that expire have their expiry beside. Hex appears only at the edges.
    def add_bootstrap_key(self, raw: str) -> None:
        with self._lock:
            self._initial_digests.append(_digest(raw))
            self._keys[_digest(raw)] = ""

    def add_key(self, raw: str, secret_id: str, expires_at: datetime | None) -> None:
        self._add(_digest(raw), secret_id, expires_at)

    def add_key_digest(self, digest: str, secret_id: str = "", expires_at: datetime | None = None) -> None:
        """A key known by its SHA-256 (hex) only (fixtures, replayed state): no raw key is ever needed."""
        self._add(bytes.fromhex(digest), secret_id, expires_at)

    def _add(self, digest: bytes, secret_id: str, expires_at: datetime | None) -> None:
        with self._lock:
            self._keys[digest] = secret_id
            if expires_at is not None:
                self._expiries[digest] = expires_at

    def authenticate(self, raw: str | None) -> bool:
        """Whether `raw` is a live key. Keys are looked up by the SHA-256 of the presented key,
        never compared as raw strings, so timing reveals nothing about a stored key."""
        if not raw:
            return False
        digest = _digest(raw)
        with self._lock:
            if digest not in self._keys:
                return False
            expires_at = self._expiries.get(digest)
        return expires_at is None or expires_at > datetime.now(timezone.utc)

    def revoke_keys_of(self, secret_id: str) -> None:
        with self._lock:
            for digest in [d for d, owner in self._keys.items() if owner == secret_id]:
                del self._keys[digest]
                self._expiries.pop(digest, None)

    def key_hashes(self) -> dict[str, str]:
        """secret id -> SHA-256 of its raw key, for state export (never the raw key)."""
        with self._lock:
            return {owner: digest.hex() for digest, owner in self._keys.items() if owner}

    def key_digests(self) -> list[tuple[str, ApiKey]]:
        """Every live key as (SHA-256, owner and expiry), for state export."""
        with self._lock:
            return [(d.hex(), ApiKey(owner, self._expiries.get(d))) for d, owner in self._keys.items()]

    # -- records --------------------------------------------------------------------------------
    def _collection(self, resource: str) -> Collection:
        found = self._collections.get(resource)
        if found is None:
            found = self._collections[resource] = Collection(self._unique_keys.get(resource, ()))
        return found

    def insert(self, resource: str, record: dict) -> dict:
        """Store `record` (which carries its `id`); 409 when a unique key is taken."""
        with self._lock:
            collection = self._collection(resource)
            self._check_unique(collection, record, record["id"])
            collection.records[record["id"]] = _pack(record)
            self._index(collection, record)
            return record

    def get(self, resource: str, record_id: str) -> dict | None:
        with self._lock:
            packed = self._collection(resource).records.get(record_id)
        return None if packed is None else orjson.loads(packed)

    def find(self, resource: str, key: str, value: object) -> dict | None:
        """Lookup by a unique key in O(1); by any other field in one pass."""
        with self._lock:
            collection = self._collection(resource)
            if key in collection.indexes:
                record_id = collection.indexes[key].get(value)
                packed = collection.records.get(record_id) if record_id else None
                return None if packed is None else orjson.loads(packed)
            records = list(collection.records.values())
        return next((r for r in map(orjson.loads, records) if r.get(key) == value), None)

    def update(self, resource: str, record_id: str, changes: dict) -> dict | None:
        with self._lock:
            collection = self._collection(resource)
            packed = collection.records.get(record_id)
            if packed is None:
                return None
            current = orjson.loads(packed)
            merged = {**current, **changes}
            self._check_unique(collection, merged, record_id)
            self._unindex(collection, current)
            collection.records[record_id] = _pack(merged)
            self._index(collection, merged)
            return merged

    def delete(self, resource: str, record_id: str) -> dict | None:
        with self._lock:
            collection = self._collection(resource)
            packed = collection.records.pop(record_id, None)
            if packed is None:
                return None
            record = orjson.loads(packed)
            self._unindex(collection, record)
            return record

    def select(self, resource: str, where: Filter | None = None) -> Sequence[dict]:
        """Matching records, newest first, in one pass; all of them, undecoded until read, when
        there is no filter. Records whose text lacks one of the filter's needles are passed
        over undecoded."""
        with self._lock:
            packed = list(reversed(self._collection(resource).records.values()))
        if where is None:
            return Records(packed)
        for needle in where.needles:
            packed = [text for text in packed if needle in text]
        return [r for r in map(orjson.loads, packed) if where(r)]

    def dump(self) -> dict[str, list[dict]]:
        """Every record by resource, oldest first (the fixture format's order)."""
        with self._lock:
            packed = {name: list(c.records.values()) for name, c in self._collections.items() if c.records}
        return {name: [orjson.loads(p) for p in records] for name, records in packed.items()}

    # -- usage events ---------------------------------------------------------------------------
    # Kept once per id: a re-sent id replaces the event it repeats (the real server collapses
    # duplicates at read time, the last one winning), so one id always counts once. An event
    # costs its JSON (without the id, which is the key, and without empty fields), one dict slot
    # and 16 bytes in its series: about 0.35 KiB.
    def add_events(self, events: Iterable[tuple[int, dict]]) -> None:
        """Store `(time in microseconds, event)` pairs; the event carries its `id`."""
        with self._lock:
            for at, event in events:
                event_id = event["id"]
                known = self._events.get(event_id)
                if known is not None:
                    old = orjson.loads(known)
                    self._series[(old["external_customer_id"], old["event_name"])].remove(micros(when(old["timestamp"])), event_id)
                key = (event["external_customer_id"], event["event_name"])
                self._events[event_id] = _pack({k: v for k, v in event.items() if v and k not in UNSTORED})
                self._series.setdefault(key, EventSeries()).add(at, event_id)

    def _event(self, event_id: str, packed: str) -> dict:
        event = orjson.loads(packed)
        for name, empty in EVENT_DEFAULTS.items():
            event.setdefault(name, empty)
        event["id"], event["environment_id"] = event_id, self.environment_id
        return event

    def event(self, event_id: str) -> dict | None:
        with self._lock:
            packed = self._events.get(event_id)
        return None if packed is None else self._event(event_id, packed)

    def _window(self, customer: str, name: str, start: int | None, end: int | None) -> list[tuple[str, str]]:
        """(id, stored JSON) of one customer's events of one name with `start <= time < end`,
        oldest first: what usage reads cost is that window, whatever else is stored."""
        with self._lock:
            series = self._series.get((customer, name))
            return [(i, self._events[i]) for i in series.window(start, end)] if series else []

    def events_of(self, customer: str, name: str, start: int | None = None, end: int | None = None) -> list[dict]:
        return [self._event(i, packed) for i, packed in self._window(customer, name, start, end)]

    def event_texts(self, customer: str, name: str, start: int | None = None, end: int | None = None) -> list[str]:
        """The same window as stored JSON, for reads that need only a few fields (usage counts)."""
        return [packed for _, packed in self._window(customer, name, start, end)]

    def events_named(self, name: str, start: int | None = None, end: int | None = None) -> Iterator[dict]:
        """Every customer's events of one name in the window (a tenant-wide usage query)."""
        with self._lock:
            keys = [key for key in self._series if key[1] == name]
        for customer, _ in keys:
            yield from self.events_of(customer, name, start, end)

    def all_events(self) -> list[dict]:
        """Every stored event, for raw queries that filter on anything."""
        with self._lock:
            found = list(self._events.items())
        return [self._event(i, packed) for i, packed in found]

    def next_in_sequence(self, name: str) -> int:
        """1, 2, 3, ... per name (invoice numbers count per month)."""
        with self._lock:
            self._sequences[name] = self._sequences.get(name, 0) + 1
            return self._sequences[name]

    # -- outbox ---------------------------------------------------------------------------------
    def record_change(self, event_type: str, entity: str, payload: dict) -> dict:
        """A domain event for every state change a service makes, in the order they happen."""
        change = {"id": self.ids.new("sys_event"), "event_type": event_type, "entity": entity,
                  "timestamp": self.clock.stamp(), "payload": payload}
        with self._lock:
            self.outbox.append(change)
            for listener in self._on_change:
                listener(change)
        return change

    def on_change(self, listener: Callable[[dict], None]) -> None:
        """Call `listener` with every change recorded from now on, in outbox order (under the
        store's lock, so it must only hand the change on: webhooks queue it)."""
        with self._lock:
            self._on_change.append(listener)

    @staticmethod
    def _check_unique(collection: Collection, record: dict, record_id: str) -> None:
        for key, index in collection.indexes.items():
            value = record.get(key)
            if isinstance(value, (str, int)) and value != "" and index.get(value, record_id) != record_id:
                raise Conflict(key, value)

    @staticmethod
    def _index(collection: Collection, record: dict) -> None:
        for key, index in collection.indexes.items():
            value = record.get(key)
            if value not in (None, "") and isinstance(value, (str, int)):
                index[value] = record["id"]

    @staticmethod
    def _unindex(collection: Collection, record: dict) -> None:
        for key, index in collection.indexes.items():
            if index.get(record.get(key)) == record["id"]:
                del index[record[key]]
