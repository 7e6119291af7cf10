"""The dashboard's pages and what they rest on, without a browser: the admin API's clock report,
the journal's bodies and curl commands, delivery attempts, snapshots, the protection of pages and
forms, browsing records. The browser tests (`test_dashboard_browser.py`) drive the same pages."""
from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest

from mock_server import MockServer
from mock_server.devtools.admin_auth import COOKIE
from mock_server.devtools.dashboard.exchanges import curl

from . import dashboard_scenario as scenario
from .conftest import SEED_SPEC

TOKEN = "dashboard-admin-token-0123456789"


@pytest.fixture(scope="module")
def mock(full_spec):
    with scenario.mock_server(full_spec) as server:
        yield server


@pytest.fixture
def world(mock):
    with scenario.receiver() as receiver:
        yield scenario.build(mock, receiver)


@pytest.fixture
def page(world):
    with httpx.Client(base_url=world.base, timeout=10) as client:
        yield client


@pytest.fixture
def api(world):
    with httpx.Client(base_url=world.mock.url + "/", headers={"x-api-key": world.mock.api_key}, timeout=10) as client:
        yield client


def cells(html: str, css_class: str) -> list[str]:
    return re.findall(rf'<td class="[^"]*\b{css_class}\b[^"]*">([^<]*)</td>', html)


def test_moving_the_clock_reports_the_renewals_invoices_and_nothing_else_it_made(page):
    moved = page.post("/_mock/clock", json={"advance": "P1M"}).json()
    assert moved["now"] == "2026-03-10T00:00:00.000Z"
    happened = moved["happened"]
    assert {i["customer_id"]: Decimal(i["total"]) for i in happened["invoices"]} == {
        "cust_acme": Decimal(99), scenario.CUSTOMER: scenario.MARCH_RENEWAL_TOTAL}
    assert {(r["customer_id"], r["period_start"], r["period_end"]) for r in happened["renewals"]} == {
        (customer, "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z") for customer in ("cust_acme", scenario.CUSTOMER)}
    assert (happened["cancellations"], happened["grants"], happened["complete"]) == ([], [], True)
    quiet = page.post("/_mock/clock", json={"advance": "P1D"}).json()["happened"]
    assert quiet == {"renewals": [], "invoices": [], "cancellations": [], "grants": [], "complete": True}
    refused = page.post("/_mock/clock", json={"to": 5})
    assert (refused.status_code, refused.json()["details"]) == (400, {"field": {"value": "to"}})


def test_a_cancellation_due_on_the_way_is_reported(page, api):
    subscription = api.post("subscriptions/search", json={"customer_id": scenario.CUSTOMER}).json()["items"][0]
    cancel = api.post(f"subscriptions/{subscription['id']}/cancel", json={"cancellation_type": "end_of_period"})
    assert cancel.status_code == 200, cancel.text
    happened = page.post("/_mock/clock", json={"to": "2026-03-02T00:00:00Z"}).json()["happened"]
    assert [c["subscription_id"] for c in happened["cancellations"]] == [subscription["id"]]
    assert subscription["id"] not in [r["subscription_id"] for r in happened["renewals"]]


def test_the_journal_keeps_bodies_with_a_created_key_masked_and_curl_sends_the_key_as_a_variable(world, api):
    created = api.post("secrets/api/keys", json={"name": "ci", "type": "private_key"})
    raw = created.json()["api_key"]
    entry = world.mock.requests[-1]
    assert entry["request_body"] == '{"name":"ci","type":"private_key"}'
    assert raw not in str(entry) and f'"api_key":"{raw[:5]}***{raw[-2:]}"' in entry["response_body"]
    assert entry["request_headers"]["x-api-key"] == f"{world.mock.api_key[:5]}***{world.mock.api_key[-2:]}"
    command = curl(entry)
    assert command.startswith(f"curl -X POST {world.mock.url}/secrets/api/keys -H \"x-api-key: $FLEXPRICE_API_KEY\"")
    assert command.endswith("--data-raw '{\"name\":\"ci\",\"type\":\"private_key\"}'")
    assert world.mock.api_key not in command


