"""Coupons: fixed and percentage discounts, attached to a subscription (whole, or one of its
line items) and applied to invoices, as the real server's coupon services apply them.

A coupon is created `published` with `total_redemptions` 0 (`internal/api/dto/coupon.go`); a
percentage coupon keeps no currency. It is checked (`coupon_validation.go` ValidateCoupon) in
this order: published; inside its redeem window (by the billing clock); for a subscription, a
fixed coupon's currency; `total_redemptions < max_redemptions`; for a subscription, its
cadence: `once` is refused only once the subscription already has MORE than one application of
it (so it discounts the first two invoices), `repeated` once it has `duration_in_periods`
applications, `forever` never. A new subscription's `coupons`, `line_item_coupons` and
`subscription_coupons` become associations from the subscription's start (`subscription.go`
handleSubCoupons, `coupon_association.go`), each counting a redemption; a `repeated` one ends
`duration_in_periods` periods later less a second. An invoice takes the associations active over
its period that still pass the checks (`billing.go` CreateInvoiceRequestForCharges): so a
coupon whose redemptions have reached `max_redemptions` (its own association counted) discounts
nothing, as on the server. Line coupons discount their line's amount, then the invoice-level ones
apply in turn to what remains (`coupon_application.go`); a stored invoice spreads its
invoice-level discount over its lines (`invoice.go` DistributeInvoiceLevelDiscount).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ...core.failures import Invalid
from ...core.times import parse_instant, stamp, when
from ..records import Records
from . import money
from .money import ZERO, rounded, same_currency, text
from .periods import next_period_end

MAX_REDEMPTIONS = 1_000_000  # the server's MaxCouponRedemptionsLimit
SHARE_PLACES = Decimal(1).scaleb(-16)  # shopspring's DivisionPrecision, for a line's share of a discount


@dataclass(slots=True)
class Chosen:
    """A coupon an invoice applies: invoice-level, or on the line of `line_item_id` (the
    subscription line item) or `price_id`."""

    coupon: dict
    association_id: str | None = None
    line_item_id: str | None = None
    price_id: str | None = None


@dataclass(slots=True)
class Requested:
    """An association a new subscription asks for, checked before anything is stored."""

    coupon: dict
    price_id: str | None
    start: datetime | None
    end: datetime | None


class Coupons:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.clock = records.clock

    # -- coupons --------------------------------------------------------------------------------
    def create(self, fields: dict, record_id: str | None = None) -> dict:
        """`POST /coupons`, refused as `CreateCouponRequest.Validate` refuses."""
        kind, cadence = fields.get("type"), fields.get("cadence")
        amount_off = money.decimal(fields.get("amount_off"), "amount_off", None if kind == "fixed" else ZERO)
        percentage_off = money.decimal(fields.get("percentage_off"), "percentage_off",
                                       None if kind == "percentage" else ZERO)
        if kind == "fixed" and amount_off <= 0:
            raise Invalid("amount_off", "amount_off must be greater than zero for fixed discount")
        if kind == "percentage" and not ZERO < percentage_off <= 100:
            raise Invalid("percentage_off", "percentage_off must be between 0 and 100 for percentage discount")
        after = parse_instant(fields["redeem_after"], "redeem_after") if fields.get("redeem_after") else None
        before = parse_instant(fields["redeem_before"], "redeem_before") if fields.get("redeem_before") else None
        if after and before and after > before:
            raise Invalid("redeem_after", "redeem_after must be before redeem_before")
        limit = fields.get("max_redemptions")
        if limit is not None and not 0 < limit <= MAX_REDEMPTIONS:
            raise Invalid("max_redemptions", f"max_redemptions must be between 1 and {MAX_REDEMPTIONS}")
        periods = fields.get("duration_in_periods")
        if cadence == "repeated" and (periods is None or periods <= 0):
            raise Invalid("duration_in_periods", "duration_in_periods must be greater than zero for repeated cadence")
        if cadence != "repeated" and periods is not None:
            raise Invalid("duration_in_periods", "duration_in_periods should not be set for non-repeated cadence")
        coupon = {**fields, "amount_off": text(amount_off), "percentage_off": text(percentage_off),
                  "total_redemptions": 0, "currency": fields.get("currency") if kind == "fixed" else None}
        return self.records.new("coupon", {k: v for k, v in coupon.items() if v is not None}, record_id)

    def update(self, coupon_id: str, changes: dict) -> dict:
        """`PUT /coupons/{id}`: only `name` (not empty) and `metadata` change (`UpdateCoupon`)."""
        coupon = self.records.require("coupon", coupon_id, named="id")
        if "name" in changes and not changes["name"]:
            raise Invalid("name", "name is required")
        return self.records.update("coupon", coupon["id"], {k: v for k, v in changes.items()
                                                            if k in ("name", "metadata") and v is not None})

    def problem(self, coupon: dict, subscription: dict | None, applications: int = 0,
                pending: int = 0) -> str | None:
        """Why `coupon` may not be applied now (None: it may), checked as ValidateCoupon checks
        it; `subscription` adds the currency and cadence checks, `applications` is how often the
        subscription has had it, `pending` redemptions about to be counted."""
        now = self.clock.now()
        if coupon.get("status", "published") != "published":
            return "coupon is not published"
        if coupon.get("redeem_after") and now < when(coupon["redeem_after"]):
            return "coupon is not yet active"
        if coupon.get("redeem_before") and now > when(coupon["redeem_before"]):
            return "coupon has expired"
        if (subscription is not None and coupon.get("type") == "fixed" and coupon.get("currency")
                and not same_currency(coupon["currency"], subscription.get("currency"))):
            return "coupon currency does not match the subscription's currency"
        limit = coupon.get("max_redemptions")
        if limit is not None and int(coupon.get("total_redemptions") or 0) + pending >= limit:
            return "coupon has reached maximum redemptions"
        if subscription is None:
            return None
        if coupon.get("cadence") == "once" and applications > 1:
            return "once cadence coupon can only be applied once per subscription"
        if coupon.get("cadence") == "repeated" and applications >= int(coupon.get("duration_in_periods") or 0):
            return "repeated cadence coupon has reached its application limit"
        return None

    def _redeemed(self, coupon: dict) -> dict:
        return self.records.update("coupon", coupon["id"], {
            "total_redemptions": int(self.records.get("coupon", coupon["id"])["total_redemptions"] or 0) + 1})

    # -- attaching to a new subscription --------------------------------------------------------
    def requested(self, fields: dict, currency: str, price_ids: set[str]) -> list[Requested]:
        """The associations a subscription create asks for (`coupons`, `line_item_coupons`,
        `subscription_coupons`, in that order), each coupon checked against the subscription to
        be: a 404 naming the field for an unknown coupon, a 400 for one it may not take."""
        asked: list[tuple[str, Requested]] = []
        for coupon_id in fields.get("coupons") or []:
            if coupon_id:
                asked.append(("coupons", Requested(self.records.require("coupon", coupon_id, named="coupons"),
                                                   None, None, None)))
        for price_id, coupon_ids in (fields.get("line_item_coupons") or {}).items():
            for coupon_id in coupon_ids or []:
                if coupon_id:
                    self._price_on_subscription(price_id, price_ids, "line_item_coupons")
                    coupon = self.records.require("coupon", coupon_id, named="line_item_coupons")
                    asked.append(("line_item_coupons", Requested(coupon, price_id, None, None)))
        for index, entry in enumerate(fields.get("subscription_coupons") or []):
            field = f"subscription_coupons[{index}]"
            asked.append((field, self._by_code(entry, field, price_ids)))
        pending: dict[str, int] = {}
        for field, request in asked:
            coupon = request.coupon
            why = self.problem(coupon, {"currency": currency}, 0, pending.get(coupon["id"], 0))
            if why is not None:
                raise Invalid(field, f"coupon {coupon['id']} cannot be applied: {why}")
            pending[coupon["id"]] = pending.get(coupon["id"], 0) + 1
        return [request for _, request in asked]

    def _by_code(self, entry: dict, field: str, price_ids: set[str]) -> Requested:
        if not entry.get("coupon_code"):
            raise Invalid(f"{field}.coupon_code", "coupon_code is required")
        start = parse_instant(entry["start_date"], f"{field}.start_date") if entry.get("start_date") else None
        end = parse_instant(entry["end_date"], f"{field}.end_date") if entry.get("end_date") else None
        if start and end and end < start:
            raise Invalid(f"{field}.end_date", "end_date cannot be before start_date")
        coupon = self.records.require("coupon", entry["coupon_code"], "coupon_code", f"{field}.coupon_code")
        if entry.get("price_id"):
            self._price_on_subscription(entry["price_id"], price_ids, f"{field}.price_id")
        return Requested(coupon, entry.get("price_id"), start, end)

    @staticmethod
    def _price_on_subscription(price_id: str, price_ids: set[str], field: str) -> None:
        if price_id not in price_ids:
            raise Invalid(field, f"price_id {price_id} does not match any line item on this subscription")

    def attach(self, subscription: dict, requested: list[Requested], items: list[dict]) -> list[dict]:
        """The associations, from the subscription's start (or the one asked for); a line coupon
        goes on every line item of its price; each one counts a redemption."""
        made = []
        for request in requested:
            start = request.start or when(subscription["start_date"])
            end = request.end
            if end is None and request.coupon.get("cadence") == "repeated":
                end = self._end_of(subscription, start, int(request.coupon["duration_in_periods"]))
            targets = [None] if request.price_id is None else [i["id"] for i in items if i.get("price_id") == request.price_id]
            for line_item_id in targets:
                made.append(self.records.new("coupon_association", {
                    "coupon_id": request.coupon["id"], "subscription_id": subscription["id"],
                    "subscription_line_item_id": line_item_id, "start_date": stamp(start),
                    "end_date": stamp(end) if end else None, "metadata": {},
                }))
                self._redeemed(request.coupon)
        return made

    @staticmethod
    def _end_of(subscription: dict, start: datetime, periods: int) -> datetime:
        """`computeCouponEndDate`: `periods` billing periods on from `start`, less a second."""
        current = start
        for _ in range(periods):
            current = next_period_end(subscription, current)
        return current - timedelta(seconds=1)

    def associations(self, subscription_ids: list[str] | None, coupon_ids: list[str] | None, active_only: bool,
                     expand: str) -> list[dict]:
        """`GET /coupons/associations`: newest first; `active_only` keeps those active now;
        `expand=coupon` nests each one's coupon, `subscription_line_items` its line item."""
        now = self.clock.now()
        found = []
        for association in reversed(self.records.where("coupon_association")):
            if subscription_ids and association.get("subscription_id") not in subscription_ids:
                continue
            if coupon_ids and association.get("coupon_id") not in coupon_ids:
                continue
            if active_only and not _active(association, now, now):
                continue
            extra = {}
            if "coupon" in expand:
                extra["coupon"] = self.records.get("coupon", association.get("coupon_id"))
            if "subscription_line_items" in expand and association.get("subscription_line_item_id"):
                extra["subscription_line_item"] = self.records.get("subscription_lineitem",
                                                                   association["subscription_line_item_id"])
            found.append({**association, **{k: v for k, v in extra.items() if v is not None}})
        return found

    # -- choosing and applying ------------------------------------------------------------------
    def for_subscription_invoice(self, subscription: dict, start: datetime, end: datetime,
                                 lines: list[dict]) -> tuple[list[Chosen], list[Chosen]]:
        """(invoice-level, line-level) coupons of a subscription invoice: its associations
        active over the period that still pass the checks, by start date then creation; a line
        coupon only when its price has a line on the invoice."""
        associations = [a for a in self.records.where("coupon_association", subscription_id=subscription["id"])
                        if _active(a, start, end)]
        if not associations:
            return [], []
        applications = self.applications(subscription["id"])
        whole, per_line = [], []
        priced = {line.get("price_id") for line in lines}
        items = {i["id"]: i for i in self.records.where("subscription_lineitem", subscription_id=subscription["id"])}
        for association in sorted(associations, key=lambda a: when(a["start_date"])):
            coupon = self.records.get("coupon", association.get("coupon_id"))
            if coupon is None or self.problem(coupon, subscription, applications.get(coupon["id"], 0)) is not None:
                continue
            line_item_id = association.get("subscription_line_item_id")
            if line_item_id is None:
                whole.append(Chosen(coupon, association["id"]))
                continue
            price_id = (items.get(line_item_id) or {}).get("price_id")
            if price_id and price_id in priced:
                per_line.append(Chosen(coupon, association["id"], line_item_id, price_id))
        return whole, per_line

    def applications(self, subscription_id: str) -> dict[str, int]:
        """Coupon id -> how many applications the subscription's stored invoices carry."""
        counts: dict[str, int] = {}
        for invoice in self.records.where("invoice", subscription_id=subscription_id):
            for application in invoice.get("coupon_applications") or []:
                counts[application["coupon_id"]] = counts.get(application["coupon_id"], 0) + 1
        return counts

    def for_one_off_invoice(self, fields: dict) -> tuple[list[Chosen], list[Chosen]]:
        """`POST /invoices`: `coupons` that exist and pass the checks (others are dropped, as
        `CreateOneOffInvoice` drops them), and `line_item_coupons` by price (an unknown coupon
        there is a 404)."""
        whole = []
        for coupon_id in fields.get("coupons") or []:
            coupon = self.records.get("coupon", coupon_id)
            if coupon is not None and self.problem(coupon, None) is None:
                whole.append(Chosen(coupon))
        per_line = []
        for index, entry in enumerate(fields.get("line_item_coupons") or []):
            coupon = self.records.require("coupon", entry.get("coupon_id"), named=f"line_item_coupons[{index}].coupon_id")
            per_line.append(Chosen(coupon, entry.get("coupon_association_id"), entry.get("subscription_line_item_id"),
                                   entry.get("line_item_id")))
        return whole, per_line

    def apply(self, invoice: dict, whole: list[Chosen], per_line: list[Chosen], stored: bool) -> None:
        """Discount `invoice` (its lines in place) and set `total_discount` and
        `coupon_applications`: line coupons first, each on its line's amount, then the
        invoice-level ones in turn on what remains. A coupon that fails the basic checks at this
        point is skipped. A `stored` invoice also spreads its invoice-level discount over its
        lines and counts a redemption for each coupon it took without an association."""
        currency, lines = invoice["currency"], invoice["line_items"]
        by_item = {line["subscription_line_item_id"]: line for line in lines if line.get("subscription_line_item_id")}
        by_price = {line["price_id"]: line for line in lines if line.get("price_id")}
        applications, line_total = [], ZERO
        for chosen in per_line:
            line = by_item.get(chosen.line_item_id) or by_price.get(chosen.price_id)
            if line is None or self.problem(chosen.coupon, None) is not None:
                continue
            amount = money.decimal(line["amount"], "amount")
            cut = discount(chosen.coupon, amount, currency)
            line["line_item_discount"] = text(money.decimal(line.get("line_item_discount"), "line_item_discount") + cut)
            line_total += cut
            applications.append(self._application(invoice, chosen, amount, cut, line))
        remaining = sum((money.decimal(line["amount"], "amount")
                         - money.decimal(line.get("line_item_discount"), "line_item_discount") for line in lines), ZERO)
        invoice_total = ZERO
        for chosen in whole:
            if remaining <= 0:
                break
            if self.problem(chosen.coupon, None) is not None:
                continue
            cut = discount(chosen.coupon, remaining, currency)
            applications.append(self._application(invoice, chosen, remaining, cut, None))
            invoice_total += cut
            remaining -= cut
        if stored:
            spread(lines, invoice_total, currency)
            for coupon_id in dict.fromkeys(a["coupon_id"] for a in applications if not a.get("coupon_association_id")):
                self._redeemed(self.records.get("coupon", coupon_id))
        invoice["total_discount"] = text(line_total + invoice_total)
        invoice["coupon_applications"] = applications

    def _application(self, invoice: dict, chosen: Chosen, original: Decimal, cut: Decimal, line: dict | None) -> dict:
        """A `coupon_application` as the server records it (`coupon_snapshot` included)."""
        coupon, now = chosen.coupon, self.clock.stamp()
        tenant = self.records.lifecycle.tenant
        snapshot = {"type": coupon.get("type"), "amount_off": coupon.get("amount_off"),
                    "percentage_off": coupon.get("percentage_off"), "applied_to": "invoice" if line is None else "line_item"}
        if line is not None:
            snapshot.update(line_item_id=line["id"], price_id=chosen.price_id or line.get("price_id"))
        application = {
            "id": self.records.ids.new("coupon_app"), "coupon_id": coupon["id"],
            "coupon_association_id": chosen.association_id or "", "invoice_id": invoice["id"],
            "applied_at": now, "original_price": text(original), "final_price": text(original - cut),
            "discounted_amount": text(cut), "discount_type": coupon.get("type"),
            "discount_percentage": coupon.get("percentage_off"), "currency": invoice["currency"],
            "coupon_snapshot": snapshot, "status": "published", "created_at": now, "updated_at": now,
            "tenant_id": tenant.tenant_id, "environment_id": tenant.environment_id,
        }
        if line is not None:
            application["invoice_line_item_id"] = line["id"]
        subscription_id = (line or {}).get("subscription_id") or invoice.get("subscription_id")
        if subscription_id:
            application["subscription_id"] = subscription_id
        return application


