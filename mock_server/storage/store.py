"""The store: where the state of a running mock is kept, behind one interface.

Records by resource with unique-key indexes, API-key digests, usage events indexed by customer
and event name in time order, per-name sequences, and a few shared settings (the tenant's ids,
the clock's state) with what the domain needs to coordinate processes sharing them (`join`,
`publish`, `poll`). Methods are named in storage terms, take plain dicts and filters as data
(`Filter`), and raise `core.failures` only (`Conflict`; `Unavailable` when a shared backend
cannot be reached). The store knows nothing of billing, clocks or HTTP: `domain.lifecycle`
decides what a set-up, a reset or another process's change means.

Two backends: `MemoryStore` (`memory_store.py`, the default: one process, nothing to start) and
`RedisStore` (`redis_store.py`: several processes or machines serving one consistent API);
`opening.open_store(url)` picks one.

Every read returns a fresh dict, so no caller can change a stored record behind the store's back.
Writes that read first (a top-up reads the balance it adds to) run inside `atomic()`, which
serializes them across every process sharing the state. `contents()` is everything stored as
plain JSON (keys as digests) and `fill()` writes it back: what a state snapshot is made of, for
either backend, through the same primitives every write uses.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import orjson

from ..core.times import micros, when

EVENT_DEFAULTS = {"customer_id": "", "source": "", "properties": {}}  # empty fields are not stored


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def hash_key(raw: str) -> str:
    return digest(raw).hex()


def pack(record: dict) -> str:
    """Text, not orjson's bytes: those keep orjson's whole working buffer (4 KiB) allocated."""
    return orjson.dumps(record).decode()


class ApiKey(NamedTuple):
    """A key as state export describes it."""

    secret_id: str
    expires_at: datetime | None


class Poll(NamedTuple):
    """What other processes did to the shared state since this store last looked."""

    lost: bool  # the shared state is gone (a flushed or restarted Redis) or was never set up
    reset: bool  # another process reset it: `settings` are the new ones
    wrote: bool  # another process wrote to it
    settings: dict[str, str]


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
    """What every backend keeps, and the primitives processes sharing it coordinate with."""

    shared = False  # whether other processes may share this state

    def __init__(self, unique_keys: dict[str, tuple[str, ...]] | None) -> None:
        self._unique_keys = dict(unique_keys or {})
        self.caught_up: Callable[[], None] | None = None  # run when `atomic()` is first entered

    # -- shared settings and coordination -------------------------------------------------------
    @abstractmethod
    def join(self) -> dict[str, str] | None:
        """The settings of a state another process set up, or None once this process has
        claimed the set-up (it then `publish`es and, when done, `mark_ready`s)."""

    @abstractmethod
    def publish(self, settings: dict[str, str], ready: bool) -> None:
        """Empty every record, key, event and sequence and start a new generation with
        `settings`; `ready=False` while this process is still setting it up."""

    def mark_ready(self) -> None:
        """The set-up this process claimed is complete: others may serve it."""

    @abstractmethod
    def save_setting(self, name: str, value: str) -> None: ...

    @abstractmethod
    def setting(self, name: str) -> str | None:
        """A shared setting as the last `save_setting` (or `publish`) left it."""

    def poll(self) -> Poll | None:
        """What other processes did since this store last looked; None when none can share it."""
        return None

    def request(self, received: int | None = None) -> AbstractContextManager:
        """The span of one API request, `received` at that `time.monotonic_ns()` if the server
        knows: a shared store may read what the request's start needs (its key, its poll) in one
        call, or in none if it read them since the request was received."""
        return nullcontext()

    @abstractmethod
    def atomic(self) -> AbstractContextManager:
        """A write that reads first runs inside: one at a time across every process (reentrant).
        On the outermost entry `caught_up` runs, so it sees what the last holder wrote."""

    def close(self) -> None:
        """Release connections; the state stays where it is kept."""

    # -- API keys -------------------------------------------------------------------------------
    @abstractmethod
    def put_key(self, key: bytes, secret_id: str, expires_at: datetime | None) -> None:
        """Keep a key's SHA-256 digest with its owner (\"\" for bootstrap keys) and expiry."""

    @abstractmethod
    def key(self, key: bytes) -> ApiKey | None: ...

    @abstractmethod
    def revoke_keys_of(self, secret_id: str) -> None: ...

    @abstractmethod
    def key_digests(self) -> list[tuple[str, ApiKey]]:
        """Every key as (SHA-256 in hex, owner and expiry)."""

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

    @abstractmethod
    def sequences(self) -> dict[str, int]:
        """Where every sequence stands (the last number it gave)."""

    @abstractmethod
    def set_sequence(self, name: str, value: int) -> None:
        """Make the sequence's next number `value + 1`."""

    # -- the whole state ------------------------------------------------------------------------
    def contents(self) -> dict:
        """Everything stored, as plain JSON: records by resource (oldest first), API keys by
        SHA-256 only, usage events and sequences. The shared settings are the lifecycle's."""
        keys = [{"sha256": sha, "secret_id": key.secret_id,
                 "expires_at": key.expires_at.isoformat() if key.expires_at else None}
                for sha, key in self.key_digests()]
        return {"records": self.dump(), "api_keys": keys, "events": self.all_events(), "sequences": self.sequences()}

    def fill(self, contents: dict) -> None:
        """Write what `contents()` returned into this store, emptied first by `publish`: records in
        their order (so lists stay newest first), keys, events at their timestamps, sequences."""
        for resource, records in contents["records"].items():
            for record in records:
                self.insert(resource, record)
        for key in contents["api_keys"]:
            expires = key.get("expires_at")
            self.put_key(bytes.fromhex(key["sha256"]), key.get("secret_id") or "",
                         datetime.fromisoformat(expires) if expires else None)
        self.add_events([(micros(when(event["timestamp"])), event["id"], {k: v for k, v in event.items() if v and k != "id"})
                         for event in contents["events"]])
        for name, value in contents["sequences"].items():
            self.set_sequence(name, value)

    # -- usage events ---------------------------------------------------------------------------
    # Kept once per id: a re-sent id replaces the event it repeats (the real server collapses
    # duplicates at read time, the last one winning), so one id always counts once.
    @abstractmethod
    def add_events(self, events: Sequence[tuple[int, str, dict]]) -> list[dict]:
        """Store `(time in microseconds, id, fields)`, in one transaction: `fields` are what the
        event keeps besides its id and what every event shares, empty ones left out, with at
        least `event_name`, `external_customer_id` and `timestamp`. Returns the events the new
        ones replaced (a re-sent id), as `event` read them."""

    @abstractmethod
    def _event_text(self, event_id: str) -> str | None: ...

    @abstractmethod
    def _window(self, customer: str, name: str, start: int | None, end: int | None) -> list[tuple[str, str]]:
        """(id, stored text) of one customer's events of one name with `start <= time < end`,
        oldest first: what usage reads cost is that window, whatever else is stored."""

    @abstractmethod
    def _customers_with(self, name: str) -> list[str]:
        """The customers that have events of one name."""

    @abstractmethod
    def _all_event_texts(self) -> list[tuple[str, str]]: ...

    # An event's stored text as the fields `add_events` was given: their JSON unless the backend
    # packs events its own way (`MemoryStore`).
    _fields: Callable[[str], dict] = staticmethod(orjson.loads)

    def _event(self, event_id: str, packed: str) -> dict:
        event = self._fields(packed)
        for name, empty in EVENT_DEFAULTS.items():
            event.setdefault(name, empty)
        event["id"] = event_id
        return event

    def event(self, event_id: str) -> dict | None:
        packed = self._event_text(event_id)
        return None if packed is None else self._event(event_id, packed)

    def events_of(self, customer: str, name: str, start: int | None = None, end: int | None = None) -> list[dict]:
        return [self._event(i, packed) for i, packed in self._window(customer, name, start, end)]

    def event_fields(self, customer: str, name: str, start: int | None = None, end: int | None = None) -> list[dict]:
        """The same window's events as stored, without ids or the fields left empty, for reads that
        need only a few fields (usage counts)."""
        return list(map(self._fields, [packed for _, packed in self._window(customer, name, start, end)]))

    def events_named(self, name: str, start: int | None = None, end: int | None = None) -> Iterator[dict]:
        """Every customer's events of one name in the window (a tenant-wide usage query)."""
        for customer in self._customers_with(name):
            yield from self.events_of(customer, name, start, end)

    def all_events(self) -> list[dict]:
        """Every stored event, for raw queries that filter on anything."""
        return [self._event(i, packed) for i, packed in self._all_event_texts()]
