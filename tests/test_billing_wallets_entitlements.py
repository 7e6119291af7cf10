"""Wallets and entitlements as the real server computes them (BILLING.md sections 5 and 6):
credits and their money value, top-ups by credits or by amount, the real-time balance less the
current period's usage charges (200 - 45.86), entitlements aggregated across a customer's live
subscriptions, and usage against them ("1.7" of the limit)."""
from __future__ import annotations

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
    worked_subscription,
)


def wallet(api, customer_id: str, **extra) -> dict:
    return api.ok("POST", "wallets", {"customer_id": customer_id, "currency": "usd", **extra})


def top_up(api, wallet_id: str, **body) -> dict:
    return api.ok("POST", f"wallets/{wallet_id}/top-up", {"transaction_reason": "PURCHASED_CREDIT_DIRECT", **body})


def balances(found: dict) -> tuple[str, str]:
    return found["credit_balance"], found["balance"]


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


# -- wallets ---------------------------------------------------------------------------------------
def test_a_top_up_by_credits_then_by_amount_at_a_conversion_rate_of_2(api, customer_id):
    created = wallet(api, customer_id, conversion_rate="2")
    assert (created["wallet_status"], created["wallet_type"], balances(created)) == ("active", "PRE_PAID", ("0", "0"))
    assert created["config"] == {"allowed_price_types": ["USAGE"]}
    by_credits = top_up(api, created["id"], credits_to_add="100")
    assert balances(by_credits["wallet"]) == ("100", "200")
    transaction = by_credits["wallet_transaction"]
    assert {k: transaction[k] for k in ("type", "transaction_status", "transaction_reason", "credit_amount", "amount",
                                        "credit_balance_before", "credit_balance_after")} == {
        "type": "credit", "transaction_status": "completed", "transaction_reason": "PURCHASED_CREDIT_DIRECT",
        "credit_amount": "100", "amount": "200", "credit_balance_before": "0", "credit_balance_after": "100"}
    assert transaction["id"].startswith("wtxn_")
    by_amount = top_up(api, created["id"], amount="50")
    assert balances(by_amount["wallet"]) == ("125", "250")
    assert (by_amount["wallet_transaction"]["credit_amount"], by_amount["wallet_transaction"]["amount"]) == ("25", "50")
    assert balances(api.ok("GET", f"wallets/{created['id']}")) == ("125", "250")


def test_a_top_up_in_exponent_form_is_written_out_and_one_the_column_cannot_hold_is_refused(api, customer_id):
    """The server's wallet columns are numeric(20,9): 11 digits before the point at most."""
    created = wallet(api, customer_id)
    assert balances(top_up(api, created["id"], credits_to_add="1e10")["wallet"]) == ("1" + "0" * 10, "1" + "0" * 10)
    api.refused("POST", f"wallets/{created['id']}/top-up",
                {"transaction_reason": "PURCHASED_CREDIT_DIRECT", "credits_to_add": "1e40"}, "credits_to_add")


def test_a_top_up_by_amount_uses_the_top_up_conversion_rate(api, customer_id):
    created = wallet(api, customer_id, conversion_rate="2", topup_conversion_rate="4")
    assert balances(top_up(api, created["id"], amount="100")["wallet"]) == ("25", "50")


def test_initial_credits_are_loaded_as_a_free_grant(api, customer_id):
    created = wallet(api, customer_id, conversion_rate="0.5", initial_credits_to_load="30")
    assert balances(created) == ("30", "15")


def test_a_conversion_rate_of_zero_or_less_is_taken_as_1(api, customer_id):
    created = wallet(api, customer_id, conversion_rate="0")
    assert created["conversion_rate"] == "1"
    assert balances(top_up(api, created["id"], credits_to_add="7")["wallet"]) == ("7", "7")


