"""Subscriptions as the real server runs them (BILLING.md section 3): billing periods (month-end
clamping, leap years), line items by currency and period, the opening ADVANCE invoice, cancel
immediately or at the period's end, and the test clock (`/_mock/clock`) that runs the period job:
renewal invoices, the next period, scheduled cancellations."""
from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from mock_server.core.failures import Invalid
from mock_server.domain.billing.periods import calendar_anchor, period_end

from .billing_api import (  # noqa: F401 (fixtures)
    api,
    billing_mock,
    customer,
    ingest,
    invoices_of,
    metered_feature,
    plan,
    price,
    subscribe,
    usage_price,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- periods (unit tests of periods.period_end) ---------------------------------------------------
@pytest.mark.parametrize(("start", "anchor", "period", "count", "end"), [
    ("2026-11-29T21:00:00Z", "2026-11-29T21:00:00Z", "MONTHLY", 1, "2026-12-29T21:00:00Z"),
    ("2026-01-31T10:00:00Z", "2026-01-31T10:00:00Z", "MONTHLY", 1, "2026-02-28T10:00:00Z"),
    ("2026-02-28T10:00:00Z", "2026-01-31T10:00:00Z", "MONTHLY", 1, "2026-03-31T10:00:00Z"),
    ("2026-03-31T10:00:00Z", "2026-01-31T10:00:00Z", "MONTHLY", 1, "2026-04-30T10:00:00Z"),
    ("2028-01-31T00:00:00Z", "2028-01-31T00:00:00Z", "MONTHLY", 1, "2028-02-29T00:00:00Z"),
    ("2028-02-29T00:00:00Z", "2028-01-31T00:00:00Z", "MONTHLY", 1, "2028-03-31T00:00:00Z"),
    ("2026-12-15T00:00:00Z", "2026-12-15T00:00:00Z", "MONTHLY", 1, "2027-01-15T00:00:00Z"),
    ("2026-01-31T00:00:00Z", "2026-01-31T00:00:00Z", "MONTHLY", 2, "2026-03-31T00:00:00Z"),
    ("2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z", "MONTHLY", 1, "2026-01-15T00:00:00Z"),
    ("2026-01-20T00:00:00Z", "2025-12-15T00:00:00Z", "MONTHLY", 1, "2026-02-15T00:00:00Z"),
    ("2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z", "QUARTERLY", 1, "2027-02-28T00:00:00Z"),
    ("2026-08-31T00:00:00Z", "2026-08-31T00:00:00Z", "HALF_YEARLY", 1, "2027-02-28T00:00:00Z"),
    ("2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "ANNUAL", 1, "2029-02-28T00:00:00Z"),
    ("2031-02-28T00:00:00Z", "2028-02-29T00:00:00Z", "ANNUAL", 1, "2032-02-29T00:00:00Z"),
    ("2026-01-01T09:30:00Z", "2026-01-01T09:30:00Z", "WEEKLY", 1, "2026-01-08T09:30:00Z"),
    ("2026-02-28T09:30:00Z", "2026-02-28T09:30:00Z", "DAILY", 1, "2026-03-01T09:30:00Z"),
    ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "DAILY", 3, "2026-01-04T00:00:00Z"),
])
def test_a_period_ends_on_the_anchor_date_clamped_to_the_months_end(start, anchor, period, count, end):
    assert period_end(at(start), at(anchor), period, count) == at(end)


@pytest.mark.parametrize(("start", "anchor", "period", "count", "end"), [
    ("2026-02-20T00:00:00Z", "2026-01-15T00:00:00Z", "MONTHLY", 2, "2026-04-15T00:00:00Z"),  # mock: Mar 15
    ("2026-01-10T00:00:00Z", "2026-12-01T00:00:00Z", "QUARTERLY", 1, "2026-12-01T00:00:00Z"),  # mock: Mar 1
    ("2026-03-01T00:00:00Z", "2026-06-15T00:00:00Z", "ANNUAL", 1, "2027-06-15T00:00:00Z"),  # mock: 2026-06-15
])
def test_a_period_counts_from_its_start_on_the_anchors_day(start, anchor, period, count, end):
    assert period_end(at(start), at(anchor), period, count) == at(end)


def test_consecutive_monthly_periods_from_jan_31_keep_the_anchor_day():
    anchor = start = at("2026-01-31T00:00:00Z")
    ends = []
    for _ in range(4):
        start = period_end(start, anchor, "MONTHLY")
        ends.append(start.date().isoformat())
    assert ends == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]


