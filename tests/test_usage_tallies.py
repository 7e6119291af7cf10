"""Incremental usage is exact: on random event streams a tallied billing read equals a rescan.

The reference is the billing path as it was before tallies (`aggregate` over the window's
events, meter filters applied, negative values counted as 0, COUNT_UNIQUE over events carrying
the field), computed from the store at each read; the tallied read is `Usage.quantity`, which
scans a window once and then follows what is ingested. Streams re-send ids (within a batch and
across batches, moving an event to another customer or name), tie times, carry junk and
negative values, and read windows before, between and after their events.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core.times import micros, stamp
from mock_server.domain.billing.usage import AGGREGATIONS, Usage, _multiplier, aggregate, matches
from mock_server.domain.clock import Clock
from mock_server.domain.ids import IdFactory
from mock_server.storage.memory_store import MemoryStore

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TIMES = [START + timedelta(hours=h) for h in (0, 1, 1, 2, 5, 9)]  # a tie, and times past every window
WINDOWS = [(START, START + timedelta(hours=3)), (START + timedelta(hours=1), START + timedelta(hours=6)),
           (None, None), (START + timedelta(hours=2), START + timedelta(hours=2))]
CUSTOMERS, NAMES = ("A", "B"), ("llm", "other")
METERS = [{"event_name": "llm", "aggregation": {"type": kind, "field": "" if kind == "COUNT" else "v",
                                                **({"multiplier": "2.5"} if kind == "SUM_WITH_MULTIPLIER" else {})},
           **({"filters": [{"key": "region", "values": ["eu"]}]} if filtered else {})}
          for kind in AGGREGATIONS for filtered in (False, True)]

values = st.sampled_from(["1", "2.5", "-3", "abc", "10", "0.1", "1e2", 7, 2.0, True, None])
properties = st.dictionaries(st.sampled_from(["v", "region"]), values | st.sampled_from(["eu", "us"]), max_size=2)
events = st.fixed_dictionaries({
    "event_id": st.sampled_from([f"evt-{n}" for n in range(8)]),
    "event_name": st.sampled_from(NAMES),
    "external_customer_id": st.sampled_from(CUSTOMERS),
    "timestamp": st.sampled_from([stamp(t) for t in TIMES]),
    "properties": properties,
})
streams = st.lists(st.lists(events, min_size=1, max_size=5), min_size=1, max_size=8)


def usage() -> Usage:
    lifecycle = SimpleNamespace(on_local_reset=lambda hook: hook(), on_stale=lambda hook: None)
    records = SimpleNamespace(store=MemoryStore(), clock=Clock(START), ids=IdFactory(0), lifecycle=lifecycle)
    return Usage(records)


def rescan(found: Usage, meter: dict, customer: str, start: datetime | None, end: datetime | None):
    window = [None if t is None else micros(t) for t in (start, end)]
    chosen = found.store.events_of(customer, meter["event_name"], *window)
    filters = [(f["key"], f["values"]) for f in meter.get("filters") or []]
    chosen = [e for e in chosen if matches(e, filters)]
    aggregation = meter["aggregation"]
    if aggregation["type"] == "COUNT_UNIQUE":
        chosen = [e for e in chosen if aggregation["field"] in (e.get("properties") or {})]
    return aggregate(aggregation["type"], chosen, aggregation["field"], _multiplier(aggregation), clamp=True)


@settings(max_examples=150, deadline=None)
@given(streams)
def test_a_tallied_billing_read_equals_a_rescan_of_the_window(stream):
    found = usage()
    for batch in stream:
        found.ingest(batch)
        for meter in METERS:
            for customer in CUSTOMERS:
                for start, end in WINDOWS:
                    assert found.quantity(meter, customer, start, end) == rescan(found, meter, customer, start, end), (
                        meter, customer, start, end)


def test_a_window_read_twice_is_scanned_once_and_then_follows_what_is_ingested():
    found = usage()
    meter = METERS[2]  # SUM of `v`
    found.ingest([{"event_name": "llm", "external_customer_id": "A", "timestamp": stamp(START), "properties": {"v": "4"}}])
    scans = []
    event_fields = found.store.event_fields
    found.store.event_fields = lambda *args: scans.append(args) or event_fields(*args)
    window = WINDOWS[0]
    assert found.quantity(meter, "A", *window) == 4
    found.ingest([{"event_name": "llm", "external_customer_id": "A", "timestamp": stamp(START), "properties": {"v": "6"}}])
    assert found.quantity(meter, "A", *window) == 10
    assert len(scans) == 1
