"""Webhooks as a user's receiver meets them: the events the real server sends, in order, signed
as Svix signs them, shaped to the spec's payload schemas, retried, and never in the API's way."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
from flexprice import Flexprice

from flexprice_spec.document import Spec
from mock_server import MockServer
from mock_server.devtools.webhook_payloads import Payloads
from mock_server.devtools.webhook_receiver import WebhookReceiver, new_secret
from mock_server.devtools.webhooks import WebhookOptions
from mock_server.schemas.checks import Schemas

from .conftest import SAMPLES

START = "2026-01-01T00:00:00Z"
FAST = WebhookOptions(retries=2, backoff=0.05)  # the real 5 s an attempt: a busy CI core is not a timeout


@pytest.fixture(scope="module")
def _server(full_spec):
    with MockServer(spec=full_spec, clock=START, webhooks=FAST) as mock:
        yield mock


@pytest.fixture
def mock(_server) -> MockServer:
    _server.reset()
    return _server


@pytest.fixture
def http(mock):
    with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=10) as client:
        yield client


@pytest.fixture
def admin(mock):
    with httpx.Client(base_url=mock.url.removesuffix("/v1") + "/_mock/", timeout=10) as client:
        yield client


def receive(mock, **options) -> WebhookReceiver:
    receiver = WebhookReceiver(new_secret(), **options).start()
    mock.add_webhook(receiver.url, receiver.secret)
    return receiver


def wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


def deliveries(admin) -> list[dict]:
    return admin.get("webhooks/deliveries").json()["deliveries"]


def settled(mock) -> list[dict]:
    """The deliveries, once none is pending any more."""
    return wait_until(lambda: (found := mock.app.webhooks.deliveries())
                      and all(d["status"] != "pending" for d in found) and found)


# -- what a receiver sees ----------------------------------------------------------------------------
def test_an_sdk_journey_reaches_a_svix_verifying_receiver_in_order_signed_and_valid(mock, webhook_checker):
    receiver = receive(mock)
    client = Flexprice(api_key_auth=mock.api_key, server_url=mock.url)
    customer = client.customers.create_customer(external_id="wh-1", name="Ada")
    plan = client.plans.create_plan(name="Pro", lookup_key="pro")
    client.prices.create_price(amount="49", currency="usd", entity_type="PLAN", entity_id=plan.id, type_="FIXED",
                               billing_model="FLAT_FEE", billing_period="MONTHLY", invoice_cadence="ADVANCE",
                               price_unit_type="FIAT")
    subscription = client.subscriptions.create_subscription(customer_id=customer.id, plan_id=plan.id,
                                                            currency="usd", billing_period="MONTHLY")
    client.subscriptions.cancel_subscription(id=subscription.id, cancellation_type="end_of_period")
    wallet = client.wallets.create_wallet(customer_id=customer.id, currency="usd")
    client.wallets.top_up_wallet(id=wallet.id, credits_to_add="100", transaction_reason="PURCHASED_CREDIT_DIRECT")
    mock.clock.advance("P1M")
    expected = [
        "customer.created", "subscription.created", "invoice.update", "invoice.update.finalized",  # opening invoice
        "subscription.updated",  # cancel at period end scheduled
        "wallet.created", "wallet.transaction.created", "wallet.updated",  # top-up
        "invoice.update", "invoice.update.finalized",  # the period ends: its renewal invoice
        "subscription.updated", "subscription.cancelled",  # and the scheduled cancel fires
    ]
    received = receiver.wait_for(len(expected))
    time.sleep(0.2)
    assert receiver.event_types == expected
    assert all(r.verified for r in received)
    assert len({r.message_id for r in received}) == len(expected)
    for r in received:
        webhook_checker.check(r.payload)
        assert abs(int(r.headers["svix-timestamp"]) - time.time()) < 60  # wall clock, not the billing clock
    assert received[0].payload["customer"]["external_id"] == "wh-1"
    cancelled = received[-1].payload["subscription"]
    assert (cancelled["id"], cancelled["subscription_status"], cancelled["customer"]["id"]) == (
        subscription.id, "cancelled", customer.id)
    assert received[6].payload["transaction"]["credit_amount"] == "100"
    assert [d["status"] for d in settled(mock)] == ["delivered"] * len(expected)
    receiver.stop()


def test_every_event_type_the_mock_emits_has_a_body_valid_against_its_documented_schema(mock, http, webhook_checker):
    def created(path: str, body: dict) -> dict:
        response = http.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def ok(response: httpx.Response) -> None:
        assert response.status_code < 300, response.text

    customer = created("customers", {"external_id": "all-1", "name": "Ada", "metadata": {"tier": "gold"}})
    ok(http.put("customers", params={"id": customer["id"]}, json={"name": "Ada L"}))
    feature = created("features", {"name": "Seats", "type": "static", "lookup_key": "seats"})
    ok(http.put(f"features/{feature['id']}", json={"name": "Seats!"}))
    plan = created("plans", {"name": "Pro", "lookup_key": "pro"})
    created("prices", {"amount": "10", "currency": "usd", "entity_type": "PLAN", "entity_id": plan["id"],
                       "type": "FIXED", "billing_model": "FLAT_FEE", "billing_period": "MONTHLY",
                       "invoice_cadence": "ADVANCE", "price_unit_type": "FIAT"})
    entitlement = created("entitlements", {"plan_id": plan["id"], "feature_id": feature["id"], "feature_type": "static",
                                           "static_value": "5", "entity_type": "PLAN", "entity_id": plan["id"]})
    ok(http.put(f"entitlements/{entitlement['id']}", json={"static_value": "6"}))
    ok(http.delete(f"entitlements/{entitlement['id']}"))
    subscription = created("subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"], "currency": "usd",
                                             "billing_period": "MONTHLY"})
    ok(http.post(f"subscriptions/{subscription['id']}/cancel", json={"cancellation_type": "immediate"}))
    invoice = created("invoices", {"customer_id": customer["id"], "currency": "usd", "amount_due": "10",
                                   "subtotal": "10", "total": "10", "line_items": [{"amount": "10", "quantity": "1"}]})
    ok(http.post(f"invoices/{invoice['id']}/finalize"))
    ok(http.put(f"invoices/{invoice['id']}/payment", json={"payment_status": "SUCCEEDED", "amount": "10"}))
    owed = created("invoices", {"customer_id": customer["id"], "currency": "usd", "amount_due": "7",
                                "subtotal": "7", "total": "7"})
    to_owed = {"destination_type": "INVOICE", "destination_id": owed["id"], "currency": "usd"}
    ach = created("payments", {**to_owed, "payment_method_type": "ACH", "payment_method_id": "ba_1", "amount": "1",
                               "process_payment": False})
    ok(http.put(f"payments/{ach['id']}", json={"payment_status": "PENDING"}))
    assert http.post(f"payments/{ach['id']}/process").status_code == 400  # no gateway: payment.failed
    created("payments", {**to_owed, "payment_method_type": "OFFLINE", "amount": "7"})
    other = created("invoices", {"customer_id": customer["id"], "currency": "usd", "amount_due": "5",
                                 "subtotal": "5", "total": "5"})
    ok(http.post(f"invoices/{other['id']}/void", json={}))
    wallet = created("wallets", {"customer_id": customer["id"], "currency": "usd"})
    ok(http.post(f"wallets/{wallet['id']}/top-up", json={"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}))
    ok(http.post(f"wallets/{wallet['id']}/terminate"))
    created("creditnotes", {"invoice_id": invoice["id"], "reason": "DUPLICATE", "line_items": [
        {"invoice_line_item_id": invoice["line_items"][0]["id"], "amount": "4"}]})  # into a new wallet
    ok(http.delete(f"features/{feature['id']}"))
    for refund_wallet in http.get(f"customers/{customer['id']}/wallets").json():
        if refund_wallet["wallet_status"] == "active":  # a customer with an active wallet is not deleted
            ok(http.post(f"wallets/{refund_wallet['id']}/terminate"))
    ok(http.delete(f"customers/{customer['id']}"))

    emitted = mock.webhooks
    assert {w["event_type"] for w in emitted} == {
        "customer.created", "customer.updated", "customer.deleted", "feature.created", "feature.updated",
        "feature.deleted", "entitlement.created", "entitlement.updated", "entitlement.deleted",
        "subscription.created", "subscription.updated", "subscription.cancelled", "invoice.update",
        "invoice.update.finalized", "invoice.update.payment", "invoice.update.voided", "wallet.created",
        "wallet.updated", "wallet.terminated", "wallet.transaction.created", "payment.created", "payment.updated",
        "payment.pending", "payment.success", "payment.failed", "credit_note.created", "credit_note.updated"}
    for webhook in emitted:
        webhook_checker.check(webhook["payload"])
        assert webhook["payload"]["event_type"] == webhook["event_type"]
    success = next(w["payload"]["payment"] for w in emitted if w["event_type"] == "payment.success")
    assert {k: success[k] for k in ("destination_id", "amount", "currency", "payment_status", "succeeded_at")} == {
        "destination_id": owed["id"], "amount": "7", "currency": "usd", "payment_status": "SUCCEEDED",
        "succeeded_at": "2026-01-01T00:00:00.000Z"}
    customer_body = next(w["payload"] for w in emitted if w["event_type"] == "customer.created")
    assert customer_body["customer"]["metadata"] == {"tier": "gold"}
    assert "tenant_id" not in customer_body["customer"]  # webhookDto.Customer has no such field


def test_a_field_the_schema_does_not_allow_as_null_is_left_out(full_spec):
    spec = Spec.load(full_spec)
    payloads = Payloads(spec, Schemas(spec), lambda entity, key: None)
    body = payloads.body({"id": "sys_event_1", "event_type": "customer.created", "entity": "customer",
                          "payload": {"id": "cust_1", "email": None, "name": "Ada", "shoe_size": 9}})
    assert body == {"event_type": "customer.created", "customer": {"id": "cust_1", "name": "Ada"}}


def test_on_a_spec_without_payload_pages_the_envelope_goes_out_unshaped():
    spec = Spec.load(None)
    payloads = Payloads(spec, Schemas(spec), lambda entity, key: None)
    change = {"id": "sys_event_1", "event_type": "customer.created", "entity": "customer",
              "payload": {"id": "cust_1", "email": None}}
    assert payloads.body(change) == {"event_type": "customer.created", "customer": {"id": "cust_1", "email": None}}


# -- retries, failures, volume -----------------------------------------------------------------------
def test_a_receiver_answering_500_twice_gets_the_same_message_three_times(mock, http, admin):
    receiver = receive(mock, answers=[500, 500])
    http.post("customers", json={"external_id": "retry-1", "name": "Ada"})
    received = receiver.wait_for(3)
    assert [r.event_type for r in received] == ["customer.created"] * 3
    assert len({r.message_id for r in received}) == 1 and all(r.verified for r in received)
    assert len({r.body for r in received}) == 1
    [delivery] = wait_until(lambda: [d for d in deliveries(admin) if d["status"] == "delivered"])
    assert (delivery["attempts"], delivery["last_status"], delivery["last_error"]) == (3, 200, None)
    assert delivery["message_id"] == received[0].message_id
    receiver.stop()


def test_a_delivery_out_of_retries_is_recorded_as_failed_and_can_be_sent_again(mock, http, admin):
    receiver = receive(mock, answers=[503, 503, 503])
    http.post("customers", json={"external_id": "fail-1", "name": "Ada"})
    [failed] = wait_until(lambda: [d for d in deliveries(admin) if d["status"] == "failed"])
    assert (failed["attempts"], failed["last_status"], failed["last_error"]) == (3, 503, "HTTP 503")
    resent = admin.post(f"webhooks/deliveries/{failed['id']}/retry")
    assert resent.status_code == 202 and resent.json()["id"] == failed["id"]
    [delivered] = wait_until(lambda: [d for d in deliveries(admin) if d["status"] == "delivered"])
    assert (delivered["attempts"], delivered["last_status"]) == (4, 200)
    assert len({r.message_id for r in receiver.wait_for(4)}) == 1
    assert admin.post("webhooks/deliveries/whd_missing/retry").status_code == 404
    receiver.stop()


def test_a_refused_connection_is_retried_then_recorded_with_its_error(mock, http, admin):
    closed = WebhookReceiver()
    url = closed.url
    closed.stop()  # nothing listens there any more
    mock.add_webhook(url)
    http.post("customers", json={"external_id": "refused-1", "name": "Ada"})
    [failed] = wait_until(lambda: [d for d in deliveries(admin) if d["status"] == "failed"])
    assert failed["attempts"] == 3 and failed["last_status"] is None and failed["last_error"].startswith("ConnectError")


def test_a_burst_of_1000_changes_is_delivered_1000_times_none_lost_none_duplicated(mock, http, admin):
    receiver = receive(mock)
    for n in range(1000):
        assert http.post("customers", json={"external_id": f"burst-{n}", "name": "Ada"}).status_code == 201
    received = receiver.wait_for(1000, timeout=60)
    time.sleep(0.2)
    retried = [(d["attempts"], d["last_error"]) for d in mock.app.webhooks.deliveries() if d["attempts"] != 1]
    assert len(receiver.received) == 1000, retried
    assert [r.payload["customer"]["external_id"] for r in received] == [f"burst-{n}" for n in range(1000)], retried
    assert len({r.message_id for r in received}) == 1000 and all(r.verified for r in received)
    done = settled(mock)
    assert len(done) == 1000 and {(d["status"], d["attempts"]) for d in done} == {("delivered", 1)}
    receiver.stop()


def test_a_hanging_receiver_does_not_hold_up_the_api(full_spec):
    """A create answers in a fraction of one attempt's 2 s timeout: it never waits on the receiver
    (the margin is wide, so a loaded machine's slow answers do not read as waiting)."""
    with MockServer(spec=full_spec, webhooks=WebhookOptions(retries=2, backoff=0.05, timeout=2)) as mock:
        receiver = receive(mock, hang=True)
        with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=10) as http:
            for n in range(20):
                started = time.monotonic()
                assert http.post("customers", json={"external_id": f"hang-{n}", "name": "Ada"}).status_code == 201
                assert time.monotonic() - started < 1.0
        wait_until(lambda: len(mock.app.webhooks.deliveries()) == 20)
        [first, *_] = wait_until(lambda: [d for d in mock.app.webhooks.deliveries() if d["status"] == "failed"],
                                 timeout=30)
        assert first["last_error"].startswith("ReadTimeout")
        receiver.stop()


