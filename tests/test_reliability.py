"""The fault suite: what a hostile user, a bad record or a lost Redis can do to the mock, and what
it promises each time (docs/reliability.md has the same cases as a table).

On both stores: no input gets a 500, each gets the envelope with the right 4xx, and after each the
mock still creates a customer (201) and lists API keys (200). One subscription that cannot be
billed is skipped and recorded, never a failure of other requests. Redis alone: a flushed or
restarted Redis is set up again, and run-time webhook endpoints reach every worker.
"""
from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mock_server import MockServer
from mock_server.devtools.webhook_receiver import WebhookReceiver, new_secret

from .billing_api import Api, customer, ingest, metered_feature, plan, price, subscribe, usage_price
from .conftest import API_KEY
from .redis_server import RedisServer, require_redis_server
from .test_shared_state import _children, _cpu_ticks

START = "2026-01-01T00:00:00Z"
FIRST_END = "2026-02-01T00:00:00.000Z"
ENVELOPE = {"code", "message", "http_status_code", "details"}
_serials = itertools.count()


@pytest.fixture(scope="module")
def _server(full_spec, _store_options):
    with MockServer(spec=full_spec, clock=START, **_store_options) as mock:
        yield mock


@pytest.fixture
def mock(_server) -> MockServer:
    _server.reset()
    return _server


@pytest.fixture
def api(mock, full_checker):
    with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=30) as client:
        yield Api(client, full_checker)


@pytest.fixture
def admin(mock):
    with httpx.Client(base_url=mock.url.removesuffix("/v1") + "/_mock/", timeout=30) as client:
        yield client


def assert_serving(api: Api) -> None:
    """What every case ends with: the API still creates and lists."""
    assert api("POST", "customers", {"external_id": f"after-{next(_serials)}", "name": "After"}).status_code == 201
    assert api("GET", "secrets/api/keys").status_code == 200


