"""Add-ons on subscriptions as the real server attaches and removes them (docs/billing.md "Add-ons";
`internal/ee/service/subscription_addon.go` AttachAddon and DetachAddon, `subscription.go`
createAddonAttachParams, createLineItemFromPrice, materializeAddonCreditGrants,
validateEntitlementCompatibility, `addon.go` GetActiveAddonAssociation, `line_item_proration.go`):
a stored association, the add-on's line items billed from then on, its entitlements and credit
grants, the proration charge and credit, and the associations listed."""
from __future__ import annotations

import pytest

from .billing_api import api, billing_mock, customer, metered_feature, plan, price, subscribe  # noqa: F401 (fixtures)


@pytest.fixture
def pro(api) -> dict:
    created = plan(api)
    price(api, created["id"], amount="10")
    return created


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


@pytest.fixture
def seats(api) -> dict:
    """An add-on of $20 a month in advance that grants 5 seats and 100 credits once."""
    addon = api.ok("POST", "addons", {"name": "Seats", "lookup_key": "seats", "type": "multiple_instance"})
    price(api, addon["id"], amount="20", entity_type="ADDON")
    feature = api.ok("POST", "features", {"name": "Seat count", "type": "static"})
    api.ok("POST", "entitlements", {"entity_type": "ADDON", "entity_id": addon["id"], "feature_id": feature["id"],
                                    "feature_type": "static", "static_value": "5"})
    api.ok("POST", "creditgrants", {"name": "Seat credits", "scope": "ADDON", "addon_id": addon["id"], "credits": "100",
                                    "cadence": "ONETIME", "expiration_type": "NEVER"})
    return addon


def attach(api, subscription_id: str, addon_id: str, **extra) -> dict:
    return api.ok("POST", "subscriptions/addon", {"subscription_id": subscription_id, "addon_id": addon_id, **extra})


def remove(api, association_id: str, **extra) -> dict:
    return api.ok("DELETE", "subscriptions/addon", {"addon_association_id": association_id, **extra})


def invoices(api, subscription_id: str) -> list[dict]:
    found = api.ok("POST", "invoices/search", {"subscription_id": subscription_id})["items"]
    return sorted(found, key=lambda i: (i["created_at"], i["invoice_type"]))


def line_items(api, subscription_id: str) -> list[dict]:
    return api.ok("GET", f"subscriptions/{subscription_id}")["line_items"]


def credit_balance(api, customer_id: str) -> str:
    [wallet] = api.ok("GET", f"customers/{customer_id}/wallets")
    return wallet["credit_balance"]