def test_the_requests_page_filters_by_method_status_and_text(page):
    html = page.get("/_mock/dashboard/requests", params={"status": "4xx"}).text
    assert re.findall(r"<code>(/v1/[^<]*)</code>", html) == ["/v1/customers/cust_nobody"]
    html = page.get("/_mock/dashboard/requests", params={"method": "POST", "q": "top-up"}).text
    assert len(re.findall(r'<tbody class="exchange">', html)) == 1 and "topUpWallet" in html


def test_a_delivery_lists_each_attempt_with_its_signature_headers_and_answer(world):
    world.receiver.wait_for(3)
    [failed] = [d for d in world.mock.app.webhooks.deliveries() if d["status"] == "failed"]
    [attempt] = failed["attempt_log"]
    assert (attempt["status"], attempt["error"], attempt["ms"] >= 0) == (500, "HTTP 500", True)
    assert failed["request_headers"]["svix-id"] == failed["message_id"]
    assert failed["request_headers"]["svix-signature"].startswith("v1,") and failed["response_body"] == ""
    assert world.mock.app.webhooks.deliveries(last=1) == world.mock.app.webhooks.deliveries()[-1:]


def test_the_timeline_shows_every_invoice_with_its_amounts_and_the_wallet_balance(page):
    html = page.get(f"/_mock/dashboard/customers/{scenario.CUSTOMER}").text
    assert re.findall(r'data-billing-reason="([A-Z_]+)"', html) == ["SUBSCRIPTION_CYCLE", "SUBSCRIPTION_CREATE"]
    assert [Decimal(t.removesuffix(" USD")) for t in cells(html, "total")] == [scenario.RENEWAL_TOTAL, scenario.FEE]
    assert re.search(rf'class="credit-balance">{scenario.CREDITS_AFTER_RENEWAL.normalize()}<', html)
    assert html.count('<rect class="period') == 2 and html.count('class="period current"') == 1


def test_records_are_paged_searched_by_external_id_and_show_their_relations(page, api):
    for n in range(30):
        api.post("customers", json={"external_id": f"bulk-{n:02d}", "name": f"Bulk {n}"})
    first = page.get("/_mock/dashboard/resources/customer").text
    assert first.count("<tr data-id=") == 25 and "page 1 of 2" in first
    assert page.get("/_mock/dashboard/resources/customer", params={"page": 2}).text.count("<tr data-id=") == 8
    found = page.get("/_mock/dashboard/resources/customer", params={"q": "bulk-07"}).text
    assert re.findall(r'<tr data-id="([^"]+)"', found) == [api.get("customers/external/bulk-07").json()["id"]]
    jumped = page.get("/_mock/dashboard/resources", params={"q": scenario.EXTERNAL_ID})
    assert (jumped.status_code, jumped.headers["location"]) == (303, f"/_mock/dashboard/resources/customer/{scenario.CUSTOMER}")
    record = page.get(jumped.headers["location"]).text
    assert {"subscription", "wallet", "invoice", "wallet_transaction"} <= set(re.findall(r'data-entity="([a-z_]+)"', record))
    subscription = api.post("subscriptions/search", json={"customer_id": scenario.CUSTOMER}).json()["items"][0]
    periods = page.get(f"/_mock/dashboard/resources/subscription/{subscription['id']}").text
    assert re.findall(r"<tr><td>(\d{4}-\d\d-\d\d) 00:00 – (\d{4}-\d\d-\d\d) 00:00</td>", periods) == [
        ("2026-01-01", "2026-02-01"), ("2026-01-01", "2026-02-01")]
    assert page.get("/_mock/dashboard/resources/customer/cust_nobody").status_code == 404
    assert page.get("/_mock/dashboard/resources/nothing").status_code == 404


