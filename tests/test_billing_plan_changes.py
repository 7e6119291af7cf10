"""Plan changes as the real server's first change API makes them (docs/billing.md "Plan changes";
`internal/ee/service/subscription_change.go` PreviewSubscriptionChange, executeChange,
createNewSubscription, calculateNextInvoicePreview, convertCancellationProrationToDetails;
`billing.go` applyOpeningInvoiceAdjustmentToLineItems): the old subscription cancelled with its
proration, a new one on the target plan, the credit netted off its opening invoice."""
from __future__ import annotations

import pytest

from .billing_api import api, billing_mock, customer, plan, price, subscribe  # noqa: F401 (fixtures)

APRIL = "2026-04-01T00:00:00Z"  # a 30-day month
CHANGE = {"billing_cadence": "RECURRING", "billing_period": "MONTHLY", "billing_cycle": "anniversary",
          "proration_behavior": "create_prorations"}


@pytest.fixture
def plans(api, billing_mock) -> dict:
    billing_mock.clock.to(APRIL)
    basic, pro = plan(api, "Basic"), plan(api, "Pro")
    price(api, basic["id"], amount="30")
    price(api, pro["id"], amount="90", description="Monthly fee")
    return {"basic": basic, "pro": pro}


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


def preview(api, subscription_id: str, target: str, **change) -> dict:
    return api.ok("POST", f"subscriptions/{subscription_id}/change/preview", {**CHANGE, "target_plan_id": target, **change})


def execute(api, subscription_id: str, target: str, **change) -> dict:
    return api.ok("POST", f"subscriptions/{subscription_id}/change/execute", {**CHANGE, "target_plan_id": target, **change})


def invoices(api, subscription_id: str) -> list[dict]:
    return api.ok("POST", "invoices/search", {"subscription_id": subscription_id})["items"]


def test_an_upgrade_12_days_in_previews_an_18_dollar_credit_off_the_next_invoice(api, billing_mock, plans, customer_id):
    subscription = subscribe(api, customer_id, plans["basic"]["id"])
    billing_mock.clock.advance("P12D")
    answer = preview(api, subscription["id"], plans["pro"]["id"], metadata={"why": "growth"})
    assert (answer["change_type"], answer["current_plan"]["name"], answer["target_plan"]["name"]) == ("upgrade", "Basic", "Pro")
    # 30 x (18 d - 1 s) / (30 d - 1 s) = 17.99999..., rounded
    assert {k: answer["proration_details"][k] for k in ("credit_amount", "charge_amount", "net_amount", "days_used",
                                                        "days_remaining", "proration_date", "currency")} == {
        "credit_amount": "18", "charge_amount": "0", "net_amount": "-18", "days_used": 12, "days_remaining": 18,
        "proration_date": "2026-04-13T00:00:00.000Z", "currency": "usd"}
    assert answer["next_invoice_preview"] == {
        "subtotal": "72", "tax_amount": "0", "total": "72", "currency": "usd",
        "line_items": [{"description": "Pro - Monthly fee", "amount": "72", "quantity": "1", "unit_price": "72",
                        "is_proration": False}]}
    assert answer["new_billing_cycle"] == {
        "period_start": "2026-04-13T00:00:00.000Z", "period_end": "2026-05-13T00:00:00.000Z",
        "billing_anchor": "2026-04-01T00:00:00.000Z", "billing_period": "MONTHLY", "billing_cadence": "RECURRING",
        "billing_period_count": 1}
    assert answer["warnings"] == ["Proration charges or credits will be applied to your next invoice."]
    assert answer["metadata"] == {"why": "growth"}
    assert api.ok("GET", f"subscriptions/{subscription['id']}")["subscription_status"] == "active"  # nothing stored


