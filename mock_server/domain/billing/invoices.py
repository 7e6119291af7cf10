"""Invoices: the lines a subscription owes for a period, previews, one-off invoices, and the
finalize / void / payment transitions with the amounts they set.

A subscription invoice is built at a reference point, as the real server's
`PrepareSubscriptionInvoiceRequest` builds it: at `period_start` the period's ADVANCE fixed
charges; at `period_end` (renewals and previews) the period's ARREAR charges (usage and arrear
fixed) plus the next period's ADVANCE charges; at `cancel` the ARREAR charges only. Each line is
rounded to the currency; the subtotal is the sum of the rounded lines. Usage lines deduct the
customer's metered entitlement allowance. Numbers are `INV-YYYYMM-NNNNN`, per month.

The total is composed in the real server's order: line coupons, then invoice-level coupons
(`billing.coupons`, when the invoice is computed), then prepaid credits (`billing.credits`), then
tax on `subtotal - total_discount` (`billing.taxes`): `total = subtotal - total_discount -
total_prepaid_credits_applied + total_tax`, never below 0, `amount_due = total`. A subscription
invoice gets its credits and tax when it is finalized (`invoice.go`
performFinalizeInvoiceActions), a ONE_OFF or CREDIT invoice all of it when it is created; a
preview computes coupons and tax and stores nothing.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from ...core.failures import Conflict, Invalid, Refused
from ...core.times import moved, parse_instant, stamp, when
from ..records import Records
from . import money, pricing
from .bounds import fitted
from .coupons import Coupons
from .credits import PrepaidCredits
from .money import ZERO, rounded, same_currency, text
from .periods import next_period_end, shifted
from .taxes import Taxes
from .usage import Usage

DUE_DAYS = 1
ADVANCE, ARREAR = "ADVANCE", "ARREAR"
PAYMENT_MOVES = {
    "PENDING": {"PENDING", "SUCCEEDED", "OVERPAID", "FAILED"},
    "FAILED": {"PENDING", "FAILED", "SUCCEEDED", "OVERPAID"},
    "SUCCEEDED": {"SUCCEEDED", "OVERPAID"},
    "OVERPAID": {"OVERPAID"},
}
VOIDABLE_PAYMENTS = {"PENDING", "FAILED", "SUCCEEDED", "PARTIALLY_REFUNDED", "OVERPAID"}
AUTO_FINALIZED_TYPES = {"ONE_OFF", "CREDIT"}
ZERO_AMOUNTS = {name: "0" for name in ("total_discount", "total_tax", "adjustment_amount", "refunded_amount",
                                       "overpaid_amount", "total_prepaid_credits_applied")}
LINE_ADJUSTMENTS = {name: "0" for name in ("line_item_discount", "invoice_level_discount", "prepaid_credits_applied")}
# What finalizing a subscription invoice may change besides its state.
SETTLED = ("line_items", "total_prepaid_credits_applied", "total_tax", "taxes", "total", "amount_due", "amount_remaining")


class Invoices:
    def __init__(self, records: Records, usage: Usage, allowances, coupons: Coupons, taxes: Taxes,
                 credits: PrepaidCredits) -> None:
        self.records = records
        self.usage = usage
        self.allowances = allowances  # (subscription, meter id) -> (usage_limit or None, reset period) | None
        self.coupons, self.taxes, self.credits = coupons, taxes, credits
        self.clock = records.clock
        self.store = records.store

    # -- building -------------------------------------------------------------------------------
    def lines(self, subscription: dict, start: datetime, end: datetime, reference: str) -> list[dict]:
        """The lines a subscription owes at `reference` for the period `[start, end)`."""
        items = self.records.where("subscription_lineitem", subscription_id=subscription["id"])
        customer = self.records.get("customer", subscription.get("customer_id")) or {}
        lines, windows = [], {}
        if reference in ("period_end", "cancel"):
            lines += [self.usage_line(subscription, customer, item, start, end, windows) for item in items
                      if item.get("price_type") == "USAGE" and _live(item, start, end)]
            lines += [self.fixed_line(subscription, item, start, end) for item in items
                      if item.get("price_type") == "FIXED" and item.get("invoice_cadence") == ARREAR
                      and _live(item, start, end)]
        if reference == "period_end" and _ends_by(subscription, end):
            return lines  # nothing to bill in advance for a period that never comes
        if reference in ("period_start", "period_end"):
            if reference == "period_end":
                start, end = end, next_period_end(subscription, end)
            lines += [self.fixed_line(subscription, item, start, end) for item in items
                      if item.get("price_type") == "FIXED" and item.get("invoice_cadence") == ADVANCE
                      and _live(item, start, end) and self._advance_due(subscription, item, start, reference)]
        return lines

    def _advance_due(self, subscription: dict, item: dict, start: datetime, reference: str) -> bool:
        """A ONETIME price is billed once: with the period its start date falls in."""
        if item.get("billing_period") != "ONETIME":
            return True
        return reference == "period_start" and when(item.get("start_date") or subscription["start_date"]) <= start

    def fixed_line(self, subscription: dict, item: dict, start: datetime, end: datetime) -> dict:
        price = self.records.get("price", item.get("price_id")) or {}
        units = money.decimal(item.get("quantity"), "quantity", Decimal(1))
        amount = rounded(pricing.cost(price, Decimal(1)) * units, subscription["currency"])
        return self._line(subscription, item, units, amount, start, end)

    def usage_line(self, subscription: dict, customer: dict, item: dict, start: datetime, end: datetime,
                   windows: dict | None = None) -> dict:
        price = self.records.get("price", item.get("price_id")) or {}
        meter = self.records.get("meter", item.get("meter_id")) or {}
        window = (max(start, when(item["start_date"])) if item.get("start_date") else start,
                  min(end, when(item["end_date"])) if item.get("end_date") else end)
        used = self.usage.quantity(meter, customer.get("external_id") or "", *window, windows) if meter else ZERO
        billable, deducted = self._after_allowance(subscription, meter, used, customer, window)
        amount = rounded(pricing.cost(price, billable), subscription["currency"])
        line = self._line(subscription, item, billable, amount, start, end)
        line.update(meter_id=item.get("meter_id"), meter_display_name=meter.get("name"))
        if deducted:
            line["adjusted_entitlement_quantity"] = text(deducted)
        return line

    def _after_allowance(self, subscription: dict, meter: dict, used: Decimal, customer: dict,
                         window: tuple[datetime, datetime]) -> tuple[Decimal, Decimal]:
        """(billable, deducted): usage less the customer's enabled metered entitlement on the
        meter's feature (unlimited: nothing is billable). An allowance that resets DAILY, or
        MONTHLY on a subscription billed otherwise, is taken off each day's or month's usage;
        any other reset period is taken off the period's usage, as the real server does."""
        found = self.allowances(subscription, meter.get("id"))
        if found is None:
            return used, ZERO
        limit, reset = found
        if limit is None:
            return ZERO, used
        allowed = Decimal(limit)
        edges = None if reset == subscription.get("billing_period") else _reset_edges(reset, subscription, *window)
        if edges is None:
            billable = max(used - allowed, ZERO)
        else:
            customer_key = customer.get("external_id") or ""
            billable = sum((max(self.usage.quantity(meter, customer_key, low, high) - allowed, ZERO)
                            for low, high in zip(edges, edges[1:])), ZERO)
        return billable, used - billable

    def _line(self, subscription: dict, item: dict, units: Decimal, amount: Decimal, start: datetime, end: datetime) -> dict:
        return {
            "id": self.records.ids.new("inv_line"),
            "subscription_id": subscription["id"], "subscription_line_item_id": item["id"],
            "customer_id": subscription.get("customer_id"), "price_id": item.get("price_id"),
            "price_type": item.get("price_type"), "entity_id": item.get("entity_id"),
            "entity_type": item.get("entity_type"), "display_name": item.get("display_name"),
            "plan_display_name": item.get("plan_display_name"), "currency": subscription["currency"],
            "quantity": text(units), "amount": text(amount), "period_start": stamp(start), "period_end": stamp(end),
            "status": "published", **LINE_ADJUSTMENTS,
        }

    def draft(self, subscription: dict, start: datetime, end: datetime, reference: str, reason: str,
              hide_zero: bool = False, credit: Decimal = ZERO) -> dict:
        """An invoice for the subscription at `reference`, not stored; `credit` (a plan change's)
        comes off its fixed lines."""
        lines = _netted(self.lines(subscription, start, end, reference), credit)
        if hide_zero:
            lines = [line for line in lines if money.decimal(line["amount"], "amount") != 0]
        subtotal = sum((money.decimal(line["amount"], "amount") for line in lines), ZERO)
        return {
            "id": self.records.ids.new("inv"), "customer_id": subscription.get("customer_id"),
            "subscription_id": subscription["id"], "invoice_type": "SUBSCRIPTION", "invoice_status": "DRAFT",
            "payment_status": "PENDING", "billing_reason": reason, "currency": subscription["currency"],
            "subtotal": text(subtotal), "total": text(subtotal), "amount_due": text(subtotal),
            "amount_paid": "0", "amount_remaining": text(subtotal), **ZERO_AMOUNTS,
            "billing_period": subscription.get("billing_period"),
            "period_start": stamp(start), "period_end": stamp(end), "due_date": stamp(moved(end, timedelta(days=DUE_DAYS))),
            "line_items": lines, "version": 1,
        }

    def preview(self, subscription: dict, start: datetime | None, end: datetime | None, hide_zero: bool) -> dict:
        """Current-period ARREAR plus next-period ADVANCE with the coupons and tax they would
        carry (`GetPreviewInvoice`: no prepaid credits, nothing stored or redeemed)."""
        start = start or when(subscription["current_period_start"])
        end = end or when(subscription["current_period_end"])
        if end <= start:
            raise Invalid("period_end", "period_end must be after period_start")
        invoice = self.draft(subscription, start, end, "period_end", "SUBSCRIPTION_CYCLE", hide_zero)
        self.coupons.apply(invoice, *self.coupons.for_subscription_invoice(subscription, start, end,
                                                                           invoice["line_items"]), stored=False)
        self.taxes.apply(invoice, self.taxes.subscription_rates(subscription["id"]), stored=False)
        now = self.clock.stamp()
        return {**composed(invoice), "metadata": {"is_preview": "true"}, "created_at": now, "updated_at": now,
                "tenant_id": self.records.lifecycle.tenant.tenant_id,
                "environment_id": self.records.lifecycle.tenant.environment_id}

    def issue(self, subscription: dict, start: datetime, end: datetime, reference: str, reason: str,
              credit: Decimal = ZERO) -> dict:
        """A subscription invoice stored with its coupons and finalized; SKIPPED (before any
        coupon) when it comes to nothing. `credit` (a plan change's) comes off its fixed lines.
        Its idempotency key names the subscription, period and reason, as the server's does: a
        second issue of the same invoice finalizes the one stored (if need be) instead of making
        another (a renewal that a lost store cut short)."""
        key = _idempotency_key(subscription, start, end, reason, self.records.lifecycle.tenant)
        stored = self.records.find("invoice", "idempotency_key", key)
        if stored is not None:
            return self.finalize(stored["id"]) if stored.get("invoice_status") == "DRAFT" else stored
        invoice = {**self.draft(subscription, start, end, reference, reason, credit=credit), "idempotency_key": key}
        if money.decimal(invoice["subtotal"], "subtotal") == 0:
            invoice["invoice_status"] = "SKIPPED"
            return self.records.new("invoice", invoice, invoice.pop("id"))
        self.coupons.apply(invoice, *self.coupons.for_subscription_invoice(subscription, start, end,
                                                                           invoice["line_items"]), stored=True)
        stored = self.records.new("invoice", composed(invoice), invoice.pop("id"))
        self.records.changed("invoice.update", "invoice", stored)
        return self.finalize(stored["id"])

    def usage_charges(self, subscription_id: object, start_time: object, end_time: object, lifetime: bool) -> dict:
        """`/subscriptions/usage`: each usage line item's quantity and charge in the window (the
        current period by default), no allowance deducted; the total is the rounded sum of the
        unrounded charges."""
        subscription = self.records.require("subscription", subscription_id)
        start = parse_instant(start_time, "start_time") if start_time else when(subscription["current_period_start"])
        end = parse_instant(end_time, "end_time") if end_time else when(subscription["current_period_end"])
        if lifetime:
            start = when(subscription["start_date"])
        if end < start:
            raise Invalid("end_time", "end_time must be after start_time")
        customer = self.records.get("customer", subscription.get("customer_id")) or {}
        currency, charges, total, windows = subscription["currency"], [], ZERO, {}
        for item in self.records.where("subscription_lineitem", subscription_id=subscription["id"]):
            if item.get("price_type") != "USAGE":
                continue
            price = self.records.get("price", item.get("price_id")) or {}
            meter = self.records.get("meter", item.get("meter_id"))
            used = self.usage.quantity(meter, customer.get("external_id") or "", start, end, windows) if meter else ZERO
            cost = pricing.cost(price, used)
            total += cost
            charges.append({"subscription_line_item_id": item["id"], "meter_id": item.get("meter_id"),
                            "meter_display_name": item.get("meter_display_name") or item.get("display_name"),
                            "price": price, "quantity": used, "amount": rounded(cost, currency),
                            "currency": currency, "is_overage": False})
        return {"amount": rounded(total, currency), "currency": currency, "start_time": stamp(start),
                "end_time": stamp(end), "charges": charges}

    # -- one-off invoices -----------------------------------------------------------------------
    def create(self, fields: dict, record_id: str | None = None) -> dict:
        """`POST /invoices` (`CreateOneOffInvoice`): the caller's subtotal and lines, discounted
        by its `coupons` (those that exist and may be applied) and `line_item_coupons`; a ONE_OFF
        or CREDIT invoice also takes prepaid credits and its tax (`Taxes.one_off_rates`) now, and
        is finalized at once (as is one asking for FINALIZED). An `idempotency_key` already used
        answers that invoice while it is a draft, else 409, as the server's does."""
        self.records.require("customer", fields.get("customer_id"))
        known = self.records.find("invoice", "idempotency_key", fields.get("idempotency_key"))
        if known is not None:
            if known.get("invoice_status") in ("DRAFT", "SKIPPED"):
                return known
            raise Conflict("idempotency_key", fields["idempotency_key"], "an invoice")
        due = money.decimal(fields.get("amount_due"), "amount_due", None)
        paid = money.decimal(fields.get("amount_paid"), "amount_paid")
        for name in ("subtotal", "total"):
            money.decimal(fields.get(name), name, None)
        if paid > due:
            raise Invalid("amount_paid", "amount_paid must not exceed amount_due")
        lines = [self._one_off_line(fields, i, line) for i, line in enumerate(fields.get("line_items") or [])]
        coupons = self.coupons.for_one_off_invoice(fields)
        settled_now = fields.get("invoice_type") in AUTO_FINALIZED_TYPES
        rates = self.taxes.one_off_rates(fields) if settled_now else []
        wanted = fields.get("invoice_status")
        invoice = {**ZERO_AMOUNTS, **fields, "id": record_id or self.records.ids.new("inv"), "invoice_status": "DRAFT",
                   "payment_status": fields.get("payment_status") or "PENDING", "amount_paid": text(paid),
                   "line_items": lines, "invoice_type": fields.get("invoice_type"), "version": 1}
        invoice.pop("invoice_number", None)
        self.coupons.apply(invoice, *coupons, stored=True)
        invoice = composed(invoice)
        stored = self.records.new("invoice", {k: v for k, v in invoice.items() if v is not None}, invoice.pop("id"))
        if settled_now:  # the wallet debits reference the stored invoice
            stored = self.records.update("invoice", stored["id"], self._settled(stored, rates))
        self.records.changed("invoice.update", "invoice", stored)
        if fields.get("invoice_type") in AUTO_FINALIZED_TYPES or wanted == "FINALIZED":
            return self.finalize(stored["id"])
        return stored

    def _one_off_line(self, fields: dict, index: int, line: dict) -> dict:
        for name in ("amount", "quantity"):
            money.decimal(line.get(name), f"line_items[{index}].{name}", None)
        return {**LINE_ADJUSTMENTS, **line, "id": self.records.ids.new("inv_line"), "currency": fields.get("currency"),
                "customer_id": fields.get("customer_id"), "status": "published"}

    # -- transitions ----------------------------------------------------------------------------
    def finalize(self, invoice_id: str) -> dict:
        invoice = self.records.require("invoice", invoice_id)
        if invoice.get("invoice_status") == "SKIPPED":
            return invoice
        if invoice.get("invoice_status") != "DRAFT":
            raise Refused("invoice is not in draft status", {"invoice_status": invoice.get("invoice_status")})
        now = self.clock.now()
        changes = {}
        if invoice.get("invoice_type") == "SUBSCRIPTION" and invoice.get("line_items"):
            subscription_id = invoice.get("subscription_id")
            changes = self._settled(invoice, self.taxes.subscription_rates(subscription_id) if subscription_id else [])
        changes.update(invoice_status="FINALIZED", finalized_at=stamp(now), issue_date=stamp(now),
                       invoice_number=self._number(now))
        if money.decimal(changes.get("total", invoice.get("total")), "total") == 0:
            changes["payment_status"] = "SUCCEEDED"
        finalized = self.records.update("invoice", invoice_id, changes)
        self.records.changed("invoice.update.finalized", "invoice", finalized)
        return finalized

    def _settled(self, invoice: dict, rates: list[dict]) -> dict:
        """The stored `invoice`'s prepaid credits (wallets debited) and then its tax at `rates`:
        the fields that change."""
        invoice = {**invoice, "line_items": [dict(line) for line in invoice.get("line_items") or []]}
        invoice["total_prepaid_credits_applied"] = text(self.credits.apply(invoice))
        self.taxes.apply(invoice, rates, stored=True)
        return {name: value for name, value in composed(invoice).items() if name in SETTLED}

    def retax(self, invoice_id: str) -> dict:
        """`RecalculateTaxesOnInvoice`: a subscription invoice taxed again at its subscription's
        rates, its total, amount due and remaining composed anew (so an adjustment no longer
        shows in `amount_due`, as on the server); any other invoice, or one without rates, as
        it is."""
        invoice = self.records.require("invoice", invoice_id)
        rates = self.taxes.subscription_rates(invoice["subscription_id"]) if (
            invoice.get("invoice_type") == "SUBSCRIPTION" and invoice.get("subscription_id")) else []
        if not rates:
            return invoice
        self.taxes.apply(invoice, rates, stored=True)
        return self.records.update("invoice", invoice_id, {n: v for n, v in composed(invoice).items() if n in SETTLED})

    def _number(self, now: datetime) -> str:
        month = now.strftime("%Y%m")
        return f"INV-{month}-{self.store.next_in_sequence('invoice_number:' + month):05d}"

    def void(self, invoice_id: str, metadata: dict | None, refund) -> dict:
        """Voided from DRAFT, FINALIZED or SKIPPED; what was paid goes back to a prepaid wallet
        (`refund(invoice, amount)`), and the payment becomes REFUNDED."""
        invoice = self.records.require("invoice", invoice_id)
        if invoice.get("invoice_status") not in ("DRAFT", "FINALIZED", "SKIPPED"):
            raise Refused(f"invoice in status {invoice.get('invoice_status')} cannot be voided",
                          {"invoice_status": invoice.get("invoice_status")})
        if invoice.get("payment_status") not in VOIDABLE_PAYMENTS:
            raise Refused(f"invoice with payment status {invoice.get('payment_status')} cannot be voided",
                          {"payment_status": invoice.get("payment_status")})
        changes = {"invoice_status": "VOIDED", "voided_at": self.clock.stamp()}
        if metadata:
            changes["metadata"] = {**(invoice.get("metadata") or {}), **metadata}
        owed = (money.decimal(invoice.get("amount_paid"), "amount_paid")
                + money.decimal(invoice.get("total_prepaid_credits_applied"), "total_prepaid_credits_applied")
                - money.decimal(invoice.get("refunded_amount"), "refunded_amount"))
        if owed > 0:
            refund(invoice, owed)
            changes.update(payment_status="REFUNDED", refunded_amount=text(owed))
        voided = self.records.update("invoice", invoice_id, changes)
        self.records.changed("invoice.update.voided", "invoice", voided)
        return voided

    def record_payment(self, invoice_id: str, status: str, amount: object) -> dict:
        """A manual payment: the real server's allowed moves and the amounts each sets. An
        `amount` with PENDING is what has been paid so far; OVERPAID changes no amount, so it
        needs an invoice with nothing remaining."""
        invoice = self.records.require("invoice", invoice_id)
        if invoice.get("invoice_status") not in ("DRAFT", "FINALIZED"):
            raise Refused(f"payment cannot be recorded on a {invoice.get('invoice_status')} invoice",
                          {"invoice_status": invoice.get("invoice_status")})
        current = invoice.get("payment_status") or "PENDING"
        if status not in PAYMENT_MOVES.get(current, set()):
            raise Invalid("payment_status", f"payment status cannot move from {current} to {status}")
        due = money.decimal(invoice.get("amount_due"), "amount_due")
        amount = fitted("invoice_payment", {"amount": amount})["amount"]
        given = money.decimal(amount, "amount", None) if amount not in (None, "") else None
        if given is not None and given < 0:
            raise Invalid("amount", "amount must not be negative")
        changes = {"payment_status": status}
        if status == "SUCCEEDED":
            changes.update(amount_paid=text(due), amount_remaining="0", paid_at=self.clock.stamp())
        elif status == "OVERPAID":
            if money.decimal(invoice.get("amount_remaining"), "amount_remaining") != 0:
                raise Invalid("payment_status", "an invoice with an amount remaining cannot be OVERPAID; "
                                                "record SUCCEEDED first")
        elif status == "FAILED":
            changes.update(amount_paid="0", amount_remaining=text(due))
        elif given is not None:
            if given > due:
                raise Invalid("amount", f"amount {text(given)} exceeds the amount due ({text(due)})")
            changes.update(amount_paid=text(given), amount_remaining=text(due - given))
        updated = self.records.update("invoice", invoice_id, changes)
        self.records.changed("invoice.update.payment", "invoice", updated)
        return updated

    # -- summaries ------------------------------------------------------------------------------
    def customer_summary(self, customer: dict) -> dict:
        """One summary per currency of the customer's subscriptions that are not cancelled."""
        subscriptions = [s for s in self.records.where("subscription", customer_id=customer["id"])
                         if s.get("subscription_status") != "cancelled"]
        currencies = sorted({s["currency"] for s in subscriptions})
        live = [s for s in subscriptions if s.get("subscription_status") in ("active", "trialing")]
        default = live[0]["currency"] if live else (currencies[0] if currencies else "")
        return {"customer_id": customer["id"], "default_currency": default,
                "summaries": self.summary(customer, currencies)}

    def summary(self, customer: dict, currencies: list[str]) -> list[dict]:
        """Per currency: the customer's DRAFT and FINALIZED invoices summed."""
        invoices = [i for i in self.records.where("invoice", customer_id=customer["id"])
                    if i.get("invoice_status") in ("DRAFT", "FINALIZED")]
        now = self.clock.now()
        summaries = []
        for currency in currencies:
            mine = [i for i in invoices if same_currency(i.get("currency"), currency)]
            unpaid = [i for i in mine if i.get("payment_status") != "SUCCEEDED"]
            overdue = [i for i in unpaid if i.get("due_date") and when(i["due_date"]) < now]
            summaries.append({
                "customer_id": customer["id"], "currency": currency,
                "total_revenue_amount": text(_sum(mine, "amount_due")),
                "total_unpaid_amount": text(_sum(unpaid, "amount_remaining")),
                "total_overdue_amount": text(_sum(overdue, "amount_remaining")),
                "total_invoice_count": len(mine), "unpaid_invoice_count": len(unpaid),
                "overdue_invoice_count": len(overdue),
                "unpaid_usage_charges": text(_line_sum(unpaid, "USAGE")),
                "unpaid_fixed_charges": text(_line_sum(unpaid, "FIXED")),
            })
        return summaries


