"""Usage: ingesting events, meters, and the quantities aggregated from them.

Two read paths, as in the real server. The billing path (`quantity`) is what subscriptions,
invoices, wallets and entitlements see: a meter's events for one customer in `[start, end)`,
every meter filter matching, each event id once, aggregated by the meter's type. The analytics
path (`statistics`, `/events/usage` and `/events/usage/meter`) takes its filters from the
request only. Both read through the store's index by (customer, event name), so a read costs
that customer's events in the window, never a scan of everything stored.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

import orjson

from ...core.failures import Invalid, NotFound
from ...core.times import micros, parse_instant, stamp, when
from ..records import Records
from . import money
from .money import ZERO, quantity

AGGREGATIONS = ("COUNT", "SUM", "AVG", "COUNT_UNIQUE", "LATEST", "SUM_WITH_MULTIPLIER", "MAX", "WEIGHTED_SUM")
NEEDS_FIELD = frozenset(AGGREGATIONS) - {"COUNT"}
BUCKETED = frozenset({"MAX", "SUM"})
DEFAULT_WINDOW = timedelta(days=7)
METER_FIELDS = ("name", "event_name", "aggregation", "filters", "reset_usage")  # a feature's inline meter
EVENT_SORTS = ("timestamp", "event_name")


def _count(values: list[Decimal], events: list[dict], field: str) -> Decimal:
    return Decimal(len(events))


def _sum(values: list[Decimal], events: list[dict], field: str) -> Decimal:
    return sum(values, ZERO)


def _avg(values: list[Decimal], events: list[dict], field: str) -> Decimal:
    return sum(values, ZERO) / len(values) if values else ZERO


def _max(values: list[Decimal], events: list[dict], field: str) -> Decimal:
    return max(values, default=ZERO)


def _latest(values: list[Decimal], events: list[dict], field: str) -> Decimal:
    return values[-1] if values else ZERO  # events arrive oldest first


def _count_unique(values: list[Decimal], events: list[dict], field: str) -> Decimal:
    """Distinct values; an event without the field counts as the value "" (the billing path
    leaves such events out before it aggregates)."""
    return Decimal(len({_as_text((e.get("properties") or {}).get(field, "")) for e in events}))


# One function per aggregation type; SUM_WITH_MULTIPLIER is a SUM whose values were multiplied.
AGGREGATORS = {
    "COUNT": _count, "SUM": _sum, "SUM_WITH_MULTIPLIER": _sum, "WEIGHTED_SUM": _sum, "AVG": _avg,
    "MAX": _max, "LATEST": _latest, "COUNT_UNIQUE": _count_unique,
}


def aggregate(kind: str, events: list[dict], field: str, multiplier: Decimal | None = None,
              clamp: bool = False) -> Decimal:
    """The aggregation of `events` (oldest first, one per id); with `clamp` (the billing path)
    a negative quantity counts as 0."""
    values = [quantity((e.get("properties") or {}).get(field)) for e in events] if field else []
    if clamp:
        values = [max(value, ZERO) for value in values]
    if kind == "SUM_WITH_MULTIPLIER" and multiplier is not None:
        values = [v * multiplier for v in values]
    return AGGREGATORS.get(kind, _count)(values, events, field)


def matches(event: dict, filters: Iterable[tuple[str, Iterable[str]]]) -> bool:
    """Every filter key present in the properties with one of its values (numbers compared as text)."""
    properties = event.get("properties") or {}
    return all(key in properties and _as_text(properties[key]) in set(values) for key, values in filters)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Usage:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store
        self.clock = records.clock

    # -- ingest ---------------------------------------------------------------------------------
    def event(self, fields: dict, field_prefix: str = "") -> tuple[int, dict]:
        """An accepted event: name trimmed, the caller's id kept (else `event_<ULID>`), its time
        in UTC (now when absent)."""
        name = str(fields.get("event_name") or "").strip()
        if not name:
            raise Invalid(field_prefix + "event_name", "event_name is required")
        customer = str(fields.get("external_customer_id") or "").strip()
        if not customer:
            raise Invalid(field_prefix + "external_customer_id", "external_customer_id is required")
        at = self.clock.now() if not fields.get("timestamp") else parse_instant(fields["timestamp"], field_prefix + "timestamp")
        event = {
            "id": str(fields.get("event_id") or self.records.ids.new("event")),
            "event_name": name,
            "external_customer_id": customer,
            "customer_id": str(fields.get("customer_id") or ""),
            "properties": fields.get("properties") or {},
            "source": str(fields.get("source") or ""),
            "timestamp": stamp(at),
        }
        return micros(at), event

    def ingest(self, items: list[dict]) -> list[dict]:
        """Check every event, then store them all: a bulk is accepted whole or not at all."""
        prefix = (lambda i: f"events[{i}].") if len(items) > 1 else (lambda i: "")
        accepted = [self.event(item, prefix(i)) for i, item in enumerate(items)]
        self.store.add_events(accepted)
        return [event for _, event in accepted]

    # -- meters ---------------------------------------------------------------------------------
    def create_meter(self, fields: dict, field: str = "meter", record_id: str | None = None) -> dict:
        """A feature's inline meter, checked as the real server's `Meter.Validate` checks it."""
        aggregation = dict(fields.get("aggregation") or {})
        kind = aggregation.get("type") or "COUNT"
        if kind not in AGGREGATIONS:
            raise Invalid(f"{field}.aggregation.type", f"unknown aggregation type {kind!r}")
        if kind in NEEDS_FIELD and not aggregation.get("field") and not (
                aggregation.get("expression") and kind in ("SUM", "AVG", "MAX", "LATEST")):
            raise Invalid(f"{field}.aggregation.field", f"aggregation {kind} needs a field")
        if kind == "SUM_WITH_MULTIPLIER" and money.decimal(aggregation.get("multiplier"), f"{field}.aggregation.multiplier") <= 0:
            raise Invalid(f"{field}.aggregation.multiplier", "SUM_WITH_MULTIPLIER needs a multiplier greater than 0")
        if aggregation.get("bucket_size") and kind not in BUCKETED:
            raise Invalid(f"{field}.aggregation.bucket_size", "bucket_size is only for MAX or SUM")
        for i, one in enumerate(fields.get("filters") or []):
            if not str(one.get("key") or "").strip():
                raise Invalid(f"{field}.filters[{i}].key", "a meter filter needs a key")
            if not one.get("values"):
                raise Invalid(f"{field}.filters[{i}].values", "a meter filter needs at least one value")
        if not str(fields.get("event_name") or "").strip():
            raise Invalid(f"{field}.event_name", "a meter needs an event_name")
        meter = {key: fields[key] for key in METER_FIELDS if key in fields}
        return self.records.new("meter", {**meter, "aggregation": {**aggregation, "type": kind},
                                          "reset_usage": fields.get("reset_usage") or "BILLING_PERIOD"}, record_id)

    def meter(self, meter_id: object) -> dict:
        return self.records.require("meter", meter_id)

    # -- the billing path -----------------------------------------------------------------------
    def quantity(self, meter: dict, customer: str, start: datetime | None, end: datetime | None,
                 windows: dict | None = None) -> Decimal:
        """What a meter measured for one customer (external id) in `[start, end)`. `windows`
        keeps the events read for one call (an invoice's usage lines share them), so each is
        decoded once however many meters count it."""
        key = (customer, meter.get("event_name", ""), _at(start), _at(end))
        events = windows.get(key) if windows is not None else None
        if events is None:
            events = [orjson.loads(text) for text in self.store.event_texts(*key)]
            if windows is not None:
                windows[key] = events
        filters = [(f.get("key"), f.get("values") or []) for f in meter.get("filters") or []]
        if filters:
            events = [e for e in events if matches(e, filters)]
        aggregation = meter.get("aggregation") or {}
        kind, field = aggregation.get("type") or "COUNT", aggregation.get("field") or ""
        if kind == "COUNT_UNIQUE":
            events = [e for e in events if field in (e.get("properties") or {})]
        return aggregate(kind, events, field, _multiplier(aggregation), clamp=True)

    # -- the analytics path ---------------------------------------------------------------------
    def statistics(self, request: dict) -> tuple[str, str, Decimal]:
        """`/events/usage`: (event name, aggregation, value). No property means COUNT, as the
        real server forces it; the window defaults to the 7 days before now."""
        name = str(request.get("event_name") or "")
        field = str(request.get("property_name") or "")
        kind = str(request.get("aggregation_type") or "COUNT") if field else "COUNT"
        events = self._window_events(name, request)
        return name, kind, aggregate(kind, events, field, _multiplier(request))

    def by_meter(self, request: dict) -> tuple[str, str, Decimal]:
        """`/events/usage/meter`: the meter's event name, field and aggregation, the request's
        filters only (not the meter's own)."""
        meter = self.meter(request.get("meter_id"))
        aggregation = meter.get("aggregation") or {}
        kind, field = aggregation.get("type") or "COUNT", aggregation.get("field") or ""
        lifetime = meter.get("reset_usage") == "NEVER"  # usage before start_time is added in
        events = self._window_events(meter.get("event_name", ""), request, lifetime)
        return meter.get("event_name", ""), kind, aggregate(kind, events, field, _multiplier(aggregation))

    def _window_events(self, name: str, request: dict, lifetime: bool = False) -> list[dict]:
        end = parse_instant(request["end_time"], "end_time") if request.get("end_time") else self.clock.now()
        if lifetime:
            start = None
        else:
            start = parse_instant(request["start_time"], "start_time") if request.get("start_time") else end - DEFAULT_WINDOW
            if end < start:
                raise Invalid("end_time", "end_time must be after start_time")
        customer = str(request.get("external_customer_id") or "")
        if customer:
            events = self.store.events_of(customer, name, _at(start), _at(end))
        else:
            events = sorted(self.store.events_named(name, _at(start), _at(end)), key=lambda e: e["timestamp"])
        if request.get("customer_id"):
            events = [e for e in events if e.get("customer_id") == request["customer_id"]]
        filters = [(key, values) for key, values in (request.get("filters") or {}).items() if values]
        return [e for e in events if matches(e, filters)] if filters else events

    # -- raw events -----------------------------------------------------------------------------
    def query(self, request: dict) -> list[dict]:
        """`/events/query`: stored events matching the request's fields, ordered by `sort`
        (`timestamp` or `event_name`) in `order` (`desc` by default), then by id, descending."""
        sort, order = request.get("sort") or "timestamp", request.get("order") or "desc"
        if sort not in EVENT_SORTS:
            raise Invalid("sort", f"invalid sort field: {sort}; one of {', '.join(EVENT_SORTS)}")
        if order not in ("asc", "desc"):
            raise Invalid("order", f"invalid order: {order}; asc or desc")
        wanted = {name: request[name] for name in ("event_name", "external_customer_id", "source")
                  if request.get(name)}
        if request.get("event_id"):
            wanted["id"] = request["event_id"]
        start = parse_instant(request["start_time"], "start_time") if request.get("start_time") else None
        end = parse_instant(request["end_time"], "end_time") if request.get("end_time") else None
        if "external_customer_id" in wanted and "event_name" in wanted:
            found = self.store.events_of(wanted["external_customer_id"], wanted["event_name"])
        else:
            found = self.store.all_events()
        properties = [(k, v) for k, v in (request.get("property_filters") or {}).items() if v]
        found = [e for e in found if all(e.get(k) == v for k, v in wanted.items())
                 and _inside(e["timestamp"], start, end)
                 and matches(e, properties)]
        by_id = sorted(found, key=lambda e: e["id"], reverse=True)
        ordered = sorted(by_id, key=lambda e: e["timestamp"] if sort == "timestamp" else e["event_name"],
                         reverse=order == "desc")
        return [self._as_read(e) for e in ordered]

    def stored_event(self, event_id: str) -> dict:
        """One ingested event by id, as `GET /events/{id}` answers it."""
        event = self.store.event(event_id)
        if event is None:
            raise NotFound("event", event_id)
        return self._as_read(event)

    def _as_read(self, event: dict) -> dict:
        """An event with what the store leaves out because every event shares it."""
        return {**event, "environment_id": self.records.lifecycle.tenant.environment_id}


def _inside(timestamp: str, start: datetime | None, end: datetime | None) -> bool:
    """`start <= timestamp <= end`, either bound optional (the raw query's window is inclusive);
    the stored time is parsed only when there is a bound to compare it with."""
    if start is None and end is None:
        return True
    moment = when(timestamp)
    return (start is None or moment >= start) and (end is None or moment <= end)


def _at(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


def _multiplier(source: dict) -> Decimal | None:
    """The `multiplier` of a meter's aggregation or of a usage request, if it has one."""
    value = source.get("multiplier")
    return money.decimal(value, "multiplier", None) if value not in (None, "") else None
