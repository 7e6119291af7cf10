"""docs/billing.md's SDK journey on the invoice side, tried as a new user would: with the official
`flexprice` SDK on the full spec and a frozen clock, a plan with a fee and a usage price, a
customer with an auto-apply 8.25 % tax rate and a prepaid wallet, a subscription with a 15 %
coupon and a line coupon, events, the preview, the renewal a month later (discount, credits,
tax and total as the rules give them by hand), and a credit note on it. Every answer the SDK
receives is also checked against the spec."""
from __future__ import annotations

import httpx
import pytest
from flexprice import Flexprice

from mock_server import MockServer

from .billing_api import START


@pytest.fixture(scope="module")
def mock(full_spec, _store_options):
    with MockServer(spec=full_spec, clock=START, **_store_options) as server:
        yield server


@pytest.fixture
def client(mock, full_checker):
    mock.reset()

    def check(response: httpx.Response) -> None:
        response.read()
        full_checker.check(response)

    with httpx.Client(event_hooks={"response": [check]}) as http:
        yield Flexprice(api_key_auth=mock.api_key, server_url=mock.url, client=http)


def test_15_percent_off_then_8_25_percent_tax_then_prepaid_credits_then_a_credit_note(client, mock):
    tokens = client.features.create_feature(name="Tokens", type_="metered", meter={
        "name": "tokens", "event_name": "llm", "aggregation": {"type": "SUM", "field": "tokens"},
        "reset_usage": "BILLING_PERIOD"})
    plan = client.plans.create_plan(name="Pro")
    common = {"currency": "usd", "entity_type": "PLAN", "entity_id": plan.id, "billing_period": "MONTHLY",
              "price_unit_type": "FIAT"}
    fee = client.prices.create_price(**common, type_="FIXED", billing_model="FLAT_FEE", amount="60",
                                     invoice_cadence="ADVANCE")
    client.prices.create_price(**common, type_="USAGE", billing_model="FLAT_FEE", amount="0.10",
                               meter_id=tokens.meter_id, invoice_cadence="ARREAR")
    client.tax_rates.create_tax_rate(name="Sales tax", code="SALES", tax_rate_type="percentage",
                                     percentage_value="8.25")
    customer = client.customers.create_customer(external_id="acme", name="Acme")
    client.tax_associations.create_tax_association(tax_rate_code="SALES", external_customer_id="acme",
                                                   auto_apply=True)
    wallet = client.wallets.create_wallet(customer_id=customer.id, currency="usd")
    client.wallets.top_up_wallet(id=wallet.id, credits_to_add="5", transaction_reason="PURCHASED_CREDIT_DIRECT")
    fifteen = client.coupons.create_coupon(name="15 % off", type_="percentage", percentage_off="15", cadence="forever")
    five = client.coupons.create_coupon(name="5 off the fee", type_="fixed", amount_off="5", currency="usd",
                                        cadence="forever")
    subscription = client.subscriptions.create_subscription(
        customer_id=customer.id, plan_id=plan.id, currency="usd", billing_period="MONTHLY",
        coupons=[fifteen.id], line_item_coupons={fee.id: [five.id]})
    client.events.ingest_event(event_name="llm", external_customer_id="acme", timestamp="2026-01-05T00:00:00Z",
                               properties={"tokens": "124"})

    # by hand: 60 - 5 + 12.40 = 67.40; 15 % of it 10.11; discount 15.11; tax 8.25 % of 57.29 = 4.73
    preview = client.invoices.get_invoice_preview(subscription_id=subscription.id)
    assert (preview.subtotal, preview.total_discount, preview.total_tax, preview.total) == (
        "72.4", "15.11", "4.73", "62.02")

    mock.clock.advance("P1M")
    (renewal,) = client.invoices.query_invoice(subscription_id=subscription.id,
                                               billing_reason="SUBSCRIPTION_CYCLE").items
    # the wallet's 5 pays the usage line (12.40 less its 1.86 share of the 10.11); tax is unchanged
    assert (renewal.total_discount, renewal.total_prepaid_credits_applied, renewal.total_tax, renewal.total,
            renewal.amount_due) == ("15.11", "5", "4.73", "57.02", "57.02")
    assert {line.price_type: (line.amount, line.line_item_discount, line.invoice_level_discount,
                              line.prepaid_credits_applied) for line in renewal.line_items} == {
        "FIXED": ("60", "5", "8.25", "0"), "USAGE": ("12.4", "0", "1.86", "5")}
    assert client.wallets.get_wallet(id=wallet.id).balance == "0"

    note = client.credit_notes.create_credit_note(invoice_id=renewal.id, reason="SERVICE_ISSUE", line_items=[
        {"invoice_line_item_id": renewal.line_items[0].id, "amount": "2"}])
    assert (note.credit_note_type, note.credit_note_status, note.total_amount) == ("ADJUSTMENT", "FINALIZED", "2")
    adjusted = client.invoices.get_invoice(id=renewal.id)
    assert (adjusted.adjustment_amount, adjusted.amount_due, adjusted.amount_remaining) == ("2", "55.02", "55.02")
