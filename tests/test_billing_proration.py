"""Proration on an immediate cancel, as the real server computes it (BILLING-2.md section 6;
`internal/ee/service/proration.go` CreateProrationParamsForLineItemCancellation,
`internal/domain/proration/calculator.go` and `coefficient_helper.go`, `wallet.go`
TopUpWalletForProratedCharge): a second-based coefficient with the period end one second early,
capped at what was billed, `proration_details` and `total_credit_amount`, the credit paid into a
PRE_PAID wallet or a new "Proration Credit Wallet"."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from mock_server.domain.billing.proration import coefficient

from .billing_api import (  # noqa: F401 (fixtures)
    api,
    billing_mock,
    customer,
    metered_feature,
    plan,
    price,
    subscribe,
    usage_price,
)

APRIL = "2026-04-01T00:00:00Z"  # a 30-day month


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def cancel(api, subscription_id: str, **body) -> dict:
    return api.ok("POST", f"subscriptions/{subscription_id}/cancel",
                  {"cancellation_type": "immediate", "proration_behavior": "create_prorations", **body})


@pytest.fixture
def april(billing_mock):
    billing_mock.clock.to(APRIL)


@pytest.fixture
def pro(api) -> dict:
    created = plan(api)
    price(api, created["id"], amount="90")
    return created


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


# -- the coefficient (unit) ------------------------------------------------------------------------
def test_the_coefficient_counts_seconds_to_the_period_end_less_one_second():
    start, end = utc("2026-04-01T00:00:00Z"), utc("2026-04-30T23:59:59Z")
    assert coefficient(start, end, utc("2026-04-13T00:00:00Z")) == Decimal("0.5999998456789528")  # 1555199 / 2591999 to 16 places
    assert coefficient(start, end, start) == 1
    assert coefficient(start, end, utc("2026-05-02T00:00:00Z")) == 0


# -- the worked example ----------------------------------------------------------------------------
def test_an_immediate_cancel_12_days_into_a_30_day_90_dollar_period_credits_54(api, billing_mock, april, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P12D")
    answer = cancel(api, subscription["id"], reason="moving on")
    [item] = api.ok("POST", "subscriptions/lineitems/search", {"subscription_ids": [subscription["id"]]})["items"]
    assert answer["total_credit_amount"] == "54"
    assert answer["proration_details"] == [{
        "line_item_id": item["id"], "price_id": item["price_id"], "plan_name": "", "original_amount": "54",
        "credit_amount": "54", "charge_amount": "0", "proration_days": 17, "description": "Cancellation (2026-04-13)"}]
    assert (answer["message"], answer["status"], answer["effective_date"]) == (
        "Subscription cancelled immediately", "cancelled", "2026-04-13T00:00:00.000Z")
    [wallet] = api.ok("GET", f"customers/{customer_id}/wallets")
    assert (wallet["name"], wallet["wallet_type"], wallet["credit_balance"], wallet["balance"], wallet["conversion_rate"]) == (
        "Proration Credit Wallet", "PRE_PAID", "54", "54", "1")
    [credit] = api.ok("GET", f"wallets/{wallet['id']}/transactions")["items"]
    assert {k: credit[k] for k in ("type", "amount", "credit_amount", "transaction_reason", "description")} == {
        "type": "credit", "amount": "54", "credit_amount": "54", "transaction_reason": "SUBSCRIPTION_CREDIT_GRANT",
        "description": "Proration credit from subscription change"}
    events = [e["event_type"] for e in billing_mock.outbox]
    assert events[-5:] == ["wallet.created", "wallet.transaction.created", "wallet.updated", "subscription.updated",
                           "subscription.cancelled"]


def test_the_credit_goes_into_the_customers_prepaid_wallet_at_its_top_up_rate(api, billing_mock, april, pro, customer_id):
    wallet = api.ok("POST", "wallets", {"customer_id": customer_id, "currency": "usd", "conversion_rate": "2"})
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P12D")
    cancel(api, subscription["id"])
    after = api.ok("GET", f"wallets/{wallet['id']}")
    assert (after["credit_balance"], after["balance"]) == ("27", "54")
    assert len(api.ok("GET", f"customers/{customer_id}/wallets")) == 1


def test_arrear_and_usage_line_items_are_listed_with_no_credit(api, billing_mock, april, customer_id):
    metered = plan(api, "Metered")
    price(api, metered["id"], amount="90")
    price(api, metered["id"], amount="30", invoice_cadence="ARREAR")
    usage_price(api, metered["id"], metered_feature(api)["meter_id"], amount="0.10")
    subscription = subscribe(api, customer_id, metered["id"])
    billing_mock.clock.advance("P12D")
    answer = cancel(api, subscription["id"])
    assert answer["total_credit_amount"] == "54"
    assert sorted((d["credit_amount"], bool(d["price_id"])) for d in answer["proration_details"]) == [
        ("0", False), ("0", False), ("54", True)]


def test_a_backdated_immediate_cancel_credits_from_its_cancel_at(api, billing_mock, april, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P20D")
    answer = cancel(api, subscription["id"], cancel_at="2026-04-13T00:00:00Z")
    assert (answer["effective_date"], answer["total_credit_amount"]) == ("2026-04-13T00:00:00.000Z", "54")


def test_a_line_item_with_no_invoice_left_is_credited_against_its_list_price(api, billing_mock, april, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], start_date="2026-03-15T00:00:00Z")
    [opening] = api.ok("POST", "invoices/search", {"subscription_id": subscription["id"]})["items"]
    api.ok("POST", f"invoices/{opening['id']}/void", {})  # a voided invoice bills nothing
    answer = cancel(api, subscription["id"], cancel_at="2026-03-15T00:00:01Z")
    assert answer["total_credit_amount"] == "90"  # 90 x (31 d - 2 s) / (31 d - 1 s), rounded


# -- when nothing is credited ----------------------------------------------------------------------
def test_without_create_prorations_an_immediate_cancel_credits_nothing(api, billing_mock, april, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P12D")
    answer = api.ok("POST", f"subscriptions/{subscription['id']}/cancel", {"cancellation_type": "immediate"})
    assert (answer["proration_details"], answer["total_credit_amount"]) == ([], "0")
    assert api.ok("GET", f"customers/{customer_id}/wallets") == []


def test_an_end_of_period_cancel_never_prorates(api, billing_mock, april, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P12D")
    answer = cancel(api, subscription["id"], cancellation_type="end_of_period")
    assert (answer["proration_details"], answer["total_credit_amount"]) == ([], "0")
    assert answer["message"] == "Subscription will be cancelled at the end of the current period (2026-05-01)"


def test_a_trialing_subscription_is_never_prorated(api, billing_mock, april, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], trial_period_days=14)
    billing_mock.clock.advance("P3D")
    answer = cancel(api, subscription["id"])
    assert (answer["proration_details"], answer["total_credit_amount"]) == ([], "0")


def test_a_subscription_billed_over_mixed_periods_cannot_be_prorated(api, april, customer_id):
    mixed = plan(api, "Mixed")
    price(api, mixed["id"], amount="90")
    price(api, mixed["id"], amount="15", billing_period="ONETIME")
    subscription = subscribe(api, customer_id, mixed["id"])
    api.refused("POST", f"subscriptions/{subscription['id']}/cancel",
                {"cancellation_type": "immediate", "proration_behavior": "create_prorations"}, "proration_behavior")
    assert api.ok("GET", f"subscriptions/{subscription['id']}")["subscription_status"] == "active"
