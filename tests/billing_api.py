"""What the billing tests share: a live mock of the full spec with a frozen clock (one per test
module, reset before each test), a client whose every answer is checked against the spec, and
builders for the catalogue, customers, subscriptions and events of BILLING.md's worked examples.
Test modules import the fixtures `billing_mock` and `api` from here."""
from __future__ import annotations

import httpx
import pytest

from mock_server import MockServer

START = "2026-01-01T00:00:00Z"  # the frozen clock; a monthly subscription made now ends Feb 1
VOLUME_TIERS = [{"up_to": 100, "unit_amount": "0.10"}, {"up_to": 1000, "unit_amount": "0.05", "flat_amount": "2"},
                {"unit_amount": "0.01"}]
SLAB_TIERS = [{"up_to": 100, "unit_amount": "0.10"}, {"unit_amount": "0.05", "flat_amount": "1"}]


class Api:
    """`api("POST", "customers", {...})`: the response, already checked against the spec."""

    def __init__(self, client: httpx.Client, checker) -> None:
        self.client, self.checker = client, checker

    def __call__(self, method: str, path: str, body: object = None, **params) -> httpx.Response:
        response = self.client.request(method, path, json=body, params=params or None)
        self.checker.check(response)
        assert response.status_code < 500, response.text
        return response

    def ok(self, method: str, path: str, body: object = None, **params) -> dict:
        response = self(method, path, body, **params)
        assert 200 <= response.status_code < 300, f"{method} {path} -> {response.status_code}: {response.text}"
        return response.json() if response.content else {}

    def refused(self, method: str, path: str, body: object, field: str, code: str = "validation_error") -> dict:
        """A 400 envelope whose details name `field`."""
        response = self(method, path, body)
        assert response.status_code == 400, response.text
        error = response.json()
        assert (error["code"], error["http_status_code"]) == (code, 400), error
        assert error["details"]["field"] == {"value": field}, error
        return error


@pytest.fixture(scope="module")
def billing_mock(full_spec, _store_options):
    with MockServer(spec=full_spec, clock=START, **_store_options) as mock:
        yield mock


@pytest.fixture
def api(billing_mock, full_checker) -> Api:
    """A fresh mock (reset, which also resets the clock to START)."""
    billing_mock.reset()
    with httpx.Client(base_url=billing_mock.url + "/", headers={"x-api-key": billing_mock.api_key},
                      timeout=10) as client:
        yield Api(client, full_checker)


# -- builders ------------------------------------------------------------------------------------
def metered_feature(api: Api, name: str = "Tokens", aggregation: str = "SUM", field: str | None = "tokens",
                    filters: list[dict] | None = None, event_name: str = "llm", **extra) -> dict:
    meter = {"name": name.lower(), "event_name": event_name, "aggregation": {"type": aggregation, **extra},
             "reset_usage": "BILLING_PERIOD"}
    if field:
        meter["aggregation"]["field"] = field
    if filters:
        meter["filters"] = filters
    return api.ok("POST", "features", {"name": name, "type": "metered", "meter": meter})


def plan(api: Api, name: str = "Pro") -> dict:
    return api.ok("POST", "plans", {"name": name})


def price_body(plan_id: str, **fields) -> dict:
    """A monthly usd plan price: $10 FIXED FLAT_FEE in ADVANCE unless told otherwise."""
    return {"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10", "currency": "usd", "entity_type": "PLAN",
            "entity_id": plan_id, "billing_period": "MONTHLY", "invoice_cadence": "ADVANCE",
            "price_unit_type": "FIAT", **fields}


def price(api: Api, plan_id: str, **fields) -> dict:
    """A plan price; a field given as None is left out (`amount=None` for a TIERED price)."""
    return api.ok("POST", "prices", {k: v for k, v in price_body(plan_id, **fields).items() if v is not None})


def usage_price(api: Api, plan_id: str, meter_id: str, **fields) -> dict:
    return price(api, plan_id, type="USAGE", meter_id=meter_id, invoice_cadence="ARREAR", **fields)


def customer(api: Api, external_id: str = "A") -> dict:
    return api.ok("POST", "customers", {"external_id": external_id, "name": f"Customer {external_id}"})


def subscribe(api: Api, customer_id: str, plan_id: str, **extra) -> dict:
    return api.ok("POST", "subscriptions", {"customer_id": customer_id, "plan_id": plan_id, "currency": "usd",
                                            "billing_period": "MONTHLY", **extra})


def ingest(api: Api, tokens: object, model: str = "gpt-4", at: str = "2026-01-05T00:00:00Z", event_id: str | None = None,
           customer_id: str = "A", event_name: str = "llm", **properties) -> None:
    body = {"event_name": event_name, "external_customer_id": customer_id, "timestamp": at,
            "properties": {"tokens": str(tokens), "model": model, **properties}}
    if event_id:
        body["event_id"] = event_id
    assert api.ok("POST", "events", body)["message"] == "Event accepted for processing"


def worked_events(api: Api, day: str = "2026-01-0") -> None:
    """BILLING.md's events: customer A's 40 (gpt-4), 70 (gpt-3.5), 60 (gpt-4), the first re-sent
    with the same id, 1000 for another customer, 500 under another event name."""
    ingest(api, 40, "gpt-4", f"{day}2T10:00:00Z", "evt-1")
    ingest(api, 70, "gpt-3.5", f"{day}3T10:00:00Z", "evt-2")
    ingest(api, 60, "gpt-4", f"{day}4T10:00:00Z", "evt-3")
    ingest(api, 40, "gpt-4", f"{day}2T10:00:00Z", "evt-1")
    ingest(api, 1000, "gpt-4", f"{day}3T11:00:00Z", "evt-4", customer_id="B")
    ingest(api, 500, "gpt-4", f"{day}3T12:00:00Z", "evt-5", event_name="embedding")


