"""`MemoryStore`: the store in this process's memory, the default (nothing to start).

One lock guards every method, so the store is safe under uvicorn's event loop and the in-process
runner's threads alike. Records are kept as their JSON text and decoded when read: one flat
object per record instead of a tree of dicts, strings and lists, which is about half the memory
and nothing for the cyclic garbage collector to walk (with 100k records as dicts, its full
collections paused the server for 40-100 ms, measured). Usage events, the most numerous, are
packed tighter still: a JSON array of their fields, without the names (`pack_event`).
"""
from __future__ import annotations

import bisect
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from ..core.failures import Conflict
from ..core.times import micros, when
from .store import EVENT_DEFAULTS, ApiKey, Filter, Records, Store, pack


# An event is packed as a JSON array of these fields, in this order: its keys are most of an
# event's JSON object (61 of its 143 characters, typically). Trailing ones may be left out.
EVENT_FIELDS = ("event_name", "external_customer_id", "properties", "timestamp", "customer_id", "source")
_PACKED_FIELDS = frozenset(EVENT_FIELDS)
NO_PROPERTIES = EVENT_DEFAULTS["properties"]


def pack_event(fields: dict) -> str:
    """An event's fields as the array of `EVENT_FIELDS`; fields beyond those (a snapshot written
    by hand) keep the whole object."""
    size = len(fields)
    if size == 3 or size == 4 and "properties" in fields:  # only the fields every event has
        return orjson.dumps((fields["event_name"], fields["external_customer_id"], fields.get("properties", NO_PROPERTIES),
                             fields["timestamp"])).decode()
    if fields.keys() <= _PACKED_FIELDS:
        return orjson.dumps([fields.get(name, EVENT_DEFAULTS.get(name)) for name in EVENT_FIELDS]).decode()
    return pack(fields)


def unpack_event(packed: str) -> dict:
    """The fields `pack_event` packed; an empty one left out or as its empty value."""
    values = orjson.loads(packed)
    return values if type(values) is dict else dict(zip(EVENT_FIELDS, values))


@dataclass(slots=True)
class Collection:
    """Records of one resource in creation order, plus an index per unique key."""

    unique_keys: tuple[str, ...]
    records: dict[str, str] = field(default_factory=dict)  # id -> the record's JSON
    indexes: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indexes = {key: {} for key in self.unique_keys}


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


class SeriesIndex(dict):
    """(customer, event name) -> its `EventSeries`, made the first time an event is added to it;
    reads use `get`, so looking a series up never makes one."""

    def __missing__(self, key: tuple[str, str]) -> EventSeries:
        series = self[key] = EventSeries()
        return series