def refused(response: httpx.Response, status: int, code: str, field: str | None = None) -> dict:
    """The error envelope with `status` and `code` (and `field` named), as JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert (body["code"], body["http_status_code"]) == (code, status) and set(body) <= ENVELOPE | {"error"}, body
    if field is not None:
        assert body["details"]["field"] == {"value": field}, body
    return body


def usage_plan(api: Api, amount: str, name: str = "Metered") -> tuple[dict, dict]:
    """A plan whose one price is `amount` per token, and a customer A subscribed to it."""
    tokens = metered_feature(api)
    metered = plan(api, name)
    usage_price(api, metered["id"], tokens["meter_id"], amount=amount)
    return tokens, subscribe(api, customer(api, "A")["id"], metered["id"])


# -- isolation of faults ---------------------------------------------------------------------------
def test_an_event_of_1e30_counts_nothing_and_the_period_it_ends_in_is_billed(api, admin):
    """The probe's first finding: this event, then the clock past the period's end, was a 500 on
    every request until a reset (the period job re-raised a decimal error at each one)."""
    _, subscription = usage_plan(api, "0.5")
    ingest(api, "1e30")
    preview = api.ok("POST", "invoices/preview", {"subscription_id": subscription["id"]})
    assert [(line["quantity"], line["amount"]) for line in preview["line_items"]] == [("0", "0")]
    assert api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"]})["amount"] == 0
    assert admin.post("clock", json={"advance": "P1M"}).status_code == 200
    renewed = api.ok("GET", f"subscriptions/{subscription['id']}")
    assert renewed["current_period_start"] == FIRST_END
    assert_serving(api)


def test_a_subscription_that_cannot_be_billed_is_skipped_and_recorded_while_the_others_renew(api, admin):
    _, stuck = usage_plan(api, "9999999999", "Huge")
    ingest(api, "9999999999")  # each fits its column; their product fits no invoice
    fine = subscribe(api, customer(api, "B")["id"], _fixed_plan(api)["id"])
    for path in ("invoices/preview", "subscriptions/usage"):
        body = refused(api("POST", path, {"subscription_id": stuck["id"]}), 400, "invalid_operation")
        assert "does not fit the server's numeric(20,8) column" in body["message"]
    assert admin.post("clock", json={"advance": "P1M"}).status_code == 200
    [entry] = admin.get("state").json()["stalled_renewals"]
    assert (entry["subscription_id"], entry["period_end"]) == (stuck["id"], FIRST_END)
    assert "numeric(20,8)" in entry["reason"]
    assert api.ok("GET", f"subscriptions/{stuck['id']}")["current_period_end"] == FIRST_END  # left as it was
    assert api.ok("GET", f"subscriptions/{fine['id']}")["current_period_start"] == FIRST_END
    cycles = api.ok("POST", "invoices/search", {"subscription_id": fine["id"]})["items"]
    assert sorted(i["billing_reason"] for i in cycles) == ["SUBSCRIPTION_CREATE", "SUBSCRIPTION_CYCLE"]
    stuck_invoices = api.ok("POST", "invoices/search", {"subscription_id": stuck["id"]})["items"]
    assert "SUBSCRIPTION_CYCLE" not in {i["billing_reason"] for i in stuck_invoices}
    assert admin.post("clock", json={"advance": "P1D"}).status_code == 200  # not tried again at every move
    assert admin.get("state").json()["stalled_renewals"] == [entry]
    assert_serving(api)
    assert "stalled_renewals" not in admin.post("reset").json() and "stalled_renewals" not in admin.get("state").json()


def _fixed_plan(api: Api) -> dict:
    fixed = plan(api, "Fine")
    price(api, fixed["id"])
    return fixed


def test_a_renewal_run_twice_bills_its_period_once(mock, api):
    """All or nothing per period: the renewal invoice is keyed by its period, so a renewal cut short
    after its invoice (a lost store) finishes when it runs again instead of billing twice."""
    subscription = subscribe(api, customer(api)["id"], _fixed_plan(api)["id"])
    invoices = mock.backend.billing.invoices
    stored = mock.backend.store.get("/subscriptions", subscription["id"])
    start, end = (invoices.records.clock.now().replace(month=m) for m in (1, 2))
    first = invoices.issue(stored, start, end, "period_end", "SUBSCRIPTION_CYCLE")
    again = invoices.issue(stored, start, end, "period_end", "SUBSCRIPTION_CYCLE")
    assert again["id"] == first["id"] and first["idempotency_key"].startswith("subscription_invoice-")
    cycles = [i for i in api.ok("POST", "invoices/search", {"subscription_id": subscription["id"]})["items"]
              if i["billing_reason"] == "SUBSCRIPTION_CYCLE"]
    assert [i["id"] for i in cycles] == [first["id"]]


# -- numbers and their columns ---------------------------------------------------------------------
def _wallet(api: Api) -> dict:
    return api.ok("POST", "wallets", {"customer_id": customer(api, "W")["id"], "currency": "usd"})


TOP_UP = {"transaction_reason": "PURCHASED_CREDIT_DIRECT"}


@pytest.mark.parametrize("credits", ["1" * 40, "1e30", "100000000000", "99999999999.9999999996"])
def test_a_top_up_past_what_the_wallet_column_holds_is_a_400_naming_the_field(api, credits):
    wallet = _wallet(api)
    body = refused(api("POST", f"wallets/{wallet['id']}/top-up", {**TOP_UP, "credits_to_add": credits}),
                   400, "validation_error", "credits_to_add")
    assert "numeric(20,9)" in body["message"]
    assert api.ok("GET", f"wallets/{wallet['id']}")["credit_balance"] == "0"
    assert_serving(api)


@pytest.mark.parametrize(("credits", "kept"), [("0.1234567890123456789012345678901234567890", "0.123456789"),
                                               ("0.0000000005", "0.000000001"), ("0.0000000015", "0.000000002"),
                                               ("99999999999.9999999994", "99999999999.999999999")])
def test_a_top_up_with_more_places_than_the_column_keeps_is_rounded_half_away_from_zero(api, credits, kept):
    wallet = _wallet(api)
    answer = api.ok("POST", f"wallets/{wallet['id']}/top-up", {**TOP_UP, "credits_to_add": credits})
    assert (answer["wallet"]["credit_balance"], answer["wallet_transaction"]["credit_amount"]) == (kept, kept)


def test_a_top_up_that_would_take_the_balance_past_the_column_is_refused_and_nothing_changes(api):
    wallet = _wallet(api)
    api.ok("POST", f"wallets/{wallet['id']}/top-up", {**TOP_UP, "credits_to_add": "60000000000"})
    refused(api("POST", f"wallets/{wallet['id']}/top-up", {**TOP_UP, "credits_to_add": "60000000000"}),
            400, "validation_error", "credits_to_add")
    assert api.ok("GET", f"wallets/{wallet['id']}")["credit_balance"] == "60000000000"


def test_a_payment_of_1e400_is_a_400_naming_the_amount(api):
    a = customer(api)
    invoice = api.ok("POST", "invoices", {"customer_id": a["id"], "currency": "usd", "amount_due": "10",
                                          "subtotal": "10", "total": "10", "invoice_type": "ONE_OFF"})
    body = {"amount": "1e400", "currency": "usd", "destination_type": "INVOICE", "destination_id": invoice["id"],
            "payment_method_type": "OFFLINE"}
    refused(api("POST", "payments", body), 400, "validation_error", "amount")
    assert_serving(api)


@pytest.mark.parametrize(("field", "value"), [("amount_due", "1e13"), ("line_items[0].amount", "-1e12")])
def test_an_invoice_amount_past_its_column_is_a_400_naming_the_field(api, field, value):
    body = {"customer_id": customer(api)["id"], "currency": "usd", "amount_due": "10", "subtotal": "10", "total": "10",
            "line_items": [{"amount": "10", "quantity": "1", "display_name": "x"}]}
    if field == "amount_due":
        body["amount_due"] = value
    else:
        body["line_items"][0]["amount"] = value
    refused(api("POST", "invoices", body), 400, "validation_error", field)


def test_a_price_amount_is_kept_to_15_places_and_past_10_digits_refused(api):
    pro = plan(api)
    kept = price(api, pro["id"], amount="0.0000000000000005")
    assert kept["amount"] == "0.000000000000001"
    refused(api("POST", "prices", {**_price_body(pro["id"]), "amount": "10000000000"}), 400, "validation_error", "amount")


def _price_body(plan_id: str) -> dict:
    return {"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10", "currency": "usd", "entity_type": "PLAN",
            "entity_id": plan_id, "billing_period": "MONTHLY", "invoice_cadence": "ADVANCE", "price_unit_type": "FIAT"}


@pytest.mark.parametrize("tokens", ["1e30", "10000000000", "1" * 400, "-1e30"])
def test_an_event_the_usage_column_cannot_hold_is_accepted_and_counts_nothing(api, tokens):
    _, subscription = usage_plan(api, "1")
    ingest(api, tokens)
    ingest(api, "7", at="2026-01-06T00:00:00Z")
    preview = api.ok("POST", "invoices/preview", {"subscription_id": subscription["id"]})
    assert [(line["quantity"], line["amount"]) for line in preview["line_items"]] == [("7", "7")]
    assert api.ok("POST", "subscriptions/usage", {"subscription_id": subscription["id"]})["amount"] == 7


def test_an_event_quantity_is_cut_to_the_usage_columns_15_places(api):
    _, subscription = usage_plan(api, "1000000")
    ingest(api, "0.0000000000000019")  # 1.9e-15: 1e-15 kept
    preview = api.ok("POST", "invoices/preview", {"subscription_id": subscription["id"]})
    assert [line["quantity"] for line in preview["line_items"]] == ["0.000000000000001"]


# -- tiers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["VOLUME", "SLAB"])
def test_a_negative_up_to_is_a_400_naming_the_tier(api, mode):
    tokens = metered_feature(api)
    tiers = [{"up_to": 10, "unit_amount": "1"}, {"up_to": -5, "unit_amount": "1"}, {"unit_amount": "1"}]
    body = {**_price_body(plan(api)["id"]), "type": "USAGE", "meter_id": tokens["meter_id"], "invoice_cadence": "ARREAR",
            "billing_model": "TIERED", "tier_mode": mode, "tiers": tiers}
    del body["amount"]
    refused(api("POST", "prices", body), 400, "validation_error", "tiers[1].up_to")


@pytest.mark.parametrize(("mode", "tiers", "charged"), [
    ("VOLUME", [{"unit_amount": "0.01"}, {"up_to": 1000, "unit_amount": "0.05", "flat_amount": "2"},
                {"up_to": 100, "unit_amount": "0.10"}], "10.5"),
    ("SLAB", [{"unit_amount": "0.05", "flat_amount": "1"}, {"up_to": 100, "unit_amount": "0.10"}], "14.5"),
    # the server's slab loop adds a tier's flat amount even when an equal up_to leaves it nothing
    ("SLAB", [{"up_to": 100, "unit_amount": "0.10"}, {"up_to": 100, "unit_amount": "0.50", "flat_amount": "3"},
              {"unit_amount": "0.05", "flat_amount": "1"}], "17.5"),
])
def test_tiers_out_of_order_or_repeated_are_priced_as_the_server_sorts_them(api, mode, tiers, charged):
    tokens = metered_feature(api)
    tiered = plan(api)
    usage_price(api, tiered["id"], tokens["meter_id"], billing_model="TIERED", tier_mode=mode, tiers=tiers, amount=None)
    subscription = subscribe(api, customer(api)["id"], tiered["id"])
    ingest(api, 170)
    preview = api.ok("POST", "invoices/preview", {"subscription_id": subscription["id"]})
    assert [line["amount"] for line in preview["line_items"]] == [charged]


# -- the clock -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [({"advance": "P10000Y"}, "advance"), ({"advance": "P999999999D"}, "advance"),
                                             ({"advance": "PT9999999999H"}, "advance"), ({"advance": "P7000Y"}, "advance"),
                                             ({"to": "9999-12-30T00:00:00Z"}, "to"),
                                             ({"to": "9999-12-31T23:00:00-05:00"}, "to")])
def test_a_clock_move_past_the_horizon_is_a_400_and_the_clock_stays(api, admin, body, field):
    refused(admin.post("clock", json=body), 400, "validation_error", field)
    assert admin.get("clock").json()["now"] == "2026-01-01T00:00:00.000Z"
    assert admin.post("clock", json={"advance": "P1D"}).status_code == 200
    assert_serving(api)


def test_the_clock_moves_up_to_its_horizon_and_no_further(api, admin):
    assert admin.post("clock", json={"to": "9000-01-01T00:00:00Z"}).status_code == 200
    refused(admin.post("clock", json={"advance": "PT1S"}), 400, "validation_error", "advance")
    assert_serving(api)


def test_a_defect_behind_an_admin_endpoint_is_a_500_in_the_envelope(mock, admin, monkeypatch, caplog):
    """The admin surface's error handler itself failed (`'coroutine' object is not callable`) and
    answered plain text."""
    def broken() -> dict:
        raise RuntimeError("a defect")

    monkeypatch.setattr(mock.backend.clock, "describe", broken)
    with caplog.at_level(logging.ERROR, "mock_server"):
        body = refused(admin.get("clock"), 500, "internal_error")
    assert body["message"] == "internal error in the mock: please report it"
    assert "a defect" in caplog.text


def test_a_subscription_whose_period_ends_past_year_9999_is_a_400(api):
    body = {"customer_id": customer(api)["id"], "plan_id": _fixed_plan(api)["id"], "currency": "usd",
            "billing_period": "MONTHLY", "start_date": "9999-12-15T00:00:00Z"}
    refused(api("POST", "subscriptions", body), 400, "validation_error", "start_date")
    assert_serving(api)


def test_windows_at_the_edges_of_time_are_answered_not_overflowed(api):
    """A default window a week before 0001-01-02, a due date a day after a period that ends in
    year 9999, a next period past it: each was an OverflowError (500)."""
    assert api("POST", "events/usage", {"event_name": "llm", "aggregation_type": "COUNT",
                                        "end_time": "0001-01-02T00:00:00Z"}).status_code == 200
    subscription = subscribe(api, customer(api)["id"], _fixed_plan(api)["id"])
    early = api.ok("POST", "invoices/preview", {"subscription_id": subscription["id"], "period_start": "0001-01-01T00:00:00Z",
                                                "period_end": "0001-01-31T00:00:00Z"})
    assert early["due_date"] == "0001-02-01T00:00:00.000Z"
    late = api("POST", "invoices/preview", {"subscription_id": subscription["id"], "period_start": "9999-12-01T00:00:00Z",
                                            "period_end": "9999-12-31T23:00:00Z"})
    assert "past what a date can hold" in refused(late, 400, "validation_error")["message"]
    assert_serving(api)


# -- documents read at run time --------------------------------------------------------------------
def alias_bomb(levels: int) -> str:
    """About 50 bytes a level, 10^levels values once expanded, in a field of a customer: where the
    loader's schema check wrote the whole value into its message (5 GB for 9 levels)."""
    anchors = ['&a0 ["x","x","x","x","x","x","x","x","x","x"]']
    anchors += [f"&a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "customers:\n- name: bomb\n  external_id: [" + ", ".join(anchors) + "]\n"


@pytest.mark.parametrize(("document", "message"), [
    (alias_bomb(9), "more than 1,000,000 values once its aliases are expanded"),
    (alias_bomb(7), "more than 1,000,000 values once its aliases are expanded"),
    ("customers: &c [*c]", "the document would be infinite"),
    ("customers: " + "[" * 65 + "]" * 65, "deeper than 64 levels"),
    ('{"customers": ' + "[" * 100_000 + "]" * 100_000 + "}", "deeper than 64 levels"),
])
def test_a_fixture_document_past_the_bounds_is_refused_at_once(api, admin, document, message):
    started = time.monotonic()
    body = refused(admin.post("fixtures", content=document), 400, "validation_error")
    assert message in body["message"] and time.monotonic() - started < 5
    assert_serving(api)


def test_an_admin_body_past_the_size_limit_is_a_413(admin):
    refused(admin.post("fixtures", content=b"customers: []\n" + b"#" * 2_000_000), 413, "validation_error")


# -- hostile inputs, each followed by the API still serving ----------------------------------------
HOSTILE: list[tuple[str, Callable[[Api, httpx.Client], httpx.Response], int]] = [
    ("event of 1e30, then the clock past its period", lambda api, admin: (
        usage_plan(api, "0.5"), ingest(api, "1e30"), admin.post("clock", json={"advance": "P1M"}))[-1], 200),
    ("top-up of 40 digits", lambda api, admin: api(
        "POST", f"wallets/{_wallet(api)['id']}/top-up", {**TOP_UP, "credits_to_add": "9" * 40}), 400),
    ("advance P10000Y", lambda api, admin: admin.post("clock", json={"advance": "P10000Y"}), 400),
    ("to 9999-12-30", lambda api, admin: admin.post("clock", json={"to": "9999-12-30T00:00:00Z"}), 400),
    ("alias bomb", lambda api, admin: admin.post("fixtures", content=alias_bomb(9)), 400),
    ("price of 1e400", lambda api, admin: api("POST", "prices", {**_price_body(plan(api)["id"]), "amount": "1e400"}), 400),
]


@pytest.mark.parametrize(("label", "attack", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_after_a_hostile_input_the_mock_still_creates_and_lists(api, admin, label, attack, status):
    assert attack(api, admin).status_code == status
    assert_serving(api)


# -- Redis: lost data, shared endpoints --------------------------------------------------------------
def test_a_flushed_redis_is_set_up_again_and_the_bootstrap_key_works_at_once(full_spec, redis_url, redis_server,
                                                                              caplog):
    with MockServer(spec=full_spec, api_key=API_KEY, store=redis_url, clock=START) as mock:
        with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": API_KEY}, timeout=15) as client:
            assert client.post("customers", json={"external_id": "before", "name": "before"}).status_code == 201
            admin = mock.url.removesuffix("/v1") + "/_mock/"
            assert httpx.post(admin + "clock", json={"advance": "P3D"}).status_code == 200
            with redis_server.client(int(redis_url.rsplit("/", 1)[1])) as raw:
                raw.flushdb()
            with caplog.at_level(logging.WARNING, "mock_server"):
                after = client.post("customers", json={"external_id": "after", "name": "after"})
                listed = client.post("customers/search", json={})
            clock = httpx.get(admin + "clock").json()
    assert after.status_code == 201 and listed.status_code == 200
    assert [c["name"] for c in listed.json()["items"]] == ["after"]  # what was written before is lost
    assert clock["now"] == "2026-01-04T00:00:00.000Z"  # the clock stays where it was
    assert [r.message for r in caplog.records if "lost" in r.message] == [
        "the shared state was lost (the store was flushed or restarted): setting it up again, with the same tenant "
        "and clock"]


def test_redis_restarted_without_persistence_under_load_is_503_then_201_within_5_s(full_spec, tmp_path):
    with RedisServer(tmp_path / "redis", require_redis_server()) as server, \
            MockServer(spec=full_spec, api_key=API_KEY, store=server.url(0)) as mock:
        statuses: list[tuple[float, int, str]] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": API_KEY}, timeout=15) as client:
                while not stop.is_set():
                    answer = client.post("customers", json={"external_id": f"load-{next(_serials)}", "name": "load"})
                    statuses.append((time.monotonic(), answer.status_code, answer.json().get("code", "")))

        threads = [threading.Thread(target=load) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        server.kill()
        time.sleep(1.0)
        server.restart(persisted=False)
        back = time.monotonic()
        deadline = back + 5
        while time.monotonic() < deadline and not any(at > back and status == 201 for at, status, _ in statuses):
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(30)
    seen = {(status, code) for _, status, code in statuses}
    assert seen <= {(201, ""), (503, "service_unavailable")}, seen
    assert (503, "service_unavailable") in seen
    first_back = min(at for at, status, _ in statuses if at > back and status == 201)
    assert first_back - back < 5
    assert all(status == 201 for at, status, _ in statuses if at > first_back)


def test_two_workers_deliver_each_of_1000_creates_once_to_a_receiver_added_at_run_time(full_spec, redis_url):
    """Before, the endpoint lived in the worker that answered its `POST /_mock/webhooks`: the
    receiver got the changes of that worker only (about half)."""
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--spec", str(full_spec), "--port", "0",
                                "--store", redis_url, "--workers", "2", "--api-key", API_KEY],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    receiver = WebhookReceiver(new_secret()).start()
    clients = threading.local()
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        workers = worker_pids(process.pid)
        admin = url.removesuffix("/v1") + "/_mock/"
        assert httpx.post(admin + "webhooks", json={"url": receiver.url, "secret": receiver.secret}).status_code == 201
        before = {pid: _cpu_ticks(pid) for pid in workers}

        def create(index: int) -> str:  # a connection per thread: the kernel hands them to either worker
            if not hasattr(clients, "http"):
                clients.http = httpx.Client(headers={"x-api-key": API_KEY}, timeout=30)
            answer = clients.http.post(f"{url}/customers", json={"external_id": f"hook-{index}", "name": "n"})
            assert answer.status_code == 201
            return answer.json()["id"]

        with ThreadPoolExecutor(8) as pool:
            created = set(pool.map(create, range(1000)))
        served = {pid: _cpu_ticks(pid) - before[pid] for pid in workers}
        received = receiver.wait_for(1000, timeout=60)
        time.sleep(0.5)  # a second delivery of any change would have arrived by now
        listed = httpx.get(admin + "webhooks").json()["endpoints"]
    finally:
        receiver.stop()
        process.terminate()
        process.wait(30)
    assert len(workers) == 2 and all(ticks > 0 for ticks in served.values()), served  # both made changes
    assert len(receiver.received) == 1000 and all(r.verified for r in received)
    assert len({r.message_id for r in received}) == 1000
    assert {r.payload["customer"]["id"] for r in received} == created
    assert len(listed) == 1


def worker_pids(pid: int) -> list[int]:
    """The `--workers` processes of the server `pid` (its resource tracker left out)."""
    deadline = time.monotonic() + 60
    while len(_children(pid)) < 3 and time.monotonic() < deadline:  # 2 workers, 1 resource tracker
        time.sleep(0.1)
    return [child for child in _children(pid) if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text()]


def test_an_endpoint_added_through_one_mock_is_listed_and_removed_through_the_other(full_spec, redis_url):
    one, other = (MockServer(spec=full_spec, api_key=API_KEY, store=redis_url).start() for _ in range(2))
    try:
        base = [m.url.removesuffix("/v1") + "/_mock/webhooks" for m in (one, other)]
        added = httpx.post(base[0], json={"url": "http://127.0.0.1:9/hook"}).json()
        seen = httpx.get(base[1]).json()["endpoints"]
        assert httpx.delete(f"{base[1]}/{added['id']}").status_code == 204
        left = httpx.get(base[0]).json()["endpoints"]
    finally:
        one.stop()
        other.stop()
    assert [e["id"] for e in seen] == [added["id"]] and left == []