@pytest.mark.parametrize(("body", "field"), [
    ({"credits_to_add": "0"}, "credits_to_add"), ({"credits_to_add": "-5"}, "credits_to_add"),
    ({}, "credits_to_add"), ({"credits_to_add": "lots"}, "credits_to_add"), ({"amount": "ten"}, "amount"),
    ({"credits_to_add": "1e30"}, "credits_to_add"),  # more than the real server stores (numeric(20,9))
    ({"credits_to_add": "5", "transaction_reason": "INVOICE_PAYMENT"}, "transaction_reason"),
])
def test_a_top_up_the_real_server_refuses_is_a_400_naming_the_field(api, customer_id, body, field):
    created = wallet(api, customer_id)
    api.refused("POST", f"wallets/{created['id']}/top-up", {"transaction_reason": "PURCHASED_CREDIT_DIRECT", **body}, field)
    assert balances(api.ok("GET", f"wallets/{created['id']}")) == ("0", "0")


@pytest.mark.parametrize(("body", "field"), [
    ({"conversion_rate": "two"}, "conversion_rate"), ({"initial_credits_to_load": "-1"}, "initial_credits_to_load"),
    ({"customer_id": None}, "customer_id"),
])
def test_a_wallet_the_real_server_refuses_is_a_400_naming_the_field(api, customer_id, body, field):
    request = {"customer_id": customer_id, "currency": "usd", **body}
    api.refused("POST", "wallets", {k: v for k, v in request.items() if v is not None}, field)


def test_one_active_wallet_per_customer_currency_and_type(api, customer_id):
    wallet(api, customer_id)
    response = api("POST", "wallets", {"customer_id": customer_id, "currency": "USD"})
    assert response.status_code == 409 and response.json()["code"] == "already_exists"
    assert wallet(api, customer_id, wallet_type="POST_PAID")["config"] == {"allowed_price_types": ["ALL"]}
    assert wallet(api, customer_id, currency="eur")["currency"] == "eur"


def real_time(api, wallet_id: str) -> dict:
    return api.ok("GET", f"wallets/{wallet_id}/balance/real-time")


def test_the_real_time_balance_is_the_balance_less_the_periods_usage_charges(api):
    subscription = worked_subscription(api)
    created = wallet(api, subscription["customer_id"], conversion_rate="2")
    top_up(api, created["id"], credits_to_add="100")
    found = real_time(api, created["id"])
    assert {k: found[k] for k in ("balance", "credit_balance", "real_time_balance", "real_time_credit_balance",
                                  "current_period_usage", "unpaid_invoices_amount")} == {
        "balance": "200", "credit_balance": "100", "real_time_balance": "154.14", "real_time_credit_balance": "77.07",
        "current_period_usage": "45.86", "unpaid_invoices_amount": "0"}
    assert balances(api.ok("GET", f"wallets/{created['id']}")) == ("100", "200")  # nothing was debited


def renewed_with_wallet(api, billing_mock) -> tuple[str, str]:
    """The worked subscription a month on (its renewal of 55.86, 45.86 of it usage, unpaid) and a
    wallet of 100 credits at a rate of 2 made after the renewal, which so drew nothing from it:
    (wallet id, renewal invoice id)."""
    subscription = worked_subscription(api)
    billing_mock.clock.advance("P1M")
    created = wallet(api, subscription["customer_id"], conversion_rate="2")
    top_up(api, created["id"], credits_to_add="100")
    renewal = next(i for i in api.ok("POST", "invoices/search", {"subscription_id": subscription["id"]})["items"]
                   if i["billing_reason"] == "SUBSCRIPTION_CYCLE")
    return created["id"], renewal["id"]


def test_after_the_renewal_its_unpaid_usage_holds_the_balance_until_paid(api, billing_mock):
    wallet_id, renewal_id = renewed_with_wallet(api, billing_mock)
    assert real_time(api, wallet_id)["real_time_balance"] == "154.14"
    assert pay(api, renewal_id, "PENDING", "40").status_code == 200
    assert real_time(api, wallet_id)["real_time_balance"] == "194.14"  # 45.86 of usage less 40 paid
    assert pay(api, renewal_id, "SUCCEEDED").status_code == 200
    assert real_time(api, wallet_id)["real_time_balance"] == "200"


