"""Payments as the real server records and processes them (`internal/ee/service/payment.go`,
`payment_processor.go`): the first status per method, processing from PENDING only, an offline
payment succeeding and paying its invoice down, credits debiting a POST_PAID wallet, the methods
that need a gateway failing without one, the update lifecycle, deletion, and the `payment.*`
events in the order they happen. Every answer is checked against the spec, on a strict mock."""
from __future__ import annotations

import httpx
import pytest

from mock_server import MockServer

from .billing_api import START, Api, api, customer  # noqa: F401 (the api fixture, over this module's mock)

STAMP = "2026-01-01T00:00:00.000Z"


@pytest.fixture(scope="module")
def billing_mock(full_spec, _store_options):
    """billing_api's mock, strict: the mock also checks every answer it sends."""
    with MockServer(spec=full_spec, clock=START, strict=True, **_store_options) as mock:
        yield mock


def invoice(api: Api, amount: str = "10", **extra) -> dict:
    """A FINALIZED one-off usd invoice of `amount` for customer A."""
    owner = api.ok("GET", "customers/external/A") if extra.pop("existing", False) else customer(api)
    return api.ok("POST", "invoices", {"customer_id": owner["id"], "currency": "usd", "amount_due": amount,
                                       "subtotal": amount, "total": amount, "invoice_type": "ONE_OFF", **extra})


def pay(api: Api, invoice_id: str, amount: str, method: str = "OFFLINE", **extra) -> httpx.Response:
    return api("POST", "payments", {"destination_type": "INVOICE", "destination_id": invoice_id,
                                    "payment_method_type": method, "amount": amount, "currency": "USD", **extra})


def amounts(api: Api, invoice_id: str) -> dict:
    found = api.ok("GET", f"invoices/{invoice_id}")
    return {k: found.get(k) for k in ("amount_due", "amount_paid", "amount_remaining", "payment_status", "paid_at",
                                      "invoice_status")}


def payment_events(mock: MockServer) -> list[tuple[str, str]]:
    return [(w["event_type"], w["payload"]["payment"]["payment_status"]) for w in mock.webhooks
            if w["event_type"].startswith("payment.")]


# -- create ----------------------------------------------------------------------------------------
def test_an_offline_payment_not_yet_processed_is_pending_and_announced(api, billing_mock):
    bill = invoice(api)
    response = pay(api, bill["id"], "4.50", process_payment=False)
    assert response.status_code == 201
    found = response.json()
    assert {k: found[k] for k in ("destination_type", "destination_id", "payment_method_type", "payment_method_id",
                                  "amount", "currency", "payment_status", "track_attempts", "created_at")} == {
        "destination_type": "INVOICE", "destination_id": bill["id"], "payment_method_type": "OFFLINE",
        "payment_method_id": "", "amount": "4.5", "currency": "usd", "payment_status": "PENDING",
        "track_attempts": False, "created_at": STAMP}
    assert found["id"].startswith("pay_") and found["idempotency_key"].startswith("payment-")
    assert "succeeded_at" not in found and "payment_gateway" not in found
    assert payment_events(billing_mock) == [("payment.created", "PENDING")]
    assert amounts(api, bill["id"])["amount_paid"] == "0"


def test_an_offline_payment_is_processed_at_once_by_default(api, billing_mock):
    bill = invoice(api)
    found = pay(api, bill["id"], "10").json()
    assert (found["payment_status"], found["succeeded_at"]) == ("SUCCEEDED", STAMP)
    assert payment_events(billing_mock) == [("payment.created", "PENDING"), ("payment.pending", "PROCESSING"),
                                            ("payment.success", "SUCCEEDED")]


def test_a_payment_link_starts_initiated_and_a_card_unprocessed_too(api):
    bill = invoice(api)
    link = pay(api, bill["id"], "1", "PAYMENT_LINK", payment_gateway="stripe", process_payment=False).json()
    card = pay(api, bill["id"], "2", "CARD", process_payment=False).json()
    assert (link["payment_status"], link["track_attempts"], link["payment_gateway"]) == ("INITIATED", True, "stripe")
    assert (card["payment_status"], card["track_attempts"]) == ("INITIATED", True)


