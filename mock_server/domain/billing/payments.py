"""Payments: money recorded against an invoice (or a customer), processed, and what a succeeded
payment does to its invoice, as the real server's payment service and processor do.

Create: OFFLINE and CREDITS payments start PENDING, PAYMENT_LINK ones INITIATED, any other
method PENDING (INITIATED when `process_payment` is false); `process_payment` (true unless
false) processes at once. The auto-generated idempotency key hashes the invoice, amount,
currency, method and gateway, so a second identical payment answers the first one.
Process: from PENDING only (a payment link also from INITIATED); the payment goes PROCESSING
(`payment.pending`), then OFFLINE succeeds, CREDITS debits a POST_PAID wallet, and the methods
that need a gateway fail as the real server fails without a connection. A succeeded payment sets
the invoice's amount_paid to the sum of its succeeded payments and amount_remaining to what is
left; fully paid makes it SUCCEEDED (a DRAFT is finalized). The real server writes that invoice
without an event of its own, and so does the mock.
Not modelled: payment attempts, gateway status syncs, and the activation of an incomplete
subscription once its opening invoice is paid.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal

from ...core.failures import Invalid, InvalidOperation, NotFound
from ..records import Records
from . import money
from .money import ZERO, same_currency, text
from .wallets import Wallets

TRANSITIONS = {  # the real server's ValidateTransitionTo; a self-move is a no-op
    "INITIATED": {"INITIATED", "PENDING", "PROCESSING", "SUCCEEDED", "OVERPAID", "FAILED"},
    "PENDING": {"PENDING", "PROCESSING", "SUCCEEDED", "OVERPAID", "FAILED"},
    "PROCESSING": {"PROCESSING", "SUCCEEDED", "OVERPAID", "FAILED"},
    "SUCCEEDED": {"SUCCEEDED", "OVERPAID", "REFUNDED", "PARTIALLY_REFUNDED", "VOIDED"},
    "OVERPAID": {"OVERPAID", "REFUNDED", "PARTIALLY_REFUNDED"},
    "PARTIALLY_REFUNDED": {"PARTIALLY_REFUNDED", "REFUNDED"},
    "FAILED": {"FAILED"}, "REFUNDED": {"REFUNDED"}, "VOIDED": {"VOIDED"},
}
DELETABLE = ("INITIATED", "FAILED")  # never sent to a gateway, or sent and definitely not charged
UPDATABLE = ("payment_gateway", "gateway_payment_id", "payment_method_id", "succeeded_at", "failed_at",
             "voided_at", "refunded_at", "error_message", "metadata")
LINK_GATEWAYS = ("stripe", "razorpay", "nomod")  # the gateways a payment link can be made on


class Payments:
    def __init__(self, records: Records, wallets: Wallets) -> None:
        self.records = records
        self.wallets = wallets
        self.store, self.clock = records.store, records.clock

    # -- create ---------------------------------------------------------------------------------
    def create(self, fields: dict, record_id: str | None = None) -> dict:
        method = fields.get("payment_method_type")
        currency = str(fields.get("currency") or "")
        if len(currency) != 3:
            raise Invalid("currency", "currency must be a 3-letter currency code")
        amount = money.decimal(fields.get("amount"), "amount", None)
        processing = fields.get("process_payment", True) is not False
        payment = self._initial(fields, method, currency.lower(), processing)
        invoice = self._destination(fields, currency)
        if method == "CREDITS":
            self._choose_wallet(payment, invoice, amount)
        if amount <= 0:
            raise Invalid("amount", "amount must be greater than 0")
        payment["amount"] = text(amount)
        payment["idempotency_key"] = fields.get("idempotency_key") or _idempotency_key(payment)
        existing = self.records.find("payment", "idempotency_key", payment["idempotency_key"])
        if existing is not None:
            return existing
        stored = self.records.new("payment", {k: v for k, v in payment.items() if v is not None}, record_id)
        self._announce("payment.created", stored)
        if not processing:
            return stored
        try:
            return self.process(stored["id"])
        except (Invalid, InvalidOperation, NotFound) as failed:
            raise InvalidOperation(f"failed to process payment: {failed.message}", {"payment_id": stored["id"]}) from None

    def _initial(self, fields: dict, method: object, currency: str, processing: bool) -> dict:
        """The payment `CreatePaymentRequest.ToPayment` makes: its first status and what each
        method type demands of `payment_method_id` and `payment_gateway`."""
        gateway_metadata = {key: fields[key] for key in ("success_url", "cancel_url") if fields.get(key)}
        if fields.get("save_card_and_make_default"):
            gateway_metadata["save_card_and_make_default"] = "true"
        self._check_gateway_options(fields, method)
        payment = {
            "destination_type": fields.get("destination_type"), "destination_id": fields.get("destination_id"),
            "payment_method_type": method, "payment_method_id": fields.get("payment_method_id") or "",
            "currency": currency, "metadata": fields.get("metadata"), "gateway_metadata": gateway_metadata or None,
            "payment_gateway": fields.get("payment_gateway"), "track_attempts": True,
            "save_card_and_make_default": bool(fields.get("save_card_and_make_default")),
            "payment_status": "PENDING" if processing or method in ("OFFLINE", "CREDITS") else "INITIATED",
        }
        if method == "OFFLINE":
            if payment["payment_method_id"]:
                raise Invalid("payment_method_id", "payment_method_id is not allowed for an OFFLINE payment")
            payment.update(track_attempts=False, payment_gateway=None)
        elif method == "PAYMENT_LINK":
            if not payment["payment_gateway"]:
                raise Invalid("payment_gateway", "payment_gateway is required for a PAYMENT_LINK payment")
            payment.update(payment_status="INITIATED", payment_method_id="")
        elif method == "CREDITS":
            payment["track_attempts"] = False
        elif method != "CARD" and not payment["payment_method_id"]:
            raise Invalid("payment_method_id", f"payment_method_id is required for a {method} payment")
        return payment

    @staticmethod
    def _check_gateway_options(fields: dict, method: object) -> None:
        if ((fields.get("gateway_options") or {}).get("stripe") is not None
                and (method != "PAYMENT_LINK" or fields.get("payment_gateway") != "stripe")):
            raise Invalid("gateway_options", "gateway_options.stripe only applies to stripe PAYMENT_LINK payments")

    def _destination(self, fields: dict, currency: str) -> dict | None:
        """The invoice a payment is for, checked as `validateInvoicePaymentEligibility` checks
        it (not paid, not voided, same currency); a CUSTOMER destination must exist."""
        target = fields.get("destination_id")
        if fields.get("destination_type") == "CUSTOMER":
            self.records.require("customer", target, named="destination_id")
            return None
        invoice = self.records.require("invoice", target, named="destination_id")
        if invoice.get("payment_status") == "SUCCEEDED":
            raise Invalid("destination_id", f"invoice {invoice['id']} is already paid")
        if invoice.get("invoice_status") == "VOIDED":
            raise Invalid("destination_id", f"invoice {invoice['id']} is voided")
        if not same_currency(invoice.get("currency"), currency):
            raise Invalid("currency", f"payment currency {currency} does not match the invoice's ({invoice.get('currency')})")
        return invoice

    def _choose_wallet(self, payment: dict, invoice: dict | None, amount: Decimal) -> None:
        """CREDITS pay from a POST_PAID wallet: the one named, or the customer's only active one
        in the currency with a balance, which must cover the amount."""
        if payment["payment_method_id"]:
            wallet = self.records.require("wallet", payment["payment_method_id"], named="payment_method_id")
            if wallet.get("wallet_type") != "POST_PAID":
                raise Invalid("payment_method_id", f"credits require a POST_PAID wallet; wallet {wallet['id']} is "
                                                   f"{wallet.get('wallet_type')}")
            return
        customer_id = invoice["customer_id"] if invoice else payment["destination_id"]
        wallets = [w for w in self.records.where("wallet", customer_id=customer_id, wallet_type="POST_PAID")
                   if w.get("wallet_status") == "active" and same_currency(w.get("currency"), payment["currency"])
                   and money.decimal(w.get("balance"), "balance") > 0]
        if not wallets:
            raise NotFound(f"active POST_PAID {payment['currency']} wallet with a balance for customer", str(customer_id),
                           "customer_id")
        wallet = wallets[0]
        if money.decimal(wallet.get("balance"), "balance") < amount:
            raise InvalidOperation("no wallet with sufficient balance found",
                                   {"customer_id": customer_id, "amount": text(amount)})
        payment["payment_method_id"] = wallet["id"]
        payment["metadata"] = {**(payment["metadata"] or {}), "wallet_type": "POST_PAID", "wallet_id": wallet["id"]}

    # -- update and delete ----------------------------------------------------------------------
    def update(self, payment_id: str, request: dict) -> dict:
        """`PUT /payments/{id}`: a status only along the lifecycle, and the gateway fields; a
        gateway payment id confirms an INITIATED payment (PENDING). The request's amount is not
        read (the real server's field is `json:"-"`), and no invoice is touched."""
        payment = self.records.require("payment", payment_id)
        current = payment.get("payment_status")
        changes = {name: request[name] for name in UPDATABLE if request.get(name) is not None}
        wanted = request.get("payment_status")
        if wanted is not None:
            if wanted not in TRANSITIONS:
                raise Invalid("payment_status", f"payment_status must be one of {', '.join(TRANSITIONS)}, got {wanted!r}")
            if wanted not in TRANSITIONS.get(current, ()):
                raise Invalid("payment_status", f"payment status cannot change from {current} to {wanted}")
            changes["payment_status"] = wanted
        if "gateway_payment_id" in changes and changes.get("payment_status", current) == "INITIATED":
            changes["payment_status"] = "PENDING"
        updated = self.records.update("payment", payment_id, changes)
        self._announce("payment.updated", updated)
        return updated

    def delete(self, payment_id: str) -> None:
        payment = self.records.require("payment", payment_id)
        if payment.get("payment_status") not in DELETABLE:
            raise Invalid("payment_status", f"a payment in status {payment.get('payment_status')} cannot be deleted; "
                                            "void or refund it instead")
        self.store.delete(self.records.resource("payment").collection, payment_id)

    # -- process --------------------------------------------------------------------------------
    def process(self, payment_id: str) -> dict:
        payment = self.records.require("payment", payment_id)
        method, status = payment.get("payment_method_type"), payment.get("payment_status")
        allowed = ("INITIATED", "PENDING") if method == "PAYMENT_LINK" else ("PENDING",)
        if status not in allowed:
            raise InvalidOperation(f"payment is not in {' or '.join(s.lower() for s in allowed)} state",
                                   {"payment_id": payment_id, "payment_status": status})
        if method == "PAYMENT_LINK":
            return self._payment_link(payment)
        payment = self._move(payment, {"payment_status": "PROCESSING"}, "payment.pending")
        try:
            self._collect(payment)
        except (Invalid, InvalidOperation, NotFound) as failed:
            self._move(payment, {"payment_status": "FAILED", "error_message": failed.message,
                                 "failed_at": self.clock.stamp()}, "payment.failed")
            raise
        succeeded = self._move(payment, {"payment_status": "SUCCEEDED", "succeeded_at": self.clock.stamp()},
                               "payment.success")
        if succeeded.get("destination_type") == "INVOICE":
            self._reconcile(succeeded["destination_id"])
        return succeeded

    def _payment_link(self, payment: dict) -> dict:
        """A link is made on the gateway; without a connection to it the payment goes back to
        INITIATED (no failure is recorded) and the call fails. An already PENDING link stays so."""
        if payment["payment_status"] == "PENDING":
            return self._move(payment, {}, "payment.pending")
        self._move(payment, {"payment_status": "PROCESSING"}, "payment.pending")
        self.records.update("payment", payment["id"], {"payment_status": "INITIATED"})
        gateway = payment.get("payment_gateway")
        if gateway not in LINK_GATEWAYS:
            raise Invalid("payment_gateway", f"payment gateway {gateway} does not support payment links")
        raise NotFound("connection", str(gateway), "payment_gateway")

    def _collect(self, payment: dict) -> None:
        """Take the money by the payment's method, or raise why it could not be taken."""
        method = payment.get("payment_method_type")
        if method == "OFFLINE":
            return
        if method == "CREDITS":
            self._debit_wallet(payment)
        elif method == "CARD":
            if not payment.get("payment_method_id"):
                raise Invalid("payment_method_id", "no default payment method: the customer has no saved card "
                                                   "(the mock has no payment gateway)")
            self._move(payment, {"payment_status": "FAILED", "error_message": "connection stripe not found",
                                 "failed_at": self.clock.stamp()}, "payment.updated")
            raise NotFound("connection", "stripe", "payment_gateway")
        elif method == "ACH":
            raise InvalidOperation("ACH payment processing not implemented", {"payment_id": payment["id"]})
        else:
            raise InvalidOperation(f"unsupported payment method type: {method}", {"payment_id": payment["id"]})

    def _debit_wallet(self, payment: dict) -> None:
        wallet = self.records.require("wallet", payment.get("payment_method_id"), named="payment_method_id")
        amount = money.decimal(payment.get("amount"), "amount")
        if wallet.get("wallet_status") != "active":
            raise InvalidOperation(f"wallet {wallet['id']} is not active", {"wallet_id": wallet["id"]})
        if not same_currency(wallet.get("currency"), payment.get("currency")):
            raise InvalidOperation("wallet currency does not match payment currency", {"wallet_id": wallet["id"]})
        if money.decimal(wallet.get("balance"), "balance") < amount:
            raise InvalidOperation("wallet balance is less than payment amount",
                                   {"wallet_id": wallet["id"], "amount": text(amount)})
        self.wallets.debit(wallet, amount, {
            "transaction_reason": "INVOICE_PAYMENT", "reference_type": "PAYMENT", "reference_id": payment["id"],
            "description": f"Payment for invoice {payment['destination_id']}",
            "metadata": {"payment_id": payment["id"], "invoice_id": payment["destination_id"],
                         "payment_method": "CREDITS", "wallet_type": wallet.get("wallet_type", "")}})

    def _reconcile(self, invoice_id: str) -> None:
        """The invoice after a succeeded payment (`handleInvoicePostProcessing`): amount_paid is
        the sum of its succeeded payments, amount_remaining what is left of amount_due (never
        below 0); paid_at when exactly nothing is left; fully paid is SUCCEEDED."""
        invoice = self.records.get("invoice", invoice_id)
        if invoice is None:
            return
        payments = self.records.where("payment", destination_id=invoice_id, payment_status="SUCCEEDED")
        if any(not same_currency(p.get("currency"), invoice.get("currency")) for p in payments):
            return  # the real server logs this and leaves the invoice as it was
        paid = sum((money.decimal(p.get("amount"), "amount") for p in payments), ZERO)
        due = money.decimal(invoice.get("amount_due"), "amount_due")
        remaining = due - paid
        changes = {"amount_paid": text(paid), "amount_remaining": text(max(remaining, ZERO))}
        if remaining == 0:
            changes["paid_at"] = self.clock.stamp()
        if remaining <= 0:
            changes["payment_status"] = "SUCCEEDED"
            if invoice.get("invoice_status") == "DRAFT":
                changes.update(invoice_status="FINALIZED", finalized_at=self.clock.stamp())
        elif remaining < due:
            changes["payment_status"] = "PENDING"
        self.records.update("invoice", invoice_id, changes)

    # -- shared ---------------------------------------------------------------------------------
    def view(self, payment: dict) -> dict:
        """The payment as `GET /payments/{id}` and the webhooks show it: with its invoice's number."""
        if payment.get("destination_type") != "INVOICE":
            return payment
        invoice = self.records.get("invoice", payment.get("destination_id")) or {}
        return {**payment, "invoice_number": invoice["invoice_number"]} if invoice.get("invoice_number") else payment

    def _move(self, payment: dict, changes: dict, event_type: str) -> dict:
        updated = self.records.update("payment", payment["id"], changes)
        self._announce(event_type, updated)
        return updated

    def _announce(self, event_type: str, payment: dict) -> None:
        self.records.changed(event_type, "payment", self.view(payment))


def _idempotency_key(payment: dict) -> str:
    """The real server's generated key: `payment-` and the first 8 bytes of the SHA-256 of the
    sorted parameters."""
    params = {"amount": payment["amount"], "currency": payment["currency"], "invoice_id": payment["destination_id"],
              "payment_gateway": payment.get("payment_gateway") or "", "payment_method_id": payment["payment_method_id"],
              "payment_method_type": payment["payment_method_type"]}
    joined = "payment" + "".join(f":{key}={params[key]}" for key in sorted(params))
    return "payment-" + hashlib.sha256(joined.encode()).hexdigest()[:16]
