"""Wallets: credits and their money value, top-ups, refunds, and the real-time balance.

`credit_balance` counts credits; `balance` is money, `credit_balance x conversion_rate`. A top-up
adds credits (`credits_to_add`) or money (`amount`, divided by the top-up conversion rate) and
writes a completed credit transaction. Usage never debits a wallet as it happens: the real-time
balance of a prepaid wallet is its balance less the current-period usage charges of the
customer's subscriptions in its currency (allowances deducted, as invoiced) and the usage still
unpaid on finalized invoices. A CREDITS payment debits a wallet (`debit`, used by
`billing.payments`). One active wallet per customer, currency and type.
"""
from __future__ import annotations

from decimal import Decimal

from ...core.failures import Conflict, Invalid, InvalidOperation
from ...core.times import when
from ..records import Records
from . import money
from .bounds import fitted
from .invoices import Invoices
from .money import WALLET, ZERO, same_currency, text
from .subscriptions import live_subscriptions

TOP_UP_REASONS = ("FREE_CREDIT_GRANT", "PURCHASED_CREDIT_DIRECT", "PURCHASED_CREDIT_INVOICED",
                  "SUBSCRIPTION_CREDIT_GRANT", "CREDIT_NOTE", "INVOICE_VOID_REFUND", "PURCHASED_CREDIT_BONUS")
ALLOWED_PRICE_TYPES = {"PRE_PAID": ["USAGE"], "POST_PAID": ["ALL"]}