@pytest.fixture(scope="module")
def _small_server(full_spec):
    """Queues of 2 and a log of 5 deliveries, attempts that hang for 30 s and are not retried."""
    options = WebhookOptions(retries=0, timeout=30, queue_size=2, log_size=5)
    with MockServer(spec=full_spec, webhooks=options) as mock:
        yield mock


@pytest.fixture
def small(_small_server) -> MockServer:
    _small_server.reset()
    return _small_server


def create_customers(mock: MockServer, count: int, prefix: str) -> None:
    with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=10) as http:
        for n in range(count):
            assert http.post("customers", json={"external_id": f"{prefix}-{n}", "name": "Ada"}).status_code == 201


def test_behind_a_hanging_receiver_a_full_queue_fails_each_later_delivery_at_once_and_lists_it(small):
    receiver = receive(small, hang=True)
    create_customers(small, 5, "full")
    listed = wait_until(lambda: len(found := small.app.webhooks.deliveries()) == 5 and found[0]["attempts"] and found)
    assert [d["message_id"] for d in listed] == [w["id"] for w in small.webhooks]
    assert [(d["event_type"], d["url"]) for d in listed] == [("customer.created", receiver.url)] * 5
    pending = [d for d in listed if d["status"] == "pending"]
    failed = [d for d in listed if d["status"] != "pending"]
    assert pending[:2] == listed[:2] and pending[0]["attempts"] == 1  # the first in flight, the next waiting
    assert 2 <= len(pending) <= 3  # the one in flight and the queue's two: a pass may have come between
    assert {(d["status"], d["attempts"], d["last_status"], d["last_error"]) for d in failed} == {
        ("failed", 0, None, "delivery queue full (2 waiting)")}
    receiver.stop()


