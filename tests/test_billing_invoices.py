"""Invoices as the real server builds and moves them (BILLING.md section 4): the preview (the
current period's ARREAR charges plus the next period's ADVANCE ones, allowances deducted, never
stored), the worked 55.86 example, one-off invoices, finalize / void / payment transitions with
the amounts they set, and the customer's invoice summary."""
from __future__ import annotations

from decimal import Decimal

import pytest

from .billing_api import (  # noqa: F401 (fixtures)
    api,
    billing_mock,
    customer,
    metered_feature,
    pay,
    plan,
    price,
    subscribe,
    usage_price,
    worked_events,
    worked_subscription,
)


def priced_lines(invoice: dict, subscription: dict) -> dict:
    """{price name: (quantity, amount, period start day)}; the fixed fee is `fixed`."""
    return {subscription["prices"].get(line["price_id"], "fixed"): (line["quantity"], line["amount"],
                                                                      line["period_start"][:10])
            for line in invoice["line_items"]}


def preview(api, subscription_id: str, **extra) -> dict:
    return api.ok("POST", "invoices/preview", {"subscription_id": subscription_id, **extra})


# -- the preview -----------------------------------------------------------------------------------
def test_the_worked_preview_comes_to_55_86(api):
    subscription = worked_subscription(api)
    found = preview(api, subscription["id"])
    assert priced_lines(found, subscription) == {
        "per_unit": ("70", "0.86", "2026-01-01"), "volume": ("170", "10.5", "2026-01-01"),
        "slab": ("170", "14.5", "2026-01-01"), "package": ("170", "10", "2026-01-01"),
        "gpt4": ("100", "10", "2026-01-01"), "fixed": ("1", "10", "2026-02-01")}
    assert {k: found[k] for k in ("subtotal", "total", "amount_due", "amount_paid", "amount_remaining")} == {
        "subtotal": "55.86", "total": "55.86", "amount_due": "55.86", "amount_paid": "0", "amount_remaining": "55.86"}
    assert {k: found[k] for k in ("invoice_type", "invoice_status", "payment_status", "billing_reason", "metadata",
                                  "period_start", "period_end", "due_date", "subscription_id", "currency")} == {
        "invoice_type": "SUBSCRIPTION", "invoice_status": "DRAFT", "payment_status": "PENDING",
        "billing_reason": "SUBSCRIPTION_CYCLE", "metadata": {"is_preview": "true"},
        "period_start": "2026-01-01T00:00:00.000Z", "period_end": "2026-02-01T00:00:00.000Z",
        "due_date": "2026-02-02T00:00:00.000Z", "subscription_id": subscription["id"], "currency": "usd"}


def test_the_preview_records_the_allowance_it_deducted(api):
    subscription = worked_subscription(api)
    found = preview(api, subscription["id"])
    deducted = {subscription["prices"].get(line["price_id"], "fixed"): line.get("adjusted_entitlement_quantity")
                for line in found["line_items"]}
    assert deducted == {"per_unit": "100", "volume": None, "slab": None, "package": None, "gpt4": None, "fixed": None}


def test_the_preview_sums_to_its_lines(api):
    subscription = worked_subscription(api)
    found = preview(api, subscription["id"])
    assert sum(Decimal(line["amount"]) for line in found["line_items"]) == Decimal(found["subtotal"])


def test_without_an_allowance_the_whole_usage_is_billed(api):
    subscription = worked_subscription(api, allowance=False)
    found = preview(api, subscription["id"])
    assert priced_lines(found, subscription)["per_unit"] == ("170", "2.09", "2026-01-01")
    assert found["subtotal"] == "57.09"


def test_an_unlimited_allowance_bills_no_usage_of_that_feature(api):
    subscription = worked_subscription(api, allowance=None)
    found = preview(api, subscription["id"])
    assert priced_lines(found, subscription)["per_unit"] == ("0", "0", "2026-01-01")
    assert found["subtotal"] == "55"