def composed(invoice: dict) -> dict:
    """`invoice` with its total, amount due and remaining composed from its parts:
    `subtotal - total_discount - total_prepaid_credits_applied + total_tax`, never below 0."""
    def part(name: str) -> Decimal:
        return money.decimal(invoice.get(name), name)
    total = max(part("subtotal") - part("total_discount") - part("total_prepaid_credits_applied") + part("total_tax"), ZERO)
    return {**invoice, "total": text(total), "amount_due": text(total), "amount_remaining": text(total - part("amount_paid"))}


def _reset_edges(reset: str | None, subscription: dict, start: datetime, end: datetime) -> list[datetime] | None:
    """The windows an allowance resets on inside `[start, end)`: UTC days for DAILY, months from
    the billing anchor for MONTHLY; None for a reset that covers the period whole."""
    if reset == "DAILY":
        cuts = []
        day = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        while day < end:
            cuts.append(day)
            day += timedelta(days=1)
    elif reset == "MONTHLY":
        anchor = when(subscription.get("billing_anchor") or subscription["start_date"])
        months = (start.year - anchor.year) * 12 + start.month - anchor.month
        cuts = []
        for k in range(months, months + 14):
            try:
                cut = shifted(anchor, k)
            except ValueError:  # past year 9999: no more months
                break
            if start < cut < end:
                cuts.append(cut)
    else:
        return None
    return [start, *cuts, end]