class Wallets:
    def __init__(self, records: Records, invoices: Invoices) -> None:
        self.records = records
        self.invoices = invoices
        self.store = records.store

    def create(self, fields: dict, record_id: str | None = None) -> dict:
        customer = (self.records.require("customer", fields["customer_id"]) if fields.get("customer_id") else
                    self.records.require("customer", fields.get("external_customer_id"), "external_id", "external_customer_id")
                    if fields.get("external_customer_id") else None)
        if customer is None:
            raise Invalid("customer_id", "customer_id or external_customer_id is required")
        kind = fields.get("wallet_type") or "PRE_PAID"
        currency = str(fields.get("currency") or "")
        if self._active(customer["id"], kind, currency) is not None:
            raise Conflict("currency", currency, f"an active {kind} wallet of customer {customer['id']}")
        rate = money.decimal(fields.get("conversion_rate"), "conversion_rate", Decimal(1))
        rate = rate if rate > 0 else Decimal(1)
        top_up_rate = money.decimal(fields.get("topup_conversion_rate"), "topup_conversion_rate", rate)
        initial = money.decimal(fields.get("initial_credits_to_load"), "initial_credits_to_load")
        if initial < 0:
            raise Invalid("initial_credits_to_load", "initial_credits_to_load must not be negative")
        wallet = self.records.new("wallet", {
            **fields, "customer_id": customer["id"], "wallet_type": kind, "wallet_status": "active",
            "conversion_rate": text(rate), "topup_conversion_rate": text(top_up_rate if top_up_rate > 0 else rate),
            "balance": "0", "credit_balance": "0", "config": {"allowed_price_types": ALLOWED_PRICE_TYPES[kind]},
        }, record_id)
        self.records.changed("wallet.created", "wallet", wallet)
        if initial > 0:
            wallet = self.credit(wallet, initial, {"transaction_reason": "FREE_CREDIT_GRANT"}, "initial_credits_to_load")[0]
        return wallet

    def _active(self, customer_id: object, kind: str, currency: str) -> dict | None:
        """The customer's active wallet of that type in that currency (there is one at most)."""
        return next((w for w in self.records.where("wallet", customer_id=customer_id, wallet_type=kind)
                     if w.get("wallet_status") == "active" and same_currency(w.get("currency"), currency)), None)

    def top_up(self, wallet_id: str, request: dict) -> tuple[dict, dict]:
        request = fitted("top_up", request)
        wallet = self.records.require("wallet", wallet_id)
        if wallet.get("wallet_status") != "active":
            raise InvalidOperation(f"wallet is {wallet.get('wallet_status')}", {"wallet_id": wallet_id})
        reason = request.get("transaction_reason")
        if reason not in TOP_UP_REASONS:
            raise Invalid("transaction_reason", f"transaction_reason {reason!r} cannot credit a wallet; use one of "
                                                f"{', '.join(TOP_UP_REASONS)}")
        credits = money.decimal(request.get("credits_to_add"), "credits_to_add")
        if not credits and request.get("amount") not in (None, ""):
            rate = money.decimal(wallet.get("topup_conversion_rate") or wallet.get("conversion_rate"), "rate", Decimal(1))
            credits = WALLET.fit(money.decimal(request["amount"], "amount") / rate, "amount", "credits of")
        if credits <= 0:
            raise Invalid("credits_to_add", "credits_to_add (or amount) must be greater than 0")
        return self.credit(wallet, credits, request)

    def credit(self, wallet: dict, credits: Decimal, request: dict, field: str = "credits_to_add") -> tuple[dict, dict]:
        """Add `credits` and write the completed credit transaction; both are returned. What it
        would make of the balance and the transaction must fit the wallet columns (a 400 naming
        `field`, nothing written, when it would not)."""
        rate = money.decimal(wallet.get("conversion_rate"), "conversion_rate", Decimal(1))
        top_up_rate = money.decimal(wallet.get("topup_conversion_rate"), "topup_conversion_rate", rate)
        before = money.decimal(wallet.get("credit_balance"), "credit_balance")
        after = WALLET.fit(before + credits, field, "the credit balance")
        balance = WALLET.fit(after * rate, field, "the balance")
        amount = WALLET.fit(credits * top_up_rate, field, "the transaction's amount")
        transaction = self.records.new("wallet_transaction", {
            "wallet_id": wallet["id"], "customer_id": wallet.get("customer_id", ""), "type": "credit",
            "transaction_status": "completed",
            "transaction_reason": request.get("transaction_reason") or "PURCHASED_CREDIT_DIRECT",
            "amount": text(amount), "credit_amount": text(credits), "credits_available": text(credits),
            "credit_balance_before": text(before), "credit_balance_after": text(after),
            "currency": wallet.get("currency", ""), "conversion_rate": text(rate), "topup_conversion_rate": text(top_up_rate),
            **{k: request[k] for k in ("description", "idempotency_key", "metadata", "priority", "expiry_date")
               if k in request},
        })
        updated = self.records.update("wallet", wallet["id"], {"credit_balance": text(after), "balance": text(balance)})
        self.records.changed("wallet.transaction.created", "transaction", transaction)
        self.records.changed("wallet.updated", "wallet", updated)
        return updated, transaction

    def debit(self, wallet: dict, amount: Decimal, request: dict) -> dict:
        """Take `amount` (money, at the wallet's conversion rate) out of the credits still
        available on its credit transactions, oldest first, and write the completed debit
        transaction; as the real server's debit, it records no `wallet.updated`."""
        rate = money.decimal(wallet.get("conversion_rate"), "conversion_rate", Decimal(1))
        credits = WALLET.hold(amount / rate, "a debit of")
        credit_transactions = self.records.where("wallet_transaction", wallet_id=wallet["id"], type="credit")
        grants = [(t["id"], available) for t in credit_transactions
                  if (available := money.decimal(t.get("credits_available"), "credits_available")) > 0]
        if sum((available for _, available in grants), ZERO) < credits:
            raise InvalidOperation("insufficient balance", {"wallet_id": wallet["id"], "amount": text(credits)})
        left, consumed = credits, []
        for grant_id, available in grants:
            if left <= 0:
                break
            taken = min(left, available)
            self.records.update("wallet_transaction", grant_id, {"credits_available": text(available - taken)})
            consumed.append(grant_id)
            left -= taken
        before = money.decimal(wallet.get("credit_balance"), "credit_balance")
        transaction = self.records.new("wallet_transaction", {
            "wallet_id": wallet["id"], "customer_id": wallet.get("customer_id", ""), "type": "debit",
            "transaction_status": "completed", "amount": text(amount), "credit_amount": text(credits),
            "credits_available": "0", "credit_balance_before": text(before), "credit_balance_after": text(before - credits),
            "currency": wallet.get("currency", ""), "conversion_rate": text(rate),
            **request, "metadata": {**request.get("metadata", {}), "consumed_credit_tx_ids": ",".join(consumed)},
        })
        self.records.update("wallet", wallet["id"], {"credit_balance": text(before - credits),
                                                     "balance": text((before - credits) * rate)})
        self.records.changed("wallet.transaction.created", "transaction", transaction)
        return transaction

    def refund(self, invoice: dict, amount: Decimal) -> None:
        """A voided invoice's payment back into the customer's prepaid wallet in its currency
        (one is created when there is none)."""
        currency = str(invoice.get("currency") or "")
        wallet = self._active(invoice.get("customer_id"), "PRE_PAID", currency)
        if wallet is None:
            wallet = self.create({"customer_id": invoice.get("customer_id"), "currency": currency})
        rate = money.decimal(wallet.get("topup_conversion_rate") or wallet.get("conversion_rate"), "rate", Decimal(1))
        self.credit(wallet, WALLET.hold(amount / rate, "a refund of"), {
            "transaction_reason": "INVOICE_VOID_REFUND", "description": f"refund of voided invoice {invoice['id']}"})

    def prorated_credit(self, customer_id: str, currency: str, amount: Decimal, key: str) -> tuple[dict, dict]:
        """A proration credit (a prorated cancel, an add-on removed) topped up by amount into the
        customer's first active PRE_PAID wallet in the currency, or a new "Proration Credit
        Wallet" at rate 1 (`wallet.go` TopUpWalletForProratedCharge)."""
        wallet = self._active(customer_id, "PRE_PAID", currency)
        if wallet is None:
            wallet = self.create({"name": "Proration Credit Wallet", "customer_id": customer_id, "currency": currency,
                                  "conversion_rate": "1", "wallet_type": "PRE_PAID",
                                  "metadata": {"created_for": "proration_credit", "source": "subscription_change"}})
        rate = money.decimal(wallet.get("topup_conversion_rate") or wallet.get("conversion_rate"), "rate", Decimal(1))
        return self.credit(wallet, amount / rate, {
            "transaction_reason": "SUBSCRIPTION_CREDIT_GRANT", "description": "Proration credit from subscription change",
            "idempotency_key": key, "metadata": {"source": "subscription_change_proration", "customer_id": customer_id}})

    def terminate(self, wallet_id: str) -> dict:
        wallet = self.records.require("wallet", wallet_id)
        if wallet.get("wallet_status") == "closed":
            raise InvalidOperation("wallet is already closed", {"wallet_id": wallet_id})
        closed = self.records.update("wallet", wallet_id, {"wallet_status": "closed"})
        self.records.changed("wallet.terminated", "wallet", closed)
        return closed

    def real_time(self, wallet_id: str) -> dict:
        """The wallet with `real_time_balance` = balance less what is pending against it: the
        current periods' usage charges, plus the unpaid invoices' usage lines (all their amounts
        when the wallet pays every price type) less what was paid on them, as one sum."""
        wallet = self.records.require("wallet", wallet_id)
        balance = money.decimal(wallet.get("balance"), "balance")
        rate = money.decimal(wallet.get("conversion_rate"), "conversion_rate", Decimal(1))
        if wallet.get("wallet_status") != "active":
            balance = ZERO
        pending = unpaid_usage = ZERO
        if wallet.get("wallet_type", "PRE_PAID") == "PRE_PAID" and wallet.get("wallet_status") == "active":
            unpaid = self.unpaid_invoices(wallet)
            unpaid_usage = unpaid["usage"]
            if "ALL" in (wallet.get("config") or {}).get("allowed_price_types", []):
                pending = self.current_usage_charges(wallet) + unpaid["remaining"]
            else:
                pending = self.current_usage_charges(wallet) + unpaid["usage"] - unpaid["paid"]
        live = balance - pending
        return {**wallet, "real_time_balance": text(live), "real_time_credit_balance": text(live / rate),
                "current_period_usage": text(pending), "unpaid_invoices_amount": text(unpaid_usage),
                "balance_updated_at": wallet.get("updated_at"), "is_cached_fallback": False}

    def current_usage_charges(self, wallet: dict) -> Decimal:
        total, windows = ZERO, {}
        for subscription in live_subscriptions(self.records, wallet["customer_id"], wallet.get("currency")):
            customer = self.records.get("customer", subscription["customer_id"]) or {}
            start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
            for item in self.records.where("subscription_lineitem", subscription_id=subscription["id"]):
                if item.get("price_type") == "USAGE":
                    line = self.invoices.usage_line(subscription, customer, item, start, end, windows)
                    total += money.decimal(line["amount"], "amount")
        return total

    def unpaid_invoices(self, wallet: dict) -> dict[str, Decimal]:
        """The customer's invoices in the wallet's currency still to be paid (finalized, or drafts
        whose period has ended): what remains, their usage lines, and what was paid on them."""
        totals = {"remaining": ZERO, "usage": ZERO, "paid": ZERO}
        now = self.records.clock.now()
        for invoice in self.records.where("invoice", customer_id=wallet["customer_id"]):
            status = invoice.get("invoice_status")
            if status not in ("DRAFT", "FINALIZED") or invoice.get("payment_status") == "SUCCEEDED":
                continue
            if status == "DRAFT" and invoice.get("period_end") and when(invoice["period_end"]) > now:
                continue
            remaining = money.decimal(invoice.get("amount_remaining"), "amount_remaining")
            if not remaining or not same_currency(invoice.get("currency"), wallet.get("currency")):
                continue
            totals["remaining"] += remaining
            totals["paid"] += money.decimal(invoice.get("amount_paid"), "amount_paid")
            totals["usage"] += sum((money.decimal(line.get("amount"), "amount")
                                    - money.decimal(line.get("prepaid_credits_applied"), "prepaid_credits_applied")
                                    - money.decimal(line.get("line_item_discount"), "line_item_discount")
                                    for line in invoice.get("line_items") or [] if line.get("price_type") == "USAGE"), ZERO)
        return totals
