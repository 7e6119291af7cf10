"""docs/billing.md's worked journey ("A worked journey: one subscription's life, with the SDK"),
tried as a new user would: the official `flexprice` SDK 2.1.43 against a live mock of the full
public spec with a frozen clock, through everything the second billing round computes: a plan
with a fee, a usage price and a credit grant; a customer with an auto-apply tax rate and a
prepaid wallet; a percentage coupon and a line coupon; events; the preview; the renewal a month
later (discount, prepaid credits, tax, total, each as the rules give them by hand); a credit note;
an add-on attached mid-period; an immediate prorated cancel; and the webhooks all of it sent.

Every answer is checked against the spec, and every webhook body against its
`/webhook-events/<name>` page. Two calls go through plain httpx: the clock (`POST /_mock/clock`,
outside the API) and `GET /subscriptions/{id}/addons/associations` (the SDK parses the real
server's page where the public spec documents an array; docs/sdk-2.1.43-overlay.yaml)."""
from __future__ import annotations

import httpx
import pytest
from flexprice import Flexprice

from mock_server import MockServer

from .billing_api import START

MONTHLY = {"currency": "usd", "billing_period": "MONTHLY", "price_unit_type": "FIAT"}
TOTALS = ("subtotal", "total_discount", "total_prepaid_credits_applied", "total_tax", "total", "amount_due")


@pytest.fixture(scope="module")
def mock(full_spec, _store_options):
    with MockServer(spec=full_spec, clock=START, **_store_options) as server:
        yield server


@pytest.fixture
def http(mock, full_checker):
    """An httpx client whose every API answer is checked against the spec (the SDK's transport too)."""
    mock.reset()

    def check(response: httpx.Response) -> None:
        response.read()
        if "/_mock/" not in response.request.url.path:
            full_checker.check(response)

    with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=10,
                      event_hooks={"response": [check]}) as client:
        yield client


@pytest.fixture
def sdk(mock, http) -> Flexprice:
    return Flexprice(api_key_auth=mock.api_key, server_url=mock.url, client=http)


def totals(invoice) -> tuple:
    return tuple(getattr(invoice, name) for name in TOTALS)