def _idempotency_key(subscription: dict, start: datetime, end: datetime, reason: str, tenant) -> str:
    """The server's `subscription_invoice-<16 hex>`: the SHA-256 of its sorted parameters, the
    period's times cut to the minute and written as Go writes a `time.Time`."""
    def go_time(moment: datetime) -> str:
        return moment.replace(second=0, microsecond=0).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")

    params = {"billing_reason": reason, "customer_id": subscription.get("customer_id"),
              "environment_id": tenant.environment_id, "period_end": go_time(end), "period_start": go_time(start),
              "subscription_id": subscription["id"], "tenant_id": tenant.tenant_id}
    joined = "subscription_invoice" + "".join(f":{name}={params[name]}" for name in sorted(params))
    return "subscription_invoice-" + hashlib.sha256(joined.encode()).hexdigest()[:16]


def _netted(lines: list[dict], credit: Decimal) -> list[dict]:
    """A credit taken off the FIXED lines in order, each down to 0 at most, as the server nets a
    plan change's proration credit on the new subscription's opening invoice
    (`billing.go` applyOpeningInvoiceAdjustmentToLineItems); what is left over is not applied."""
    for line in lines:
        if credit <= 0:
            break
        if line.get("price_type") == "FIXED":
            taken = min(credit, money.decimal(line["amount"], "amount"))
            line["amount"] = text(money.decimal(line["amount"], "amount") - taken)
            credit -= taken
    return lines


def _ends_by(subscription: dict, moment: datetime) -> bool:
    """Whether the subscription's end date (a scheduled or immediate cancel sets it) is reached."""
    return bool(subscription.get("end_date")) and when(subscription["end_date"]) <= moment


def _live(item: dict, start: datetime, end: datetime) -> bool:
    """A line item counts in a period it overlaps."""
    begins = when(item["start_date"]) if item.get("start_date") else None
    ends = when(item["end_date"]) if item.get("end_date") else None
    return (begins is None or begins < end) and (ends is None or ends > start)


def _sum(invoices: list[dict], field: str) -> Decimal:
    return sum((money.decimal(i.get(field), field) for i in invoices), ZERO)


def _line_sum(invoices: list[dict], price_type: str) -> Decimal:
    return sum((money.decimal(line.get("amount"), "amount") for i in invoices for line in i.get("line_items") or []
                if line.get("price_type") == price_type), ZERO)
