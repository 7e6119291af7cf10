"""Usage as the real server counts it (BILLING.md section 1): a metered feature creates its meter,
events are counted per meter for one customer in `[start, end)` with every meter filter matching,
one event id counts once, and the aggregations, over HTTP on a live mock of the full spec.
"""
from __future__ import annotations

import pytest

from .billing_api import (  # noqa: F401 (fixtures)
    Api,
    api,
    billing_mock,
    customer,
    ingest,
    metered_feature,
    plan,
    price,
    subscribe,
    usage_price,
    worked_events,
)


def usage_of(api: Api, **request) -> dict:
    """`POST /events/usage` for customer A over January."""
    body = {"event_name": "llm", "external_customer_id": "A", "start_time": "2026-01-01T00:00:00Z",
            "end_time": "2026-02-01T00:00:00Z", **request}
    return api.ok("POST", "events/usage", {k: v for k, v in body.items() if v is not None})


# -- meters --------------------------------------------------------------------------------------
def test_a_metered_feature_creates_its_meter_and_returns_meter_id(api):
    feature = metered_feature(api, filters=[{"key": "model", "values": ["gpt-4"]}])
    assert feature["meter_id"].startswith("meter_") and feature["meter"]["id"] == feature["meter_id"]
    assert feature["meter"]["event_name"] == "llm"
    assert feature["meter"]["aggregation"] == {"type": "SUM", "field": "tokens"}
    assert feature["meter"]["filters"] == [{"key": "model", "values": ["gpt-4"]}]
    [stored] = api.ok("POST", "features/search", {})["items"]
    assert (stored["id"], stored["meter_id"]) == (feature["id"], feature["meter_id"])