def worked_subscription(api, allowance: object = 100, reset: str = "MONTHLY") -> dict:
    """BILLING.md's worked example: a plan with a $10 monthly ADVANCE fee and five usage prices
    (per unit 0.0123 on its own "per unit" feature, VOLUME, SLAB and PACKAGE on tokens, 0.10 per
    gpt-4 token), an allowance of 100 on the per-unit feature (`None`: unlimited, `False`: none)
    reset every `reset`,
    customer A subscribed, and the worked events: 170 tokens, 100 of them gpt-4."""
    ai = plan(api, "AI")
    per_unit = metered_feature(api, "Per unit")
    tokens = metered_feature(api, "Tokens")
    gpt4 = metered_feature(api, "GPT-4", filters=[{"key": "model", "values": ["gpt-4"]}])
    price(api, ai["id"])
    prices = {
        "per_unit": usage_price(api, ai["id"], per_unit["meter_id"], amount="0.0123"),
        "volume": usage_price(api, ai["id"], tokens["meter_id"], billing_model="TIERED", tier_mode="VOLUME",
                              tiers=VOLUME_TIERS, amount=None),
        "slab": usage_price(api, ai["id"], tokens["meter_id"], billing_model="TIERED", tier_mode="SLAB",
                            tiers=SLAB_TIERS, amount=None),
        "package": usage_price(api, ai["id"], tokens["meter_id"], billing_model="PACKAGE", amount="5",
                               transform_quantity={"divide_by": 100}),
        "gpt4": usage_price(api, ai["id"], gpt4["meter_id"], amount="0.10"),
    }
    if allowance is not False:
        grant = {"entity_type": "PLAN", "entity_id": ai["id"], "feature_id": per_unit["id"], "feature_type": "metered",
                 "usage_reset_period": reset}
        api.ok("POST", "entitlements", grant if allowance is None else {**grant, "usage_limit": allowance})
    a = customer(api)
    subscription = subscribe(api, a["id"], ai["id"])
    worked_events(api)
    return {**subscription, "prices": {v["id"]: k for k, v in prices.items()}, "features": {
        "per_unit": per_unit, "tokens": tokens, "gpt4": gpt4}}


def pay(api, invoice_id: str, status: str, amount: str | None = None):
    body = {"payment_status": status} if amount is None else {"payment_status": status, "amount": amount}
    return api("PUT", f"invoices/{invoice_id}/payment", body)


# -- discounts, taxes and credits (BILLING-2.md) -------------------------------------------------
def fee_and_usage(api: Api, fee: str = "60") -> dict:
    """A plan with a monthly `fee` in ADVANCE and tokens at 0.10 in ARREAR, and customer A: the ids."""
    tokens = metered_feature(api)
    pro = plan(api)
    return {"plan": pro["id"], "fee": price(api, pro["id"], amount=fee)["id"],
            "usage": usage_price(api, pro["id"], tokens["meter_id"], amount="0.10")["id"], "customer": customer(api)["id"]}


def fee_only(api: Api, fee: str = "10") -> dict:
    """A plan with a monthly `fee` in ADVANCE, and customer A: the ids."""
    pro = plan(api)
    return {"plan": pro["id"], "fee": price(api, pro["id"], amount=fee)["id"], "customer": customer(api)["id"]}


def coupon(api: Api, kind: str = "percentage", value: str = "10", cadence: str = "forever", **extra) -> dict:
    """A coupon: `percentage` (`value` % off) or `fixed` (`value` usd off)."""
    body = {"name": f"{value} {kind} {cadence}", "type": kind, "cadence": cadence,
            ("percentage_off" if kind == "percentage" else "amount_off"): value, **extra}
    if kind == "fixed":
        body.setdefault("currency", "usd")
    return api.ok("POST", "coupons", body)


def tax_rate(api: Api, code: str, percentage: str | None = None, fixed: str | None = None) -> dict:
    body = {"name": code, "code": code, "tax_rate_type": "percentage" if fixed is None else "fixed"}
    body.update({"percentage_value": percentage} if fixed is None else {"fixed_value": fixed})
    return api.ok("POST", "taxes/rates", body)


def taxed(api: Api, code: str, external_id: str = "A", auto_apply: bool = True) -> dict:
    """The customer's association with the rate `code`."""
    return api.ok("POST", "taxes/associations", {"tax_rate_code": code, "external_customer_id": external_id,
                                                 "auto_apply": auto_apply})


def prepaid_wallet(api: Api, customer_id: str, credits: str, rate: str = "1", **fields) -> dict:
    """A prepaid usd wallet loaded with `credits` at `rate`."""
    created = api.ok("POST", "wallets", {"customer_id": customer_id, "currency": "usd", "conversion_rate": rate,
                                         **fields})
    api.ok("POST", f"wallets/{created['id']}/top-up", {"credits_to_add": credits,
                                                       "transaction_reason": "PURCHASED_CREDIT_DIRECT"})
    return api.ok("GET", f"wallets/{created['id']}")


def invoices_of(api: Api, subscription_id: str) -> list[dict]:
    """The subscription's stored invoices, oldest first."""
    found = api.ok("POST", "invoices/search", {"subscription_id": subscription_id})["items"]
    return sorted(found, key=lambda i: (i["created_at"], i.get("invoice_number") or ""))


def amounts(invoice: dict, *names: str) -> dict:
    return {name: invoice.get(name) for name in names}