@pytest.mark.filterwarnings("ignore:.*DEPRECATED.*:DeprecationWarning")  # the SDK marks add_subscription_addon so
def test_a_subscriptions_life_with_coupons_tax_credits_a_credit_note_an_addon_and_a_prorated_cancel(
        sdk, http, mock, webhook_checker):
    def advance(duration: str) -> dict:
        moved = http.post(mock.url.removesuffix("/v1") + "/_mock/clock", json={"advance": duration})
        assert moved.status_code == 200, moved.text
        return moved.json()

    # -- the catalogue: a 60 fee in advance, tokens at 0.10 in arrear, 10 credits granted once
    tokens = sdk.features.create_feature(name="Tokens", type_="metered", meter={
        "name": "tokens", "event_name": "llm", "aggregation": {"type": "SUM", "field": "tokens"},
        "reset_usage": "BILLING_PERIOD"})
    plan = sdk.plans.create_plan(name="Pro")
    fee = sdk.prices.create_price(**MONTHLY, entity_type="PLAN", entity_id=plan.id, type_="FIXED",
                                  billing_model="FLAT_FEE", amount="60", invoice_cadence="ADVANCE")
    sdk.prices.create_price(**MONTHLY, entity_type="PLAN", entity_id=plan.id, type_="USAGE", billing_model="FLAT_FEE",
                            amount="0.10", meter_id=tokens.meter_id, invoice_cadence="ARREAR")
    sdk.credit_grants.create_credit_grant(name="Welcome credits", scope="PLAN", plan_id=plan.id, credits="10",
                                          cadence="ONETIME", expiration_type="NEVER")

    # -- the customer: 8.25 % sales tax applied automatically, a prepaid wallet of 5 credits
    sdk.tax_rates.create_tax_rate(name="Sales tax", code="SALES", tax_rate_type="percentage", percentage_value="8.25")
    customer = sdk.customers.create_customer(external_id="acme", name="Acme")
    sdk.tax_associations.create_tax_association(tax_rate_code="SALES", external_customer_id="acme", auto_apply=True)
    wallet = sdk.wallets.create_wallet(customer_id=customer.id, currency="usd")
    sdk.wallets.top_up_wallet(id=wallet.id, credits_to_add="5", transaction_reason="PURCHASED_CREDIT_DIRECT")

    # -- the subscription: 15 % off everything, 5 off the fee
    fifteen = sdk.coupons.create_coupon(name="15 % off", type_="percentage", percentage_off="15", cadence="forever")
    five = sdk.coupons.create_coupon(name="5 off the fee", type_="fixed", amount_off="5", currency="usd",
                                     cadence="forever")
    subscription = sdk.subscriptions.create_subscription(
        customer_id=customer.id, plan_id=plan.id, currency="usd", billing_period="MONTHLY",
        coupons=[fifteen.id], line_item_coupons={fee.id: [five.id]})
    associations = sdk.coupon_associations.list_coupon_associations(subscription_ids=[subscription.id]).items
    assert sorted(a.coupon_id for a in associations) == sorted([fifteen.id, five.id])
    [tax_link] = sdk.tax_associations.list_tax_associations(entity_type="subscription", entity_id=subscription.id).items
    assert tax_link.auto_apply is True  # the customer's association, copied onto the subscription
    # the grant's 10 credits went into the customer's prepaid wallet: 5 + 10
    assert sdk.wallets.get_wallet(id=wallet.id).balance == "15"
    # the opening invoice (the fee alone): 5 off, then 15 % of 55 = 8.25; tax 8.25 % of 46.75 = 3.856875
    [opening] = sdk.invoices.query_invoice(subscription_id=subscription.id).items
    assert totals(opening) == ("60", "13.25", "0", "3.86", "50.61", "50.61")

    # -- 124 tokens, and the preview: next month's fee plus January's usage
    sdk.events.ingest_event(event_name="llm", external_customer_id="acme", timestamp="2026-01-05T00:00:00Z",
                            properties={"tokens": "124"})
    preview = sdk.invoices.get_invoice_preview(subscription_id=subscription.id)
    # 60 + 12.40 = 72.40; 5 off the fee, 15 % of 67.40 = 10.11; tax 8.25 % of 57.29 = 4.726425; no credits in a preview
    assert totals(preview) == ("72.4", "15.11", "0", "4.73", "62.02", "62.02")

    # -- a month later: the renewal, finalized with the wallet's credits and the tax
    moved = advance("P1M")
    [renewal] = sdk.invoices.query_invoice(subscription_id=subscription.id, billing_reason="SUBSCRIPTION_CYCLE").items
    assert [(i["id"], i["total"]) for i in moved["happened"]["invoices"]] == [(renewal.id, "51.48")]
    # the credits pay the usage line less its 1.86 share of the 10.11: 10.54 of the wallet's 15
    assert totals(renewal) == ("72.4", "15.11", "10.54", "4.73", "51.48", "51.48")
    assert {line.price_type: (line.amount, line.line_item_discount, line.invoice_level_discount,
                              line.prepaid_credits_applied) for line in renewal.line_items} == {
        "FIXED": ("60", "5", "8.25", "0"), "USAGE": ("12.4", "0", "1.86", "10.54")}
    assert [(tax.taxable_amount, tax.tax_amount) for tax in renewal.taxes] == [("57.29", "4.73")]
    assert sdk.wallets.get_wallet(id=wallet.id).balance == "4.46"

    # -- a credit note of 10 on the fee: the invoice is unpaid, so an adjustment
    fee_line = next(line for line in renewal.line_items if line.price_type == "FIXED")
    note = sdk.credit_notes.create_credit_note(invoice_id=renewal.id, reason="SERVICE_ISSUE", line_items=[
        {"invoice_line_item_id": fee_line.id, "amount": "10"}])
    assert (note.credit_note_type, note.credit_note_status, note.total_amount) == ("ADJUSTMENT", "FINALIZED", "10")
    adjusted = sdk.invoices.get_invoice(id=renewal.id)
    assert (adjusted.adjustment_amount, adjusted.amount_due, adjusted.amount_remaining) == ("10", "41.48", "41.48")

    # -- Feb 11: a $20 add-on, prorated over what is left of February
    advance("P10D")
    seats = sdk.addons.create_addon(name="Seats", lookup_key="seats")
    sdk.prices.create_price(**MONTHLY, entity_type="ADDON", entity_id=seats.id, type_="FIXED", billing_model="FLAT_FEE",
                            amount="20", invoice_cadence="ADVANCE")
    association = sdk.subscriptions.add_subscription_addon(subscription_id=subscription.id, addon_id=seats.id,
                                                           proration_behavior="create_prorations")
    [listed] = http.get(f"subscriptions/{subscription.id}/addons/associations").json()
    assert (listed["id"], listed["addon"]["name"], listed["entity_id"]) == (association.id, "Seats", subscription.id)
    [charge] = sdk.invoices.query_invoice(subscription_id=subscription.id, invoice_type="ONE_OFF").items
    # 20 x (18 d - 1 s) / (28 d - 1 s) = 12.857...; taxed at the subscription's rate: 1.06095; no coupons
    assert totals(charge) == ("12.86", "0", "0", "1.06", "13.92", "13.92")
    assert (charge.billing_reason, charge.period_start.isoformat()) == ("SUBSCRIPTION_UPDATE", "2026-02-11T00:00:00+00:00")

    # -- Feb 21: cancelled at once, the unused part of what was billed credited to the wallet
    advance("P10D")
    cancelled = sdk.subscriptions.cancel_subscription(id=subscription.id, cancellation_type="immediate",
                                                      proration_behavior="create_prorations")
    # (8 d - 1 s) / (28 d - 1 s) of the fee's 60 = 17.14 and of the seats' 20 = 5.71; usage is not prorated
    assert sorted(detail.credit_amount for detail in cancelled.proration_details) == ["0", "17.14", "5.71"]
    assert (cancelled.status, cancelled.total_credit_amount) == ("cancelled", "22.85")
    assert sdk.wallets.get_wallet(id=wallet.id).balance == "27.31"  # 4.46 + 22.85
    assert http.get(f"subscriptions/{subscription.id}/addons/associations").json() == []

    # -- what it all sent, in order, each body valid against its documented schema
    sent = mock.webhooks
    assert [w["event_type"] for w in sent] == [
        "feature.created", "customer.created",
        "wallet.created", "wallet.transaction.created", "wallet.updated",  # the top-up
        "subscription.created", "wallet.transaction.created", "wallet.updated",  # the grant applied
        "invoice.update", "invoice.update.finalized",  # the opening invoice
        "invoice.update", "wallet.transaction.created", "invoice.update.finalized",  # the renewal and its credits
        "subscription.updated",  # the period moved on
        "credit_note.created", "credit_note.updated",
        "invoice.update", "invoice.update.finalized", "subscription.updated",  # the add-on's charge, the attach
        "wallet.transaction.created", "wallet.updated",  # the proration credit
        "subscription.updated", "subscription.cancelled"]
    for webhook in sent:
        webhook_checker.check(webhook["payload"])
    transactions = [w["payload"]["transaction"] for w in sent if w["event_type"] == "wallet.transaction.created"]
    assert [(t["type"], t["amount"], t["transaction_reason"]) for t in transactions] == [
        ("credit", "5", "PURCHASED_CREDIT_DIRECT"), ("credit", "10", "SUBSCRIPTION_CREDIT_GRANT"),
        ("debit", "10.54", "CREDIT_ADJUSTMENT"), ("credit", "22.85", "SUBSCRIPTION_CREDIT_GRANT")]
    assert transactions[2]["reference_id"] == renewal.id
    finalized = [w["payload"]["invoice"] for w in sent if w["event_type"] == "invoice.update.finalized"]
    assert [(i["id"], i["total"]) for i in finalized] == [(opening.id, "50.61"), (renewal.id, "51.48"),
                                                         (charge.id, "13.92")]
    assert [w["payload"]["credit_note"]["credit_note_status"] for w in sent
            if w["event_type"].startswith("credit_note.")] == ["DRAFT", "FINALIZED"]
