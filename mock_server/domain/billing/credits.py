"""Prepaid credits on invoices: what the customer's prepaid wallets pay of an invoice's usage
lines, and the wallet debits that pay it, as the real server's credit adjustment does it.

Wallets (`wallet_payment.go` GetWalletsForCreditAdjustment): the customer's active PRE_PAID
wallets in the invoice's currency with a balance above 0, highest balance first; their balances
(money) make one pool. Lines (`credit_adjustment.go` CalculateCreditAdjustments): only USAGE
lines, in line order, each up to its amount less its line and invoice-level discounts; each
draw from a wallet is `min(round(x), x)` of what is needed (so never rounded up), and wallets
drain in order. Each wallet is then debited once for what it gave (`DebitWallet`: credits =
amount / conversion rate, reason CREDIT_ADJUSTMENT, reference the invoice).
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..records import Records
from . import money
from .money import ZERO, rounded, same_currency, text

Debit = Callable[[dict, Decimal, dict], dict]  # (wallet, amount, transaction fields) -> the debit


class PrepaidCredits:
    def __init__(self, records: Records, debit: Debit) -> None:
        self.records = records
        self.debit = debit

    def wallets(self, customer_id: object, currency: object) -> list[dict]:
        """The customer's active prepaid wallets in `currency` with money, highest balance first."""
        found = [w for w in self.records.where("wallet", customer_id=customer_id)
                 if w.get("wallet_status") == "active" and w.get("wallet_type", "PRE_PAID") == "PRE_PAID"
                 and same_currency(w.get("currency"), currency) and _balance(w) > 0]
        return sorted(found, key=lambda w: -_balance(w))

    def apply(self, invoice: dict) -> Decimal:
        """Draw on the wallets for `invoice`'s usage lines (their `prepaid_credits_applied` set
        in place), debit them, and answer the total applied."""
        lines = invoice.get("line_items") or []
        wallets = self.wallets(invoice.get("customer_id"), invoice.get("currency")) if lines else []
        if not wallets:
            return ZERO
        currency = invoice["currency"]
        left = {w["id"]: _balance(w) for w in wallets}
        pool = sum(left.values(), ZERO)
        taken: dict[str, Decimal] = {}
        index = 0
        for line in lines:
            line["prepaid_credits_applied"] = "0"
            if line.get("price_type") != "USAGE":
                continue
            owed = (money.decimal(line.get("amount"), "amount")
                    - money.decimal(line.get("line_item_discount"), "line_item_discount")
                    - money.decimal(line.get("invoice_level_discount"), "invoice_level_discount"))
            most, applied = min(pool, owed), ZERO
            while index < len(wallets) and applied < most:
                wallet_id = wallets[index]["id"]
                if left[wallet_id] <= 0:
                    index += 1
                    continue
                raw = min(left[wallet_id], most - applied)
                draw = min(rounded(raw, currency), raw)
                if draw == 0:  # what is needed rounds to nothing in this currency: the wallet is passed over
                    left[wallet_id] = ZERO
                    index += 1
                    continue
                taken[wallet_id] = taken.get(wallet_id, ZERO) + draw
                left[wallet_id] -= draw
                applied += draw
                if left[wallet_id] <= 0:
                    index += 1
            line["prepaid_credits_applied"] = text(applied)
            pool -= applied
        for wallet in wallets:
            if wallet["id"] in taken:
                self.debit(wallet, taken[wallet["id"]], {
                    "transaction_reason": "CREDIT_ADJUSTMENT", "reference_type": "INVOICE", "reference_id": invoice["id"],
                    "description": f"Amount applied as credit adjustment to invoice {invoice['id']} from wallet {wallet['id']}",
                    "metadata": {"invoice_id": invoice["id"], "customer_id": invoice.get("customer_id") or "",
                                 "wallet_type": wallet.get("wallet_type") or "PRE_PAID",
                                 "adjustment_type": "amount_application"}})
        return sum((money.decimal(line.get("prepaid_credits_applied"), "prepaid_credits_applied") for line in lines), ZERO)


def _balance(wallet: dict) -> Decimal:
    return money.decimal(wallet.get("balance"), "balance")
