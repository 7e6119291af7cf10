"""Usage events over HTTP: ingest (single and bulk), raw query, lookup, and usage statistics.

Ingest is asynchronous in the real server (202 and a map of strings); here an accepted event is
stored at once, so the next read counts it. The rules live in `billing.usage`.
"""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("ingestEvent", exclusive=False)
def ingest_event(api: Api, call: Call) -> Response:
    event = api.billing.usage.ingest([api.fields(call.body)])[0]
    return json_response({"message": "Event accepted for processing", "event_id": event["id"]}, call.op.status)


@behaviour("ingestEventsBulk", exclusive=False)
def ingest_events_bulk(api: Api, call: Call) -> Response:
    events = api.billing.usage.ingest([api.fields(item) for item in api.fields(call.body).get("events", [])])
    return json_response({"message": "Events accepted for processing", "count": str(len(events))}, call.op.status)


@behaviour("listRawEvents", exclusive=False)
def list_raw_events(api: Api, call: Call) -> Response:
    request = api.fields(call.body)
    events = api.billing.usage.query(request)
    offset = int(request.get("offset") or 0)
    size = int(request.get("page_size") or 50)
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
    event = api.billing.usage.stored_event(str(call.params.get("id", "")))
    return json_response({"event": event, "status": "processed", "processed_events": []}, call.op.status)


def _usage(call: Call, name: str, kind: str, value) -> Response:
    """`value` is a JSON number the real server leaves out when it is zero (omitempty)."""
    body = {"event_name": name, "type": kind, "results": []}
    if value:
        body["value"] = float(value)
    return json_response(body, call.op.status)


@behaviour("getUsageStatistics", exclusive=False)
def get_usage_statistics(api: Api, call: Call) -> Response:
    return _usage(call, *api.billing.usage.statistics(api.fields(call.body)))


@behaviour("getUsageByMeter", exclusive=False)
def get_usage_by_meter(api: Api, call: Call) -> Response:
    return _usage(call, *api.billing.usage.by_meter(api.fields(call.body)))
