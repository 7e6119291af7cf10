"""The official Python SDK (`flexprice`) against the mock on the full spec, as a new user tries it:
customers, catalogue, a subscription's life, events, and a wallet's balance."""
from __future__ import annotations

import pytest
from flexprice import Flexprice
from flexprice.models import errors


@pytest.fixture
def client(full_mock) -> Flexprice:
    return Flexprice(api_key_auth=full_mock.api_key, server_url=full_mock.url)


def test_sdk_customer_lifecycle(client):
    created = client.customers.create_customer(external_id="sdk-cus-1", name="Ada", email="ada@example.com")
    assert created.id.startswith("cust_") and created.external_id == "sdk-cus-1"
    assert client.customers.get_customer(id=created.id).email == "ada@example.com"
    assert client.customers.get_customer_by_external_id(external_id="sdk-cus-1").id == created.id
    updated = client.customers.update_customer(id=created.id, name="Ada Lovelace")
    assert (updated.name, updated.email) == ("Ada Lovelace", "ada@example.com")
    found = client.customers.query_customer(external_id="sdk-cus-1")
    assert [c.id for c in found.items] == [created.id] and found.pagination.total == 1
    with pytest.raises(errors.FlexpriceError) as duplicate:
        client.customers.create_customer(external_id="sdk-cus-1", name="Someone else")
    assert duplicate.value.status_code == 409
    client.customers.delete_customer(id=created.id)
    with pytest.raises(errors.FlexpriceError) as gone:
        client.customers.get_customer(id=created.id)
    assert gone.value.status_code == 404


def test_sdk_catalogue_and_subscription_cancel(client):
    feature = client.features.create_feature(name="API calls", type_="metered", lookup_key="api-calls", meter={
        "name": "API calls", "event_name": "api_call", "aggregation": {"type": "COUNT"}, "reset_usage": "BILLING_PERIOD"})
    assert feature.id.startswith("feat_") and feature.meter_id.startswith("meter_")
    plan = client.plans.create_plan(name="Pro", lookup_key="pro")
    price = client.prices.create_price(
        amount="49", currency="usd", entity_type="PLAN", entity_id=plan.id, type_="FIXED",
        billing_model="FLAT_FEE", billing_period="MONTHLY", invoice_cadence="ADVANCE", price_unit_type="FIAT")
    assert price.id.startswith("price_") and price.entity_id == plan.id
    customer = client.customers.create_customer(external_id="sdk-cus-2", name="Bob")
    subscription = client.subscriptions.create_subscription(
        customer_id=customer.id, plan_id=plan.id, currency="usd", billing_period="MONTHLY")
    assert subscription.id.startswith("subs_")
    assert client.subscriptions.get_subscription(id=subscription.id).subscription_status == "active"
    cancelled = client.subscriptions.cancel_subscription(id=subscription.id, cancellation_type="immediate")
    assert cancelled.status == "cancelled" and cancelled.subscription_id == subscription.id
    assert client.subscriptions.get_subscription(id=subscription.id).subscription_status == "cancelled"


def test_sdk_ingests_one_event_and_a_bulk(client):
    one = client.events.ingest_event(event_name="api_call", external_customer_id="sdk-cus-3", event_id="sdk-e1",
                                     properties={"tokens": "3"})
    assert one["event_id"] == "sdk-e1"
    bulk = client.events.ingest_events_bulk(events=[
        {"event_name": "api_call", "external_customer_id": "sdk-cus-3"} for _ in range(3)])
    assert isinstance(bulk["message"], str)
    usage = client.events.get_usage_statistics(event_name="api_call", aggregation_type="COUNT")
    assert usage.value == 4


def test_sdk_wallet_top_up_shows_in_the_real_time_balance(client):
    customer = client.customers.create_customer(external_id="sdk-cus-4", name="Cy")
    wallet = client.wallets.create_wallet(customer_id=customer.id, currency="usd")
    assert wallet.wallet_status == "active"
    top_up = client.wallets.top_up_wallet(id=wallet.id, credits_to_add="100",
                                          transaction_reason="PURCHASED_CREDIT_DIRECT")
    assert top_up.wallet.credit_balance == "100"
    balance = client.wallets.get_wallet_balance(id=wallet.id)
    assert balance.real_time_credit_balance == "100" and balance.real_time_balance == "100"