@pytest.mark.parametrize(("start", "period", "anchor"), [
    ("2026-01-15T10:00:00Z", "MONTHLY", "2026-02-01T00:00:00Z"),
    ("2026-12-15T10:00:00Z", "MONTHLY", "2027-01-01T00:00:00Z"),
    ("2026-02-10T10:00:00Z", "QUARTERLY", "2026-04-01T00:00:00Z"),
    ("2026-08-10T10:00:00Z", "HALF_YEARLY", "2027-01-01T00:00:00Z"),
    ("2026-05-10T10:00:00Z", "ANNUAL", "2027-01-01T00:00:00Z"),
    ("2026-01-07T10:00:00Z", "WEEKLY", "2026-01-12T00:00:00Z"),  # a Wednesday; the next Monday
    ("2026-01-07T10:00:00Z", "DAILY", "2026-01-08T00:00:00Z"),
])
def test_calendar_billing_anchors_on_the_next_calendar_boundary(start, period, anchor):
    assert calendar_anchor(at(start), period) == at(anchor)


def test_a_period_of_a_one_time_billing_period_is_refused_naming_billing_period():
    with pytest.raises(Invalid) as refused:
        period_end(at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"), "ONETIME")
    assert refused.value.field == "billing_period"


# -- creation over HTTP ----------------------------------------------------------------------------
def lines(invoice: dict) -> list[tuple]:
    return sorted((line["price_type"], line["quantity"], line["amount"], line["period_start"][:10],
                   line["period_end"][:10]) for line in invoice["line_items"])


@pytest.fixture
def pro(api) -> dict:
    """A plan with a $10 monthly ADVANCE fee and a 0.10-per-token usage price."""
    found = plan(api, "Pro")
    meter = metered_feature(api)
    fixed = price(api, found["id"])
    usage = usage_price(api, found["id"], meter["meter_id"], amount="0.10")
    return {**found, "fixed": fixed, "usage": usage, "meter_id": meter["meter_id"]}


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


def test_a_subscription_starts_now_and_its_first_period_ends_a_month_later(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    assert subscription["id"].startswith("subs_")
    assert {k: subscription[k] for k in ("subscription_status", "start_date", "billing_anchor", "current_period_start",
                                         "current_period_end", "billing_cycle", "cancel_at_period_end")} == {
        "subscription_status": "active", "start_date": "2026-01-01T00:00:00.000Z",
        "billing_anchor": "2026-01-01T00:00:00.000Z", "current_period_start": "2026-01-01T00:00:00.000Z",
        "current_period_end": "2026-02-01T00:00:00.000Z", "billing_cycle": "anniversary",
        "cancel_at_period_end": False}


def test_a_subscription_starting_jan_31_ends_its_first_period_feb_28(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], start_date="2026-01-31T10:00:00Z")
    assert (subscription["current_period_start"], subscription["current_period_end"]) == (
        "2026-01-31T10:00:00.000Z", "2026-02-28T10:00:00.000Z")


def test_calendar_billing_ends_the_first_period_on_the_next_months_first(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], start_date="2026-01-15T10:00:00Z", billing_cycle="calendar")
    assert (subscription["billing_anchor"], subscription["current_period_end"]) == (
        "2026-02-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z")


def test_line_items_are_the_plan_prices_in_the_subscriptions_currency_and_period(api, pro, customer_id):
    price(api, pro["id"], currency="eur", amount="9")
    price(api, pro["id"], billing_period="ANNUAL", amount="100")
    onetime = price(api, pro["id"], billing_period="ONETIME", amount="25")
    subscription = subscribe(api, customer_id, pro["id"])
    found = api.ok("POST", "subscriptions/lineitems/search", {"subscription_ids": [subscription["id"]]})["items"]
    assert sorted((i["price_id"], i["price_type"], i["quantity"], i["invoice_cadence"]) for i in found) == sorted([
        (pro["fixed"]["id"], "FIXED", "1", "ADVANCE"), (pro["usage"]["id"], "USAGE", "0", "ARREAR"),
        (onetime["id"], "FIXED", "1", "ADVANCE")])
    usage_item = next(i for i in found if i["price_type"] == "USAGE")
    assert (usage_item["meter_id"], usage_item["start_date"]) == (pro["meter_id"], "2026-01-01T00:00:00.000Z")


