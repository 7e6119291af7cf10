"""State snapshots: the whole state of a mock as one versioned JSON document, and putting a mock
back to one.

A snapshot holds every record of every resource as stored (oldest first), the API keys as
SHA-256 digests only (never a raw key), the usage events, the sequences (invoice numbers), the
tenant the keys act as and the billing clock (frozen instant or running shift). Restoring one is
a reset to it: the store is emptied and filled, every process sharing it adopts the tenant and
the clock, and each rebuilds what it keeps for itself (journal, stubs, outbox, bootstrap keys).
Nothing is replayed through the create path, so a restore is exact and takes milliseconds.

`VERSION` moves on when the format changes; a mock refuses a snapshot newer than it reads, and a
malformed one, with `Invalid` naming the field, before it touches the state. A snapshot whose
records do not fit this store (a unique key taken twice) leaves the state it found.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version

from ..core.failures import Failure, Invalid
from ..core.times import parse_instant, stamp
from .lifecycle import Lifecycle, Tenant

FORMAT = "flexprice-mock-snapshot"
VERSION = 1
SHA256 = re.compile(r"[0-9a-f]{64}")


def mock_version() -> str:
    try:
        return version("flexprice-mock")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


def take(lifecycle: Lifecycle) -> dict:
    """The state now, as other processes left it, read under the write lock so no write that
    reads first is half done in it."""
    lifecycle.sync()
    with lifecycle.store.atomic():
        contents = lifecycle.store.contents()
        clock = lifecycle.clock
        tenant = lifecycle.tenant
        return {
            "format": FORMAT,
            "version": VERSION,
            "mock_version": mock_version(),
            "taken_at": stamp(datetime.now(timezone.utc)),
            "tenant": {"tenant_id": tenant.tenant_id, "environment_id": tenant.environment_id,
                       "user_id": tenant.user_id},
            "clock": {**clock.state(), "now": clock.stamp()},
            "records": contents["records"],
            "api_keys": contents["api_keys"],
            "events": contents["events"],
            "sequences": contents["sequences"],
        }


def restore(lifecycle: Lifecycle, snapshot: object, collections: set[str]) -> dict[str, int]:
    """Put the state back to `snapshot`; the records restored by resource."""
    checked(snapshot, collections)
    tenant = Tenant(**snapshot["tenant"])
    contents = {name: snapshot[name] for name in ("records", "api_keys", "events", "sequences")}
    with lifecycle.store.atomic():
        before = take(lifecycle)
        try:
            lifecycle.replace(tenant, snapshot["clock"], contents)
        except Failure:
            lifecycle.replace(Tenant(**before["tenant"]), before["clock"], {n: before[n] for n in contents})
            raise
    return {name.lstrip("/"): len(records) for name, records in snapshot["records"].items() if records}


# -- checks -------------------------------------------------------------------------------------
def checked(snapshot: object, collections: set[str]) -> None:
    """`Invalid` naming the first field of `snapshot` that is not as `take` writes it."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise Invalid("format", f'a snapshot is a JSON object with "format": "{FORMAT}", as GET /_mock/state/export '
                                "answers")
    given = snapshot.get("version")
    if not _whole(given) or given < 1:
        raise Invalid("version", f"a snapshot's version is a whole number from 1, got {given!r}")
    if given > VERSION:
        raise Invalid("version", f"this snapshot is version {given}, written by a newer flexprice-mock "
                                 f"({snapshot.get('mock_version', 'unknown')}); this one ({mock_version()}) reads "
                                 f"versions up to {VERSION}: upgrade it to import the snapshot")
    tenant = snapshot.get("tenant")
    if not isinstance(tenant, dict) or set(tenant) != {"tenant_id", "environment_id", "user_id"} or not all(
            isinstance(v, str) and v for v in tenant.values()):
        raise Invalid("tenant", "tenant must be an object of tenant_id, environment_id and user_id strings")
    _check_clock(snapshot.get("clock"))
    _check_records(snapshot.get("records"), collections)
    _check_keys(snapshot.get("api_keys"))
    _check_events(snapshot.get("events"))
    sequences = snapshot.get("sequences")
    if not isinstance(sequences, dict) or not all(_whole(v) and v >= 0 for v in sequences.values()):
        raise Invalid("sequences", "sequences must map names to whole numbers of at least 0")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_clock(clock: object) -> None:
    if not isinstance(clock, dict) or not _whole(clock.get("shift", 0)):
        raise Invalid("clock", "clock must be an object with frozen (an instant or null) and shift (microseconds)")
    if clock.get("frozen") is not None:
        parse_instant(clock["frozen"], "clock.frozen")


def _check_records(records: object, collections: set[str]) -> None:
    if not isinstance(records, dict):
        raise Invalid("records", "records must map each resource's collection path to a list of records")
    for name, items in records.items():
        if name not in collections:
            raise Invalid("records", f"the served spec has no resource {name}; a snapshot restores into a mock "
                                     "serving the spec it was taken from")
        if not isinstance(items, list):
            raise Invalid(f"records.{name}", f"records.{name} must be a list of records")
        seen: set[str] = set()
        for index, record in enumerate(items):
            if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
                raise Invalid(f"records.{name}[{index}]", f"records.{name}[{index}] must be a record with an id")
            if record["id"] in seen:
                raise Invalid(f"records.{name}[{index}]", f"id {record['id']!r} appears twice in records.{name}")
            seen.add(record["id"])


def _check_keys(keys: object) -> None:
    if not isinstance(keys, list):
        raise Invalid("api_keys", "api_keys must be a list of {sha256, secret_id, expires_at}")
    for index, key in enumerate(keys):
        where = f"api_keys[{index}]"
        if not isinstance(key, dict) or not isinstance(key.get("sha256"), str) or not SHA256.fullmatch(key["sha256"]):
            raise Invalid(where, f"{where}.sha256 must be 64 lower-case hex digits: a snapshot holds no raw key")
        if not isinstance(key.get("secret_id") or "", str):
            raise Invalid(where, f"{where}.secret_id must be a string")
        if key.get("expires_at") is not None:
            parse_instant(key["expires_at"], f"{where}.expires_at")


def _check_events(events: object) -> None:
    if not isinstance(events, list):
        raise Invalid("events", "events must be a list of usage events")
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(event, dict) or not all(
                isinstance(event.get(f), str) and event[f] for f in ("id", "event_name", "external_customer_id")):
            raise Invalid(where, f"{where} must be an event with id, event_name and external_customer_id")
        parse_instant(event.get("timestamp"), f"{where}.timestamp")
