"""Prices as the real server checks and charges them (BILLING.md section 2): validation that
names the refused field, the amount of each billing model for a quantity (exact decimals), and
rounding to the currency's precision, once per line, half away from zero."""
from __future__ import annotations

from decimal import Decimal

import pytest

from mock_server.domain.billing import money, pricing

from .billing_api import (  # noqa: F401 (fixtures)
    SLAB_TIERS,
    VOLUME_TIERS,
    api,
    billing_mock,
    customer,
    ingest,
    metered_feature,
    plan,
    price,
    price_body,
    subscribe,
    usage_price,
)

FLAT = {"billing_model": "FLAT_FEE", "amount": "0.0123"}
PACKAGE = {"billing_model": "PACKAGE", "amount": "5", "transform_quantity": {"divide_by": 100}}
PACKAGE_DOWN = {"billing_model": "PACKAGE", "amount": "5", "transform_quantity": {"divide_by": 100, "round": "down"}}
VOLUME = {"billing_model": "TIERED", "tier_mode": "VOLUME", "tiers": VOLUME_TIERS}
SLAB = {"billing_model": "TIERED", "tier_mode": "SLAB", "tiers": SLAB_TIERS}


# -- the amount for a quantity (unit tests of the cost functions) ----------------------------------
@pytest.mark.parametrize(("model", "units", "amount"), [
    (FLAT, "170", "2.0910"), (FLAT, "1", "0.0123"), ({"billing_model": "FLAT_FEE", "amount": "10"}, "1", "10"),
    (PACKAGE, "170", "10"), (PACKAGE, "100", "5"), (PACKAGE, "101", "10"), (PACKAGE, "1", "5"),
    (PACKAGE_DOWN, "170", "5"), (PACKAGE_DOWN, "99", "0"), (PACKAGE_DOWN, "200", "10"),
    (VOLUME, "170", "10.50"), (VOLUME, "100", "10.00"), (VOLUME, "101", "7.05"), (VOLUME, "1000", "52.00"),
    (VOLUME, "1001", "10.01"), (VOLUME, "100.5", "7.025"),
    (SLAB, "170", "14.50"), (SLAB, "100", "10.00"), (SLAB, "101", "11.05"), (SLAB, "50", "5.00"),
])
def test_each_billing_model_charges_its_worked_amount(model, units, amount):
    assert pricing.cost(model, Decimal(units)) == Decimal(amount)


@pytest.mark.parametrize("model", [FLAT, PACKAGE, PACKAGE_DOWN, VOLUME, SLAB])
def test_no_quantity_costs_nothing_in_every_model(model):
    assert pricing.cost(model, Decimal(0)) == 0


def test_volume_tiers_are_sorted_by_up_to_before_one_is_picked():
    shuffled = {**VOLUME, "tiers": [VOLUME_TIERS[2], VOLUME_TIERS[1], VOLUME_TIERS[0]]}
    assert pricing.cost(shuffled, Decimal(170)) == Decimal("10.50")


def test_slab_charges_a_later_tiers_flat_fee_only_when_units_reach_it():
    tiers = [{"up_to": 100, "unit_amount": "0.10", "flat_amount": "1"}, {"unit_amount": "0.05", "flat_amount": "3"}]
    slab = {**SLAB, "tiers": tiers}
    assert pricing.cost(slab, Decimal(100)) == Decimal("11.00")
    assert pricing.cost(slab, Decimal(101)) == Decimal("14.05")


def test_a_package_that_divides_by_nothing_costs_nothing():
    assert pricing.cost({**PACKAGE, "transform_quantity": {"divide_by": 0}}, Decimal(170)) == 0


@pytest.mark.parametrize(("amount", "currency", "line"), [
    ("2.091", "usd", "2.09"), ("2.095", "usd", "2.10"), ("0.125", "eur", "0.13"), ("-0.125", "usd", "-0.13"),
    ("2.5", "jpy", "3"), ("2.091", "JPY", "2"), ("1234.5", "krw", "1235"), ("2.0915", "kwd", "2.092"),
    ("2.09115", "clf", "2.0912"), ("2.091", "xyz", "2.09"),
    pytest.param("2.0915", "bhd", "2.09"),
])
def test_a_line_is_rounded_half_away_from_zero_to_its_currencys_precision(amount, currency, line):
    assert money.rounded(Decimal(amount), currency) == Decimal(line)


@pytest.mark.parametrize(("amount", "text"), [
    ("10.50", "10.5"), ("55.860", "55.86"), ("0.00", "0"), ("10", "10"), ("1E+1", "10"), ("0.0000001", "0.0000001")])
def test_amounts_are_written_as_plain_decimal_strings(amount, text):
    assert money.text(Decimal(amount)) == text


# -- validation over HTTP --------------------------------------------------------------------------
@pytest.fixture
def plan_id(api) -> str:
    return plan(api)["id"]


