"""Credit notes as the real server issues them (BILLING-2.md section 5, `internal/ee/service/
creditnote.go`): only on finalized invoices, ADJUSTMENT or REFUND by the payment status, the
creditable limit at create and at finalize, what finalizing does to the invoice and the wallet,
voiding, and the `credit_note.*` webhooks. Each test names the server function its rule rests on."""
from __future__ import annotations

import pytest

from .billing_api import (  # noqa: F401 (fixtures)
    amounts,
    api,
    billing_mock,
    customer,
    invoices_of,
    pay,
    plan,
    prepaid_wallet,
    price,
    subscribe,
    tax_rate,
    taxed,
)

INVOICE = ("amount_due", "amount_remaining", "adjustment_amount", "refunded_amount", "payment_status")


@pytest.fixture
def buyer(api) -> dict:
    return customer(api)


def invoice_of(api, customer_id: str, amount: str, **extra) -> dict:
    """A finalized one-off invoice of one line of `amount`."""
    return api.ok("POST", "invoices", {"customer_id": customer_id, "currency": "usd", "invoice_type": "ONE_OFF",
                                       "subtotal": amount, "total": amount, "amount_due": amount,
                                       "line_items": [{"amount": amount, "quantity": "1", "display_name": "Work"}],
                                       **extra})


def credit(invoice: dict, amount: str, **extra) -> dict:
    return {"invoice_id": invoice["id"], "reason": "BILLING_ERROR", **extra,
            "line_items": [{"invoice_line_item_id": invoice["line_items"][0]["id"], "amount": amount}]}


def note(api, invoice: dict, amount: str, **extra) -> dict:
    return api.ok("POST", "creditnotes", credit(invoice, amount, **extra))


def state(api, invoice: dict) -> dict:
    return amounts(api.ok("GET", f"invoices/{invoice['id']}"), *INVOICE)


def test_the_worked_adjustment_lowers_what_an_unpaid_invoice_of_70_owes(api, buyer):
    """BILLING-2 §5, `getCreditNoteType` (PENDING: ADJUSTMENT), `calculateMaxCreditableAmount`
    (total - adjustment_amount - amount_paid) and `RecalculateInvoiceAmountsForCreditNote`: 25
    off 70 leaves 45 due; 45.01 more is refused; 45 more leaves nothing, and the invoice is paid."""
    invoice = invoice_of(api, buyer["id"], "70")
    first = note(api, invoice, "25")
    assert amounts(first, "credit_note_type", "credit_note_status", "total_amount", "currency") == {
        "credit_note_type": "ADJUSTMENT", "credit_note_status": "FINALIZED", "total_amount": "25", "currency": "usd"}
    assert state(api, invoice) == {"amount_due": "45", "amount_remaining": "45", "adjustment_amount": "25",
                                   "refunded_amount": "0", "payment_status": "PENDING"}
    api.refused("POST", "creditnotes", credit(invoice, "45.01"), "line_items")
    note(api, invoice, "45")
    assert state(api, invoice) == {"amount_due": "0", "amount_remaining": "0", "adjustment_amount": "70",
                                   "refunded_amount": "0", "payment_status": "SUCCEEDED"}


def test_the_worked_refund_of_a_paid_invoice_goes_into_a_new_prepaid_wallet(api, buyer):
    """BILLING-2 §5, `getCreditNoteType` (SUCCEEDED: REFUND) and `FinalizeCreditNote`: 30 of a
    paid 90 is refunded, PARTIALLY_REFUNDED, and topped up (CREDIT_NOTE) into a new prepaid wallet
    at rate 1; the other 60 makes it REFUNDED, after which no note is taken."""
    invoice = invoice_of(api, buyer["id"], "90")
    assert pay(api, invoice["id"], "SUCCEEDED").status_code == 200
    assert note(api, invoice, "30")["credit_note_type"] == "REFUND"
    assert state(api, invoice) == {"amount_due": "90", "amount_remaining": "0", "adjustment_amount": "0",
                                   "refunded_amount": "30", "payment_status": "PARTIALLY_REFUNDED"}
    (wallet,) = api.ok("GET", f"customers/{buyer['id']}/wallets")
    assert amounts(wallet, "wallet_type", "conversion_rate", "balance") == {
        "wallet_type": "PRE_PAID", "conversion_rate": "1", "balance": "30"}
    top_up = api.ok("GET", f"wallets/{wallet['id']}/transactions")["items"][0]
    assert (top_up["transaction_reason"], top_up["amount"]) == ("CREDIT_NOTE", "30")
    api.refused("POST", "creditnotes", credit(invoice, "60.01"), "line_items")
    note(api, invoice, "60")
    assert state(api, invoice)["payment_status"] == "REFUNDED"
    assert api.ok("GET", f"wallets/{wallet['id']}")["balance"] == "90"
    api.refused("POST", "creditnotes", credit(invoice, "1"), "invoice_id")