def test_a_currency_is_matched_case_insensitively(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], currency="USD")
    assert [i["subtotal"] for i in invoices_of(api, subscription["id"])] == ["10"]


def test_a_plan_without_a_price_in_the_currency_is_a_400_naming_plan_id(api, pro, customer_id):
    body = {"customer_id": customer_id, "plan_id": pro["id"], "currency": "eur", "billing_period": "MONTHLY"}
    error = api.refused("POST", "subscriptions", body, "plan_id")
    assert error["message"].startswith("no valid prices found for subscription")


def test_a_subscription_without_a_customer_is_a_400_naming_customer_id(api, pro):
    api.refused("POST", "subscriptions", {"plan_id": pro["id"], "currency": "usd", "billing_period": "MONTHLY"},
                "customer_id")


@pytest.mark.parametrize(("extra", "field"), [
    ({"start_date": "yesterday"}, "start_date"), ({"billing_anchor": "2026-13-01T00:00:00Z"}, "billing_anchor"),
    ({"billing_period": "ONETIME"}, "billing_period"),
])
def test_a_subscription_with_a_bad_date_or_period_is_a_400_that_names_it(api, pro, customer_id, extra, field):
    body = {"customer_id": customer_id, "plan_id": pro["id"], "currency": "usd", "billing_period": "MONTHLY", **extra}
    response = api("POST", "subscriptions", body)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert field in response.json()["message"]


