"""A subscription read back as the real server's reads fill it (`internal/ee/service/subscription.go`
GetSubscription and GetSubscriptionV2, `internal/types/expand.go`, the line item repository's
active filter), and the webhooks this round's flows send, each valid against the body its
`/webhook-events/<name>` page documents."""
from __future__ import annotations

import pytest

from .billing_api import api, billing_mock, customer, plan, price, subscribe  # noqa: F401 (fixtures)


@pytest.fixture
def pro(api) -> dict:
    created = plan(api)
    price(api, created["id"], amount="10")
    price(api, created["id"], amount="5", invoice_cadence="ARREAR")
    return created


@pytest.fixture
def seats(api) -> dict:
    addon = api.ok("POST", "addons", {"name": "Seats", "lookup_key": "seats"})
    price(api, addon["id"], amount="20", entity_type="ADDON")
    return addon


@pytest.fixture
def subscription(api, pro) -> dict:
    return subscribe(api, customer(api)["id"], pro["id"])


def test_a_subscription_reads_back_with_its_line_items_and_their_prices(api, pro, subscription):
    read = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert sorted((item["price"]["amount"], item["invoice_cadence"]) for item in read["line_items"]) == [
        ("10", "ADVANCE"), ("5", "ARREAR")]
    assert {item["subscription_id"] for item in read["line_items"]} == {subscription["id"]}
    assert (read["plan"]["id"], read["customer"]["id"]) == (pro["id"], subscription["customer_id"])
    assert "credit_grants" not in read


def test_a_line_item_ended_before_the_current_period_no_longer_reads_back(api, billing_mock, subscription, seats):
    association = api.ok("POST", "subscriptions/addon", {"subscription_id": subscription["id"], "addon_id": seats["id"]})
    api.ok("DELETE", "subscriptions/addon", {"addon_association_id": association["id"]})
    assert len(api.ok("GET", f"subscriptions/{subscription['id']}")["line_items"]) == 3  # ends Feb 1: still this period
    billing_mock.clock.to("2026-02-01T00:00:00Z")  # ended at the start of the current period: still read (>=)
    assert len(api.ok("GET", f"subscriptions/{subscription['id']}")["line_items"]) == 3
    billing_mock.clock.to("2026-03-01T00:00:00Z")
    items = api.ok("GET", f"subscriptions/{subscription['id']}")["line_items"]
    assert sorted(item["entity_type"] for item in items) == ["plan", "plan"]


def test_the_v2_read_carries_only_what_expand_asks_for(api, pro, subscription):
    path = f"subscriptions/{subscription['id']}/v2"
    bare = api.ok("GET", path)
    assert (bare["id"], bare["plan_prices_out_of_sync"]) == (subscription["id"], False)
    assert not {"line_items", "plan", "customer"} & bare.keys()
    items = api.ok("GET", path, expand="subscription_line_items")["line_items"]
    assert len(items) == 2 and not any("price" in item for item in items)
    priced = api.ok("GET", path, expand="subscription_line_items.prices,customer,plan.prices")
    assert sorted(item["price"]["amount"] for item in priced["line_items"]) == ["10", "5"]
    assert priced["customer"]["id"] == subscription["customer_id"]
    assert sorted(p["amount"] for p in priced["plan"]["prices"]) == ["10", "5"]


@pytest.mark.parametrize("expand", ["invoices", "customer.plan", "meters.prices", "plan.customer"])
def test_an_expand_the_server_does_not_allow_is_400_naming_expand(api, subscription, expand):
    response = api("GET", f"subscriptions/{subscription['id']}/v2", expand=expand)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == {"value": "expand"}


def test_reads_of_a_missing_subscription_are_404(api):
    for path in ("subscriptions/subs_missing", "subscriptions/subs_missing/v2",
                 "subscriptions/subs_missing/addons/associations", "subscriptions/subs_missing/grants/upcoming",
                 "customers/cust_missing/grants/upcoming"):
        assert api("GET", path).status_code == 404, path


# -- webhooks --------------------------------------------------------------------------------------
def test_the_webhooks_of_grants_addons_prorations_and_plan_changes_are_valid(api, billing_mock, pro, seats,
                                                                             subscription, webhook_checker):
    api.ok("POST", "creditgrants", {"name": "Seat credits", "scope": "ADDON", "addon_id": seats["id"], "credits": "100",
                                    "cadence": "ONETIME", "expiration_type": "NEVER"})
    billing_mock.clock.advance("P10D")
    association = api.ok("POST", "subscriptions/addon", {"subscription_id": subscription["id"], "addon_id": seats["id"],
                                                         "proration_behavior": "create_prorations"})
    api.ok("DELETE", "subscriptions/addon", {"addon_association_id": association["id"]})
    other = plan(api, "Other")
    price(api, other["id"], amount="40")
    changed = api.ok("POST", f"subscriptions/{subscription['id']}/change/execute", {
        "target_plan_id": other["id"], "billing_cadence": "RECURRING", "billing_period": "MONTHLY",
        "billing_cycle": "anniversary", "proration_behavior": "create_prorations"})
    api.ok("POST", f"subscriptions/{changed['new_subscription']['id']}/cancel",
           {"cancellation_type": "immediate", "proration_behavior": "create_prorations"})
    emitted = billing_mock.webhooks
    assert {w["event_type"] for w in emitted} >= {
        "subscription.created", "subscription.updated", "subscription.cancelled", "wallet.created",
        "wallet.transaction.created", "wallet.updated", "invoice.update.finalized"}
    for webhook in emitted:
        webhook_checker.check(webhook["payload"])
    updated = [w["payload"]["subscription"]["id"] for w in emitted if w["event_type"] == "subscription.updated"]
    assert updated.count(subscription["id"]) >= 3  # attach, removal, the cancel of the plan change