# -- attaching -------------------------------------------------------------------------------------
def test_an_attached_addon_is_stored_under_the_ids_sent_and_listed(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    association = attach(api, subscription["id"], seats["id"], metadata={"seats": "5"})
    assert {k: association[k] for k in ("addon_id", "entity_id", "entity_type", "addon_status", "start_date",
                                        "metadata")} == {
        "addon_id": seats["id"], "entity_id": subscription["id"], "entity_type": "subscription", "addon_status": "active",
        "start_date": "2026-01-11T00:00:00.000Z", "metadata": {"seats": "5"}}
    assert association["id"].startswith("addon_assoc_") and "end_date" not in association
    [listed] = api.ok("GET", f"subscriptions/{subscription['id']}/addons/associations")
    assert (listed["id"], listed["addon"]["name"]) == (association["id"], "Seats")
    assert billing_mock.outbox[-1]["event_type"] == "subscription.updated"


def test_the_addons_price_becomes_a_line_item_billed_from_the_next_invoice_on(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    association = attach(api, subscription["id"], seats["id"])
    addon_item = next(i for i in line_items(api, subscription["id"]) if i["entity_type"] == "addon")
    assert {k: addon_item[k] for k in ("entity_id", "addon_association_id", "start_date", "display_name", "quantity",
                                       "invoice_cadence")} == {
        "entity_id": seats["id"], "addon_association_id": association["id"], "start_date": "2026-01-11T00:00:00.000Z",
        "display_name": "Seats", "quantity": "1", "invoice_cadence": "ADVANCE"}
    assert addon_item["price"]["amount"] == "20"
    assert [i["total"] for i in invoices(api, subscription["id"])] == ["10"]  # no proration: unbilled until renewal
    billing_mock.clock.to("2026-02-01T00:00:00Z")
    renewal = invoices(api, subscription["id"])[-1]
    assert (renewal["billing_reason"], renewal["total"]) == ("SUBSCRIPTION_CYCLE", "30")
    assert sorted(line["amount"] for line in renewal["line_items"]) == ["10", "20"]


def test_the_addons_entitlements_and_credit_grants_come_with_it(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    attach(api, subscription["id"], seats["id"])
    [feature] = api.ok("GET", f"subscriptions/{subscription['id']}/entitlements")["features"]
    assert (feature["entitlement"]["static_values"], feature["sources"][0]["entity_type"]) == (["5"], "addon")
    assert credit_balance(api, customer_id) == "100"
    [copy] = api.ok("GET", f"subscriptions/{subscription['id']}")["credit_grants"]
    assert (copy["scope"], copy["addon_id"], copy["start_date"]) == ("SUBSCRIPTION", seats["id"], "2026-01-01T00:00:00.000Z")


def test_a_prorated_attach_charges_the_rest_of_the_period_on_a_one_off_invoice(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    attach(api, subscription["id"], seats["id"], proration_behavior="create_prorations")
    charge = next(i for i in invoices(api, subscription["id"]) if i["invoice_type"] == "ONE_OFF")
    # 20 x (21 d - 1 s) / (31 d - 1 s) = 13.548..., rounded
    assert {k: charge[k] for k in ("invoice_status", "billing_reason", "total", "amount_due", "period_start",
                                   "period_end")} == {
        "invoice_status": "FINALIZED", "billing_reason": "SUBSCRIPTION_UPDATE", "total": "13.55", "amount_due": "13.55",
        "period_start": "2026-01-11T00:00:00.000Z", "period_end": "2026-02-01T00:00:00.000Z"}
    [line] = charge["line_items"]
    assert (line["amount"], line["display_name"], line["price_type"]) == ("13.55", "Seats", "FIXED")


def test_a_prorated_attachs_charge_is_taxed_at_the_subscriptions_rates(api, billing_mock, pro, seats, customer_id):
    """`line_item_proration.go` settles the charge through `CreateInvoice` with the subscription's
    id and no rates of its own, so `applyTaxesToInvoice` takes the subscription's."""
    api.ok("POST", "taxes/rates", {"name": "Sales", "code": "SALES", "tax_rate_type": "percentage",
                                   "percentage_value": "10"})
    api.ok("POST", "taxes/associations", {"tax_rate_code": "SALES", "external_customer_id": "A", "auto_apply": True})
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    attach(api, subscription["id"], seats["id"], proration_behavior="create_prorations")
    charge = next(i for i in invoices(api, subscription["id"]) if i["invoice_type"] == "ONE_OFF")
    assert (charge["subtotal"], charge["total_tax"], charge["total"]) == ("13.55", "1.36", "14.91")  # 10 % of 13.55


def test_a_onetime_addon_ends_with_its_billing_period(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    association = attach(api, subscription["id"], seats["id"], cadence="onetime")
    assert association["end_date"] == "2026-02-01T00:00:00.000Z"
    addon_item = next(i for i in line_items(api, subscription["id"]) if i["entity_type"] == "addon")
    assert addon_item["end_date"] == "2026-02-01T00:00:00.000Z"
    api.refused("DELETE", "subscriptions/addon", {"addon_association_id": association["id"]}, "addon_association_id")


def test_a_subscription_created_with_addons_bills_them_from_its_start(api, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"], addons=[{"addon_id": seats["id"]}])
    [opening] = invoices(api, subscription["id"])
    assert (opening["total"], sorted(line["amount"] for line in opening["line_items"])) == ("30", ["10", "20"])
    [association] = api.ok("GET", f"subscriptions/{subscription['id']}/addons/associations")
    assert association["start_date"] == "2026-01-01T00:00:00.000Z"


# -- removing --------------------------------------------------------------------------------------
def test_removing_ends_the_addon_at_the_period_end_by_default(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    association = attach(api, subscription["id"], seats["id"])
    billing_mock.clock.advance("P10D")
    assert remove(api, association["id"], reason="too many") == {"message": "addon removed from subscription successfully"}
    assert api.ok("GET", f"subscriptions/{subscription['id']}/addons/associations") == []
    ended = next(i for i in line_items(api, subscription["id"]) if i["entity_type"] == "addon")
    assert ended["end_date"] == "2026-02-01T00:00:00.000Z"
    assert api.ok("GET", f"subscriptions/{subscription['id']}/entitlements")["features"] == []
    billing_mock.clock.to("2026-02-01T00:00:00Z")
    assert invoices(api, subscription["id"])[-1]["total"] == "10"
    assert billing_mock.outbox[-1]["event_type"] != "subscription.cancelled"


def test_a_prorated_removal_credits_the_unused_part_of_what_was_billed(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.advance("P10D")
    association = attach(api, subscription["id"], seats["id"], proration_behavior="create_prorations")
    billing_mock.clock.advance("P10D")
    remove(api, association["id"], proration_behavior="create_prorations", effective_date="2026-01-21T00:00:00Z")
    # 20 x (11 d - 1 s) / (31 d - 1 s) = 7.0967..., under the 13.55 charged: 100 credits + 7.10
    assert credit_balance(api, customer_id) == "107.1"


def test_cancelling_the_subscription_cancels_its_addons(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    association = attach(api, subscription["id"], seats["id"])
    billing_mock.clock.advance("P5D")
    api.ok("POST", f"subscriptions/{subscription['id']}/cancel", {"cancellation_type": "immediate", "reason": "bye"})
    api.refused("DELETE", "subscriptions/addon", {"addon_association_id": association["id"]}, "addon_association_id")


# -- refusals --------------------------------------------------------------------------------------
def test_an_addon_the_subscription_cannot_take_is_refused_naming_the_field(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    body = {"subscription_id": subscription["id"], "addon_id": seats["id"]}
    assert api("POST", "subscriptions/addon", {**body, "addon_id": "addon_missing"}).status_code == 404
    assert api("POST", "subscriptions/addon", {**body, "subscription_id": "subs_missing"}).status_code == 404
    bare = api.ok("POST", "addons", {"name": "Bare", "lookup_key": "bare"})
    api.refused("POST", "subscriptions/addon", {**body, "addon_id": bare["id"]}, "addon_id")
    euro = api.ok("POST", "addons", {"name": "Euro", "lookup_key": "euro"})
    price(api, euro["id"], entity_type="ADDON", currency="eur")
    api.refused("POST", "subscriptions/addon", {**body, "addon_id": euro["id"]}, "addon_id")
    api.refused("POST", "subscriptions/addon", {**body, "start_date": "2025-12-01T00:00:00Z", "cadence": "onetime"},
                "start_date")
    api.ok("POST", f"subscriptions/{subscription['id']}/cancel", {"cancellation_type": "immediate"})
    api.refused("POST", "subscriptions/addon", body, "subscription_id")


def test_an_addon_resetting_a_metered_feature_otherwise_than_the_plan_is_refused(api, customer_id):
    metered = plan(api, "Metered")
    price(api, metered["id"], amount="10")
    tokens = metered_feature(api)
    api.ok("POST", "entitlements", {"entity_type": "PLAN", "entity_id": metered["id"], "feature_id": tokens["id"],
                                    "feature_type": "metered", "usage_limit": 100, "usage_reset_period": "MONTHLY"})
    daily = api.ok("POST", "addons", {"name": "Daily", "lookup_key": "daily"})
    price(api, daily["id"], entity_type="ADDON")
    api.ok("POST", "entitlements", {"entity_type": "ADDON", "entity_id": daily["id"], "feature_id": tokens["id"],
                                    "feature_type": "metered", "usage_limit": 10, "usage_reset_period": "DAILY"})
    subscription = subscribe(api, customer_id, metered["id"])
    api.refused("POST", "subscriptions/addon", {"subscription_id": subscription["id"], "addon_id": daily["id"]},
                "addon_id")


def test_a_removal_the_server_rejects_is_refused_naming_the_field(api, billing_mock, pro, seats, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    association = attach(api, subscription["id"], seats["id"])
    assert api("DELETE", "subscriptions/addon", {"addon_association_id": "addon_assoc_missing"}).status_code == 404
    api.refused("DELETE", "subscriptions/addon", {"addon_association_id": association["id"],
                                                  "effective_date": "2026-03-01T00:00:00Z"}, "effective_date")
    remove(api, association["id"])
    api.refused("DELETE", "subscriptions/addon", {"addon_association_id": association["id"]}, "addon_association_id")