def test_a_snapshot_exported_and_imported_brings_records_and_clock_back(page, api):
    made = api.post("customers", json={"external_id": "kept", "name": "Kept"}).json()
    billed = api.post("invoices/search", json={"customer_id": scenario.CUSTOMER}).json()["items"]
    snapshot = page.get("/_mock/state/export")
    assert snapshot.headers["content-disposition"].startswith("attachment")
    page.post("/_mock/reset")
    assert api.get(f"customers/{made['id']}").status_code == 404
    restored = page.post("/_mock/state/import", content=snapshot.content)
    assert restored.status_code == 200, restored.text
    assert api.get(f"customers/{made['id']}").json()["name"] == "Kept"
    assert page.get("/_mock/clock").json()["now"] == "2026-02-10T00:00:00.000Z"
    invoices = api.post("invoices/search", json={"customer_id": scenario.CUSTOMER}).json()["items"]
    assert invoices == billed  # the same invoices, usage included: the snapshot keeps the events
    newer = page.post("/_mock/state/import", json={**snapshot.json(), "version": 99})
    assert (newer.status_code, newer.json()["details"]) == (400, {"field": {"value": "version"}})


def test_a_reset_from_the_page_needs_its_confirmation_and_forms_from_another_site_are_refused(page, api):
    made = api.post("customers", json={"external_id": "doomed", "name": "Doomed"}).json()
    assert page.post("/_mock/dashboard/reset", data={}).status_code == 400
    foreign = page.post("/_mock/dashboard/reset", data={"confirm": "yes"}, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert page.post("/_mock/dashboard/clock", data={"advance": "P1M"}, headers={"origin": "http://evil.example"}).status_code == 403
    assert api.get(f"customers/{made['id']}").status_code == 200
    assert page.get("/_mock/clock").json()["now"] == "2026-02-10T00:00:00.000Z"
    done = page.post("/_mock/dashboard/reset", data={"confirm": "yes"}, headers={"origin": page.base_url.scheme + "://" + page.base_url.netloc.decode()})
    assert (done.status_code, done.headers["location"]) == (303, "/_mock/dashboard/state?reset=done")
    assert api.get(f"customers/{made['id']}").status_code == 404


def test_pages_allow_no_inline_script_and_nothing_from_elsewhere(page):
    for path in ("/_mock/", "/_mock/dashboard/clock", "/_mock/dashboard/state", "/_mock/dashboard/webhooks"):
        answer = page.get(path)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy
        assert re.findall(r"<script[^>]*>", answer.text) == ['<script src="/_mock/dashboard/static/dashboard.js" defer>']
        assert not re.search(r"(src|href)=\"https?://", answer.text) and " style=" not in answer.text
    assert page.get("/_mock/dashboard/static/dashboard.css").headers["content-type"].startswith("text/css")


def test_with_an_admin_token_pages_ask_for_it_and_its_cookie_opens_them_from_this_site_only():
    with MockServer(spec=SEED_SPEC, admin_token=TOKEN) as mock, \
            httpx.Client(base_url=mock.url.removesuffix("/v1"), timeout=10) as client:
        asked = client.get("/_mock/")
        assert asked.status_code == 401 and 'name="token"' in asked.text
        assert client.get("/_mock/requests").json()["code"] == "permission_denied"
        assert client.get("/_mock/dashboard/static/dashboard.css").status_code == 200
        wrong = client.post("/_mock/dashboard/login", data={"token": "guess", "next": "/_mock/dashboard/clock"})
        assert wrong.status_code == 401 and COOKIE not in wrong.headers.get("set-cookie", "")
        right = client.post("/_mock/dashboard/login", data={"token": TOKEN, "next": "/_mock/dashboard/clock"})
        assert (right.status_code, right.headers["location"]) == (303, "/_mock/dashboard/clock")
        cookie = right.headers["set-cookie"]
        assert TOKEN not in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert client.get("/_mock/dashboard/clock").status_code == 200
        assert client.post("/_mock/reset", headers={"origin": "http://evil.example"}).status_code == 401
        assert client.post("/_mock/reset").status_code == 200
        away = client.post("/_mock/dashboard/login", data={"token": TOKEN, "next": "https://evil.example/"})
        assert away.headers["location"] == "/_mock/"


def test_without_the_admin_endpoints_there_is_no_dashboard():
    with MockServer(spec=SEED_SPEC, admin=False) as mock:
        base = mock.url.removesuffix("/v1")
        assert httpx.get(base + "/_mock/").status_code == 404
        assert httpx.get(base + "/_mock/dashboard/static/dashboard.js").status_code == 404
