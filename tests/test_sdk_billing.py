"""The issue's "Must show", tried as a new user would: the official `flexprice` SDK against a live
mock on the full spec with a frozen clock bills BILLING.md's worked example, from the catalogue
to the renewal invoice a month later. Every answer the SDK receives is also checked against the
spec."""
from __future__ import annotations

import httpx
import pytest
from flexprice import Flexprice

from mock_server import MockServer

from .billing_api import SLAB_TIERS, START, VOLUME_TIERS

EVENTS = [  # (id, tokens, model, day): 170 tokens, 100 of them gpt-4; the first is sent twice
    ("evt-1", "40", "gpt-4", 2), ("evt-2", "70", "gpt-3.5", 3), ("evt-3", "60", "gpt-4", 4),
    ("evt-1", "40", "gpt-4", 2)]


@pytest.fixture(scope="module")
def mock(full_spec, _store_options):
    with MockServer(spec=full_spec, clock=START, **_store_options) as server:
        yield server


@pytest.fixture
def client(mock, full_checker):
    """The SDK on an httpx client that checks every response against the spec."""
    mock.reset()

    def check(response: httpx.Response) -> None:
        response.read()
        full_checker.check(response)

    with httpx.Client(event_hooks={"response": [check]}) as http:
        yield Flexprice(api_key_auth=mock.api_key, server_url=mock.url, client=http)


def metered(client: Flexprice, name: str, filters: list | None = None):
    meter = {"name": name, "event_name": "llm", "aggregation": {"type": "SUM", "field": "tokens"},
             "reset_usage": "BILLING_PERIOD", **({"filters": filters} if filters else {})}
    return client.features.create_feature(name=name, type_="metered", meter=meter)


def test_the_sdk_bills_the_worked_example_through_a_month(client, mock):
    per_unit, tokens = metered(client, "Per unit"), metered(client, "Tokens")
    gpt4 = metered(client, "GPT-4", filters=[{"key": "model", "values": ["gpt-4"]}])
    assert per_unit.meter_id.startswith("meter_") and per_unit.meter.event_name == "llm"
    plan = client.plans.create_plan(name="AI")
    common = {"currency": "usd", "entity_type": "PLAN", "entity_id": plan.id, "billing_period": "MONTHLY",
              "price_unit_type": "FIAT"}
    client.prices.create_price(**common, type_="FIXED", billing_model="FLAT_FEE", amount="10",
                               invoice_cadence="ADVANCE")
    usage = {**common, "type_": "USAGE", "invoice_cadence": "ARREAR"}
    names = {price.id: name for name, price in {
        "per_unit": client.prices.create_price(**usage, meter_id=per_unit.meter_id, billing_model="FLAT_FEE",
                                               amount="0.0123"),
        "volume": client.prices.create_price(**usage, meter_id=tokens.meter_id, billing_model="TIERED",
                                             tier_mode="VOLUME", tiers=VOLUME_TIERS),
        "slab": client.prices.create_price(**usage, meter_id=tokens.meter_id, billing_model="TIERED",
                                           tier_mode="SLAB", tiers=SLAB_TIERS),
        "package": client.prices.create_price(**usage, meter_id=tokens.meter_id, billing_model="PACKAGE", amount="5",
                                              transform_quantity={"divide_by": 100}),
        "gpt4": client.prices.create_price(**usage, meter_id=gpt4.meter_id, billing_model="FLAT_FEE", amount="0.10"),
    }.items()}
    client.entitlements.create_entitlement(feature_id=per_unit.id, feature_type="metered", entity_type="PLAN",
                                           entity_id=plan.id, usage_limit=100, usage_reset_period="MONTHLY")
    customer = client.customers.create_customer(external_id="sdk-ai", name="Ada")
    subscription = client.subscriptions.create_subscription(customer_id=customer.id, plan_id=plan.id, currency="usd",
                                                            billing_period="MONTHLY")
    assert (subscription.current_period_start.isoformat(), subscription.current_period_end.isoformat()) == (
        "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")
    for event_id, count, model, day in EVENTS:
        accepted = client.events.ingest_event(event_name="llm", external_customer_id="sdk-ai", event_id=event_id,
                                              timestamp=f"2026-01-0{day}T10:00:00Z",
                                              properties={"tokens": count, "model": model})
        assert accepted["event_id"] == event_id

    used = client.subscriptions.get_subscription_usage(subscription_id=subscription.id)
    assert {names[c.price.id]: (c.quantity, c.display_amount) for c in used.charges} == {
        "per_unit": (170, "2.09"), "volume": (170, "10.5"), "slab": (170, "14.5"), "package": (170, "10"),
        "gpt4": (100, "10")}
    assert used.display_amount == "47.09"

    preview = client.invoices.get_invoice_preview(subscription_id=subscription.id)
    assert {names.get(line.price_id, "fixed"): line.amount for line in preview.line_items} == {
        "per_unit": "0.86", "volume": "10.5", "slab": "14.5", "package": "10", "gpt4": "10", "fixed": "10"}
    assert (preview.subtotal, preview.total, preview.amount_due) == ("55.86", "55.86", "55.86")

    entitlements = client.customers.get_customer_entitlements(id=customer.id)
    assert [(f.feature.id, f.entitlement.usage_limit) for f in entitlements.features] == [(per_unit.id, 100)]

    wallet = client.wallets.create_wallet(customer_id=customer.id, currency="usd", conversion_rate="2")
    client.wallets.top_up_wallet(id=wallet.id, credits_to_add="100", transaction_reason="PURCHASED_CREDIT_DIRECT")
    balance = client.wallets.get_wallet_balance(id=wallet.id)
    assert (balance.balance, balance.real_time_balance, balance.real_time_credit_balance) == ("200", "154.14", "77.07")

    cancelled = client.subscriptions.cancel_subscription(id=subscription.id, cancellation_type="end_of_period")
    assert (cancelled.status, cancelled.effective_date.isoformat()) == ("active", "2026-02-01T00:00:00+00:00")
    mock.clock.advance("P1M")

    renewal = client.invoices.query_invoice(subscription_id=subscription.id, billing_reason="SUBSCRIPTION_CYCLE").items
    assert len(renewal) == 1
    assert {(names.get(line.price_id, "fixed"), line.amount, line.period_start.date().isoformat())
            for line in renewal[0].line_items} == {
        ("per_unit", "0.86", "2026-01-01"), ("volume", "10.5", "2026-01-01"), ("slab", "14.5", "2026-01-01"),
        ("package", "10", "2026-01-01"), ("gpt4", "10", "2026-01-01"), ("fixed", "10", "2026-02-01")}
    # the prepaid wallet (balance 200) pays the 45.86 of usage when the renewal is finalized
    assert (renewal[0].invoice_status, renewal[0].total_prepaid_credits_applied, renewal[0].amount_due,
            renewal[0].invoice_number) == ("FINALIZED", "45.86", "10", "INV-202602-00001")
    assert client.wallets.get_wallet_balance(id=wallet.id).balance == "154.14"
    assert client.subscriptions.get_subscription(id=subscription.id).subscription_status == "cancelled"