def test_an_allowance_larger_than_the_usage_bills_nothing_of_it(api):
    subscription = worked_subscription(api, allowance=500)
    assert priced_lines(preview(api, subscription["id"]), subscription)["per_unit"] == ("0", "0", "2026-01-01")


@pytest.mark.parametrize(("reset", "line"), [("DAILY", ("0", "0")), ("NEVER", ("70", "0.86")),
                                             ("ANNUAL", ("70", "0.86")), ("WEEKLY", ("70", "0.86"))])
def test_an_allowance_that_resets_on_another_period_is_still_deducted(api, reset, line):
    subscription = worked_subscription(api, reset=reset)
    assert priced_lines(preview(api, subscription["id"]), subscription)["per_unit"][:2] == line


def test_the_preview_is_not_stored(api):
    subscription = worked_subscription(api)
    found = preview(api, subscription["id"])
    assert found["id"].startswith("inv_")
    assert api("GET", f"invoices/{found['id']}").status_code == 404
    stored = api.ok("POST", "invoices/search", {"subscription_id": subscription["id"]})["items"]
    assert [i["billing_reason"] for i in stored] == ["SUBSCRIPTION_CREATE"]
    assert preview(api, subscription["id"])["id"] != found["id"]


def test_the_preview_hides_zero_charges_when_asked(api):
    subscription = worked_subscription(api, allowance=None)
    found = preview(api, subscription["id"], hide_zero_charges_line_items=True)
    assert sorted(priced_lines(found, subscription)) == ["fixed", "gpt4", "package", "slab", "volume"]
    assert found["subtotal"] == "55"


def test_the_preview_of_a_given_window_counts_only_its_events(api):
    subscription = worked_subscription(api, allowance=False)
    found = preview(api, subscription["id"], period_start="2026-01-03T00:00:00Z", period_end="2026-01-04T00:00:00Z")
    lines = priced_lines(found, subscription)
    assert (lines["per_unit"], lines["gpt4"]) == (("70", "0.86", "2026-01-03"), ("0", "0", "2026-01-03"))
    assert (found["period_start"], found["period_end"]) == ("2026-01-03T00:00:00.000Z", "2026-01-04T00:00:00.000Z")


def test_invoice_totals_are_the_sum_of_rounded_lines(api):
    tiny = plan(api, "Tiny")
    meter_id = metered_feature(api)["meter_id"]
    for _ in range(2):
        usage_price(api, tiny["id"], meter_id, amount="0.00003")  # 170 x 0.00003 = 0.0051, a line of 0.01
    subscription = subscribe(api, customer(api)["id"], tiny["id"])
    worked_events(api)
    found = preview(api, subscription["id"])
    assert [line["amount"] for line in found["line_items"]] == ["0.01", "0.01"]
    assert found["subtotal"] == "0.02"
    assert api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"]})["display_amount"] == "0.01"


def test_a_preview_with_its_end_before_its_start_is_a_400_naming_period_end(api):
    subscription = worked_subscription(api)
    api.refused("POST", "invoices/preview", {"subscription_id": subscription["id"], "period_start": "2026-01-10T00:00:00Z",
                                             "period_end": "2026-01-05T00:00:00Z"}, "period_end")