def test_current_period_usage_is_all_that_is_pending_and_unpaid_is_the_unpaid_usage(api, billing_mock):
    wallet_id, renewal_id = renewed_with_wallet(api, billing_mock)
    found = real_time(api, wallet_id)
    assert (found["current_period_usage"], found["unpaid_invoices_amount"]) == ("45.86", "45.86")
    assert pay(api, renewal_id, "PENDING", "40").status_code == 200
    found = real_time(api, wallet_id)
    assert (found["current_period_usage"], found["unpaid_invoices_amount"]) == ("5.86", "45.86")


def test_a_payment_beyond_an_unpaid_invoices_usage_counts_in_the_real_time_balance(api, billing_mock):
    wallet_id, renewal_id = renewed_with_wallet(api, billing_mock)
    assert pay(api, renewal_id, "PENDING", "50").status_code == 200
    assert real_time(api, wallet_id)["real_time_balance"] == "204.14"


def test_a_wallet_in_another_currency_or_post_paid_sees_no_usage(api):
    subscription = worked_subscription(api)
    eur = wallet(api, subscription["customer_id"], currency="eur", initial_credits_to_load="10")
    post_paid = wallet(api, subscription["customer_id"], wallet_type="POST_PAID", initial_credits_to_load="10")
    for found in (real_time(api, eur["id"]), real_time(api, post_paid["id"])):
        assert (found["real_time_balance"], found["current_period_usage"]) == ("10", "0")


def test_a_void_refund_is_a_top_up_by_amount_at_the_top_up_rate(api, customer_id):
    created = wallet(api, customer_id, conversion_rate="2", topup_conversion_rate="4")
    invoice = api.ok("POST", "invoices", {"customer_id": customer_id, "currency": "usd", "amount_due": "10",
                                          "subtotal": "10", "total": "10", "invoice_type": "ONE_OFF"})
    assert pay(api, invoice["id"], "SUCCEEDED").status_code == 200
    api.ok("POST", f"invoices/{invoice['id']}/void")
    assert balances(api.ok("GET", f"wallets/{created['id']}")) == ("2.5", "5")