def test_a_refund_goes_into_the_customers_wallet_at_its_top_up_rate(api, buyer):
    """`FinalizeCreditNote` tops up the customer's first active wallet in the currency by amount:
    30 at a top-up rate of 4 is 7.5 credits."""
    wallet = prepaid_wallet(api, buyer["id"], "0.5", rate="2", topup_conversion_rate="4")
    invoice = invoice_of(api, buyer["id"], "90")
    pay(api, invoice["id"], "SUCCEEDED")
    note(api, invoice, "30")
    assert api.ok("GET", f"wallets/{wallet['id']}")["credit_balance"] == "8"


def test_only_a_finalized_invoice_takes_a_credit_note(api, buyer):
    """`validateInvoiceEligibility`: a draft invoice is refused, naming `invoice_id`."""
    draft = api.ok("POST", "invoices", {"customer_id": buyer["id"], "currency": "usd", "subtotal": "10", "total": "10",
                                        "amount_due": "10", "line_items": [{"amount": "10", "quantity": "1"}]})
    api.refused("POST", "creditnotes", credit(draft, "5"), "invoice_id")


@pytest.mark.parametrize(("lines", "field"), [
    ([], "line_items"),
    ([{"invoice_line_item_id": "inv_line_unknown", "amount": "1"}], "line_items[0].invoice_line_item_id"),
    ([{"amount": "10.01"}], "line_items[0].amount"),
    ([{"amount": "0"}], "line_items[0].amount"),
    ([{"amount": "ten"}], "line_items[0].amount"),
])
def test_a_credit_note_line_the_real_server_refuses_is_a_400_naming_it(api, buyer, lines, field):
    """`CreateCreditNoteRequest.Validate` and `validateLineItems`: a line of the invoice, at most
    what it was charged (and, here, more than 0: the server cannot finalize a note of 0)."""
    invoice = invoice_of(api, buyer["id"], "10")
    asked = [{"invoice_line_item_id": invoice["line_items"][0]["id"], **line} for line in lines]
    api.refused("POST", "creditnotes", {"invoice_id": invoice["id"], "reason": "DUPLICATE", "line_items": asked}, field)


def test_a_draft_note_changes_nothing_until_finalized_and_the_limit_is_checked_again(api, buyer):
    """`CreateCreditNote` with `process_credit_note: false` leaves a DRAFT; `FinalizeCreditNote`
    checks the limit again: of two drafts of 40 on 70, the second one finalized is refused."""
    invoice = invoice_of(api, buyer["id"], "70")
    first = note(api, invoice, "40", process_credit_note=False, memo="first")
    second = note(api, invoice, "40", process_credit_note=False, memo="second", reason="DUPLICATE")
    assert (first["credit_note_status"], state(api, invoice)["amount_due"]) == ("DRAFT", "70")
    assert api.ok("POST", f"creditnotes/{first['id']}/finalize") == {
        "message": "Adjustment credit note processed successfully"}
    assert state(api, invoice)["amount_due"] == "30"
    refused = api("POST", f"creditnotes/{second['id']}/finalize")
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    again = api("POST", f"creditnotes/{first['id']}/finalize")
    assert (again.status_code, again.json()["details"]) == (400, {"credit_note_status": {"value": "FINALIZED"}})