def test_the_same_payment_twice_answers_the_first_one(api, billing_mock):
    bill = invoice(api)
    first = pay(api, bill["id"], "3", process_payment=False).json()
    second = pay(api, bill["id"], "3", process_payment=False)
    assert (second.status_code, second.json()["id"]) == (201, first["id"])
    assert len(api.ok("GET", "payments")["items"]) == 1
    assert payment_events(billing_mock) == [("payment.created", "PENDING")]


@pytest.mark.parametrize(("change", "field"), [
    ({"currency": "eur"}, "currency"),
    ({"currency": "usdollar"}, "currency"),
    ({"amount": "0"}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"payment_method_id": "pm_1"}, "payment_method_id"),
    ({"payment_method_type": "ACH"}, "payment_method_id"),
    ({"payment_method_type": "PAYMENT_LINK"}, "payment_gateway"),
    ({"gateway_options": {"stripe": {"tax_id_collection_enabled": True}}}, "gateway_options"),
])
def test_a_payment_the_real_server_rejects_is_400_naming_the_field(api, billing_mock, change, field):
    bill = invoice(api)
    body = {"destination_type": "INVOICE", "destination_id": bill["id"], "payment_method_type": "OFFLINE",
            "amount": "1", "currency": "usd", **change}
    api.refused("POST", "payments", body, field)
    assert payment_events(billing_mock) == []


def test_a_paid_or_voided_invoice_takes_no_payment(api):
    paid = invoice(api, "5")
    pay(api, paid["id"], "5")
    error = api.refused("POST", "payments", {"destination_type": "INVOICE", "destination_id": paid["id"],
                                             "payment_method_type": "OFFLINE", "amount": "1", "currency": "usd"},
                        "destination_id")
    assert error["message"] == f"invoice {paid['id']} is already paid"
    voided = invoice(api, "5", existing=True)
    api.ok("POST", f"invoices/{voided['id']}/void", {})
    error = api.refused("POST", "payments", {"destination_type": "INVOICE", "destination_id": voided["id"],
                                             "payment_method_type": "OFFLINE", "amount": "1", "currency": "usd"},
                        "destination_id")
    assert error["message"] == f"invoice {voided['id']} is voided"


def test_a_payment_for_a_missing_invoice_or_customer_is_404(api):
    for kind in ("INVOICE", "CUSTOMER"):
        response = api("POST", "payments", {"destination_type": kind, "destination_id": "nope",
                                            "payment_method_type": "OFFLINE", "amount": "1", "currency": "usd"})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


# -- offline payments pay the invoice down ---------------------------------------------------------
def test_part_then_the_rest_pays_the_invoice_and_only_then_marks_it_paid(api, billing_mock):
    bill = invoice(api, "10")
    pay(api, bill["id"], "4")
    assert amounts(api, bill["id"]) == {"amount_due": "10", "amount_paid": "4", "amount_remaining": "6",
                                        "payment_status": "PENDING", "paid_at": None, "invoice_status": "FINALIZED"}
    pay(api, bill["id"], "6")
    assert amounts(api, bill["id"]) == {"amount_due": "10", "amount_paid": "10", "amount_remaining": "0",
                                        "payment_status": "SUCCEEDED", "paid_at": STAMP, "invoice_status": "FINALIZED"}
    assert [w["event_type"] for w in billing_mock.webhooks if not w["event_type"].startswith("customer.")] == [
        "invoice.update", "invoice.update.finalized",
        "payment.created", "payment.pending", "payment.success",
        "payment.created", "payment.pending", "payment.success"]


def test_a_payment_above_what_remains_clamps_the_remainder_without_a_paid_at(api):
    bill = invoice(api, "10")
    pay(api, bill["id"], "12.5")
    assert amounts(api, bill["id"]) == {"amount_due": "10", "amount_paid": "12.5", "amount_remaining": "0",
                                        "payment_status": "SUCCEEDED", "paid_at": None, "invoice_status": "FINALIZED"}


def test_paying_a_draft_invoice_in_full_finalizes_it(api):
    owner = customer(api)
    draft = api.ok("POST", "invoices", {"customer_id": owner["id"], "currency": "usd", "amount_due": "8",
                                        "subtotal": "8", "total": "8"})
    assert draft["invoice_status"] == "DRAFT"
    pay(api, draft["id"], "8")
    found = api.ok("GET", f"invoices/{draft['id']}")
    assert (found["invoice_status"], found["finalized_at"], found["payment_status"]) == ("FINALIZED", STAMP, "SUCCEEDED")


