"""Credit notes: money given back on a finalized invoice, as the real server's credit note
service gives it (`internal/ee/service/creditnote.go`).

Only a FINALIZED invoice whose payment is not REFUNDED takes one. Its type follows the payment:
SUCCEEDED or PARTIALLY_REFUNDED make a REFUND (at most `amount_paid - refunded_amount`),
PENDING, PROCESSING or FAILED an ADJUSTMENT (at most `total - adjustment_amount - amount_paid`);
each line credits at most its invoice line's amount. A note is made DRAFT
(`credit_note.created`); processing it (at once unless `process_credit_note` is false, or
`POST /creditnotes/{id}/finalize`) checks the limit again and finalizes it: an adjustment lowers
the invoice's `amount_due` and `amount_remaining` (nothing left: SUCCEEDED), a refund raises
`refunded_amount` (REFUNDED once it reaches `amount_paid`, else PARTIALLY_REFUNDED) and tops the
money up into the customer's first active wallet in the currency (a new PRE_PAID one at rate 1
when there is none). Voiding a finalized adjustment recomputes the invoice from the notes still
finalized; a finalized refund cannot be voided. Both changes are `credit_note.updated`.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal

import orjson

from ...core.failures import Invalid, Refused
from ..records import Records
from . import money
from .invoices import Invoices
from .money import ZERO, rounded, same_currency, text
from .wallets import Wallets

NOTE_TYPES = {"SUCCEEDED": "REFUND", "PARTIALLY_REFUNDED": "REFUND",
              "PENDING": "ADJUSTMENT", "PROCESSING": "ADJUSTMENT", "FAILED": "ADJUSTMENT"}


class CreditNotes:
    def __init__(self, records: Records, wallets: Wallets, invoices: Invoices) -> None:
        self.records = records
        self.wallets = wallets
        self.invoices = invoices

    def create(self, fields: dict, record_id: str | None = None) -> dict:
        """`POST /creditnotes`; the same note asked for again (same invoice, reason, lines and
        processing, or the same `idempotency_key`) answers the first one."""
        asked = fields.get("line_items") or []
        if not asked:
            raise Invalid("line_items", "line_items is required: at least one line item")
        invoice = self.records.require("invoice", fields.get("invoice_id"), named="invoice_id")
        kind = self._type(invoice)
        most = self.creditable(invoice, kind)
        lines = self._lines(invoice, asked)
        total = sum((money.decimal(line["amount"], "amount") for line in lines), ZERO)
        if total > most:
            raise Invalid("line_items", f"credit amount exceeds available limit: a {kind} credit note on this invoice "
                                        f"may credit up to {text(most)}, not {text(total)}")
        processing = fields.get("process_credit_note", True) is not False
        key = fields.get("idempotency_key") or _key(invoice["id"], fields.get("reason"), kind, lines, processing)
        existing = self.records.find("creditnote", "idempotency_key", key)
        if existing is not None:
            return self.finalize(existing["id"]) if processing and existing.get("credit_note_status") == "DRAFT" else existing
        note_id = record_id or self.records.ids.new("cn")
        currency = invoice.get("currency")
        note = self.records.new("creditnote", {
            "invoice_id": invoice["id"], "customer_id": invoice.get("customer_id"),
            "subscription_id": invoice.get("subscription_id"), "currency": currency,
            "credit_note_number": fields.get("credit_note_number") or f"CN-{self.records.ids.new('')[-10:]}",
            "credit_note_status": "DRAFT", "credit_note_type": kind, "reason": fields.get("reason"),
            "memo": fields.get("memo"), "metadata": fields.get("metadata"), "total_amount": text(total),
            "idempotency_key": key, "refund_status": None,
            "line_items": [self._line(note_id, currency, line) for line in lines],
        }, note_id)
        self.records.changed("credit_note.created", "credit_note", note)
        return self.finalize(note["id"]) if processing else note

    def _type(self, invoice: dict) -> str:
        status, paid = invoice.get("invoice_status"), invoice.get("payment_status")
        if status != "FINALIZED":
            raise Invalid("invoice_id", f"credit notes are only for finalized invoices; this invoice is {status}")
        if paid == "REFUNDED":
            raise Invalid("invoice_id", "this invoice has already been fully refunded")
        if paid not in NOTE_TYPES:
            raise Invalid("invoice_id", f"no credit note for an invoice with payment status {paid}")
        return NOTE_TYPES[paid]

    @staticmethod
    def creditable(invoice: dict, kind: str) -> Decimal:
        """`calculateMaxCreditableAmount`: what a note of `kind` may still credit, from the
        invoice's stored amounts."""
        def amount(name: str) -> Decimal:
            return money.decimal(invoice.get(name), name)
        if kind == "REFUND":
            most = amount("amount_paid") - amount("refunded_amount")
        else:
            most = amount("total") - amount("adjustment_amount") - amount("amount_paid")
        return max(most, ZERO)

    @staticmethod
    def _lines(invoice: dict, asked: list[dict]) -> list[dict]:
        """Each asked line on a line of the invoice, positive and at most that line's amount."""
        invoiced = {line.get("id"): line for line in invoice.get("line_items") or []}
        lines = []
        for index, line in enumerate(asked):
            field = f"line_items[{index}]"
            target = invoiced.get(line.get("invoice_line_item_id"))
            if target is None:
                raise Invalid(f"{field}.invoice_line_item_id",
                              f"line item {line.get('invoice_line_item_id')!r} is not on invoice {invoice['id']}")
            amount = money.decimal(line.get("amount"), f"{field}.amount", None)
            if amount <= 0:
                raise Invalid(f"{field}.amount", "amount must be greater than 0")
            if amount > money.decimal(target.get("amount"), "amount"):
                raise Invalid(f"{field}.amount", f"amount {text(amount)} is more than the line was charged "
                                                 f"({target.get('amount')})")
            lines.append({**line, "amount": text(amount)})
        return lines

    def _line(self, note_id: str, currency: object, line: dict) -> dict:
        now, tenant = self.records.clock.stamp(), self.records.lifecycle.tenant
        return {"id": self.records.ids.new("cn_line"), "credit_note_id": note_id,
                "invoice_line_item_id": line["invoice_line_item_id"], "display_name": line.get("display_name") or "",
                "amount": line["amount"], "metadata": line.get("metadata"), "currency": currency,
                "status": "published", "created_at": now, "updated_at": now, "tenant_id": tenant.tenant_id,
                "environment_id": tenant.environment_id, "created_by": tenant.user_id, "updated_by": tenant.user_id}

    # -- transitions ----------------------------------------------------------------------------
    def finalize(self, note_id: str) -> dict:
        """`FinalizeCreditNote`: a DRAFT with an amount, still within the invoice's limit."""
        note = self.records.require("creditnote", note_id)
        if note.get("credit_note_status") != "DRAFT":
            raise Refused(f"credit note already processed: it is {note.get('credit_note_status')}",
                          {"credit_note_status": note.get("credit_note_status")})
        total = money.decimal(note.get("total_amount"), "total_amount")
        if total <= 0:
            raise Refused("credit note has no amount", {"total_amount": note.get("total_amount")})
        invoice = self.records.require("invoice", note.get("invoice_id"), named="invoice_id")
        most = self.creditable(invoice, note["credit_note_type"])
        if total > most:
            raise Refused(f"credit amount exceeds available limit: only {text(most)} may still be credited",
                          {"total_amount": note.get("total_amount")})
        note = self.records.update("creditnote", note["id"], {"credit_note_status": "FINALIZED"})
        if note["credit_note_type"] == "REFUND":
            self._refund(invoice, note, total)
        self._credited(invoice, note, total)
        self.records.changed("credit_note.updated", "credit_note", note)
        return note

    def _refund(self, invoice: dict, note: dict, total: Decimal) -> None:
        """The refund topped up into the customer's first active wallet in the currency."""
        currency = invoice.get("currency")
        wallet = next((w for w in self.records.where("wallet", customer_id=invoice.get("customer_id"))
                       if w.get("wallet_status") == "active" and same_currency(w.get("currency"), currency)), None)
        if wallet is None:
            wallet = self.wallets.create({"customer_id": invoice.get("customer_id"), "currency": currency,
                                          "conversion_rate": "1", "wallet_type": "PRE_PAID"})
        rate = money.decimal(wallet.get("topup_conversion_rate") or wallet.get("conversion_rate"), "rate", Decimal(1))
        self.wallets.credit(wallet, total / rate, {
            "transaction_reason": "CREDIT_NOTE", "idempotency_key": note["id"], "metadata": {"credit_note_id": note["id"]},
            "description": f"Credit note refund: {note.get('credit_note_number')}"})

    def _credited(self, invoice: dict, note: dict, total: Decimal) -> None:
        """`RecalculateInvoiceAmountsForCreditNote` (no event of its own, as on the server)."""
        if invoice.get("invoice_status") != "FINALIZED":
            return
        def amount(name: str) -> Decimal:
            return money.decimal(invoice.get(name), name)
        if note["credit_note_type"] == "REFUND":
            refunded = amount("refunded_amount") + total
            changes = {"refunded_amount": text(refunded)}
            if refunded == amount("amount_paid"):
                changes["payment_status"] = "REFUNDED"
            elif refunded > 0:
                changes["payment_status"] = "PARTIALLY_REFUNDED"
        else:
            adjusted = amount("adjustment_amount") + total
            due = amount("total") - adjusted
            remaining = max(due - amount("amount_paid"), ZERO)
            changes = {"adjustment_amount": text(adjusted), "amount_due": text(due), "amount_remaining": text(remaining)}
            if remaining == 0:
                changes["payment_status"] = "SUCCEEDED"
        self.records.update("invoice", invoice["id"], changes)

    def void(self, note_id: str) -> dict:
        """`VoidCreditNote`: a DRAFT, or a FINALIZED adjustment (the invoice recomputed from the
        notes still finalized, then taxed again if it is a subscription's)."""
        note = self.records.require("creditnote", note_id)
        status = note.get("credit_note_status")
        if status not in ("DRAFT", "FINALIZED"):
            raise Refused(f"cannot void this credit note: it is {status}", {"credit_note_status": status})
        if status == "FINALIZED" and note.get("credit_note_type") == "REFUND":
            raise Refused("cannot void completed refund: the money is already in the customer's wallet",
                          {"credit_note_type": "REFUND"})
        note = self.records.update("creditnote", note["id"], {"credit_note_status": "VOIDED"})
        if status == "FINALIZED":
            self._recalculated(note["invoice_id"])
        self.records.changed("credit_note.updated", "credit_note", note)
        return note

    def _recalculated(self, invoice_id: str) -> None:
        """`RecalculateInvoiceAmounts`: adjustment and refunded amounts from the finalized notes."""
        invoice = self.records.require("invoice", invoice_id)
        if invoice.get("invoice_status") != "FINALIZED":
            return
        currency = invoice.get("currency") or ""
        notes = [n for n in self.records.where("creditnote", invoice_id=invoice_id)
                 if n.get("credit_note_status") == "FINALIZED"]
        sums = {kind: rounded(sum((money.decimal(n.get("total_amount"), "total_amount") for n in notes
                                   if (n.get("credit_note_type") == "REFUND") == (kind == "REFUND")), ZERO), currency)
                for kind in ("REFUND", "ADJUSTMENT")}
        due = rounded(money.decimal(invoice.get("total"), "total") - sums["ADJUSTMENT"], currency)
        remaining = max(due - money.decimal(invoice.get("amount_paid"), "amount_paid"), ZERO)
        changes = {"adjustment_amount": text(sums["ADJUSTMENT"]), "refunded_amount": text(sums["REFUND"]),
                   "amount_due": text(due), "amount_remaining": text(rounded(remaining, currency))}
        if remaining == 0:
            changes["payment_status"] = "SUCCEEDED"
        self.records.update("invoice", invoice_id, changes)
        self.invoices.retax(invoice_id)

    def view(self, note_id: str) -> dict:
        """`GET /creditnotes/{id}`: the note with its invoice, subscription and customer."""
        note = self.records.require("creditnote", note_id)
        related = {"invoice": self.records.get("invoice", note.get("invoice_id")),
                   "subscription": self.records.get("subscription", note.get("subscription_id")),
                   "customer": self.records.get("customer", note.get("customer_id"))}
        return {**note, **{k: v for k, v in related.items() if v is not None}}


def _key(invoice_id: str, reason: object, kind: str, lines: list[dict], processing: bool) -> str:
    """`generateCreditNoteIdempotencyKey`: a hash of what makes two requests the same note."""
    content = {"invoice_id": invoice_id, "reason": reason, "credit_note_type": kind, "process_credit_note": processing,
               "line_items": "|".join(sorted(f"{line['invoice_line_item_id']}:{line['amount']}" for line in lines))}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
