"""The mock in front of a real server (`--proxy`): a second mock on another port stands in for
the real one. Record the official SDK's customer-plan-subscription-invoice flow through it, then
replay it with the upstream stopped: the same answers. Fallback forwards what the mock does not
model; a recording masks keys and loads into the state as fixtures do."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from flexprice import Flexprice

from mock_server import MockServer
from mock_server.http.proxy import ProxyOptions

from .billing_api import START
from .conftest import API_KEY

UPSTREAM_KEY = "sk_upstream_only_key_0123456789"


def sdk_flow(sdk: Flexprice) -> list[dict]:
    """A customer, a plan with a monthly fee, a subscription, its opening invoice and the preview
    of the next: every answer the SDK got, as data."""
    customer = sdk.customers.create_customer(external_id="acme", name="Acme")
    plan = sdk.plans.create_plan(name="Pro")
    price = sdk.prices.create_price(type_="FIXED", billing_model="FLAT_FEE", amount="10", currency="usd",
                                    entity_type="PLAN", entity_id=plan.id, billing_period="MONTHLY",
                                    price_unit_type="FIAT", invoice_cadence="ADVANCE")
    subscription = sdk.subscriptions.create_subscription(customer_id=customer.id, plan_id=plan.id, currency="usd",
                                                         billing_period="MONTHLY")
    invoices = sdk.invoices.query_invoice(subscription_id=subscription.id)
    invoice = sdk.invoices.get_invoice(id=invoices.items[0].id)
    preview = sdk.invoices.get_invoice_preview(subscription_id=subscription.id)
    fetched = sdk.customers.get_customer(id=customer.id)
    return [answer.model_dump(mode="json") for answer in
            (customer, plan, price, subscription, invoices, invoice, preview, fetched)]


@pytest.fixture
def upstream(full_spec):
    """The stand-in for the real server: its own key, its own port."""
    with MockServer(spec=full_spec, api_key=UPSTREAM_KEY, clock=START) as server:
        yield server


def test_a_flow_recorded_through_the_proxy_replays_the_same_answers_with_the_upstream_stopped(
        full_spec, upstream, tmp_path):
    recording = tmp_path / "flow.jsonl"
    record = ProxyOptions("record", upstream.url, UPSTREAM_KEY, str(recording))
    with MockServer(spec=full_spec, api_key=API_KEY, proxy=record) as proxy:
        recorded = sdk_flow(Flexprice(api_key_auth=API_KEY, server_url=proxy.url))
        assert proxy.store.dump().get("/customers") is None  # everything went upstream
    assert [c["external_id"] for c in upstream.store.dump()["/customers"]] == ["acme"]
    assert recorded[4]["items"][0]["amount_due"] == "10"
    upstream.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(upstream.url + "/customers/x")
    text = recording.read_text()
    assert UPSTREAM_KEY not in text and API_KEY not in text
    assert orjson.loads(text.splitlines()[1])["request"]["headers"]["x-api-key"] == "sk_te***ey"
    replay = ProxyOptions("replay", None, None, str(recording))
    with MockServer(spec=full_spec, api_key=API_KEY, clock=START, proxy=replay) as mock:
        assert sdk_flow(Flexprice(api_key_auth=API_KEY, server_url=mock.url)) == recorded
        # the recording is in the state too: what was not recorded is the mock's own answer over it
        customer = httpx.get(f"{mock.url}/customers/external/acme", headers={"x-api-key": API_KEY}).json()
        assert customer["id"] == recorded[0]["id"]
        subscriptions = httpx.post(f"{mock.url}/subscriptions/search", json={}, headers={"x-api-key": API_KEY})
        assert [s["id"] for s in subscriptions.json()["items"]] == [recorded[3]["id"]]


def test_fallback_serves_what_the_mock_models_and_forwards_the_rest(full_spec, upstream, tmp_path):
    recording = tmp_path / "forwarded.jsonl"
    made = httpx.post(upstream.url + "/customers", json={"external_id": "far", "name": "Far"},
                      headers={"x-api-key": UPSTREAM_KEY}).json()
    options = ProxyOptions("fallback", upstream.url, UPSTREAM_KEY, str(recording))
    with MockServer(spec=full_spec, api_key=API_KEY, proxy=options) as mock:
        api = httpx.Client(base_url=mock.url + "/", headers={"x-api-key": API_KEY})
        assert api.post("customers", json={"external_id": "near", "name": "Near"}).status_code == 201
        assert api.get(f"customers/{made['id']}").status_code == 404  # modelled: the mock's own state
        analytics = api.post("events/analytics", json={"external_customer_id": "far", "start_time": START,
                                                      "end_time": "2026-02-01T00:00:00Z"})
        assert analytics.status_code == 200  # synthesized by the mock, so asked of the upstream
        stranger = httpx.post(mock.url + "/events/analytics", json={}, headers={"x-api-key": "sk_not_the_mocks"})
        assert (stranger.status_code, stranger.json()["message"]) == (401, "Invalid API key")  # no loan of the key
        unknown = api.get("no-such-path")
        assert unknown.status_code == 404 and unknown.json()["message"] == "route not found"
    forwarded = [orjson.loads(line) for line in recording.read_text().splitlines()[1:]]
    assert [(e["request"]["method"], e["request"]["path"]) for e in forwarded] == [
        ("POST", "/events/analytics"), ("GET", "/no-such-path")]
    assert [e["response"]["status"] for e in forwarded] == [200, 404]
    assert [c["external_id"] for c in upstream.store.dump()["/customers"]] == ["far"]


def test_an_upstream_that_cannot_be_reached_is_a_502_in_the_envelope(full_spec, tmp_path):
    options = ProxyOptions("record", "http://127.0.0.1:9/v1", None, str(tmp_path / "r.jsonl"))
    with MockServer(spec=full_spec, api_key=API_KEY, proxy=options) as mock:
        answer = httpx.get(mock.url + "/customers/cust_x", headers={"x-api-key": API_KEY})
    assert answer.status_code == 502
    assert answer.json()["code"] == "service_unavailable"
    assert answer.json()["message"].startswith("the upstream http://127.0.0.1:9/v1 cannot be reached: ")


def test_a_recording_masks_raw_keys_in_answers_and_loads_as_fixtures(full_spec, upstream, tmp_path):
    recording = tmp_path / "keys.jsonl"
    with MockServer(spec=full_spec, api_key=API_KEY,
                    proxy=ProxyOptions("record", upstream.url, UPSTREAM_KEY, str(recording))) as proxy:
        api = httpx.Client(base_url=proxy.url + "/", headers={"x-api-key": API_KEY})
        raw = api.post("secrets/api/keys", json={"name": "ci", "type": "private_key"}).json()["api_key"]
        plan = api.post("plans", json={"name": "Gold", "lookup_key": "gold"}).json()
        api.put(f"plans/{plan['id']}", json={"name": "Platinum"})
        gone = api.post("plans", json={"name": "Gone"}).json()
        api.delete(f"plans/{gone['id']}")
    text = recording.read_text()
    assert raw not in text and f"{raw[:5]}***{raw[-2:]}" in text
    with MockServer(spec=full_spec, api_key=API_KEY, fixtures=[recording]) as mock:
        plans = mock.store.dump()["/plans"]
        assert [(p["id"], p["name"], p["lookup_key"]) for p in plans] == [(plan["id"], "Platinum", "gold")]
        assert "/secrets/api/keys" not in mock.store.dump()
        admin = mock.url.removesuffix("/v1") + "/_mock/"
        assert httpx.post(admin + "reset").json()["records"]["plans"] == 1  # reloaded as fixtures are


@pytest.mark.parametrize(("args", "message"), [
    (["--proxy-mode", "record", "--proxy", "http://127.0.0.1:9/v1"], "Error: --proxy-mode record needs --recording PATH"),
    (["--recording", "r.jsonl"], "Error: --proxy-mode fallback forwards to a real server: pass --proxy URL"),
    (["--proxy-mode", "replay", "--recording", "missing.jsonl"],
     "Error: --recording missing.jsonl: no such file to replay (record one with --proxy-mode record)"),
])
def test_a_proxy_option_missing_its_partner_is_one_error_line_and_exit_2(args, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "mock_server", "--port", "0", *args], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert (result.returncode, result.stderr.splitlines()) == (2, [message])


def test_the_command_line_records_then_replays(full_spec, upstream, tmp_path):
    recording = tmp_path / "cli.jsonl"
    args = [sys.executable, "-m", "mock_server", "--port", "0", "--spec", str(full_spec)]
    for mode in ("record", "replay"):
        extra = ["--proxy", upstream.url, "--proxy-key", UPSTREAM_KEY] if mode == "record" else []
        process = subprocess.Popen([*args, *extra, "--proxy-mode", mode, "--recording", str(recording)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base = process.stdout.readline().strip()
            assert base, process.stderr.read()
            answer = httpx.post(base + "/plans", json={"name": "Cli"}, headers={"x-api-key": "sk_flexprice_mock_dev_key"})
            assert answer.status_code == 201
            if mode == "record":
                recorded = answer.json()
                upstream.stop()
            else:
                assert answer.json() == recorded
        finally:
            process.terminate()
            process.wait(10)
    assert Path(recording).read_text().count("\n") == 2