def test_executing_the_upgrade_nets_the_credit_off_the_new_subscriptions_opening_invoice(api, billing_mock, plans,
                                                                                         customer_id):
    subscription = subscribe(api, customer_id, plans["basic"]["id"], lookup_key="acct-7")
    billing_mock.clock.advance("P12D")
    answer = execute(api, subscription["id"], plans["pro"]["id"])
    assert (answer["old_subscription"], answer["change_type"], answer["is_scheduled"]) == (
        {"id": subscription["id"], "status": "cancelled"}, "upgrade", False)
    new = answer["new_subscription"]
    assert {k: new[k] for k in ("plan_id", "status", "current_period_start", "current_period_end", "billing_anchor")} == {
        "plan_id": plans["pro"]["id"], "status": "active", "current_period_start": "2026-04-13T00:00:00.000Z",
        "current_period_end": "2026-05-13T00:00:00.000Z", "billing_anchor": "2026-04-13T00:00:00.000Z"}
    assert answer["proration_applied"]["credit_amount"] == "18"
    [opening] = invoices(api, new["id"])
    assert (opening["billing_reason"], opening["total"], [line["amount"] for line in opening["line_items"]]) == (
        "SUBSCRIPTION_UPDATE", "72", ["72"])
    old = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert (old["subscription_status"], old["end_date"]) == ("cancelled", "2026-04-13T00:00:00.000Z")
    assert api.ok("GET", f"subscriptions/{new['id']}")["lookup_key"] == "acct-7"
    assert api.ok("GET", f"customers/{customer_id}/wallets") == []  # netted, not paid into a wallet
    events = [e["event_type"] for e in billing_mock.outbox]
    assert events[-5:] == ["subscription.updated", "subscription.cancelled", "subscription.created", "invoice.update",
                           "invoice.update.finalized"]


def test_a_prorated_cancel_of_the_new_subscription_is_capped_at_its_netted_invoice(api, billing_mock, plans, customer_id):
    subscription = subscribe(api, customer_id, plans["basic"]["id"])
    billing_mock.clock.advance("P12D")
    new = execute(api, subscription["id"], plans["pro"]["id"])["new_subscription"]
    billing_mock.clock.advance("PT1S")
    answer = api.ok("POST", f"subscriptions/{new['id']}/cancel",
                    {"cancellation_type": "immediate", "proration_behavior": "create_prorations"})
    assert answer["total_credit_amount"] == "72"  # 90 x 0.99999... exceeds the 72 billed


def test_a_change_without_proration_bills_the_new_plan_in_full(api, billing_mock, plans, customer_id):
    subscription = subscribe(api, customer_id, plans["pro"]["id"])
    billing_mock.clock.advance("P12D")
    answer = execute(api, subscription["id"], plans["basic"]["id"], proration_behavior="none")
    assert answer["change_type"] == "downgrade" and "proration_applied" not in answer
    [opening] = invoices(api, answer["new_subscription"]["id"])
    assert (opening["billing_reason"], opening["total"]) == ("SUBSCRIPTION_CREATE", "30")


def test_a_downgrade_preview_warns_and_the_calendar_cycle_starts_a_calendar_period(api, billing_mock, plans, customer_id):
    subscription = subscribe(api, customer_id, plans["pro"]["id"])
    billing_mock.clock.advance("P12D")
    answer = preview(api, subscription["id"], plans["basic"]["id"], proration_behavior="none")
    assert answer["warnings"] == ["This is a downgrade. You may lose access to certain features."]
    assert "proration_details" not in answer
    new = execute(api, subscription["id"], plans["basic"]["id"], billing_cycle="calendar")["new_subscription"]
    assert (new["current_period_start"], new["current_period_end"]) == ("2026-04-13T00:00:00.000Z",
                                                                        "2026-05-01T00:00:00.000Z")


@pytest.mark.parametrize(("change", "field"), [
    ({"billing_period_count": -1}, "billing_period_count"),
    ({"change_at": "end_of_period"}, "change_at"),
])
def test_a_change_the_mock_refuses_is_400_naming_the_field(api, plans, customer_id, change, field):
    subscription = subscribe(api, customer_id, plans["basic"]["id"])
    api.refused("POST", f"subscriptions/{subscription['id']}/change/execute",
                {**CHANGE, "target_plan_id": plans["pro"]["id"], **change}, field)


def test_a_change_to_the_same_plan_or_one_without_a_fitting_price_or_of_a_cancelled_subscription_is_refused(
        api, plans, customer_id):
    subscription = subscribe(api, customer_id, plans["basic"]["id"])
    path = f"subscriptions/{subscription['id']}/change/preview"
    api.refused("POST", path, {**CHANGE, "target_plan_id": plans["basic"]["id"]}, "target_plan_id")
    yearly = plan(api, "Yearly")
    price(api, yearly["id"], billing_period="ANNUAL")
    api.refused("POST", path, {**CHANGE, "target_plan_id": yearly["id"]}, "target_plan_id")
    assert api("POST", path, {**CHANGE, "target_plan_id": "plan_missing"}).status_code == 404
    api.ok("POST", f"subscriptions/{subscription['id']}/cancel", {"cancellation_type": "immediate"})
    refused = api("POST", path, {**CHANGE, "target_plan_id": plans["pro"]["id"]})
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