@pytest.fixture
def meter_id(api) -> str:
    return metered_feature(api)["meter_id"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"type": "USAGE", "invoice_cadence": "ARREAR"}, "meter_id"),
    ({"type": "USAGE", "meter_id": "<meter>", "invoice_cadence": "ADVANCE"}, "invoice_cadence"),
    ({"type": "USAGE", "meter_id": "<meter>", "invoice_cadence": "ARREAR", "min_quantity": 2}, "min_quantity"),
    ({"billing_model": "TIERED", "tier_mode": "VOLUME"}, "tiers"),
    ({"billing_model": "TIERED", "tier_mode": "VOLUME", "tiers": []}, "tiers"),
    ({"billing_model": "TIERED", "tier_mode": "SLAB", "tiers": [{"up_to": 10, "unit_amount": "-1"}]},
     "tiers[0].unit_amount"),
    ({"billing_model": "TIERED", "tier_mode": "SLAB", "tiers": [{"unit_amount": "lots"}]}, "tiers[0].unit_amount"),
    pytest.param({"billing_model": "PACKAGE", "amount": "5"}, "transform_quantity"),
    ({"billing_model": "PACKAGE", "amount": "5", "transform_quantity": {"divide_by": 0}}, "transform_quantity.divide_by"),
    ({"billing_model": "PACKAGE", "amount": None, "transform_quantity": {"divide_by": 100}}, "amount"),
    ({"billing_model": "FLAT_FEE", "amount": None}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"amount": "ten dollars"}, "amount"),
    ({"billing_period": "ONETIME", "invoice_cadence": "ARREAR"}, "invoice_cadence"),
    ({"type": "USAGE", "meter_id": "<meter>", "invoice_cadence": "ARREAR", "trial_period_days": 7}, "trial_period_days"),
])
def test_a_price_the_real_server_refuses_is_a_400_naming_the_field(api, plan_id, meter_id, fields, field):
    body = price_body(plan_id, **{k: meter_id if v == "<meter>" else v for k, v in fields.items()})
    api.refused("POST", "prices", {k: v for k, v in body.items() if v is not None}, field)


def test_a_usage_price_on_an_unknown_meter_is_a_404_naming_meter_id(api, plan_id):
    response = api("POST", "prices", price_body(plan_id, type="USAGE", meter_id="meter_missing", invoice_cadence="ARREAR"))
    assert response.status_code == 404
    assert response.json()["details"] == {"meter_id": {"value": "meter_missing"}}


def test_a_price_is_stored_recurring_with_its_display_name_from_the_meter_or_the_plan(api):
    pro = plan(api, "Pro")
    meter = metered_feature(api, "Tokens")
    usage = usage_price(api, pro["id"], meter["meter_id"], amount="0.0123")
    fixed = price(api, pro["id"])
    assert (usage["billing_cadence"], usage["display_name"], usage["meter_id"]) == ("RECURRING", "tokens", meter["meter_id"])
    assert (fixed["billing_cadence"], fixed["display_name"], fixed["amount"]) == ("RECURRING", "Pro", "10")
    assert api.ok("GET", f"prices/{usage['id']}")["meter_id"] == meter["meter_id"]


# -- amounts over HTTP: /subscriptions/usage on 170 tokens ----------------------------------------
def charges_on_170_tokens(api, currency: str = "usd", **models: dict) -> dict:
    """`/subscriptions/usage` of a subscription with one usage price per model on a SUM meter
    that measured 170 tokens: {model name: (quantity, amount, display_amount)} and the total."""
    pro = plan(api)
    meter_id = metered_feature(api)["meter_id"]
    names = {usage_price(api, pro["id"], meter_id, currency=currency, display_name=name, **model)["id"]: name
             for name, model in models.items()}
    subscription = subscribe(api, customer(api)["id"], pro["id"], currency=currency)
    for tokens in (40, 70, 60):
        ingest(api, tokens)
    usage = api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"]})
    assert (usage["currency"], usage["start_time"], usage["end_time"]) == (
        currency, "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z")
    found = {names[c["price"]["id"]]: (c["quantity"], c["amount"], c["display_amount"]) for c in usage["charges"]}
    return {**found, "total": (usage["amount"], usage["display_amount"])}


def test_subscription_usage_charges_each_billing_model_its_worked_amount(api):
    charges = charges_on_170_tokens(api, flat=FLAT, package=PACKAGE, package_down=PACKAGE_DOWN, volume=VOLUME, slab=SLAB)
    assert charges == {
        "flat": (170, 2.09, "2.09"), "package": (170, 10, "10"), "package_down": (170, 5, "5"),
        "volume": (170, 10.5, "10.5"), "slab": (170, 14.5, "14.5"),
        "total": (42.09, "42.09"),  # round(2.091 + 10 + 5 + 10.50 + 14.50)
    }


def test_subscription_usage_total_rounds_the_sum_of_unrounded_charges(api):
    third = {"billing_model": "FLAT_FEE", "amount": "0.00003"}  # 170 x 0.00003 = 0.0051 each
    charges = charges_on_170_tokens(api, a=third, b=third)
    assert (charges["a"], charges["b"], charges["total"]) == ((170, 0.01, "0.01"), (170, 0.01, "0.01"), (0.01, "0.01"))


@pytest.mark.parametrize(("currency", "display"), [("usd", "2.09"), ("jpy", "2"), ("kwd", "2.091"), ("clf", "2.091")])
def test_a_charge_is_rounded_to_its_currencys_precision(api, currency, display):
    charges = charges_on_170_tokens(api, currency, flat=FLAT)
    assert charges["flat"][2] == display and charges["total"][1] == display