def test_voiding_a_finalized_adjustment_gives_the_amount_back_but_a_refund_is_final(api, buyer):
    """`VoidCreditNote`: a finalized adjustment is voided and `RecalculateInvoiceAmounts` adds up
    the notes still finalized; a finalized refund cannot be voided; a draft can."""
    owed = invoice_of(api, buyer["id"], "70")
    adjustment = note(api, owed, "25")
    assert api.ok("POST", f"creditnotes/{adjustment['id']}/void") == {"message": "Credit note voided successfully"}
    assert api.ok("GET", f"creditnotes/{adjustment['id']}")["credit_note_status"] == "VOIDED"
    assert state(api, owed) == {"amount_due": "70", "amount_remaining": "70", "adjustment_amount": "0",
                                "refunded_amount": "0", "payment_status": "PENDING"}
    paid = invoice_of(api, buyer["id"], "90")
    pay(api, paid["id"], "SUCCEEDED")
    refund = note(api, paid, "30")
    response = api("POST", f"creditnotes/{refund['id']}/void")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    draft = note(api, paid, "5", process_credit_note=False)
    api.ok("POST", f"creditnotes/{draft['id']}/void")
    voided_again = api("POST", f"creditnotes/{draft['id']}/void")
    assert voided_again.status_code == 400


def test_voiding_one_adjustment_of_a_taxed_subscription_invoice_shows_the_whole_total_due_again(api, billing_mock):
    """`RecalculateInvoiceAmounts` recomputes from the notes still finalized, then
    `RecalculateTaxesOnInvoice` composes a subscription invoice with rates anew, `amount_due =
    total`: the other adjustment stays in `adjustment_amount` but no longer in `amount_due`."""
    fee = plan(api)
    price(api, fee["id"], amount="100")
    buyer = customer(api)
    tax_rate(api, "TEN", "10")
    taxed(api, "TEN")
    subscription = subscribe(api, buyer["id"], fee["id"])
    (opening,) = invoices_of(api, subscription["id"])
    assert (opening["total"], opening["amount_due"]) == ("110", "110")
    note(api, opening, "5")
    second = note(api, opening, "3")
    assert state(api, opening)["amount_due"] == "102"
    api.ok("POST", f"creditnotes/{second['id']}/void")
    assert state(api, opening) == {"amount_due": "110", "amount_remaining": "110", "adjustment_amount": "5",
                                   "refunded_amount": "0", "payment_status": "PENDING"}


def test_the_same_note_asked_for_twice_is_made_once(api, buyer):
    """`generateCreditNoteIdempotencyKey`: invoice, reason, type, lines and processing make the key."""
    invoice = invoice_of(api, buyer["id"], "70")
    assert note(api, invoice, "10")["id"] == note(api, invoice, "10")["id"]
    assert state(api, invoice)["adjustment_amount"] == "10"


def test_a_note_reads_with_its_invoice_and_customer(api, buyer):
    """`GetCreditNote` expands the invoice, subscription and customer."""
    invoice = invoice_of(api, buyer["id"], "70")
    found = api.ok("GET", f"creditnotes/{note(api, invoice, '10')['id']}")
    assert (found["invoice"]["id"], found["invoice"]["adjustment_amount"], found["customer"]["id"]) == (
        invoice["id"], "10", buyer["id"])
    assert found["line_items"][0]["invoice_line_item_id"] == invoice["line_items"][0]["id"]


def test_a_note_sends_credit_note_created_then_credit_note_updated(api, billing_mock, buyer):
    """`publishSystemEvent`: `credit_note.created` when made, `credit_note.updated` when finalized
    or voided, each with the note."""
    invoice = invoice_of(api, buyer["id"], "70")
    made = note(api, invoice, "10")
    api.ok("POST", f"creditnotes/{made['id']}/void")
    sent = [(w["event_type"], w["payload"]["credit_note"]["credit_note_status"]) for w in billing_mock.webhooks
            if w["event_type"].startswith("credit_note.")]
    assert sent == [("credit_note.created", "DRAFT"), ("credit_note.updated", "FINALIZED"),
                    ("credit_note.updated", "VOIDED")]
