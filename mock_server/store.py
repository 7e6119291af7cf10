"""All state of a running mock: records by resource, unique-key indexes, API-key hashes, events.

Methods are named in domain terms and take plain dicts; they know nothing about HTTP. One lock
guards every method, so the store is safe under uvicorn's event loop and the in-process runner's
threads alike. `reset()` brings it back to what it was after construction.
"""
from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ulid import ULID

from .errors import ApiError


def utc_now() -> str:
    """RFC 3339 in UTC with milliseconds, like the real server's JSON."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


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
    records: dict[str, dict] = field(default_factory=dict)
    indexes: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indexes = {key: {} for key in self.unique_keys}


@dataclass(slots=True)
class ApiKey:
    secret_id: str
    expires_at: datetime | None


class Store:
    def __init__(self, unique_keys: dict[str, tuple[str, ...]] | None = None, seed: int = 0) -> None:
        self._unique_keys = dict(unique_keys or {})
        self._seed = seed
        self._lock = threading.RLock()
        self._initial_digests: list[str] = []  # bootstrap keys, kept as digests like every other key
        self._on_reset: list[Callable[[Store], None]] = []
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.ids = IdFactory(self._seed)
            self._collections: dict[str, Collection] = {
                name: Collection(keys) for name, keys in self._unique_keys.items()
            }
            self._keys: dict[str, ApiKey] = {}
            self.events: list[dict] = []
            self.tenant_id = self.ids.new("tenant")
            self.environment_id = self.ids.new("env")
            self.user_id = self.ids.new("user")
            for digest in self._initial_digests:
                self._keys[digest] = ApiKey("", None)
            for hook in self._on_reset:
                hook(self)

    def on_reset(self, hook: Callable[[Store], None]) -> None:
        """Run `hook` now and after every reset (bootstrap data such as fixtures)."""
        with self._lock:
            self._on_reset.append(hook)
            hook(self)

    # -- API keys -------------------------------------------------------------------------------
    def add_bootstrap_key(self, raw: str) -> None:
        with self._lock:
            self._initial_digests.append(hash_key(raw))
            self._keys[hash_key(raw)] = ApiKey("", None)

    def add_key(self, raw: str, secret_id: str, expires_at: datetime | None) -> None:
        with self._lock:
            self._keys[hash_key(raw)] = ApiKey(secret_id, expires_at)

    def add_key_digest(self, digest: str, secret_id: str = "", expires_at: datetime | None = None) -> None:
        """A key known by its SHA-256 only (fixtures, replayed state): no raw key is ever needed."""
        with self._lock:
            self._keys[digest] = ApiKey(secret_id, expires_at)

    def authenticate(self, raw: str | None) -> bool:
        """Whether `raw` is a live key. Keys are looked up by the SHA-256 of the presented key,
        never compared as raw strings, so timing reveals nothing about a stored key."""
        if not raw:
            return False
        with self._lock:
            key = self._keys.get(hash_key(raw))
        return key is not None and (key.expires_at is None or key.expires_at > datetime.now(timezone.utc))

    def revoke_keys_of(self, secret_id: str) -> None:
        with self._lock:
            for digest in [d for d, key in self._keys.items() if key.secret_id == secret_id]:
                del self._keys[digest]

    def key_hashes(self) -> dict[str, str]:
        """secret id -> SHA-256 of its raw key, for state export (never the raw key)."""
        with self._lock:
            return {key.secret_id: digest for digest, key in self._keys.items() if key.secret_id}

    def key_digests(self) -> list[tuple[str, ApiKey]]:
        """Every live key as (SHA-256, owner and expiry), for state export."""
        with self._lock:
            return list(self._keys.items())

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
            collection.records[record["id"]] = record
            self._index(collection, record)
            return record

    def get(self, resource: str, record_id: str) -> dict | None:
        with self._lock:
            return self._collection(resource).records.get(record_id)

    def find(self, resource: str, key: str, value: object) -> dict | None:
        """Lookup by a unique key in O(1); by any other field in one pass."""
        with self._lock:
            collection = self._collection(resource)
            if key in collection.indexes:
                record_id = collection.indexes[key].get(value)
                return collection.records.get(record_id) if record_id else None
            return next((r for r in collection.records.values() if r.get(key) == value), None)

    def update(self, resource: str, record_id: str, changes: dict) -> dict | None:
        with self._lock:
            collection = self._collection(resource)
            current = collection.records.get(record_id)
            if current is None:
                return None
            merged = {**current, **changes}
            self._check_unique(collection, merged, record_id)
            self._unindex(collection, current)
            collection.records[record_id] = merged
            self._index(collection, merged)
            return merged

    def delete(self, resource: str, record_id: str) -> dict | None:
        with self._lock:
            collection = self._collection(resource)
            record = collection.records.pop(record_id, None)
            if record is not None:
                self._unindex(collection, record)
            return record

    def select(self, resource: str, predicate: Callable[[dict], bool] | None = None) -> list[dict]:
        """Matching records, newest first, in one pass."""
        with self._lock:
            records = reversed(self._collection(resource).records.values())
            return [r for r in records if predicate is None or predicate(r)]

    def dump(self) -> dict[str, list[dict]]:
        """Every record by resource, oldest first (the fixture format's order)."""
        with self._lock:
            return {name: list(c.records.values()) for name, c in self._collections.items() if c.records}

    def add_events(self, events: Iterable[dict]) -> None:
        with self._lock:
            self.events.extend(events)

    @staticmethod
    def _check_unique(collection: Collection, record: dict, record_id: str) -> None:
        for key, index in collection.indexes.items():
            value = record.get(key)
            if isinstance(value, (str, int)) and value != "" and index.get(value, record_id) != record_id:
                raise ApiError(409, f"a record with {key} '{value}' already exists", {key: value})

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
