"""Proration: what is left of a billing period, and what that credits or charges, as the real
server computes it (`internal/domain/proration/calculator.go` and `coefficient_helper.go`,
`internal/ee/service/proration.go` and `line_item_proration.go`, `wallet.go`).

The coefficient is second-based: `(E - d) / (E - S)`, with S the period start, E the period end
less one second and d the proration date, divided to 16 places (shopspring's `Div`). A credit
(an ADVANCE price that is cancelled or removed with time left) is `amount x quantity x
coefficient`, capped at what was billed for its line item in the period holding d (the
subscription's DRAFT and FINALIZED invoice lines, or the list price when it has none) less what
was credited there, then rounded; a charge (an item added mid-period) is the same product,
rounded. Paying a credit is the wallets' business (`Wallets.prorated_credit`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ...core.times import stamp, when
from ..records import Records
from . import money
from .money import ZERO, rounded, text

PLACES = Decimal("1e-16")  # shopspring's DivisionPrecision
SECOND = timedelta(seconds=1)
BILLED_STATUSES = ("DRAFT", "FINALIZED")


def seconds(span: timedelta) -> Decimal:
    return Decimal(span // timedelta(microseconds=1)) / Decimal(1_000_000)


def coefficient(start: datetime, end: datetime, at: datetime) -> Decimal:
    """The share of `[start, end]` left after `at`: 0 once `at` is past `end`, 0 for a period of
    no length (the server refuses those)."""
    total = seconds(end - start)
    if total <= 0:
        return ZERO
    return (max(seconds(end - at), ZERO) / total).quantize(PLACES, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class LineProration:
    """One subscription line item's share: a credit or a charge (positive, rounded)."""

    item: dict
    price: dict
    at: datetime
    period_start: datetime
    period_end: datetime  # the period's end less one second, as the calculator takes it
    credit: Decimal = ZERO
    charge: Decimal = ZERO

    @property
    def days(self) -> int:
        """Whole days left, as the server counts them: whole days of the period (to its end less
        a second) less whole days used."""
        if self.at > self.period_end:
            return 0
        day = timedelta(days=1)
        return max((self.period_end - self.period_start) // day - (self.at - self.period_start) // day, 0)


class Prorations:
    def __init__(self, records: Records) -> None:
        self.records = records

    # -- computing ------------------------------------------------------------------------------
    def cancellation(self, subscription: dict, items: list[dict], at: datetime, refundable: bool) -> list[LineProration]:
        """Each line item's credit when the subscription ends at `at` (`refundable`: an immediate
        cancel): ADVANCE prices with time left, capped at what was billed; others credit 0."""
        start, end = _period(subscription)
        billed = self.billed(subscription, at)
        found = []
        for item in items:
            price = self.records.get("price", item.get("price_id"))
            if price is None:
                continue
            share = LineProration(item, price, at, start, end - SECOND)
            if refundable and price.get("invoice_cadence") == "ADVANCE" and end > at:
                share.credit = _credit(subscription, share, billed)
            found.append(share)
        return found

    def removal(self, subscription: dict, item: dict, at: datetime) -> LineProration:
        """The credit for a FIXED ADVANCE line item that stops at `at` before its period ends."""
        price = self.records.get("price", item.get("price_id")) or {}
        start, end = _period(subscription)
        share = LineProration(item, price, at, start, end - SECOND)
        if item.get("price_type") != "USAGE" and price.get("invoice_cadence") == "ADVANCE":
            share.credit = _credit(subscription, share, self.billed(subscription, at))
        return share

    def addition(self, subscription: dict, item: dict, at: datetime) -> LineProration:
        """The charge for a FIXED line item that starts at `at` inside the current period, whatever
        its cadence (the server charges an added item in arrear too)."""
        price = self.records.get("price", item.get("price_id")) or {}
        start, end = _period(subscription)
        share = LineProration(item, price, at, start, end - SECOND)
        if item.get("price_type") != "USAGE":
            whole = _list_total(item, price) * coefficient(share.period_start, share.period_end, at)
            share.charge = rounded(max(whole, ZERO), subscription["currency"])
        return share

    def billed(self, subscription: dict, at: datetime) -> dict[str, tuple[Decimal, Decimal]]:
        """Line item id -> (charged, credited) on the subscription's DRAFT and FINALIZED invoices,
        over the invoice lines whose period holds `at`."""
        billed: dict[str, tuple[Decimal, Decimal]] = {}
        for invoice in self.records.where("invoice", subscription_id=subscription["id"]):
            if invoice.get("invoice_status") not in BILLED_STATUSES:
                continue
            for line in invoice.get("line_items") or []:
                item_id = line.get("subscription_line_item_id")
                if not item_id or not _holds(line, at):
                    continue
                amount = money.decimal(line.get("amount"), "amount")
                charged, credited = billed.get(item_id, (ZERO, ZERO))
                billed[item_id] = (charged + max(amount, ZERO), credited + max(-amount, ZERO))
        return billed

    # -- answering ----------------------------------------------------------------------------
    @staticmethod
    def details(shares: list[LineProration]) -> list[dict]:
        """`proration_details` of a cancel: one per line item, the server's wording; its
        `original_amount` is the credit, as the server fills it."""
        return [{"line_item_id": share.item["id"], "price_id": share.item.get("price_id", "") if share.credit else "",
                 "plan_name": "", "original_amount": text(share.credit), "credit_amount": text(share.credit),
                 "charge_amount": "0", "proration_days": share.days,
                 "description": f"Cancellation ({share.at.date().isoformat()})"} for share in shares]

    @staticmethod
    def summary(subscription: dict, shares: list[LineProration], at: datetime) -> dict:
        """`ProrationDetails` of a plan change: credits and charges summed, the net (charges less
        credits), whole days used and left."""
        credit = sum((share.credit for share in shares), ZERO)
        charge = sum((share.charge for share in shares), ZERO)
        start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
        day = timedelta(days=1)
        return {"credit_amount": text(credit), "charge_amount": text(charge), "net_amount": text(charge - credit),
                "credit_description": f"Credit for unused time on {subscription.get('plan_id')} plan",
                "charge_description": f"Charge for plan change from {at.date().isoformat()}",
                "proration_date": stamp(at), "current_period_start": stamp(start), "current_period_end": stamp(end),
                "days_used": (at - start) // day, "days_remaining": max((end - at) // day, 0),
                "currency": subscription.get("currency")}


def _credit(subscription: dict, share: LineProration, billed: dict[str, tuple[Decimal, Decimal]]) -> Decimal:
    """The calculator's capped credit: never above what was charged, nor above that less what was
    already credited; the list price stands in for a line item never invoiced."""
    potential = _list_total(share.item, share.price) * coefficient(share.period_start, share.period_end, share.at)
    charged, credited = billed.get(share.item["id"], (_list_total(share.item, share.price), ZERO))
    credit = min(potential, charged, charged - credited)
    return rounded(credit, subscription["currency"]) if credit > 0 else ZERO


def _period(subscription: dict) -> tuple[datetime, datetime]:
    return when(subscription["current_period_start"]), when(subscription["current_period_end"])


def _list_total(item: dict, price: dict) -> Decimal:
    return money.decimal(price.get("amount"), "amount") * money.decimal(item.get("quantity"), "quantity", Decimal(1))


def _holds(line: dict, at: datetime) -> bool:
    if not line.get("period_start") or not line.get("period_end"):
        return False
    return when(line["period_start"]) <= at < when(line["period_end"])