def discount(coupon: dict, amount: Decimal, currency: str) -> Decimal:
    """`Coupon.ApplyDiscount`: the fixed amount or the percentage of `amount`, rounded at once
    to the currency, and never more than `amount`."""
    if coupon.get("type") == "fixed":
        cut = money.decimal(coupon.get("amount_off"), "amount_off")
    elif coupon.get("type") == "percentage":
        cut = amount * money.decimal(coupon.get("percentage_off"), "percentage_off") / 100
    else:
        cut = ZERO
    cut = rounded(cut, currency)
    return amount if amount - cut < 0 else cut


def spread(lines: list[dict], total: Decimal, currency: str) -> None:
    """`DistributeInvoiceLevelDiscount`: each line left with an amount after its own discount
    gets `invoice_level_discount` in proportion to that amount (largest first, each rounded and
    capped at the line), the last one what remains."""
    if not total:
        return
    for line in lines:
        line["invoice_level_discount"] = "0"
    left = {id(line): money.decimal(line["amount"], "amount")
            - money.decimal(line.get("line_item_discount"), "line_item_discount") for line in lines}
    eligible = sorted((line for line in lines if left[id(line)] > 0), key=lambda line: -left[id(line)])
    whole = sum((left[id(line)] for line in eligible), ZERO)
    if not whole:
        return
    remaining = total
    for line in eligible[:-1]:
        share = (left[id(line)] / whole).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP) * total
        share = min(rounded(share, currency), left[id(line)])
        line["invoice_level_discount"] = text(share)
        remaining -= share
    last = eligible[-1]
    last["invoice_level_discount"] = text(max(min(remaining, left[id(last)]), ZERO))


def _active(association: dict, start: datetime, end: datetime) -> bool:
    """Active over `[start, end]`: begun by its end, and not ended before its start."""
    return when(association["start_date"]) <= end and (
        not association.get("end_date") or when(association["end_date"]) >= start)
