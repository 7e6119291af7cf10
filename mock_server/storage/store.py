"""The store: all state of a running mock, behind one interface the domain services use.

Records by resource with unique-key indexes, API-key digests, usage events indexed by customer
and event name in time order, per-name sequences, the billing clock and the outbox of domain
events. Methods are named in domain terms, take plain dicts and filters as data (`Filter`), and
raise domain errors only (`Conflict`; `Unavailable` when a shared backend cannot be reached).

Two backends: `MemoryStore` (`memory_store.py`, the default: one process, nothing to start) and
`RedisStore` (`redis_store.py`: several processes or machines serving one consistent API).
`open_store(url)` picks one; nothing above this module knows which it has.

Every read returns a fresh dict, so no caller can change a stored record behind the store's back.
Writes that read first (a top-up reads the balance it adds to) run inside `atomic()`, which
serializes them across every process sharing the state. `on_reset` hooks rebuild shared data
(fixtures, the tenant) once per reset, in the process that resets; `on_local_reset` hooks
rebuild what each process keeps for itself (journal, stubs), in every process.
"""
from __future__ import annotations

import hashlib
import random
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

import orjson
from ulid import ULID

from ..domain.clock import Clock

EVENT_DEFAULTS = {"customer_id": "", "source": "", "properties": {}}  # empty fields are not stored
UNSTORED = frozenset({"id", "environment_id"})  # the key, and what every event of the store shares
OUTBOX_SIZE = 10_000  # domain events kept for delivery and inspection; the oldest go first
MEMORY = "memory"


def hash_key(raw: str) -> str:
    return digest(raw).hex()


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def pack(record: dict) -> str:
    """Text, not orjson's bytes: those keep orjson's whole working buffer (4 KiB) allocated."""
    return orjson.dumps(record).decode()


def stored_event(event: dict) -> str:
    """An event as stored: its JSON without its id (the key) and empty fields."""
    return pack({k: v for k, v in event.items() if v and k not in UNSTORED})