@pytest.mark.parametrize(("meter", "field"), [
    ({"aggregation": {"type": "SUM"}}, "meter.aggregation.field"),
    ({"aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "tokens", "multiplier": "0"}}, "meter.aggregation.multiplier"),
    ({"aggregation": {"type": "COUNT", "bucket_size": "HOUR"}}, "meter.aggregation.bucket_size"),
    ({"aggregation": {"type": "COUNT"}, "filters": [{"key": "", "values": ["x"]}]}, "meter.filters[0].key"),
    ({"aggregation": {"type": "COUNT"}, "filters": [{"key": "model", "values": []}]}, "meter.filters[0].values"),
])
def test_a_meter_the_real_server_refuses_is_a_400_naming_the_field(api, meter, field):
    body = {"name": "Tokens", "type": "metered",
            "meter": {"name": "tokens", "event_name": "llm", "reset_usage": "BILLING_PERIOD", **meter}}
    api.refused("POST", "features", body, field)


def test_a_metered_feature_without_a_meter_is_a_400_naming_meter(api):
    api.refused("POST", "features", {"name": "Tokens", "type": "metered"}, "meter")


# -- the analytics path: /events/usage -------------------------------------------------------------
@pytest.mark.parametrize(("aggregation", "property_name", "value"), [
    ("SUM", "tokens", 170), ("COUNT", "tokens", 3), ("MAX", "tokens", 70), ("LATEST", "tokens", 60),
    ("AVG", "tokens", 170 / 3), ("COUNT_UNIQUE", "model", 2),
])
def test_events_usage_aggregates_the_worked_events_counting_a_resent_id_once(api, aggregation, property_name, value):
    worked_events(api)
    usage = usage_of(api, aggregation_type=aggregation, property_name=property_name)
    assert usage == {"event_name": "llm", "type": aggregation, "value": value, "results": []}


def test_events_usage_sum_with_multiplier_multiplies_the_sum(api):
    worked_events(api)
    assert usage_of(api, aggregation_type="SUM_WITH_MULTIPLIER", property_name="tokens", multiplier="0.5")["value"] == 85


def test_events_usage_filters_by_property_values(api):
    worked_events(api)
    assert usage_of(api, aggregation_type="SUM", property_name="tokens", filters={"model": ["gpt-4"]})["value"] == 100
    assert usage_of(api, aggregation_type="SUM", property_name="tokens",
                    filters={"model": ["gpt-4", "gpt-3.5"]})["value"] == 170


def test_events_usage_without_a_customer_counts_the_whole_tenant(api):
    worked_events(api)
    assert usage_of(api, aggregation_type="SUM", property_name="tokens", external_customer_id=None)["value"] == 1170


def test_events_usage_without_property_name_is_a_count(api):
    worked_events(api)
    usage = usage_of(api, aggregation_type="SUM")
    assert (usage["type"], usage["value"]) == ("COUNT", 3)


def test_events_usage_leaves_value_out_when_it_is_zero(api):
    worked_events(api)
    usage = usage_of(api, aggregation_type="SUM", property_name="tokens", external_customer_id="nobody")
    assert usage == {"event_name": "llm", "type": "SUM", "results": []}


def test_events_usage_window_is_start_inclusive_end_exclusive(api):
    worked_events(api)
    window = {"aggregation_type": "SUM", "property_name": "tokens"}
    assert usage_of(api, **window, start_time="2026-01-03T10:00:00Z")["value"] == 130
    assert usage_of(api, **window, end_time="2026-01-04T10:00:00Z")["value"] == 110


def test_events_usage_defaults_to_the_seven_days_before_now(api, billing_mock):
    ingest(api, 5, at="2025-12-24T23:59:59Z", event_id="too-old")
    ingest(api, 7, at="2025-12-25T00:00:00Z", event_id="oldest-counted")
    ingest(api, 11, at="2025-12-31T23:59:59Z", event_id="newest")
    ingest(api, 13, at="2026-01-01T00:00:00Z", event_id="at-now")
    usage = api.ok("POST", "events/usage", {"event_name": "llm", "aggregation_type": "SUM", "property_name": "tokens"})
    assert usage["value"] == 18
    billing_mock.clock.advance("P1D")
    usage = api.ok("POST", "events/usage", {"event_name": "llm", "aggregation_type": "SUM", "property_name": "tokens"})
    assert usage["value"] == 24  # the window moved: Dec 26 to Jan 2


def test_events_usage_with_end_before_start_is_a_400_naming_end_time(api):
    api.refused("POST", "events/usage", {"event_name": "llm", "aggregation_type": "COUNT",
                                         "start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
                "end_time")


def test_numeric_strings_parse_and_junk_counts_as_zero(api):
    ingest(api, "2.5", event_id="decimal")
    ingest(api, "not a number", event_id="junk")
    assert usage_of(api, aggregation_type="SUM", property_name="tokens")["value"] == 2.5
    assert usage_of(api, aggregation_type="COUNT", property_name="tokens")["value"] == 2


def test_events_usage_sums_negative_values_as_they_are(api):
    ingest(api, "2.5", event_id="decimal")
    ingest(api, "-4", event_id="negative")
    assert usage_of(api, aggregation_type="SUM", property_name="tokens")["value"] == -1.5


def test_events_usage_count_unique_counts_a_missing_property_as_one_value(api):
    worked_events(api)
    api.ok("POST", "events", {"event_name": "llm", "external_customer_id": "A", "event_id": "no-model",
                              "timestamp": "2026-01-05T00:00:00Z", "properties": {"tokens": "1"}})
    assert usage_of(api, aggregation_type="COUNT_UNIQUE", property_name="model")["value"] == 3


# -- the analytics path: /events/usage/meter -------------------------------------------------------
def test_events_usage_by_meter_uses_the_meters_aggregation_but_not_its_filters(api):
    feature = metered_feature(api, "GPT-4 tokens", filters=[{"key": "model", "values": ["gpt-4"]}])
    worked_events(api)
    body = {"meter_id": feature["meter_id"], "external_customer_id": "A",
            "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-02-01T00:00:00Z"}
    assert api.ok("POST", "events/usage/meter", body) == {"event_name": "llm", "type": "SUM", "value": 170,
                                                           "results": []}
    body["filters"] = {"model": ["gpt-3.5"]}
    assert api.ok("POST", "events/usage/meter", body)["value"] == 70


def test_events_usage_by_meter_of_an_unknown_meter_is_a_404(api):
    response = api("POST", "events/usage/meter", {"meter_id": "meter_missing"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# -- the billing path: what a subscription's meters measure -----------------------------------------
def usage_charges(api: Api, customer_id: str, meter: dict) -> float:
    """The quantity `/subscriptions/usage` reports over January for a new subscription of the
    customer to a plan with one usage price on `meter`."""
    pro = plan(api, f"Plan {meter['name']}")
    usage_price(api, pro["id"], meter["meter_id"], amount="1")
    subscription = subscribe(api, customer_id, pro["id"])
    usage = api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"]})
    [charge] = usage["charges"]
    assert charge["meter_id"] == meter["meter_id"]
    return charge["quantity"]


@pytest.mark.parametrize(("aggregation", "field", "extra", "quantity"), [
    ("SUM", "tokens", {}, 170), ("COUNT", None, {}, 3), ("MAX", "tokens", {}, 70), ("LATEST", "tokens", {}, 60),
    ("AVG", "tokens", {}, 170 / 3), ("COUNT_UNIQUE", "model", {}, 2),
    ("SUM_WITH_MULTIPLIER", "tokens", {"multiplier": "2"}, 340),
])
def test_the_billing_path_aggregates_each_meter_type_over_the_period(api, aggregation, field, extra, quantity):
    worked_events(api)
    meter = metered_feature(api, aggregation, aggregation, field, **extra)
    assert usage_charges(api, customer(api)["id"], meter) == quantity


def test_the_billing_path_clamps_negatives_and_skips_events_without_the_field(api):
    ingest(api, "2.5", event_id="decimal")
    ingest(api, "-4", event_id="negative")
    ingest(api, "junk", event_id="junk")
    api.ok("POST", "events", {"event_name": "llm", "external_customer_id": "A", "event_id": "no-model",
                              "timestamp": "2026-01-05T00:00:00Z", "properties": {"tokens": "1"}})
    a = customer(api)["id"]
    assert usage_charges(api, a, metered_feature(api, "Sum")) == 3.5
    assert usage_charges(api, a, metered_feature(api, "Models", "COUNT_UNIQUE", "model")) == 1


def test_the_billing_path_applies_every_meter_filter(api):
    worked_events(api)
    ingest(api, 9, "gpt-4", event_id="evt-eu", region="eu")
    a = customer(api)["id"]
    gpt4 = metered_feature(api, "GPT-4", filters=[{"key": "model", "values": ["gpt-4"]}])
    assert usage_charges(api, a, gpt4) == 109
    both = metered_feature(api, "GPT-4 eu", filters=[{"key": "model", "values": ["gpt-4"]},
                                                     {"key": "region", "values": ["eu"]}])
    assert usage_charges(api, a, both) == 9


def test_latest_is_the_value_of_the_newest_event_not_the_last_sent(api):
    ingest(api, 60, at="2026-01-04T00:00:00Z", event_id="newest")
    ingest(api, 40, at="2026-01-02T00:00:00Z", event_id="oldest")
    latest = {"aggregation_type": "LATEST", "property_name": "tokens"}
    assert usage_of(api, **latest)["value"] == 60
    assert usage_of(api, **latest, external_customer_id=None)["value"] == 60
    assert usage_charges(api, customer(api)["id"], metered_feature(api, "Latest", "LATEST")) == 60


def test_events_usage_by_meter_that_never_resets_adds_the_usage_before_start_time(api):
    feature = api.ok("POST", "features", {"name": "Seats", "type": "metered", "meter": {
        "name": "seats", "event_name": "llm", "aggregation": {"type": "SUM", "field": "tokens"}, "reset_usage": "NEVER"}})
    ingest(api, 5, at="2025-06-01T00:00:00Z", event_id="long-ago")
    worked_events(api)
    body = {"meter_id": feature["meter_id"], "external_customer_id": "A",
            "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-02-01T00:00:00Z"}
    assert api.ok("POST", "events/usage/meter", body)["value"] == 175


def test_an_event_name_of_blanks_is_a_400_and_a_bulk_with_one_is_stored_not_at_all(api):
    one = {"event_name": "   ", "external_customer_id": "A", "properties": {"tokens": "1"}}
    api.refused("POST", "events", one, "event_name")
    good = {"event_name": "llm", "external_customer_id": "A", "timestamp": "2026-01-02T00:00:00Z",
            "properties": {"tokens": "1"}}
    api.refused("POST", "events/bulk", {"events": [good, one]}, "events[1].event_name")
    assert "value" not in usage_of(api, aggregation_type="COUNT")
    assert api.ok("POST", "events/bulk", {"events": [good, good]})["count"] == "2"
    assert usage_of(api, aggregation_type="COUNT")["value"] == 2


def test_a_bulk_names_the_first_bad_field_by_its_event_and_stores_nothing(api):
    good = {"event_name": "llm", "external_customer_id": "A", "properties": {"tokens": "1"}}
    api.refused("POST", "events/bulk", {"events": [good, good, {**good, "external_customer_id": " "}]},
                "events[2].external_customer_id")
    api.refused("POST", "events/bulk", {"events": [good, {**good, "event_name": "", "external_customer_id": ""}]},
                "events[1].event_name")
    api.refused("POST", "events/bulk", {"events": [good, {**good, "timestamp": "yesterday"}]}, "events[1].timestamp")
    api.refused("POST", "events", {**good, "timestamp": "2026-01-02T00:00:00"}, "timestamp")
    assert "value" not in usage_of(api, aggregation_type="COUNT")


def test_an_event_happens_now_without_a_timestamp_and_in_utc_with_one(api):
    api.ok("POST", "events", {"event_name": "llm", "external_customer_id": "A", "event_id": "now",
                              "properties": {"tokens": "3"}})
    ingest(api, 4, at="2026-01-02T02:00:00+02:00", event_id="offset")
    found = api.ok("POST", "events/query", {"event_name": "llm", "external_customer_id": "A"})["events"]
    assert sorted((e["id"], e["timestamp"]) for e in found) == [
        ("now", "2026-01-01T00:00:00.000Z"), ("offset", "2026-01-02T00:00:00.000Z")]


def test_raw_events_come_back_in_the_order_sort_and_order_ask_for(api):
    ingest(api, 1, at="2026-01-03T00:00:00Z", event_id="b", event_name="zeta")
    ingest(api, 2, at="2026-01-02T00:00:00Z", event_id="a", event_name="alpha")
    ingest(api, 3, at="2026-01-02T00:00:00Z", event_id="c", event_name="alpha")

    def ids(**order) -> list[str]:
        return [e["id"] for e in api.ok("POST", "events/query", {"external_customer_id": "A", **order})["events"]]
    assert ids() == ["b", "c", "a"]  # newest first, then by id, descending
    assert ids(order="asc") == ["c", "a", "b"]
    assert ids(sort="event_name", order="asc") == ["c", "a", "b"]
    assert ids(sort="event_name") == ["b", "c", "a"]
    api.refused("POST", "events/query", {"sort": "properties"}, "sort")
    api.refused("POST", "events/query", {"order": "DESC"}, "order")


def test_events_usage_by_meter_with_end_before_start_is_a_400_naming_end_time(api):
    feature = metered_feature(api)
    api.refused("POST", "events/usage/meter", {"meter_id": feature["meter_id"], "start_time": "2026-01-02T00:00:00Z",
                                               "end_time": "2026-01-01T00:00:00Z"}, "end_time")