# -- the opening invoice ---------------------------------------------------------------------------
def test_the_opening_invoice_bills_the_advance_fee_and_is_finalized_with_a_number(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    [opening] = invoices_of(api, subscription["id"])
    assert {k: opening[k] for k in ("invoice_status", "payment_status", "invoice_type", "billing_reason",
                                    "invoice_number", "subtotal", "total", "amount_due", "amount_paid",
                                    "amount_remaining", "period_start", "period_end", "due_date", "finalized_at")} == {
        "invoice_status": "FINALIZED", "payment_status": "PENDING", "invoice_type": "SUBSCRIPTION",
        "billing_reason": "SUBSCRIPTION_CREATE", "invoice_number": "INV-202601-00001", "subtotal": "10",
        "total": "10", "amount_due": "10", "amount_paid": "0", "amount_remaining": "10",
        "period_start": "2026-01-01T00:00:00.000Z", "period_end": "2026-02-01T00:00:00.000Z",
        "due_date": "2026-02-02T00:00:00.000Z", "finalized_at": "2026-01-01T00:00:00.000Z"}
    assert lines(opening) == [("FIXED", "1", "10", "2026-01-01", "2026-02-01")]


def test_invoice_numbers_count_up_within_the_month(api, pro, customer_id):
    first = subscribe(api, customer_id, pro["id"])
    second = subscribe(api, customer(api, "B")["id"], pro["id"])
    assert [i["invoice_number"] for s in (first, second) for i in invoices_of(api, s["id"])] == [
        "INV-202601-00001", "INV-202601-00002"]


def test_an_opening_invoice_of_nothing_is_skipped_without_a_number(api, customer_id):
    usage_only = plan(api, "Usage only")
    usage_price(api, usage_only["id"], metered_feature(api)["meter_id"], amount="0.10")
    subscription = subscribe(api, customer_id, usage_only["id"])
    [opening] = invoices_of(api, subscription["id"])
    assert (opening["invoice_status"], opening["subtotal"], opening.get("invoice_number")) == ("SKIPPED", "0", None)


# -- cancellation ----------------------------------------------------------------------------------
def cancel(api, subscription_id: str, **body) -> httpx.Response:
    return api("POST", f"subscriptions/{subscription_id}/cancel", body)


def test_an_immediate_cancel_ends_the_subscription_now(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    response = cancel(api, subscription["id"], cancellation_type="immediate", reason="too expensive")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("subscription_id", "cancellation_type", "effective_date", "status",
                                            "reason")} == {
        "subscription_id": subscription["id"], "cancellation_type": "immediate",
        "effective_date": "2026-01-11T00:00:00.000Z", "status": "cancelled", "reason": "too expensive"}
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert {k: after[k] for k in ("subscription_status", "cancelled_at", "cancel_at", "end_date",
                                  "cancel_at_period_end")} == {
        "subscription_status": "cancelled", "cancelled_at": "2026-01-11T00:00:00.000Z",
        "cancel_at": "2026-01-11T00:00:00.000Z", "end_date": "2026-01-11T00:00:00.000Z", "cancel_at_period_end": False}
    assert [e["event_type"] for e in billing_mock.outbox[-2:]] == ["subscription.updated", "subscription.cancelled"]


def test_an_end_of_period_cancel_keeps_the_subscription_active_until_the_period_ends(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    response = cancel(api, subscription["id"], cancellation_type="end_of_period")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["effective_date"]) == ("active", "2026-02-01T00:00:00.000Z")
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert {k: after.get(k) for k in ("subscription_status", "cancel_at_period_end", "cancel_at", "cancelled_at",
                                      "end_date")} == {
        "subscription_status": "active", "cancel_at_period_end": True, "cancel_at": "2026-02-01T00:00:00.000Z",
        "cancelled_at": "2026-01-11T00:00:00.000Z", "end_date": None}
    assert billing_mock.outbox[-1]["event_type"] == "subscription.updated"
    assert "subscription.cancelled" not in [e["event_type"] for e in billing_mock.outbox]


@pytest.mark.parametrize("first", ["immediate", "end_of_period"])
@pytest.mark.parametrize("second", ["immediate", "end_of_period"])
def test_a_second_cancel_is_refused_with_400(api, pro, customer_id, first, second):
    subscription = subscribe(api, customer_id, pro["id"])
    assert cancel(api, subscription["id"], cancellation_type=first).status_code == 200
    refused = cancel(api, subscription["id"], cancellation_type=second)
    if first == "end_of_period" and second == "immediate":
        assert refused.status_code == 200  # an immediate cancel overrides a scheduled one
        return
    assert refused.status_code == 400, refused.text


@pytest.mark.parametrize("first", ["immediate", "end_of_period"])
def test_a_refused_second_cancel_is_a_validation_error(api, pro, customer_id, first):
    subscription = subscribe(api, customer_id, pro["id"])
    cancel(api, subscription["id"], cancellation_type=first)
    assert cancel(api, subscription["id"], cancellation_type="end_of_period").json()["code"] == "validation_error"


def test_a_scheduled_date_cancel_needs_cancel_at_in_the_future(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    path = f"subscriptions/{subscription['id']}/cancel"
    api.refused("POST", path, {"cancellation_type": "scheduled_date"}, "cancel_at")
    api.refused("POST", path, {"cancellation_type": "scheduled_date", "cancel_at": "2025-12-01T00:00:00Z"}, "cancel_at")
    api.refused("POST", path, {"cancellation_type": "immediate", "cancel_at": "2026-03-01T00:00:00Z"}, "cancel_at")


# -- the test clock --------------------------------------------------------------------------------
@pytest.fixture
def admin(billing_mock):
    with httpx.Client(base_url=billing_mock.url.removesuffix("/v1"), timeout=10) as client:
        yield client


def test_the_clock_is_frozen_at_its_start_and_reset_with_the_mock(admin, billing_mock):
    frozen = {"now": "2026-01-01T00:00:00.000Z", "frozen": True, "start": "2026-01-01T00:00:00.000Z"}
    assert admin.get("/_mock/clock").json() == frozen
    assert admin.post("/_mock/clock", json={"advance": "P3D"}).json()["now"] == "2026-01-04T00:00:00.000Z"
    assert admin.post("/_mock/clock", json={"advance": "PT1H"}).json()["now"] == "2026-01-04T01:00:00.000Z"
    assert admin.post("/_mock/clock", json={"to": "2026-01-20T12:00:00Z"}).json()["now"] == "2026-01-20T12:00:00.000Z"
    assert admin.get("/_mock/clock").json()["now"] == "2026-01-20T12:00:00.000Z"
    billing_mock.reset()
    assert admin.get("/_mock/clock").json() == frozen


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "2025-12-31T23:59:59Z"}, "to"), ({"advance": "-P1D"}, "advance"), ({"advance": "PT0S"}, "advance"),
    ({"advance": "one month"}, "advance"), ({"to": "next tuesday"}, "to"), ({"to": "2026-02-01T00:00:00"}, "to"),
    ({}, "advance"), ({"advance": "P1D", "to": "2026-02-01T00:00:00Z"}, "advance"),
])
def test_the_clock_never_goes_backwards_and_refuses_bad_moves_naming_the_field(admin, body, field):
    response = admin.post("/_mock/clock", json=body)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == {"value": field}
    assert admin.get("/_mock/clock").json()["now"] == "2026-01-01T00:00:00.000Z"