def test_a_payment_read_back_names_its_invoice_number_as_its_webhooks_do(api, billing_mock):
    bill = invoice(api)
    made = pay(api, bill["id"], "1", process_payment=False).json()
    assert "invoice_number" not in made
    assert api.ok("GET", f"payments/{made['id']}")["invoice_number"] == bill["invoice_number"] == "INV-202601-00001"
    created = next(w for w in billing_mock.webhooks if w["event_type"] == "payment.created")
    assert created["payload"]["payment"]["invoice_number"] == "INV-202601-00001"


# -- process ---------------------------------------------------------------------------------------
def test_processing_needs_a_pending_payment(api, billing_mock):
    bill = invoice(api)
    made = pay(api, bill["id"], "10").json()
    response = api("POST", f"payments/{made['id']}/process")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["message"]) == ("invalid_operation", "payment is not in pending state")
    assert len(payment_events(billing_mock)) == 3


def test_processing_a_missing_payment_is_404(api):
    assert api("POST", "payments/pay_missing/process").status_code == 404


@pytest.mark.parametrize(("method", "extra", "message", "events"), [
    ("ACH", {"payment_method_id": "ba_1"}, "ACH payment processing not implemented",
     ["payment.created", "payment.pending", "payment.failed"]),
    ("CARD", {}, "no default payment method: the customer has no saved card (the mock has no payment gateway)",
     ["payment.created", "payment.pending", "payment.failed"]),
    ("CARD", {"payment_method_id": "pm_1"}, "connection stripe not found",
     ["payment.created", "payment.pending", "payment.updated", "payment.failed"]),
])
def test_a_method_that_needs_a_gateway_fails_and_records_why(api, billing_mock, method, extra, message, events):
    bill = invoice(api)
    made = pay(api, bill["id"], "10", method, process_payment=False, **extra).json()
    api.ok("PUT", f"payments/{made['id']}", {"payment_status": "PENDING"})
    response = api("POST", f"payments/{made['id']}/process")
    assert response.status_code in (400, 404) and response.json()["message"] == message
    found = api.ok("GET", f"payments/{made['id']}")
    assert (found["payment_status"], found["error_message"], found["failed_at"]) == ("FAILED", message, STAMP)
    assert [e for e, _ in payment_events(billing_mock)] == [events[0], "payment.updated", *events[1:]]
    assert amounts(api, bill["id"])["amount_paid"] == "0"


def test_a_payment_processed_on_create_that_fails_is_400_and_stays_failed(api, billing_mock):
    bill = invoice(api)
    response = pay(api, bill["id"], "10", "ACH", payment_method_id="ba_1")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_operation"
    assert response.json()["message"] == "failed to process payment: ACH payment processing not implemented"
    [found] = api.ok("GET", "payments")["items"]
    assert found["payment_status"] == "FAILED"


def test_a_payment_link_without_a_gateway_connection_goes_back_to_initiated(api, billing_mock):
    bill = invoice(api)
    made = pay(api, bill["id"], "10", "PAYMENT_LINK", payment_gateway="stripe", process_payment=False).json()
    response = api("POST", f"payments/{made['id']}/process")
    assert (response.status_code, response.json()["message"]) == (404, "connection stripe not found")
    found = api.ok("GET", f"payments/{made['id']}")
    assert found["payment_status"] == "INITIATED" and "failed_at" not in found and "error_message" not in found
    assert payment_events(billing_mock) == [("payment.created", "INITIATED"), ("payment.pending", "PROCESSING")]


