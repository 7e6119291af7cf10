"""Usage events: ingest (single and bulk), raw query, lookup by id, and usage counted from them.

Ingest is asynchronous in the real server (202 and a map of strings); here an accepted event is
stored at once, so the next query or usage call sees it. Usage supports the aggregations a
mock can compute from stored events (COUNT, SUM, AVG, MAX, COUNT_UNIQUE, LATEST); others count.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from starlette.responses import Response

from ..errors import not_found
from ..handlers import Api, Call, json_response
from ..store import utc_now
from .registry import behaviour

# Request fields matched by equality against stored events.
EVENT_FILTERS = ("event_id", "event_name", "external_customer_id", "customer_id", "source")


def _event(api: Api, fields: dict) -> dict:
    """An event as the `Event` schema has it: the caller's `event_id` kept, else `event_<ULID>`."""
    return {
        "id": str(fields.get("event_id") or api.store.ids.new("event")),
        "event_name": fields.get("event_name", ""),
        "external_customer_id": fields.get("external_customer_id", ""),
        "customer_id": fields.get("customer_id", ""),
        "properties": fields.get("properties") or {},
        "source": fields.get("source", ""),
        "timestamp": fields.get("timestamp") or utc_now(),
        "environment_id": api.store.environment_id,
    }


@behaviour("ingestEvent")
def ingest_event(api: Api, call: Call) -> Response:
    event = _event(api, api.fields(call.body))
    api.store.add_events([event])
    return json_response({"message": "Event accepted for processing", "event_id": event["id"]}, call.op.status)


@behaviour("ingestEventsBulk")
def ingest_events_bulk(api: Api, call: Call) -> Response:
    events = [_event(api, api.fields(item)) for item in api.fields(call.body).get("events", [])]
    api.store.add_events(events)
    return json_response({"message": "Events accepted for processing", "count": str(len(events))}, call.op.status)


def matching(api: Api, filters: dict) -> list[dict]:
    """Stored events matching the request's equality filters and time range, newest first."""
    wanted = {name: filters[name] for name in EVENT_FILTERS if filters.get(name)}
    if "event_id" in wanted:
        wanted["id"] = wanted.pop("event_id")
    start, end = filters.get("start_time"), filters.get("end_time")
    found = [
        e for e in api.store.events
        if all(e.get(k) == v for k, v in wanted.items())
        and (not start or e["timestamp"] >= start) and (not end or e["timestamp"] <= end)
    ]
    return sorted(found, key=lambda e: e["timestamp"], reverse=True)


@behaviour("listRawEvents")
def list_raw_events(api: Api, call: Call) -> Response:
    filters = api.fields(call.body)
    events = matching(api, filters)
    offset = int(filters.get("offset") or 0)
    size = int(filters.get("page_size") or 50)
    page = events[offset: offset + size]
    return json_response({
        "events": page,
        "has_more": offset + size < len(events),
        "offset": offset,
        "total_count": len(events),
        "iter_first_key": page[0]["id"] if page else "",
        "iter_last_key": page[-1]["id"] if page else "",
    }, call.op.status)


@behaviour("getEvent")
def get_event(api: Api, call: Call) -> Response:
    key = str(call.params.get("id", ""))
    event = next((e for e in api.store.events if e["id"] == key), None)
    if event is None:
        raise not_found("event", key)
    return json_response({"event": event, "status": "processed", "processed_events": []}, call.op.status)


@behaviour("getUsageStatistics")
def get_usage_statistics(api: Api, call: Call) -> Response:
    filters = api.fields(call.body)
    events = matching(api, filters)
    kind = str(filters.get("aggregation_type") or "COUNT")
    value = aggregate(kind, events, str(filters.get("property_name") or ""))
    return json_response({"event_name": filters.get("event_name", ""), "type": kind, "value": value,
                          "results": []}, call.op.status)


def aggregate(kind: str, events: list[dict], prop: str) -> float:
    if kind == "COUNT" or not prop:
        return float(len(events))
    values = [v for v in (_number(e["properties"].get(prop)) for e in events) if v is not None]
    if kind == "COUNT_UNIQUE":
        return float(len({e["properties"].get(prop) for e in events if prop in e["properties"]}))
    if kind == "LATEST":
        return float(values[0]) if values else 0.0
    if not values:
        return 0.0
    if kind == "AVG":
        return float(sum(values) / len(values))
    if kind == "MAX":
        return float(max(values))
    return float(sum(values))


def _number(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
