"""The scripted scenario behind the dashboard's browser tests and its screenshots, so both show
the same world: the sample fixtures, and Globex on a "Scale" plan ($49 a month in advance, $0.05
per API call in arrear) from 2026-01-01, calling the API every day; a prepaid wallet topped up
mid-January; a signed webhook endpoint for finalized invoices whose receiver refuses the first
delivery; the clock moved to 2026-02-10, past the first renewal.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx

from mock_server import MockServer
from mock_server.devtools.webhook_receiver import WebhookReceiver, new_secret
from mock_server.devtools.webhooks import WebhookOptions

from .conftest import SAMPLES

START = "2026-01-01T00:00:00Z"
FEE, PER_CALL = Decimal("49"), Decimal("0.05")
CUSTOMER, EXTERNAL_ID = "cust_globex", "globex"


def calls_on(day: int) -> int:
    """API calls Globex makes on a day of the month: a few, varying."""
    return 3 + day * 7 % 13


JANUARY_DAYS, FEBRUARY_DAYS = range(2, 29), range(1, 10)
WALLET_CREDITS = Decimal(150)  # 100 loaded at creation, 50 topped up mid-January
# The renewal bills January's calls and February's fee; the prepaid wallet pays the usage line
# at finalize (BILLING-2.md section 4), so what is left to pay is the fee.
RENEWAL_USAGE = PER_CALL * sum(calls_on(day) for day in JANUARY_DAYS)
RENEWAL_CREDITS = min(RENEWAL_USAGE, WALLET_CREDITS)
RENEWAL_TOTAL = FEE + RENEWAL_USAGE - RENEWAL_CREDITS
CREDITS_AFTER_RENEWAL = WALLET_CREDITS - RENEWAL_CREDITS
# A move to March bills February's calls from what is left in the wallet, and March's fee.
FEBRUARY_USAGE = PER_CALL * sum(calls_on(day) for day in FEBRUARY_DAYS)
MARCH_RENEWAL_TOTAL = FEE + FEBRUARY_USAGE - min(FEBRUARY_USAGE, CREDITS_AFTER_RENEWAL)


@dataclass(slots=True)
class World:
    mock: MockServer
    receiver: WebhookReceiver
    base: str  # the mock's address without the API's base path: the dashboard is at base + /_mock/


def mock_server(full_spec, **options) -> MockServer:
    """The mock the scenario runs on: sample fixtures, frozen clock, failed deliveries not retried."""
    return MockServer(spec=full_spec, fixtures=[SAMPLES], clock=START, webhooks=WebhookOptions(retries=0), **options)


def build(mock: MockServer, receiver: WebhookReceiver, admin_headers: dict | None = None) -> World:
    """Reset `mock` and play the scenario on it."""
    base = mock.url.removesuffix("/v1")
    admin = httpx.Client(base_url=base + "/_mock/", headers=admin_headers or {}, timeout=10)
    api = httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=10)
    with admin, api:
        ok(admin.post("reset"))
        ok(admin.post("webhooks", json={"url": receiver.url, "secret": receiver.secret,
                                        "events": ["invoice.update.finalized"]}))
        plan = ok(api.post("plans", json={"name": "Scale", "lookup_key": "scale"}))
        for price in ({"type": "FIXED", "billing_model": "FLAT_FEE", "amount": str(FEE), "invoice_cadence": "ADVANCE",
                       "display_name": "Scale monthly fee"},
                      {"type": "USAGE", "billing_model": "FLAT_FEE", "amount": str(PER_CALL), "invoice_cadence": "ARREAR",
                       "meter_id": "meter_api_calls", "display_name": "API calls"}):
            ok(api.post("prices", json={**price, "entity_type": "PLAN", "entity_id": plan["id"], "currency": "usd",
                                        "billing_period": "MONTHLY", "billing_period_count": 1, "price_unit_type": "FIAT"}))
        ok(api.post("subscriptions", json={"customer_id": CUSTOMER, "plan_id": plan["id"], "currency": "usd",
                                           "billing_period": "MONTHLY", "billing_period_count": 1}))
        wallet = ok(api.post("wallets", json={"customer_id": CUSTOMER, "currency": "usd", "name": "Globex credits",
                                              "initial_credits_to_load": "100"}))
        send_calls(api, "2026-01", JANUARY_DAYS)
        ok(admin.post("clock", json={"to": "2026-01-15T09:00:00Z"}))
        ok(api.post(f"wallets/{wallet['id']}/top-up", json={"credits_to_add": "50",
                                                            "transaction_reason": "PURCHASED_CREDIT_DIRECT"}))
        send_calls(api, "2026-02", FEBRUARY_DAYS)
        ok(admin.post("clock", json={"to": "2026-02-10T00:00:00Z"}))
        api.get(f"customers/{CUSTOMER}")
        api.get("customers/cust_nobody")  # a 404 in the journal
    return World(mock, receiver, base)


def send_calls(api: httpx.Client, month: str, days: range) -> None:
    events = [{"event_name": "api_call", "external_customer_id": EXTERNAL_ID, "event_id": f"call-{month}-{day}-{n}",
               "timestamp": f"{month}-{day:02d}T10:{n:02d}:00Z", "properties": {"endpoint": "/v2/search"}}
              for day in days for n in range(calls_on(day))]
    ok(api.post("events/bulk", json={"events": events}))


def ok(response: httpx.Response) -> dict:
    assert response.is_success, f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
    return response.json() if response.content else {}


def receiver() -> WebhookReceiver:
    """Signed, and refusing the first delivery (a 500), so one delivery fails until retried."""
    return WebhookReceiver(new_secret(), answers=[500])