class IdFactory:
    """`<prefix>_<ULID>` ids: time-ordered like the real server's, random part seeded for replay
    (`seed=None`: from the OS, so processes sharing a store never draw the same ids)."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)

    def new(self, prefix: str) -> str:
        ulid = ULID.from_timestamp(datetime.now(timezone.utc).timestamp())
        raw = bytes(ulid)[:6] + self._random.randbytes(10)
        return f"{prefix}_{ULID.from_bytes(raw)}" if prefix else str(ULID.from_bytes(raw))


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

    def select(self, packed: Iterable[str]) -> list[dict]:
        """The matching records among stored texts, in their order; texts lacking a needle are
        passed over undecoded."""
        for needle in self.needles:
            packed = [text for text in packed if needle in text]
        return [r for r in map(orjson.loads, packed) if self(r)]


class Store(ABC):
    """What every backend keeps and how the services reach it."""

    clock: Clock
    ids: IdFactory
    tenant_id: str
    environment_id: str
    user_id: str

    def __init__(self, unique_keys: dict[str, tuple[str, ...]] | None, seed: int | None, clock: Clock | None) -> None:
        self._unique_keys = dict(unique_keys or {})
        self._seed = seed
        self.clock = clock or Clock()
        self.outbox: deque[dict] = deque(maxlen=OUTBOX_SIZE)  # this process's changes
        self._changes = threading.Lock()
        self._initial_digests: list[bytes] = []  # bootstrap keys, kept as digests like every other key
        self._on_reset: list[Callable[[Store], None]] = []
        self._on_local_reset: list[Callable[[Store], None]] = []
        self._on_change: list[Callable[[dict], None]] = []
        self._on_stale: list[Callable[[], None]] = []

    # -- lifecycle ------------------------------------------------------------------------------
    @abstractmethod
    def reset(self) -> None:
        """Everything back to what it was after construction, for every process sharing it;
        then the reset hooks run."""

    def on_reset(self, hook: Callable[[Store], None]) -> None:
        """Run `hook` now (if this process sets the state up) and after every reset it makes:
        shared bootstrap data such as fixtures, written once whatever the number of processes."""
        self._on_reset.append(hook)
        if self.sets_up:
            hook(self)

    def on_local_reset(self, hook: Callable[[Store], None]) -> None:
        """Run `hook` now and after every reset, whichever process made it: what one process
        keeps for itself (its journal, its stubs)."""
        self._on_local_reset.append(hook)
        hook(self)

    def on_stale(self, listener: Callable[[], None]) -> None:
        """Call `listener` when another process has changed the state since this one last
        looked (`sync`): what a service caches from the store is to be read again."""
        self._on_stale.append(listener)

    @property
    def sets_up(self) -> bool:
        """Whether this process writes the shared bootstrap data now."""
        return True

    def _run_reset_hooks(self, shared: bool = True) -> None:
        """After a reset: the shared hooks if this process made it, then the local ones."""
        with self._changes:
            self.outbox.clear()
        for hook in self._on_reset if shared else ():
            hook(self)
        for hook in self._on_local_reset:
            hook(self)

    def ready(self) -> None:
        """Every hook is registered: a set-up this process made is complete, others may serve."""

    def sync(self) -> None:
        """Catch up with what other processes changed (clock, a reset): at the start of a request."""

    @abstractmethod
    def atomic(self) -> AbstractContextManager:
        """A write that reads first runs inside: one at a time across every process (reentrant)."""

    def close(self) -> None:
        """Release connections; the state stays where it is kept."""

    # -- API keys -------------------------------------------------------------------------------
    def add_bootstrap_key(self, raw: str) -> None:
        self._initial_digests.append(digest(raw))
        self._add_digest(digest(raw), "", None)

    def add_key(self, raw: str, secret_id: str, expires_at: datetime | None) -> None:
        self._add_digest(digest(raw), secret_id, expires_at)

    def add_key_digest(self, sha256: str, secret_id: str = "", expires_at: datetime | None = None) -> None:
        """A key known by its SHA-256 (hex) only (fixtures, replayed state): no raw key is ever needed."""
        self._add_digest(bytes.fromhex(sha256), secret_id, expires_at)

    @abstractmethod
    def _add_digest(self, key: bytes, secret_id: str, expires_at: datetime | None) -> None: ...

    def authenticate(self, raw: str | None) -> bool:
        """Whether `raw` is a live key. Keys are looked up by the SHA-256 of the presented key,
        never compared as raw strings, so timing reveals nothing about a stored key."""
        if not raw:
            return False
        found = self._key(digest(raw))
        return found is not None and (found.expires_at is None or found.expires_at > datetime.now(timezone.utc))

    @abstractmethod
    def _key(self, key: bytes) -> ApiKey | None: ...

    @abstractmethod
    def revoke_keys_of(self, secret_id: str) -> None: ...

    @abstractmethod
    def key_digests(self) -> list[tuple[str, ApiKey]]:
        """Every live key as (SHA-256, owner and expiry), for state export."""

    def key_hashes(self) -> dict[str, str]:
        """secret id -> SHA-256 of its raw key, for state export (never the raw key)."""
        return {key.secret_id: sha256 for sha256, key in self.key_digests() if key.secret_id}

    # -- records --------------------------------------------------------------------------------
    @abstractmethod
    def insert(self, resource: str, record: dict) -> dict:
        """Store `record` (which carries its `id`); `Conflict` when a unique key is taken."""

    @abstractmethod
    def get(self, resource: str, record_id: str) -> dict | None: ...

    @abstractmethod
    def find(self, resource: str, key: str, value: object) -> dict | None:
        """Lookup by a unique key in O(1); by any other field in one pass."""

    @abstractmethod
    def update(self, resource: str, record_id: str, changes: dict) -> dict | None:
        """The record with `changes` merged in; `Conflict` (and nothing changed) when that
        takes another record's unique key; None when there is no such record."""

    @abstractmethod
    def delete(self, resource: str, record_id: str) -> dict | None: ...

    @abstractmethod
    def select(self, resource: str, where: Filter | None = None) -> Sequence[dict]:
        """Matching records, newest first; all of them, undecoded until read, with no filter."""

    @abstractmethod
    def dump(self) -> dict[str, list[dict]]:
        """Every record by resource, oldest first (the fixture format's order)."""

    @abstractmethod
    def next_in_sequence(self, name: str) -> int:
        """1, 2, 3, ... per name (invoice numbers count per month)."""

    # -- usage events ---------------------------------------------------------------------------
    # Kept once per id: a re-sent id replaces the event it repeats (the real server collapses
    # duplicates at read time, the last one winning), so one id always counts once.
    @abstractmethod
    def add_events(self, events: Iterable[tuple[int, dict]]) -> None:
        """Store `(time in microseconds, event)` pairs; the event carries its `id`."""

    @abstractmethod
    def _event_text(self, event_id: str) -> str | None: ...

    @abstractmethod
    def _window(self, customer: str, name: str, start: int | None, end: int | None) -> list[tuple[str, str]]:
        """(id, stored JSON) of one customer's events of one name with `start <= time < end`,
        oldest first: what usage reads cost is that window, whatever else is stored."""

    @abstractmethod
    def _customers_with(self, name: str) -> list[str]:
        """The customers that have events of one name."""

    @abstractmethod
    def _all_event_texts(self) -> list[tuple[str, str]]: ...

    def _event(self, event_id: str, packed: str) -> dict:
        event = orjson.loads(packed)
        for name, empty in EVENT_DEFAULTS.items():
            event.setdefault(name, empty)
        event["id"], event["environment_id"] = event_id, self.environment_id
        return event

    def event(self, event_id: str) -> dict | None:
        packed = self._event_text(event_id)
        return None if packed is None else self._event(event_id, packed)

    def events_of(self, customer: str, name: str, start: int | None = None, end: int | None = None) -> list[dict]:
        return [self._event(i, packed) for i, packed in self._window(customer, name, start, end)]

    def event_texts(self, customer: str, name: str, start: int | None = None, end: int | None = None) -> list[str]:
        """The same window as stored JSON, for reads that need only a few fields (usage counts)."""
        return [packed for _, packed in self._window(customer, name, start, end)]

    def events_named(self, name: str, start: int | None = None, end: int | None = None) -> Iterator[dict]:
        """Every customer's events of one name in the window (a tenant-wide usage query)."""
        for customer in self._customers_with(name):
            yield from self.events_of(customer, name, start, end)

    def all_events(self) -> list[dict]:
        """Every stored event, for raw queries that filter on anything."""
        return [self._event(i, packed) for i, packed in self._all_event_texts()]

    # -- outbox ---------------------------------------------------------------------------------
    def record_change(self, event_type: str, entity: str, payload: dict) -> dict:
        """A domain event for every state change a service makes, in the order they happen. It
        stays with the process that made the change, which delivers it: once in all."""
        change = {"id": self.ids.new("sys_event"), "event_type": event_type, "entity": entity,
                  "timestamp": self.clock.stamp(), "payload": payload}
        with self._changes:
            self.outbox.append(change)
            for listener in self._on_change:
                listener(change)
        return change

    def on_change(self, listener: Callable[[dict], None]) -> None:
        """Call `listener` with every change recorded from now on, in outbox order (under a
        lock, so it must only hand the change on: webhooks queue it)."""
        with self._changes:
            self._on_change.append(listener)


def open_store(url: str | None = None, unique_keys: dict[str, tuple[str, ...]] | None = None, seed: int = 0,
               clock: Clock | None = None, namespace: str = "default") -> Store:
    """The store `url` names: `memory` (or None), or `redis://HOST:PORT/DB`. `namespace`
    prefixes every Redis key, so several mocks share one Redis without seeing each other."""
    if url in (None, "", MEMORY):
        from .memory_store import MemoryStore

        return MemoryStore(unique_keys, seed=seed, clock=clock)
    from .redis_store import RedisStore

    return RedisStore(url, unique_keys, clock=clock, namespace=namespace)