def test_a_terminated_wallet_has_no_real_time_balance_and_takes_no_top_up(api, customer_id):
    created = wallet(api, customer_id, initial_credits_to_load="10")
    assert api.ok("POST", f"wallets/{created['id']}/terminate")["wallet_status"] == "closed"
    assert real_time(api, created["id"])["real_time_balance"] == "0"
    response = api("POST", f"wallets/{created['id']}/top-up", {"transaction_reason": "FREE_CREDIT_GRANT",
                                                              "credits_to_add": "5"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_operation"


# -- entitlements ----------------------------------------------------------------------------------
def entitle(api, plan_id: str, feature: dict, **extra) -> dict:
    return api.ok("POST", "entitlements", {"entity_type": "PLAN", "entity_id": plan_id, "feature_id": feature["id"],
                                           "feature_type": feature["type"], **extra})


def priced_plan(api, name: str) -> dict:
    found = plan(api, name)
    price(api, found["id"])
    return found


def feature(api, name: str, kind: str) -> dict:
    return api.ok("POST", "features", {"name": name, "type": kind})


def by_feature(found: dict) -> dict:
    return {f["feature"]["name"]: f for f in found["features"]}


def test_metered_entitlements_are_always_enabled_and_static_ones_need_a_value(api):
    tokens = metered_feature(api)
    pro = plan(api)
    assert entitle(api, pro["id"], tokens, usage_limit=100, is_enabled=False)["is_enabled"] is True
    colour = feature(api, "Colour", "static")
    api.refused("POST", "entitlements", {"entity_type": "PLAN", "entity_id": pro["id"], "feature_id": colour["id"],
                                         "feature_type": "static"}, "static_value")
    api.refused("POST", "entitlements", {"entity_type": "PLAN", "entity_id": pro["id"], "feature_id": colour["id"],
                                         "feature_type": "metered"}, "feature_type")


def test_a_customers_entitlements_add_up_across_its_live_subscriptions(api, customer_id):
    tokens, sso = metered_feature(api), feature(api, "SSO", "boolean")
    colour = feature(api, "Colour", "static")
    starter, pro = priced_plan(api, "Starter"), priced_plan(api, "Pro")
    entitle(api, starter["id"], tokens, usage_limit=100, usage_reset_period="MONTHLY")
    entitle(api, pro["id"], tokens, usage_limit=50, usage_reset_period="MONTHLY", is_soft_limit=True)
    entitle(api, starter["id"], sso, is_enabled=False)
    entitle(api, pro["id"], sso, is_enabled=True)
    entitle(api, starter["id"], colour, static_value="red")
    entitle(api, pro["id"], colour, static_value="blue")
    first, second = subscribe(api, customer_id, starter["id"]), subscribe(api, customer_id, pro["id"])
    found = api.ok("GET", f"customers/{customer_id}/entitlements")
    assert found["customer_id"] == customer_id
    assert sorted(s["id"] for s in found["subscriptions"]) == sorted([first["id"], second["id"]])
    features = by_feature(found)
    assert sorted(features) == ["Colour", "SSO", "Tokens"]
    metered = features["Tokens"]["entitlement"]
    assert (metered["usage_limit"], metered["is_soft_limit"], metered["usage_reset_period"], metered["is_enabled"]) == (
        150, True, "MONTHLY", True)
    assert sorted((s["subscription_id"], s["entity_type"], s["usage_limit"]) for s in features["Tokens"]["sources"]) == \
        sorted([(first["id"], "plan", 100), (second["id"], "plan", 50)])
    assert features["SSO"]["entitlement"]["is_enabled"] is True
    assert [s["subscription_id"] for s in features["SSO"]["sources"]] == [second["id"]]  # a disabled one counts not
    assert sorted(features["Colour"]["entitlement"]["static_values"]) == ["blue", "red"]


def test_an_unlimited_contributor_makes_the_feature_unlimited(api, customer_id):
    tokens = metered_feature(api)
    starter, unlimited = priced_plan(api, "Starter"), priced_plan(api, "Unlimited")
    entitle(api, starter["id"], tokens, usage_limit=100)
    entitle(api, unlimited["id"], tokens)
    subscribe(api, customer_id, starter["id"])
    subscribe(api, customer_id, unlimited["id"])
    entitlement = by_feature(api.ok("GET", f"customers/{customer_id}/entitlements"))["Tokens"]["entitlement"]
    assert entitlement.get("usage_limit") is None and entitlement["is_enabled"] is True


def test_a_cancelled_subscription_drops_out_of_the_entitlements(api, customer_id):
    tokens = metered_feature(api)
    starter, pro = priced_plan(api, "Starter"), priced_plan(api, "Pro")
    entitle(api, starter["id"], tokens, usage_limit=100)
    entitle(api, pro["id"], tokens, usage_limit=50)
    subscribe(api, customer_id, starter["id"])
    second = subscribe(api, customer_id, pro["id"])
    api.ok("POST", f"subscriptions/{second['id']}/cancel", {"cancellation_type": "immediate"})
    found = api.ok("GET", f"customers/{customer_id}/entitlements")
    assert by_feature(found)["Tokens"]["entitlement"]["usage_limit"] == 100
    assert second["id"] not in [s["id"] for s in found["subscriptions"]]
    assert api.ok("GET", f"subscriptions/{second['id']}/entitlements")["features"][0]["entitlement"]["usage_limit"] == 50


def test_a_subscriptions_entitlements_are_its_plans(api, customer_id):
    tokens, sso = metered_feature(api), feature(api, "SSO", "boolean")
    starter, pro = priced_plan(api, "Starter"), priced_plan(api, "Pro")
    entitle(api, starter["id"], tokens, usage_limit=100)
    entitle(api, pro["id"], sso, is_enabled=True)
    first = subscribe(api, customer_id, starter["id"])
    subscribe(api, customer_id, pro["id"])
    found = api.ok("GET", f"subscriptions/{first['id']}/entitlements")
    assert (found["subscription_id"], found["plan_id"]) == (first["id"], starter["id"])
    assert [(f["feature"]["name"], f["entitlement"]["usage_limit"]) for f in found["features"]] == [("Tokens", 100)]


def test_a_customer_without_entitled_features_has_none(api, customer_id):
    subscribe(api, customer_id, priced_plan(api, "Bare")["id"])
    assert api.ok("GET", f"customers/{customer_id}/entitlements")["features"] == []


def test_entitlements_of_an_unknown_customer_are_a_404(api):
    assert api("GET", "customers/cust_missing/entitlements").status_code == 404


# -- usage against the entitlements ----------------------------------------------------------------
def usage_summary(api, **params) -> dict:
    return api.ok("GET", "customers/usage", **params)


def test_the_usage_summary_measures_the_period_against_the_limit(api):
    subscription = worked_subscription(api)
    found = usage_summary(api, customer_id=subscription["customer_id"])
    [per_unit] = found["features"]
    assert {k: per_unit[k] for k in ("current_usage", "total_limit", "usage_percent", "is_unlimited", "is_enabled",
                                     "is_soft_limit", "next_usage_reset_at")} == {
        "current_usage": "170", "total_limit": 100, "usage_percent": "1.7", "is_unlimited": False, "is_enabled": True,
        "is_soft_limit": False, "next_usage_reset_at": "2026-02-01T00:00:00.000Z"}
    assert per_unit["feature"]["id"] == subscription["features"]["per_unit"]["id"]
    assert found["period"]["start_time"] == "2026-01-01T00:00:00.000Z"
    assert usage_summary(api, customer_lookup_key="A")["features"][0]["usage_percent"] == "1.7"


@pytest.mark.parametrize(("allowance", "percent", "unlimited"), [(None, "0", True), (0, "100", False),
                                                                 (400, "0.425", False)])
def test_usage_percent_is_0_when_unlimited_and_100_for_no_allowance(api, allowance, percent, unlimited):
    subscription = worked_subscription(api, allowance=allowance)
    [per_unit] = usage_summary(api, customer_id=subscription["customer_id"])["features"]
    assert (per_unit["usage_percent"], per_unit["is_unlimited"], per_unit["current_usage"]) == (percent, unlimited, "170")


def test_the_usage_summary_needs_a_customer(api):
    api.refused("GET", "customers/usage", None, "customer_id")


def test_a_spec_without_wallet_transaction_paths_still_tops_up_and_keeps_the_balance(full_spec):
    """The services keep what they make (a top-up's transaction, a subscription's line items)
    even when the served spec has no paths for it: no 500 on a spec subset."""
    import json

    from flexprice_spec.document import Spec
    from mock_server.app import create_app

    document = json.loads(full_spec.read_text())
    document["paths"] = {path: item for path, item in document["paths"].items()
                         if path in ("/customers", "/wallets", "/wallets/{id}", "/wallets/{id}/top-up")}
    client = create_app(Spec(document), api_keys=["k"]).test_client()
    client.headers["x-api-key"] = "k"
    customer = client.post("/v1/customers", json={"external_id": "subset", "name": "Subset"}).json()
    created = client.post("/v1/wallets", json={"customer_id": customer["id"], "currency": "usd",
                                               "initial_credits_to_load": "5"})
    assert (created.status_code, created.json()["credit_balance"]) == (200, "5")
    top_up = client.post(f"/v1/wallets/{created.json()['id']}/top-up",
                         json={"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT"})
    assert (top_up.status_code, top_up.json()["wallet"]["credit_balance"]) == (200, "15")
    assert top_up.json()["wallet_transaction"]["id"].startswith("wtxn_")
