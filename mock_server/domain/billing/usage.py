"""Usage: ingesting events, meters, and the quantities aggregated from them.

Two read paths, as in the real server. The billing path (`quantity`) is what subscriptions,
invoices, wallets and entitlements see: a meter's events for one customer in `[start, end)`,
every meter filter matching, each event id once, aggregated by the meter's type. The analytics
path (`statistics`, `/events/usage` and `/events/usage/meter`) takes its filters from the
request only. Both read through the store's index by (customer, event name), so a read costs
that customer's events in the window, never a scan of everything stored.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ...core.failures import Invalid, NotFound
from ...core.times import micros, moved, parse_instant, stamp, when
from ..records import Records
from . import money
from .money import ZERO, quantity
from .tallies import Measure, Tally, Tallies, as_text, matches

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
    return Decimal(len({as_text((e.get("properties") or {}).get(field, "")) for e in events}))


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


class Usage:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store
        self.clock = records.clock
        self.tallies = Tallies()
        records.lifecycle.on_local_reset(self.tallies.clear)
        records.lifecycle.on_stale(self.tallies.clear)  # another process ingested: scan again

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(self, items: list[dict]) -> list[str]:
        """Check every event, then store them all: a bulk is accepted whole or not at all. The
        ids stored, in order: the caller's `event_id`, else `event_<ULID>`. Names and customers
        are trimmed; times are kept in UTC, now when absent. A bulk reads the clock once, draws
        its new ids at once and parses a time it repeats once; its events go to the store in one
        call."""
        missing = sum(1 for item in items if not item.get("event_id"))
        fresh = iter(self.records.ids.many("event", missing) if missing else ())
        now: tuple[int, str] | None = None
        times: dict[str, tuple[int, str]] = {}
        accepted = []
        add = accepted.append
        for i, item in enumerate(items):
            name = str(item.get("event_name") or "").strip()
            customer = str(item.get("external_customer_id") or "").strip()
            if not name or not customer:
                field = "external_customer_id" if name else "event_name"
                raise Invalid(_item_field(items, i, field), f"{field} is required")
            fields = {"event_name": name, "external_customer_id": customer}
            if item.get("customer_id"):
                fields["customer_id"] = str(item["customer_id"])
            if item.get("properties"):
                fields["properties"] = item["properties"]
            if item.get("source"):
                fields["source"] = str(item["source"])
            given = item.get("timestamp")
            if not given:
                at = now = now or _instant(self.clock.now())
            elif isinstance(given, str) and given in times:
                at = times[given]
            else:
                at = times[given] = _instant(parse_instant(given, _item_field(items, i, "timestamp")))
            fields["timestamp"] = at[1]
            event_id = item.get("event_id")
            add((at[0], str(event_id) if event_id else next(fresh), fields))
        with self.tallies.lock:
            try:
                replaced = self.store.add_events(accepted)
            except BaseException:
                self.tallies.clear()  # the store may have taken them: what the tallies say is unsure
                raise
            self.tallies.ingested(accepted, replaced)
        return [event_id for _, event_id, _ in accepted]

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
        """What a meter measured for one customer (external id) in `[start, end)`: its tally
        (`tallies.py`), made by scanning the window's events the first time. `windows` keeps the
        events read for one call (an invoice's usage lines share them), so each is decoded once
        however many meters count it."""
        measure = measure_of(meter)
        low, high = _at(start), _at(end)
        with self.tallies.lock:
            tally = self.tallies.find(customer, measure, low, high)
            if tally is None:
                key = (customer, measure.event_name, low, high)
                events = windows.get(key) if windows is not None else None
                if events is None:
                    events = self.store.event_fields(*key)
                    if windows is not None:
                        windows[key] = events
                tally = self.tallies.keep(customer, Tally(measure, low, high).scanned(events))
            return tally.value()

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
            start = parse_instant(request["start_time"], "start_time") if request.get("start_time") else moved(end, -DEFAULT_WINDOW)
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


def measure_of(meter: dict) -> Measure:
    """What a meter aggregates, in the billing path's terms."""
    aggregation = meter.get("aggregation") or {}
    filters = tuple((_hashable(f.get("key")), tuple(_hashable(v) for v in f.get("values") or ()))
                    for f in meter.get("filters") or [])
    return Measure(meter.get("event_name", ""), aggregation.get("type") or "COUNT", aggregation.get("field") or "",
                   _multiplier(aggregation), filters)


def _hashable(value: object) -> object:
    """A filter value as a key; one no property text can equal (a list, an object) never matches."""
    return value if isinstance(value, (str, int, float, bool)) or value is None else ("unmatchable", repr(value))


def _instant(moment: datetime) -> tuple[int, str]:
    """A time as the event index keys it (µs) and as the event keeps it (RFC 3339)."""
    return micros(moment), stamp(moment)


def _item_field(items: list[dict], index: int, field: str) -> str:
    """A bad event's field as a 400 names it: `events[3].event_name` in a bulk, the bare name alone."""
    return f"events[{index}].{field}" if len(items) > 1 else field


def _at(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


def _multiplier(source: dict) -> Decimal | None:
    """The `multiplier` of a meter's aggregation or of a usage request, if it has one."""
    value = source.get("multiplier")
    return money.decimal(value, "multiplier", None) if value not in (None, "") else None