# -- credits ---------------------------------------------------------------------------------------
def test_credits_debit_the_postpaid_wallet_and_pay_the_invoice(api, billing_mock):
    bill = invoice(api, "30")
    wallet = api.ok("POST", "wallets", {"customer_id": bill["customer_id"], "currency": "usd", "wallet_type": "POST_PAID",
                                        "conversion_rate": "2", "initial_credits_to_load": "25"})
    assert wallet["balance"] == "50"
    made = pay(api, bill["id"], "30", "CREDITS").json()
    assert (made["payment_status"], made["payment_method_id"]) == ("SUCCEEDED", wallet["id"])
    assert made["metadata"] == {"wallet_type": "POST_PAID", "wallet_id": wallet["id"]}
    found = api.ok("GET", f"wallets/{wallet['id']}")
    assert (found["credit_balance"], found["balance"]) == ("10", "20")
    debit = next(w["payload"]["transaction"] for w in reversed(billing_mock.webhooks)
                 if w["event_type"] == "wallet.transaction.created")
    assert {k: debit[k] for k in ("type", "amount", "credit_amount", "credit_balance_before", "credit_balance_after",
                                  "transaction_reason")} == {
        "type": "debit", "amount": "30", "credit_amount": "15", "credit_balance_before": "25",
        "credit_balance_after": "10", "transaction_reason": "INVOICE_PAYMENT"}
    listed = api.ok("GET", f"wallets/{wallet['id']}/transactions")["items"]
    assert sorted((t["type"], t["credits_available"]) for t in listed) == [("credit", "10"), ("debit", "0")]
    assert amounts(api, bill["id"])["payment_status"] == "SUCCEEDED"


def test_credits_need_a_postpaid_wallet_that_covers_the_amount(api):
    bill = invoice(api, "30")
    response = pay(api, bill["id"], "30", "CREDITS")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    prepaid = api.ok("POST", "wallets", {"customer_id": bill["customer_id"], "currency": "usd",
                                         "initial_credits_to_load": "100"})
    api.refused("POST", "payments", {"destination_type": "INVOICE", "destination_id": bill["id"], "amount": "30",
                                     "payment_method_type": "CREDITS", "currency": "usd",
                                     "payment_method_id": prepaid["id"]}, "payment_method_id")
    api.ok("POST", "wallets", {"customer_id": bill["customer_id"], "currency": "usd", "wallet_type": "POST_PAID",
                               "initial_credits_to_load": "5"})
    response = pay(api, bill["id"], "30", "CREDITS")
    assert (response.status_code, response.json()["message"]) == (400, "no wallet with sufficient balance found")


# -- update and delete -----------------------------------------------------------------------------
def test_an_update_follows_the_lifecycle_and_is_announced(api, billing_mock):
    bill = invoice(api)
    made = pay(api, bill["id"], "10", "CARD", process_payment=False).json()
    confirmed = api.ok("PUT", f"payments/{made['id']}", {"gateway_payment_id": "pi_1", "payment_gateway": "stripe",
                                                         "metadata": {"ref": "x"}})
    assert (confirmed["payment_status"], confirmed["gateway_payment_id"], confirmed["metadata"]) == (
        "PENDING", "pi_1", {"ref": "x"})
    error = api.refused("PUT", f"payments/{made['id']}", {"payment_status": "REFUNDED"}, "payment_status")
    assert error["message"] == "payment status cannot change from PENDING to REFUNDED"
    api.refused("PUT", f"payments/{made['id']}", {"payment_status": "PAID"}, "payment_status")
    settled = api.ok("PUT", f"payments/{made['id']}", {"payment_status": "SUCCEEDED", "amount": "99"})
    assert (settled["payment_status"], settled["amount"]) == ("SUCCEEDED", "10")
    assert amounts(api, bill["id"])["amount_paid"] == "0"  # an update never reconciles the invoice
    assert payment_events(billing_mock) == [("payment.created", "INITIATED"), ("payment.updated", "PENDING"),
                                            ("payment.updated", "SUCCEEDED")]


def test_only_an_initiated_or_failed_payment_can_be_deleted(api):
    bill = invoice(api)
    pending = pay(api, bill["id"], "1", process_payment=False).json()
    error = api.refused("DELETE", f"payments/{pending['id']}", None, "payment_status")
    assert error["message"] == "a payment in status PENDING cannot be deleted; void or refund it instead"
    initiated = pay(api, bill["id"], "2", "CARD", process_payment=False).json()
    assert api.ok("DELETE", f"payments/{initiated['id']}") == {"message": "payment deleted successfully"}
    assert api("GET", f"payments/{initiated['id']}").status_code == 404