def test_a_preview_of_an_unknown_subscription_is_a_404(api):
    response = api("POST", "invoices/preview", {"subscription_id": "subs_missing"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_subscription_usage_reports_the_usage_without_deducting_allowances(api):
    subscription = worked_subscription(api)
    usage = api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"]})
    charges = {subscription["prices"][c["price"]["id"]]: (c["quantity"], c["display_amount"]) for c in usage["charges"]}
    assert charges == {"per_unit": (170, "2.09"), "volume": (170, "10.5"), "slab": (170, "14.5"),
                       "package": (170, "10"), "gpt4": (100, "10")}
    assert (usage["amount"], usage["display_amount"]) == (47.09, "47.09")  # round(2.091 + 45)


# -- one-off invoices and transitions --------------------------------------------------------------
def one_off(api, customer_id: str, amount: str = "10", **extra) -> dict:
    body = {"customer_id": customer_id, "currency": "usd", "amount_due": amount, "subtotal": amount, "total": amount,
            "line_items": [{"display_name": "Setup", "amount": amount, "quantity": "1"}], **extra}
    return api.ok("POST", "invoices", body)


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


def test_a_one_off_invoice_is_finalized_on_creation_with_a_number(api, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    assert {k: invoice[k] for k in ("invoice_status", "payment_status", "invoice_number", "amount_due", "amount_paid",
                                    "amount_remaining", "finalized_at")} == {
        "invoice_status": "FINALIZED", "payment_status": "PENDING", "invoice_number": "INV-202601-00001",
        "amount_due": "10", "amount_paid": "0", "amount_remaining": "10", "finalized_at": "2026-01-01T00:00:00.000Z"}
    assert [(line["amount"], line["quantity"]) for line in invoice["line_items"]] == [("10", "1")]


def test_an_invoice_without_a_type_stays_a_draft_until_finalized(api, billing_mock, customer_id):
    draft = one_off(api, customer_id)
    assert (draft["invoice_status"], draft.get("invoice_number")) == ("DRAFT", None)
    billing_mock.clock.advance("P40D")
    assert api.ok("POST", f"invoices/{draft['id']}/finalize") == {"message": "invoice finalized successfully"}
    finalized = api.ok("GET", f"invoices/{draft['id']}")
    assert (finalized["invoice_status"], finalized["invoice_number"], finalized["finalized_at"]) == (
        "FINALIZED", "INV-202602-00001", "2026-02-10T00:00:00.000Z")
    assert billing_mock.outbox[-1]["event_type"] == "invoice.update.finalized"


def test_finalizing_anything_but_a_draft_is_refused_with_400(api, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    response = api("POST", f"invoices/{invoice['id']}/finalize")
    assert (response.status_code, response.json()["message"]) == (400, "invoice is not in draft status")


def test_finalizing_a_zero_invoice_marks_it_paid(api, customer_id):
    draft = one_off(api, customer_id, amount="0")
    api.ok("POST", f"invoices/{draft['id']}/finalize")
    assert api.ok("GET", f"invoices/{draft['id']}")["payment_status"] == "SUCCEEDED"


def test_a_one_off_invoice_with_bad_amounts_is_a_400_naming_the_field(api, customer_id):
    body = {"customer_id": customer_id, "currency": "usd", "amount_due": "10", "subtotal": "10", "total": "10"}
    api.refused("POST", "invoices", {**body, "amount_due": "ten"}, "amount_due")
    api.refused("POST", "invoices", {**body, "amount_paid": "11"}, "amount_paid")
    api.refused("POST", "invoices", {**body, "line_items": [{"amount": "x", "quantity": "1"}]}, "line_items[0].amount")


def test_voiding_a_finalized_invoice_then_again_is_refused(api, billing_mock, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    billing_mock.clock.advance("P1D")
    assert api.ok("POST", f"invoices/{invoice['id']}/void") == {"message": "invoice voided successfully"}
    voided = api.ok("GET", f"invoices/{invoice['id']}")
    assert (voided["invoice_status"], voided["voided_at"], voided["payment_status"]) == (
        "VOIDED", "2026-01-02T00:00:00.000Z", "PENDING")
    assert api("POST", f"invoices/{invoice['id']}/void").status_code == 400
    assert api("POST", f"invoices/{invoice['id']}/finalize").status_code == 400


def test_voiding_a_paid_invoice_refunds_it_into_a_prepaid_wallet(api, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    api.ok("PUT", f"invoices/{invoice['id']}/payment", {"payment_status": "SUCCEEDED"})
    api.ok("POST", f"invoices/{invoice['id']}/void")
    voided = api.ok("GET", f"invoices/{invoice['id']}")
    assert (voided["payment_status"], voided["refunded_amount"]) == ("REFUNDED", "10")
    [wallet] = api.ok("GET", f"customers/{customer_id}/wallets")
    assert (wallet["wallet_type"], wallet["balance"], wallet["credit_balance"]) == ("PRE_PAID", "10", "10")


def amounts(invoice: dict) -> tuple:
    return invoice["payment_status"], invoice["amount_paid"], invoice["amount_remaining"], invoice.get("paid_at")


def test_a_succeeded_payment_pays_the_whole_amount_due(api, billing_mock, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    billing_mock.clock.advance("PT2H")
    response = pay(api, invoice["id"], "SUCCEEDED")
    assert response.status_code == 200
    assert amounts(response.json()) == ("SUCCEEDED", "10", "0", "2026-01-01T02:00:00.000Z")
    assert billing_mock.outbox[-1]["event_type"] == "invoice.update.payment"


def test_a_pending_payment_with_an_amount_records_what_was_paid(api, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    assert amounts(pay(api, invoice["id"], "PENDING", "4").json()) == ("PENDING", "4", "6", None)
    api.refused("PUT", f"invoices/{invoice['id']}/payment", {"payment_status": "PENDING", "amount": "11"}, "amount")
    api.refused("PUT", f"invoices/{invoice['id']}/payment", {"payment_status": "PENDING", "amount": "-1"}, "amount")
    assert amounts(pay(api, invoice["id"], "FAILED").json()) == ("FAILED", "0", "10", None)
    assert amounts(pay(api, invoice["id"], "SUCCEEDED").json())[:3] == ("SUCCEEDED", "10", "0")


def test_a_second_pending_amount_replaces_the_first(api, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    pay(api, invoice["id"], "PENDING", "4")
    assert amounts(pay(api, invoice["id"], "PENDING", "2.5").json()) == ("PENDING", "2.5", "7.5", None)


def test_overpaid_changes_no_amount_and_needs_nothing_remaining(api, customer_id):
    unpaid = one_off(api, customer_id, invoice_type="ONE_OFF")
    assert pay(api, unpaid["id"], "OVERPAID", "12").status_code == 400
    for amount in ("12", None):
        paid = one_off(api, customer_id, invoice_type="ONE_OFF")
        pay(api, paid["id"], "SUCCEEDED")
        overpaid = pay(api, paid["id"], "OVERPAID", amount).json()
        assert (amounts(overpaid)[:3], overpaid["overpaid_amount"]) == (("OVERPAID", "10", "0"), "0")


@pytest.mark.parametrize(("path", "refused"), [
    (["SUCCEEDED"], "PENDING"), (["SUCCEEDED"], "FAILED"), (["SUCCEEDED", "OVERPAID:12"], "SUCCEEDED"),
    (["SUCCEEDED", "OVERPAID:12"], "PENDING"),
    ([], "REFUNDED"), ([], "PROCESSING"), (["FAILED"], "REFUNDED"),
])
def test_a_payment_transition_the_real_server_refuses_is_a_400_naming_payment_status(api, customer_id, path, refused):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    for step in path:
        status, _, amount = step.partition(":")
        assert pay(api, invoice["id"], status, amount or None).status_code == 200
    api.refused("PUT", f"invoices/{invoice['id']}/payment", {"payment_status": refused}, "payment_status")


@pytest.mark.parametrize("refused", ["finalize", "void", "payment"])
def test_a_refused_invoice_transition_is_a_validation_error(api, customer_id, refused):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    api.ok("POST", f"invoices/{invoice['id']}/void")
    response = pay(api, invoice["id"], "SUCCEEDED") if refused == "payment" else api(
        "POST", f"invoices/{invoice['id']}/{refused}")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_no_payment_is_recorded_on_a_voided_invoice(api, customer_id):
    invoice = one_off(api, customer_id, invoice_type="ONE_OFF")
    api.ok("POST", f"invoices/{invoice['id']}/void")
    assert pay(api, invoice["id"], "SUCCEEDED").status_code == 400


# -- the customer's invoice summary ----------------------------------------------------------------
def summary_of(api, customer_id: str) -> dict:
    return api.ok("GET", f"customers/{customer_id}/invoices/summary")


def test_a_customer_without_subscriptions_has_no_summaries(api, customer_id):
    one_off(api, customer_id, invoice_type="ONE_OFF")
    assert summary_of(api, customer_id)["summaries"] == []


def test_the_invoice_summary_sums_the_customers_invoices_per_currency(api, billing_mock):
    subscription = worked_subscription(api)
    customer_id = subscription["customer_id"]
    billing_mock.clock.advance("P1M")  # the renewal: 45.86 usage (allowance deducted) + 10 next month
    found = summary_of(api, customer_id)
    assert (found["customer_id"], found["default_currency"]) == (customer_id, "usd")
    [usd] = found["summaries"]
    assert {k: v for k, v in usd.items() if k != "customer_id"} == {
        "currency": "usd", "total_revenue_amount": "65.86", "total_unpaid_amount": "65.86",
        "total_overdue_amount": "0", "total_invoice_count": 2, "unpaid_invoice_count": 2, "overdue_invoice_count": 0,
        "unpaid_usage_charges": "45.86", "unpaid_fixed_charges": "20"}
    opening = next(i for i in api.ok("POST", "invoices/search", {"subscription_id": subscription["id"]})["items"]
                   if i["billing_reason"] == "SUBSCRIPTION_CREATE")
    assert pay(api, opening["id"], "SUCCEEDED").status_code == 200
    billing_mock.clock.advance("P2D")  # the renewal was due Feb 2
    [usd] = summary_of(api, customer_id)["summaries"]
    assert (usd["total_revenue_amount"], usd["total_unpaid_amount"], usd["unpaid_invoice_count"],
            usd["total_overdue_amount"], usd["overdue_invoice_count"], usd["unpaid_fixed_charges"]) == (
        "65.86", "55.86", 1, "55.86", 1, "10")


def test_finalizing_a_skipped_invoice_is_a_silent_no_op_and_it_can_be_voided(api, customer_id):
    usage_only = plan(api, "Usage only")
    usage_price(api, usage_only["id"], metered_feature(api)["meter_id"], amount="0.10")
    subscription = subscribe(api, customer_id, usage_only["id"])
    [skipped] = api.ok("POST", "invoices/search", {"subscription_id": subscription["id"]})["items"]
    assert api.ok("POST", f"invoices/{skipped['id']}/finalize") == {"message": "invoice finalized successfully"}
    assert api.ok("GET", f"invoices/{skipped['id']}")["invoice_status"] == "SKIPPED"
    api.ok("POST", f"invoices/{skipped['id']}/void")
    assert api.ok("GET", f"invoices/{skipped['id']}")["invoice_status"] == "VOIDED"


def test_subscription_usage_with_end_before_start_is_a_400_naming_end_time(api):
    subscription = worked_subscription(api)
    api.refused("POST", "subscriptions/usage", {"subscription_id": subscription["id"],
                                                "start_time": "2026-01-10T00:00:00Z",
                                                "end_time": "2026-01-05T00:00:00Z"}, "end_time")


def test_subscription_usage_of_a_window_counts_only_its_events(api):
    subscription = worked_subscription(api)
    usage = api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"],
                                                   "start_time": "2026-01-03T00:00:00Z",
                                                   "end_time": "2026-01-05T00:00:00Z"})
    charges = {subscription["prices"][c["price"]["id"]]: c["quantity"] for c in usage["charges"]}
    assert charges == {"per_unit": 130, "volume": 130, "slab": 130, "package": 130, "gpt4": 60}
    assert (usage["start_time"], usage["end_time"]) == ("2026-01-03T00:00:00.000Z", "2026-01-05T00:00:00.000Z")