def test_the_log_keeps_the_newest_deliveries_and_one_failed_on_a_full_queue_can_be_sent_again(small):
    receiver = receive(small, hang=True)
    create_customers(small, 3, "log")
    [oldest, *_] = wait_until(lambda: len(found := small.app.webhooks.deliveries()) == 3 and found)
    create_customers(small, 5, "log-more")
    listed = wait_until(lambda: (found := small.app.webhooks.deliveries()) and found[-1]["message_id"]
                        == small.webhooks[-1]["id"] and found)
    assert [d["message_id"] for d in listed] == [w["id"] for w in small.webhooks] and len(listed) == 5
    with httpx.Client(base_url=small.url.removesuffix("/v1") + "/_mock/", timeout=10) as admin:
        assert admin.post(f"webhooks/deliveries/{oldest['id']}/retry").status_code == 404  # it left the log
        [failed, *_] = [d for d in listed if d["status"] == "failed"]
        resent = admin.post(f"webhooks/deliveries/{failed['id']}/retry")
        assert resent.status_code == 202 and resent.json()["id"] == failed["id"]
        [attempted] = wait_until(lambda: [d for d in deliveries(admin) if d["id"] == failed["id"] and d["attempts"]])
    assert (attempted["status"], attempted["attempts"], attempted["last_error"]) == ("pending", 1, None)
    receiver.stop()


