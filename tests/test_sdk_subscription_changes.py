"""Tried as a new user would: the official `flexprice` SDK (2.1.43) against a live mock of the full
spec with a frozen clock, through a plan's credit grants, an add-on attached mid-period, a plan
change and a prorated cancel. The mock serves the full spec with docs/sdk-2.1.43-overlay.yaml,
which documents the two answers this SDK reads in the real server's shape (see docs/billing.md);
every answer the SDK receives is also checked against that served document."""
from __future__ import annotations

import httpx
import pytest
from flexprice import Flexprice

from flexprice_spec.document import Spec
from mock_server import MockServer

from .billing_api import START
from .conftest import ROOT
from .openapi_check import ResponseChecker

OVERLAY = ROOT / "docs" / "sdk-2.1.43-overlay.yaml"
FIXED = {"currency": "usd", "billing_period": "MONTHLY", "price_unit_type": "FIAT", "type_": "FIXED",
         "billing_model": "FLAT_FEE", "invoice_cadence": "ADVANCE"}


@pytest.fixture(scope="module")
def mock(full_spec, _store_options):
    with MockServer(spec=full_spec, clock=START, overlays=[OVERLAY], **_store_options) as server:
        yield server


@pytest.fixture(scope="module")
def checker(full_spec) -> ResponseChecker:
    return ResponseChecker(Spec.load(full_spec, [OVERLAY]).document)


@pytest.fixture
def client(mock, checker):
    mock.reset()

    def check(response: httpx.Response) -> None:
        response.read()
        checker.check(response)

    with httpx.Client(event_hooks={"response": [check]}) as http:
        yield Flexprice(api_key_auth=mock.api_key, server_url=mock.url, client=http)


@pytest.mark.filterwarnings("ignore:.*DEPRECATED.*:DeprecationWarning")  # the SDK marks add_subscription_addon so
def test_the_sdk_grants_credits_attaches_an_addon_changes_plan_and_cancels_with_proration(client, mock):
    pro = client.plans.create_plan(name="Pro")
    client.prices.create_price(**FIXED, entity_type="PLAN", entity_id=pro.id, amount="90")
    client.credit_grants.create_credit_grant(name="Welcome", scope="PLAN", plan_id=pro.id, credits="300",
                                             cadence="ONETIME", expiration_type="NEVER")
    client.credit_grants.create_credit_grant(name="Monthly", scope="PLAN", plan_id=pro.id, credits="45",
                                             cadence="RECURRING", period="MONTHLY", period_count=1,
                                             expiration_type="NEVER")
    customer = client.customers.create_customer(external_id="sdk-22", name="Ada")
    subscription = client.subscriptions.create_subscription(customer_id=customer.id, plan_id=pro.id, currency="usd",
                                                            billing_period="MONTHLY")
    [wallet] = client.wallets.get_wallets_by_customer_id(id=customer.id)
    assert (wallet.credit_balance, wallet.balance) == ("345", "345")
    [due] = client.subscriptions.get_subscription_upcoming_grants(id=subscription.id).items
    assert (due.credits, due.scheduled_for) == ("45", "2026-02-01T00:00:00.000Z")

    seats = client.addons.create_addon(name="Seats", lookup_key="seats")
    client.prices.create_price(**FIXED, entity_type="ADDON", entity_id=seats.id, amount="20")
    mock.clock.advance("P10D")
    association = client.subscriptions.add_subscription_addon(subscription_id=subscription.id, addon_id=seats.id,
                                                              proration_behavior="create_prorations")
    assert (association.addon_id, association.entity_id) == (seats.id, subscription.id)
    [listed] = client.subscriptions.get_subscription_addon_associations(id=subscription.id).items
    assert (listed.id, listed.addon.name) == (association.id, "Seats")
    read = client.subscriptions.get_subscription(id=subscription.id)
    assert sorted((item.display_name, item.price.amount) for item in read.line_items) == [("Pro", "90"), ("Seats", "20")]

    max_plan = client.plans.create_plan(name="Max")
    client.prices.create_price(**FIXED, entity_type="PLAN", entity_id=max_plan.id, amount="150")
    change = {"id": subscription.id, "target_plan_id": max_plan.id, "billing_cadence": "RECURRING",
              "billing_cycle": "anniversary", "billing_period": "MONTHLY", "proration_behavior": "create_prorations"}
    preview = client.subscriptions.preview_subscription_change(**change)
    # 90 x (21 d - 1 s) / (31 d - 1 s) = 60.97 and the add-on's 13.55 charged: 74.52 off 150
    assert (preview.change_type, preview.proration_details.credit_amount, preview.next_invoice_preview.total) == (
        "upgrade", "74.52", "75.48")
    executed = client.subscriptions.execute_subscription_change(**change)
    assert executed.old_subscription.status == "cancelled"
    cancelled = client.subscriptions.cancel_subscription(id=executed.new_subscription.id, cancellation_type="immediate",
                                                         proration_behavior="create_prorations")
    assert cancelled.total_credit_amount == "75.48"  # the whole new period, capped at its netted opening invoice
    [wallet] = client.wallets.get_wallets_by_customer_id(id=customer.id)
    assert wallet.credit_balance == "420.48"
