"""Subscriptions: their billing periods, line items, opening invoice, how they end, and the period
job that the clock runs when periods end (`cancellations.py` decides when a cancel ends one).

A subscription starts at `start_date` (now by default); its anchor is the start (anniversary),
the next calendar boundary (calendar) or the `billing_anchor` given. It gets one line item per
plan price in its currency and billing period (or ONETIME), and at once an invoice of the
period's ADVANCE charges, SKIPPED when that comes to nothing; before that invoice, its coupons
are attached (`billing.coupons`) and its tax rates linked (`billing.taxes`), both checked before
anything is stored. When the clock passes a period's
end, the period job issues the renewal invoice (the ended period's ARREAR charges plus the next
period's ADVANCE ones), moves the period on and applies a cancellation scheduled for then.
What else a subscription carries (credit grants, add-ons) starts and ends with it through the
`on_start` and `on_end` hooks, which other services register.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from ...core.failures import Failure, Invalid, Unavailable
from ...core.times import parse_instant, stamp, when
from ..records import Records
from .catalogue import Catalogue
from .coupons import Coupons
from .invoices import Invoices
from .money import ZERO, same_currency
from .periods import calendar_anchor, checked_period_end, next_period_end
from .stalled import Stalled
from .taxes import Taxes

LIVE = ("active", "trialing")
RENEWALS_PER_CALL = 400
# (request fields, initial status) -> the step to take once the subscription is stored
Starter = Callable[[dict, str], Callable[[dict], None]]
Ender = Callable[[dict, datetime, str], None]  # (subscription, effective date, reason)


class Subscriptions:
    def __init__(self, records: Records, catalogue: Catalogue, invoices: Invoices, coupons: Coupons,
                 taxes: Taxes) -> None:
        self.records = records
        self.catalogue = catalogue
        self.invoices = invoices
        self.coupons, self.taxes = coupons, taxes
        self.clock = records.clock
        self.store = records.store
        self.stalled = Stalled(self.store, self.clock)
        self._next_due: datetime | None = None  # earliest period end of a live subscription; None: unknown
        self._starters: list[Starter] = []
        self._enders: list[Ender] = []
        records.lifecycle.on_local_reset(self.forget_due)
        records.lifecycle.on_stale(self.forget_due)  # another process may have made or moved one

    def on_start(self, starter: Starter) -> None:
        """`starter(fields, status)` checks a new subscription's request before it is stored and
        returns what to do once it is (before its opening invoice)."""
        self._starters.append(starter)

    def on_end(self, ender: Ender) -> None:
        """`ender(subscription, effective, reason)` runs when a cancellation takes effect."""
        self._enders.append(ender)

    def forget_due(self) -> None:
        """The earliest period end is looked up again at the next tick."""
        self._next_due = None

    # -- creation -------------------------------------------------------------------------------
    def create(self, fields: dict, record_id: str | None = None, opening_credit: Decimal = ZERO) -> dict:
        """`opening_credit` (a plan change's proration credit) comes off the opening invoice's
        fixed lines, which is then billed as SUBSCRIPTION_UPDATE."""
        customer = self._customer(fields)
        plan = self.records.require("plan", fields.get("plan_id"))
        currency = str(fields.get("currency") or "")
        period = fields.get("billing_period")
        if period == "ONETIME":
            raise Invalid("billing_period", "a subscription's billing_period must be recurring, not ONETIME")
        count = int(fields.get("billing_period_count") or 1)
        prices = [p for p in self.catalogue.plan_prices(plan["id"]) if price_fits(p, currency, period, count)]
        if not prices:
            raise Invalid("plan_id", f"no valid prices found for subscription: plan {plan['id']} has no "
                                     f"{period} price in {currency}")
        now = self.clock.now()
        start = _ms(parse_instant(fields["start_date"], "start_date")) if fields.get("start_date") else _ms(now)
        anchor = self._anchor(fields, start, period)
        status = self._initial_status(fields)
        coupons = self.coupons.requested(fields, currency, {p["id"] for p in prices})
        taxes = self.taxes.planned(fields.get("tax_rate_overrides"), "customer", customer["id"])
        then = [starter(fields, status) for starter in self._starters]
        request = {k: v for k, v in fields.items() if k not in ("credit_grants", "addons")}
        subscription = self.records.new("subscription", {
            **request, "customer_id": customer["id"], "start_date": stamp(start), "billing_anchor": stamp(anchor),
            "billing_cycle": fields.get("billing_cycle") or "anniversary", "billing_period_count": count,
            "current_period_start": stamp(start), "current_period_end": stamp(checked_period_end(start, anchor, period, count)),
            "subscription_status": status, "billing_cadence": "RECURRING", "cancel_at_period_end": False,
            "collection_method": fields.get("collection_method") or "charge_automatically",
            "payment_behavior": fields.get("payment_behavior") or "default_active", "version": 1,
        }, record_id)
        items = [self._line_item(subscription, plan, price, start) for price in prices]
        self.taxes.link("subscription", subscription["id"], taxes)
        self.coupons.attach(subscription, coupons, items)
        self.records.changed("subscription.created", "subscription", subscription)
        for step in then:
            step(subscription)
        end = when(subscription["current_period_end"])
        if status == "active":
            reason = "SUBSCRIPTION_UPDATE" if opening_credit else "SUBSCRIPTION_CREATE"
            self.invoices.issue(subscription, start, end, "period_start", reason, opening_credit)
        if self._next_due is not None and status in LIVE:
            self._next_due = min(self._next_due, end)
        return self.records.get("subscription", subscription["id"])

    def _customer(self, fields: dict) -> dict:
        if fields.get("customer_id"):
            return self.records.require("customer", fields["customer_id"])
        if fields.get("external_customer_id"):
            return self.records.require("customer", fields["external_customer_id"], "external_id", "external_customer_id")
        raise Invalid("customer_id", "customer_id or external_customer_id is required")

    @staticmethod
    def _anchor(fields: dict, start: datetime, period: str) -> datetime:
        if fields.get("billing_anchor"):
            return _ms(parse_instant(fields["billing_anchor"], "billing_anchor"))
        if fields.get("billing_cycle") == "calendar":
            return calendar_anchor(start, period)
        return start

    @staticmethod
    def _initial_status(fields: dict) -> str:
        if fields.get("trial_period_days"):
            return "trialing"
        behaviour = fields.get("payment_behavior") or "default_active"
        return "active" if behaviour == "default_active" else "incomplete"

    def _line_item(self, subscription: dict, plan: dict, price: dict, start: datetime) -> dict:
        usage = price.get("type") == "USAGE"
        meter = price.get("meter") or {}
        price_start = when(price["start_date"]) if price.get("start_date") else start
        return self.records.new("subscription_lineitem", {
            "subscription_id": subscription["id"], "customer_id": subscription["customer_id"],
            "price_id": price["id"], "price_type": price.get("type"), "meter_id": price.get("meter_id"),
            "meter_display_name": meter.get("name"), "entity_type": "plan", "entity_id": plan["id"],
            "plan_display_name": plan.get("name"), "currency": price.get("currency"),
            "display_name": price.get("display_name") or (meter.get("name") if usage else plan.get("name")),
            "billing_period": price.get("billing_period"), "billing_period_count": price.get("billing_period_count") or 1,
            "invoice_cadence": price.get("invoice_cadence"),
            "quantity": "0" if usage else str(price.get("min_quantity") or 1),
            "start_date": stamp(max(start, price_start)),
        })

    # -- ending -----------------------------------------------------------------------------------
    def current_items(self, subscription: dict) -> list[dict]:
        """The line items a read of the subscription shows (the server's active filter): published,
        and not ended before the current period starts."""
        start = when(subscription["current_period_start"])
        return [item for item in self.records.where("subscription_lineitem", subscription_id=subscription["id"])
                if item.get("status", "published") == "published"
                and (not item.get("end_date") or when(item["end_date"]) >= start)]

    def schedule_end(self, subscription: dict, effective: datetime, now: datetime, at_period_end: bool) -> None:
        """Both kinds wait for the period job (`cancel_at_period_end`); a scheduled date also
        ends the subscription there, shortening the current period when it falls inside it."""
        changes = {"cancel_at": stamp(effective), "cancelled_at": stamp(now), "cancel_at_period_end": True}
        if not at_period_end:
            changes["end_date"] = stamp(effective)
            if effective < when(subscription["current_period_end"]):
                changes["current_period_end"] = stamp(effective)
        updated = self.records.update("subscription", subscription["id"], changes)
        self.records.changed("subscription.updated", "subscription", updated)
        self.forget_due()

    def end_items(self, subscription: dict, at: datetime) -> None:
        for item in self.records.where("subscription_lineitem", subscription_id=subscription["id"]):
            if not item.get("end_date"):
                self.records.update("subscription_lineitem", item["id"], {"end_date": stamp(at)})

    def ended(self, subscription: dict, at: datetime, reason: str = "") -> None:
        """What ends with the subscription (its add-ons, its credit grants) ends at `at`."""
        for ender in self._enders:
            ender(subscription, at, reason)

    def mark_cancelled(self, subscription: dict, changes: dict) -> dict:
        updated = self.records.update("subscription", subscription["id"], {**changes, "subscription_status": "cancelled"})
        self.records.changed("subscription.updated", "subscription", updated)
        self.records.changed("subscription.cancelled", "subscription", updated)
        return updated

    # -- the period job -------------------------------------------------------------------------
    def catch_up(self, now: datetime) -> None:
        """Every period that ended by `now`, oldest first across subscriptions: the renewal
        invoice, the next period, then a cancellation that was due by then. The earliest period
        end is remembered, so a call with nothing due costs nothing. At most `RENEWALS_PER_CALL`
        periods are billed per call (a subscription backdated by decades catches up over the
        next requests instead of holding one). It runs at the start of every request, so it never
        fails one: a subscription whose period cannot be billed (or whose stored dates an update
        has made unreadable) is left where it was and recorded in `stalled`; only a store that
        cannot be reached (503) stops it, to go on at the next request."""
        if self._next_due is not None and now < self._next_due:
            return
        with self.store.atomic():  # renewals read and write: one process at a time
            self._catch_up(now)

    def _catch_up(self, now: datetime) -> None:
        stuck = self.stalled.skipped()
        for _ in range(RENEWALS_PER_CALL):
            first, end = self._earliest(stuck)
            if first is None or end > now:
                self._next_due = end if first is not None else datetime.max.replace(tzinfo=now.tzinfo)
                return
            try:
                self._renew(first)
            except Unavailable:
                raise
            except Exception as error:  # noqa: BLE001 - one subscription's fault stays its own
                self.stalled.record(first, error)
                stuck[first["id"]] = first.get("current_period_end")
        self._next_due = None

    def _earliest(self, stuck: dict[str, str]) -> tuple[dict | None, datetime | None]:
        """The live subscription whose period ends first, passing over those stalled at their
        current period end."""
        found, earliest = None, None
        for subscription in self.records.where("subscription"):
            if (subscription.get("subscription_status") not in LIVE
                    or stuck.get(subscription["id"], "") == subscription.get("current_period_end")):
                continue
            try:
                end = when(subscription.get("current_period_end") or "")
            except Failure as error:
                self.stalled.record(subscription, error)
                stuck[subscription["id"]] = subscription.get("current_period_end")
                continue
            if earliest is None or end < earliest:
                found, earliest = subscription, end
        return found, earliest

    def _renew(self, subscription: dict) -> None:
        """One ended period: its invoice (ARREAR charges, and the next period's ADVANCE ones while
        the subscription goes on), then the cancellation due at its end, or the next period
        (clamped to the subscription's end date). All or nothing, as the server's transaction:
        everything that can fail on the data (dates, the invoice's amounts) is computed before
        the first write, and the invoice is keyed by its period, so a renewal that a lost store
        cut short is finished, not billed twice, when it runs again."""
        start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
        cancel_at = when(subscription["cancel_at"]) if subscription.get("cancel_at") else None
        end_date = when(subscription["end_date"]) if subscription.get("end_date") else None
        cancelling = bool(subscription.get("cancel_at_period_end") and cancel_at is not None and cancel_at <= end)
        ending = cancelling or (end_date is not None and end_date <= end)
        following = None if ending else next_period_end(subscription, end)
        if subscription.get("subscription_status") == "active":
            self.invoices.issue(subscription, start, end, "period_end", "SUBSCRIPTION_CYCLE")
        if cancelling:
            self.end_items(subscription, cancel_at)
            self.ended(subscription, cancel_at)
            self.mark_cancelled(subscription, {"end_date": stamp(cancel_at), "cancelled_at": stamp(cancel_at)})
            return
        if ending:
            self.ended(subscription, end_date)
            self.mark_cancelled(subscription, {"cancelled_at": stamp(end_date)})
            return
        if end_date is not None:
            following = min(following, end_date)
        moved = self.records.update("subscription", subscription["id"], {
            "current_period_start": stamp(end), "current_period_end": stamp(following)})
        self.records.changed("subscription.updated", "subscription", moved)


def price_fits(price: dict, currency: str, period: str, count: int | None = None) -> bool:
    """Whether a plan's (or an add-on's) price makes a line item of a subscription in `currency`
    billed every `period` (x `count`, when given): same currency, and that period or ONETIME."""
    if not same_currency(price.get("currency"), currency):
        return False
    if price.get("billing_period") == "ONETIME":
        return True
    return price.get("billing_period") == period and (count is None or int(price.get("billing_period_count") or 1) == count)


def live_subscriptions(records: Records, customer_id: str, currency: str | None = None) -> list[dict]:
    """The customer's active and trialing subscriptions (in one currency when given)."""
    return [s for s in records.where("subscription", customer_id=customer_id)
            if s.get("subscription_status") in LIVE
            and (currency is None or same_currency(s.get("currency"), currency))]


def _ms(moment: datetime) -> datetime:
    """Times are kept to the millisecond, as the real server truncates them."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