def test_a_queued_delivery_pushed_out_of_the_log_is_still_sent(small):
    gate = threading.Event()
    receiver = WebhookReceiver(new_secret(), gate=gate).start()
    small.add_webhook(receiver.url, receiver.secret)
    create_customers(small, 1, "held")  # in flight until the gate opens
    wait_until(lambda: (found := small.app.webhooks.deliveries()) and found[0]["attempts"] == 1)
    create_customers(small, 2, "queued")  # the queue's two places
    wait_until(lambda: len(small.app.webhooks.deliveries()) == 3)
    create_customers(small, 5, "overflow")  # fail at once, and push the first three out of the log of 5
    listed = wait_until(lambda: (found := small.app.webhooks.deliveries()) and found[-1]["message_id"]
                        == small.webhooks[-1]["id"] and found)
    assert {(d["status"], d["last_error"]) for d in listed} == {("failed", "delivery queue full (2 waiting)")}
    assert len(listed) == 5
    gate.set()
    receiver.wait_for(3)
    time.sleep(0.2)
    assert [r.payload["customer"]["external_id"] for r in receiver.received] == ["held-0", "queued-0", "queued-1"]
    assert all(r.verified for r in receiver.received)
    receiver.stop()


# -- endpoints ---------------------------------------------------------------------------------------
def test_an_endpoint_gets_only_the_event_types_it_asked_for(mock, http, admin):
    receiver = WebhookReceiver().start()
    added = admin.post("webhooks", json={"url": receiver.url, "events": ["customer.updated"]})
    assert added.status_code == 201
    assert added.json() | {"id": "", "created_at": ""} == {
        "id": "", "url": receiver.url, "events": ["customer.updated"], "signed": False, "created_at": ""}
    customer = http.post("customers", json={"external_id": "filter-1", "name": "Ada"}).json()
    http.put("customers", params={"id": customer["id"]}, json={"name": "Ada L"})
    [received] = receiver.wait_for(1)
    time.sleep(0.2)
    assert receiver.event_types == ["customer.updated"]
    assert received.verified is None and "svix-signature" not in received.headers  # unsigned without a secret
    assert received.payload["customer"]["name"] == "Ada L"
    receiver.stop()


