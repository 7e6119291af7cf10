"""Usage as the real server counts it (BILLING.md section 1): a metered feature creates its meter,
events are counted per meter for one customer in `[start, end)` with every meter filter matching,
one event id counts once, and the aggregations, over HTTP on a live mock of the full spec.

This module also holds what the billing test modules share: a live mock with a frozen clock
(one per module, reset before each test), a client whose every answer is checked against the
spec, and builders for the catalogue, customers, subscriptions and events of BILLING.md's
worked examples.
"""
from __future__ import annotations

import httpx
import pytest

from mock_server import MockServer

START = "2026-01-01T00:00:00Z"  # the frozen clock; a monthly subscription made now ends Feb 1
VOLUME_TIERS = [{"up_to": 100, "unit_amount": "0.10"}, {"up_to": 1000, "unit_amount": "0.05", "flat_amount": "2"},
                {"unit_amount": "0.01"}]
SLAB_TIERS = [{"up_to": 100, "unit_amount": "0.10"}, {"unit_amount": "0.05", "flat_amount": "1"}]


class Api:
    """`api("POST", "customers", {...})`: the response, already checked against the spec."""

    def __init__(self, client: httpx.Client, checker) -> None:
        self.client, self.checker = client, checker

    def __call__(self, method: str, path: str, body: object = None, **params) -> httpx.Response:
        response = self.client.request(method, path, json=body, params=params or None)
        self.checker.check(response)
        assert response.status_code < 500, response.text
        return response

    def ok(self, method: str, path: str, body: object = None, **params) -> dict:
        response = self(method, path, body, **params)
        assert 200 <= response.status_code < 300, f"{method} {path} -> {response.status_code}: {response.text}"
        return response.json() if response.content else {}

    def refused(self, method: str, path: str, body: object, field: str, code: str = "validation_error") -> dict:
        """A 400 envelope whose details name `field`."""
        response = self(method, path, body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert (error["code"], error["http_status_code"]) == (code, 400), error
        assert error["details"]["field"] == {"value": field}, error
        return error


@pytest.fixture(scope="module")
def billing_mock(full_spec):
    with MockServer(spec=full_spec, clock=START) as mock:
        yield mock


@pytest.fixture
def api(billing_mock, full_checker) -> Api:
    """A fresh mock (reset, which also resets the clock to START)."""
    billing_mock.reset()
    with httpx.Client(base_url=billing_mock.url + "/", headers={"x-api-key": billing_mock.api_key},
                      timeout=10) as client:
        yield Api(client, full_checker)


# -- builders ------------------------------------------------------------------------------------
def metered_feature(api: Api, name: str = "Tokens", aggregation: str = "SUM", field: str | None = "tokens",
                    filters: list[dict] | None = None, event_name: str = "llm", **extra) -> dict:
    meter = {"name": name.lower(), "event_name": event_name, "aggregation": {"type": aggregation, **extra},
             "reset_usage": "BILLING_PERIOD"}
    if field:
        meter["aggregation"]["field"] = field
    if filters:
        meter["filters"] = filters
    return api.ok("POST", "features", {"name": name, "type": "metered", "meter": meter})


def plan(api: Api, name: str = "Pro") -> dict:
    return api.ok("POST", "plans", {"name": name})


def price_body(plan_id: str, **fields) -> dict:
    """A monthly usd plan price: $10 FIXED FLAT_FEE in ADVANCE unless told otherwise."""
    return {"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10", "currency": "usd", "entity_type": "PLAN",
            "entity_id": plan_id, "billing_period": "MONTHLY", "invoice_cadence": "ADVANCE",
            "price_unit_type": "FIAT", **fields}


def price(api: Api, plan_id: str, **fields) -> dict:
    """A plan price; a field given as None is left out (`amount=None` for a TIERED price)."""
    return api.ok("POST", "prices", {k: v for k, v in price_body(plan_id, **fields).items() if v is not None})


def usage_price(api: Api, plan_id: str, meter_id: str, **fields) -> dict:
    return price(api, plan_id, type="USAGE", meter_id=meter_id, invoice_cadence="ARREAR", **fields)


def customer(api: Api, external_id: str = "A") -> dict:
    return api.ok("POST", "customers", {"external_id": external_id, "name": f"Customer {external_id}"})


def subscribe(api: Api, customer_id: str, plan_id: str, **extra) -> dict:
    return api.ok("POST", "subscriptions", {"customer_id": customer_id, "plan_id": plan_id, "currency": "usd",
                                            "billing_period": "MONTHLY", **extra})


def ingest(api: Api, tokens: object, model: str = "gpt-4", at: str = "2026-01-05T00:00:00Z", event_id: str | None = None,
           customer_id: str = "A", event_name: str = "llm", **properties) -> None:
    body = {"event_name": event_name, "external_customer_id": customer_id, "timestamp": at,
            "properties": {"tokens": str(tokens), "model": model, **properties}}
    if event_id:
        body["event_id"] = event_id
    assert api.ok("POST", "events", body)["message"] == "Event accepted for processing"


def worked_events(api: Api, day: str = "2026-01-0") -> None:
    """BILLING.md's events: customer A's 40 (gpt-4), 70 (gpt-3.5), 60 (gpt-4), the first re-sent
    with the same id, 1000 for another customer, 500 under another event name."""
    ingest(api, 40, "gpt-4", f"{day}2T10:00:00Z", "evt-1")
    ingest(api, 70, "gpt-3.5", f"{day}3T10:00:00Z", "evt-2")
    ingest(api, 60, "gpt-4", f"{day}4T10:00:00Z", "evt-3")
    ingest(api, 40, "gpt-4", f"{day}2T10:00:00Z", "evt-1")
    ingest(api, 1000, "gpt-4", f"{day}3T11:00:00Z", "evt-4", customer_id="B")
    ingest(api, 500, "gpt-4", f"{day}3T12:00:00Z", "evt-5", event_name="embedding")


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


def test_numeric_strings_and_junk_in_properties_parse_as_the_real_server_parses_them(api):
    ingest(api, "2.5", event_id="decimal")
    ingest(api, "not a number", event_id="junk")
    ingest(api, "-4", event_id="negative")
    usage = usage_of(api, aggregation_type="SUM", property_name="tokens")
    assert usage["value"] == 2.5
    assert usage_of(api, aggregation_type="COUNT", property_name="tokens")["value"] == 3


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


def test_the_billing_path_applies_every_meter_filter(api):
    worked_events(api)
    ingest(api, 9, "gpt-4", event_id="evt-eu", region="eu")
    a = customer(api)["id"]
    gpt4 = metered_feature(api, "GPT-4", filters=[{"key": "model", "values": ["gpt-4"]}])
    assert usage_charges(api, a, gpt4) == 109
    both = metered_feature(api, "GPT-4 eu", filters=[{"key": "model", "values": ["gpt-4"]},
                                                     {"key": "region", "values": ["eu"]}])
    assert usage_charges(api, a, both) == 9