def test_advancing_a_month_issues_the_renewal_invoice_and_moves_the_period(api, admin, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    for tokens in (40, 70, 60):
        ingest(api, tokens)
    ingest(api, 999, at="2026-02-01T00:00:00Z", event_id="next-period")
    assert admin.post("/_mock/clock", json={"advance": "P1M"}).status_code == 200
    opening, renewal = invoices_of(api, subscription["id"])
    assert lines(renewal) == [("FIXED", "1", "10", "2026-02-01", "2026-03-01"),
                              ("USAGE", "170", "17", "2026-01-01", "2026-02-01")]
    assert {k: renewal[k] for k in ("invoice_status", "billing_reason", "invoice_number", "subtotal", "amount_due",
                                    "period_start", "period_end")} == {
        "invoice_status": "FINALIZED", "billing_reason": "SUBSCRIPTION_CYCLE", "invoice_number": "INV-202602-00001",
        "subtotal": "27", "amount_due": "27", "period_start": "2026-01-01T00:00:00.000Z",
        "period_end": "2026-02-01T00:00:00.000Z"}
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert (after["subscription_status"], after["current_period_start"], after["current_period_end"]) == (
        "active", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z")


def test_a_clock_that_passes_two_period_ends_bills_each_period(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    ingest(api, 10, at="2026-01-10T00:00:00Z", event_id="jan")
    ingest(api, 20, at="2026-02-10T00:00:00Z", event_id="feb")
    billing_mock.clock.to(at("2026-03-15T00:00:00Z"))
    # both renewals are issued now, so both are numbered in March, as the real server's catch-up does
    assert [(i["invoice_number"], i["subtotal"], i["period_start"][:10]) for i in invoices_of(api, subscription["id"])] == [
        ("INV-202601-00001", "10", "2026-01-01"), ("INV-202603-00001", "11", "2026-01-01"),
        ("INV-202603-00002", "12", "2026-02-01")]
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert (after["current_period_start"], after["current_period_end"]) == (
        "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z")


def test_renewals_from_jan_31_follow_the_clamped_month_ends(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], start_date="2026-01-31T10:00:00Z")
    billing_mock.clock.to(at("2026-03-01T00:00:00Z"))
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert (after["current_period_start"], after["current_period_end"]) == (
        "2026-02-28T10:00:00.000Z", "2026-03-31T10:00:00.000Z")
    renewal = invoices_of(api, subscription["id"])[-1]
    assert lines(renewal) == [("FIXED", "1", "10", "2026-02-28", "2026-03-31"),
                              ("USAGE", "0", "0", "2026-01-31", "2026-02-28")]


def test_a_clock_short_of_the_period_end_bills_nothing(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.to(at("2026-01-31T23:59:59Z"))
    assert len(invoices_of(api, subscription["id"])) == 1
    assert api.ok("GET", f"subscriptions/{subscription['id']}")["current_period_end"] == "2026-02-01T00:00:00.000Z"


def test_an_end_of_period_cancel_takes_effect_when_the_clock_passes_the_period_end(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    ingest(api, 30)
    assert cancel(api, subscription["id"], cancellation_type="end_of_period").status_code == 200
    billing_mock.clock.advance("P1M")
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert (after["subscription_status"], after["end_date"], after["cancel_at"]) == (
        "cancelled", "2026-02-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z")
    renewal = invoices_of(api, subscription["id"])[-1]
    assert lines(renewal) == [("FIXED", "1", "10", "2026-02-01", "2026-03-01"),
                              ("USAGE", "30", "3", "2026-01-01", "2026-02-01")]
    assert [e["event_type"] for e in billing_mock.outbox][-1] == "subscription.cancelled"
    billing_mock.clock.advance("P1M")
    assert len(invoices_of(api, subscription["id"])) == 2  # a cancelled subscription is not billed again


def test_a_scheduled_cancel_that_fires_sets_cancelled_at_to_the_cancel_time(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    cancel(api, subscription["id"], cancellation_type="end_of_period")
    billing_mock.clock.advance("P1M")
    assert api.ok("GET", f"subscriptions/{subscription['id']}")["cancelled_at"] == "2026-02-01T00:00:00.000Z"


def test_a_cancelled_subscription_is_not_renewed(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    cancel(api, subscription["id"], cancellation_type="immediate")
    billing_mock.clock.advance("P2M")
    assert len(invoices_of(api, subscription["id"])) == 1


def test_an_immediate_cancel_that_asks_for_an_invoice_bills_the_usage_so_far(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    ingest(api, 30, at="2026-01-05T00:00:00Z", event_id="before")
    ingest(api, 50, at="2026-01-20T00:00:00Z", event_id="after")
    billing_mock.clock.to(at("2026-01-11T00:00:00Z"))
    assert cancel(api, subscription["id"], cancellation_type="immediate",
                  cancel_immediately_inovice_policy="generate_invoice").status_code == 200
    final = invoices_of(api, subscription["id"])[-1]
    assert (final["billing_reason"], final["period_start"], final["period_end"], final["subtotal"]) == (
        "SUBSCRIPTION_UPDATE", "2026-01-01T00:00:00.000Z", "2026-01-11T00:00:00.000Z", "3")
    assert lines(final) == [("USAGE", "30", "3", "2026-01-01", "2026-01-11")]


def test_an_immediate_cancel_without_the_invoice_policy_issues_no_invoice(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    ingest(api, 30)
    cancel(api, subscription["id"], cancellation_type="immediate")
    assert len(invoices_of(api, subscription["id"])) == 1


def test_a_scheduled_date_cancel_ends_the_period_at_cancel_at(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    assert cancel(api, subscription["id"], cancellation_type="scheduled_date",
                  cancel_at="2026-01-20T00:00:00Z").status_code == 200
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert {k: after.get(k) for k in ("subscription_status", "cancel_at", "end_date", "cancel_at_period_end",
                                      "current_period_end")} == {
        "subscription_status": "active", "cancel_at": "2026-01-20T00:00:00.000Z",
        "end_date": "2026-01-20T00:00:00.000Z", "cancel_at_period_end": True,
        "current_period_end": "2026-01-20T00:00:00.000Z"}


def test_a_scheduled_date_cancel_takes_effect_with_a_last_invoice_of_the_usage(api, billing_mock, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    ingest(api, 30, at="2026-01-05T00:00:00Z", event_id="before")
    ingest(api, 50, at="2026-01-25T00:00:00Z", event_id="after")
    cancel(api, subscription["id"], cancellation_type="scheduled_date", cancel_at="2026-01-20T00:00:00Z")
    billing_mock.clock.to(at("2026-01-21T00:00:00Z"))
    after = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert (after["subscription_status"], after["end_date"]) == ("cancelled", "2026-01-20T00:00:00.000Z")
    final = invoices_of(api, subscription["id"])[-1]
    assert lines(final) == [("USAGE", "30", "3", "2026-01-01", "2026-01-20")]


def test_a_one_time_fee_is_billed_with_the_first_period_only(api, billing_mock, pro, customer_id):
    price(api, pro["id"], billing_period="ONETIME", amount="25")
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P1M")
    opening, renewal = invoices_of(api, subscription["id"])
    assert (opening["subtotal"], renewal["subtotal"]) == ("35", "10")


def test_an_arrear_fixed_fee_is_billed_when_its_period_ends(api, billing_mock, customer_id):
    basic = plan(api, "Basic")
    price(api, basic["id"], invoice_cadence="ARREAR", amount="7")
    subscription = subscribe(api, customer_id, basic["id"])
    [opening] = invoices_of(api, subscription["id"])
    assert opening["invoice_status"] == "SKIPPED"
    billing_mock.clock.advance("P1M")
    renewal = invoices_of(api, subscription["id"])[-1]
    assert lines(renewal) == [("FIXED", "1", "7", "2026-01-01", "2026-02-01")]