def test_endpoints_are_listed_without_their_secret_and_removed_by_id(mock, admin):
    secret = new_secret()
    added = admin.post("webhooks", json={"url": "http://127.0.0.1:9/hook", "secret": secret}).json()
    listed = admin.get("webhooks")
    assert listed.status_code == 200 and listed.json() == {"endpoints": [added]}
    assert added["signed"] is True and secret not in listed.text
    assert admin.delete(f"webhooks/{added['id']}").status_code == 204
    assert admin.get("webhooks").json() == {"endpoints": []}
    gone = admin.delete(f"webhooks/{added['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "url"),
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "http://127.0.0.1:9/hook", "secret": "not-a-whsec"}, "secret"),
    ({"url": "http://127.0.0.1:9/hook", "secret": "whsec_***"}, "secret"),
    ({"url": "http://127.0.0.1:9/hook", "events": "customer.created"}, "events"),
])
def test_a_bad_endpoint_is_400_naming_the_field(admin, body, field):
    response = admin.post("webhooks", json=body)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["details"]) == ("validation_error", {"field": {"value": field}})
    assert "whsec_***" not in response.text


def test_reset_clears_deliveries_emitted_events_and_endpoints_added_since(mock, http, admin):
    receiver = receive(mock)
    http.post("customers", json={"external_id": "reset-1", "name": "Ada"})
    receiver.wait_for(1)
    assert len(deliveries(admin)) == 1 and len(mock.webhooks) == 1
    assert admin.post("reset").status_code == 200
    assert (deliveries(admin), mock.webhooks, admin.get("webhooks").json()) == ([], [], {"endpoints": []})
    receiver.stop()


def test_endpoints_given_at_start_survive_reset_and_fixtures_reloading_is_not_news(full_spec):
    with WebhookReceiver() as receiver, MockServer(spec=full_spec, webhooks=WebhookOptions(urls=(receiver.url,)),
                                                  fixtures=[SAMPLES]) as mock:
        assert mock.webhooks == []
        mock.reset()
        with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}) as http:
            http.post("customers", json={"external_id": "kept-1", "name": "Ada"})
        assert [r.event_type for r in receiver.wait_for(1)] == ["customer.created"]
        assert [w["event_type"] for w in mock.webhooks] == ["customer.created"]