class MemoryStore(Store):
    def __init__(self, unique_keys: dict[str, tuple[str, ...]] | None = None) -> None:
        super().__init__(unique_keys)
        self._lock = threading.RLock()
        self._writes = threading.RLock()
        self._settings: dict[str, str] = {}
        self._clear()

    # -- shared settings: nobody else shares them -------------------------------------------------
    def _clear(self) -> None:
        self._collections: dict[str, Collection] = {
            name: Collection(keys) for name, keys in self._unique_keys.items()
        }
        self._keys: dict[bytes, str] = {}  # SHA-256 digest -> secret id ("" for bootstrap keys)
        self._expiries: dict[bytes, datetime] = {}
        self._events: dict[str, str] = {}  # id -> the event packed (`pack_event`)
        self._series = SeriesIndex()
        self._sequences: dict[str, int] = {}

    def join(self) -> None:
        return None  # this process sets its own state up

    def publish(self, settings: dict[str, str], ready: bool) -> None:
        with self._writes, self._lock:
            self._clear()
            self._settings = dict(settings)

    def save_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._settings[name] = value

    def setting(self, name: str) -> str | None:
        with self._lock:
            return self._settings.get(name)

    def atomic(self):
        return self._writes

    # -- API keys -------------------------------------------------------------------------------
    # Keys are held as raw SHA-256 digests (32 bytes, not 64 hex characters) mapped to their
    # secret's id; the few that expire have their expiry beside. Hex appears only at the edges.
    def put_key(self, key: bytes, secret_id: str, expires_at: datetime | None) -> None:
        with self._lock:
            self._keys[key] = secret_id
            if expires_at is not None:
                self._expiries[key] = expires_at

    def key(self, key: bytes) -> ApiKey | None:
        with self._lock:
            owner = self._keys.get(key)
            return None if owner is None else ApiKey(owner, self._expiries.get(key))

    def revoke_keys_of(self, secret_id: str) -> None:
        with self._lock:
            for key in [d for d, owner in self._keys.items() if owner == secret_id]:
                del self._keys[key]
                self._expiries.pop(key, None)

    def key_digests(self) -> list[tuple[str, ApiKey]]:
        with self._lock:
            return [(d.hex(), ApiKey(owner, self._expiries.get(d))) for d, owner in self._keys.items()]

    # -- records --------------------------------------------------------------------------------
    def _collection(self, resource: str) -> Collection:
        found = self._collections.get(resource)
        if found is None:
            found = self._collections[resource] = Collection(self._unique_keys.get(resource, ()))
        return found

    def insert(self, resource: str, record: dict) -> dict:
        with self._lock:
            collection = self._collection(resource)
            self._check_unique(collection, record, record["id"])
            collection.records[record["id"]] = pack(record)
            self._index(collection, record)
            return record

    def get(self, resource: str, record_id: str) -> dict | None:
        with self._lock:
            packed = self._collection(resource).records.get(record_id)
        return None if packed is None else orjson.loads(packed)

    def find(self, resource: str, key: str, value: object) -> dict | None:
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
            collection.records[record_id] = pack(merged)
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
        with self._lock:
            records = self._collection(resource).records
            packed = list(reversed(records.values())) if records else []
        return Records(packed) if where is None else where.select(packed) if packed else []

    def dump(self) -> dict[str, list[dict]]:
        with self._lock:
            packed = {name: list(c.records.values()) for name, c in self._collections.items() if c.records}
        return {name: [orjson.loads(p) for p in records] for name, records in packed.items()}

    def next_in_sequence(self, name: str) -> int:
        with self._lock:
            self._sequences[name] = self._sequences.get(name, 0) + 1
            return self._sequences[name]

    def sequences(self) -> dict[str, int]:
        with self._lock:
            return dict(self._sequences)

    def set_sequence(self, name: str, value: int) -> None:
        with self._lock:
            self._sequences[name] = value

    # -- usage events ---------------------------------------------------------------------------
    # An event costs its packed text (`pack_event`), its id, one dict slot and 16 bytes in its
    # series: about 0.28 KiB (`python -m bench --growth`).
    _fields = staticmethod(unpack_event)

    def add_events(self, events: Sequence[tuple[int, str, dict]]) -> list[dict]:
        """New ids, all distinct (a bulk without `event_id`s), go in at once; a batch that repeats
        an id, or re-sends a stored one, goes one event at a time, in order."""
        ids = [event_id for _, event_id, _ in events]
        texts = [pack_event(fields) for _, _, fields in events]
        with self._lock:
            stored = self._events
            if len(set(ids)) < len(ids) or not stored.keys().isdisjoint(ids):
                return self._replacing(events, texts)
            stored.update(zip(ids, texts))
            all_series = self._series
            for at, event_id, fields in events:
                all_series[fields["external_customer_id"], fields["event_name"]].add(at, event_id)
        return []

    def _replacing(self, events: Sequence[tuple[int, str, dict]], texts: list[str]) -> list[dict]:
        replaced = []
        stored, all_series = self._events, self._series
        for (at, event_id, fields), text in zip(events, texts, strict=True):
            known = stored.get(event_id)
            if known is not None:
                old = self._event(event_id, known)
                replaced.append(old)
                key = (old["external_customer_id"], old["event_name"])
                all_series[key].remove(micros(when(old["timestamp"])), event_id)
            stored[event_id] = text
            all_series[fields["external_customer_id"], fields["event_name"]].add(at, event_id)
        return replaced

    def _event_text(self, event_id: str) -> str | None:
        with self._lock:
            return self._events.get(event_id)

    def _window(self, customer: str, name: str, start: int | None, end: int | None) -> list[tuple[str, str]]:
        with self._lock:
            series = self._series.get((customer, name))
            return [(i, self._events[i]) for i in series.window(start, end)] if series else []

    def _customers_with(self, name: str) -> list[str]:
        with self._lock:
            return [customer for customer, event_name in self._series if event_name == name]

    def _all_event_texts(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._events.items())

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
