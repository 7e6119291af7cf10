"""A customer's billing timeline, read through the billing services as the API would read it:
subscriptions with their periods on one time axis (each period billed so far, from the invoices
that cover it, and the current one), the invoices with their amounts, usage per meter over each
live subscription's current period (`Usage.quantity`, the billing path: what the next invoice
will charge), and each wallet's credit balance after every transaction, with its real-time balance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ...core.failures import Failure
from ...core.times import when
from ...domain.billing.engine import Billing
from ...domain.billing.subscriptions import LIVE
from ...domain.records import Records
from .charts import LANE, Axis, Chart, series_chart

PERIOD_REASONS = ("SUBSCRIPTION_CREATE", "SUBSCRIPTION_CYCLE")
USAGE_POINTS = 30  # at most this many reads per meter chart, however long the period


@dataclass(slots=True)
class Period:
    x: float
    width: float
    label: str
    current: bool


@dataclass(slots=True)
class Lane:
    """One subscription's row on the time axis."""

    subscription: dict
    plan: dict
    y: float
    periods: list[Period]
    invoices: list[tuple[float, str]]  # where each was issued, and what it was


@dataclass(slots=True)
class MeterUsage:
    line_item: dict
    meter: dict
    start: str
    end: str
    total: str
    chart: Chart


@dataclass(slots=True)
class WalletHistory:
    wallet: dict
    real_time: dict | None
    transactions: list[dict]
    chart: Chart


@dataclass(slots=True)
class Timeline:
    customer: dict
    axis: Axis
    now_x: float
    height: float
    lanes: list[Lane]
    invoices: list[dict]
    usage: list[MeterUsage]
    wallets: list[WalletHistory]


def customer_timeline(billing: Billing, customer: dict) -> Timeline:
    records, now = billing.records, billing.clock.now()
    subscriptions = records.where("subscription", customer_id=customer["id"])
    invoices = sorted(records.where("invoice", customer_id=customer["id"]), key=lambda i: i.get("created_at") or "")
    wallets = records.where("wallet", customer_id=customer["id"])
    axis = _axis(customer, subscriptions, invoices, now)
    lanes = [_lane(records, axis, index, subscription, invoices) for index, subscription in enumerate(subscriptions)]
    usage = [meter for subscription in subscriptions if subscription.get("subscription_status") in LIVE
             for meter in _usage(billing, customer, subscription, now)]
    return Timeline(customer, axis, axis.x(now), LANE * max(len(lanes), 1), lanes, invoices[::-1], usage,
                    [_wallet(billing, wallet, now) for wallet in wallets])


def _axis(customer: dict, subscriptions: list[dict], invoices: list[dict], now: datetime) -> Axis:
    """From the first subscription start or invoiced period to the later of now and the end of
    the last current period."""
    starts = [when(s["start_date"]) for s in subscriptions if s.get("start_date")]
    starts += [when(i["period_start"]) for i in invoices if i.get("period_start")]
    ends = [when(s["current_period_end"]) for s in subscriptions
            if s.get("current_period_end") and s.get("subscription_status") in LIVE]
    start = min(starts, default=when(customer["created_at"]) if customer.get("created_at") else now)
    return Axis(min(start, now), max([now, *ends]))


def _lane(records: Records, axis: Axis, index: int, subscription: dict, invoices: list[dict]) -> Lane:
    own = [i for i in invoices if i.get("subscription_id") == subscription["id"]]
    spans = {(i["period_start"], i["period_end"]) for i in own
             if i.get("billing_reason") in PERIOD_REASONS and i.get("period_start") and i.get("period_end")}
    current = None
    if subscription.get("subscription_status") in LIVE and subscription.get("current_period_start"):
        current = (subscription["current_period_start"], subscription["current_period_end"])
        spans.add(current)
    periods = []
    for start, end in sorted(spans):
        x = axis.x(when(start))
        periods.append(Period(x, max(axis.x(when(end)) - x, 1.0), f"{start[:10]} to {end[:10]}", (start, end) == current))
    issued = [(axis.x(when(i.get("finalized_at") or i["created_at"])),
               f"{i.get('invoice_number') or i['id']}: {i.get('total')} {i.get('currency', '')} ({i.get('invoice_status')})")
              for i in own if i.get("finalized_at") or i.get("created_at")]
    return Lane(subscription, records.get("plan", subscription.get("plan_id")) or {}, index * LANE, periods, issued)


def _usage(billing: Billing, customer: dict, subscription: dict, now: datetime) -> list[MeterUsage]:
    """Each usage line item's meter over the current period, up to now, as the billing path
    counts it (filters, one count per event id, the meter's aggregation)."""
    start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
    until = min(max(now, start), end)
    step = max(timedelta(days=1), (until - start) / USAGE_POINTS)
    step = timedelta(days=math.ceil(step / timedelta(days=1)))
    marks, at = [], start + step
    while at < until:
        marks.append(at)
        at += step
    marks.append(until)
    external = customer.get("external_id") or ""
    found = []
    for item in billing.records.where("subscription_lineitem", subscription_id=subscription["id"]):
        meter = billing.records.get("meter", item.get("meter_id")) if item.get("price_type") == "USAGE" else None
        if meter is None:
            continue
        points = [(start, Decimal(0))] + [(mark, billing.usage.quantity(meter, external, start, mark))
                                          for mark in marks if mark > start]
        found.append(MeterUsage(item, meter, subscription["current_period_start"], subscription["current_period_end"],
                                format(points[-1][1], "f"), series_chart(points, Axis(start, end))))
    return found


def _wallet(billing: Billing, wallet: dict, now: datetime) -> WalletHistory:
    transactions = sorted(billing.records.where("wallet_transaction", wallet_id=wallet["id"]),
                          key=lambda t: t.get("created_at") or "")
    opened = when(wallet["created_at"]) if wallet.get("created_at") else now
    points = [(opened, Decimal(0))] + [(when(t["created_at"]), Decimal(t.get("credit_balance_after") or "0"))
                                       for t in transactions if t.get("created_at")]
    try:
        real_time = billing.wallets.real_time(wallet["id"])
    except Failure:
        real_time = None
    last = max((at for at, _ in points), default=now)
    return WalletHistory(wallet, real_time, transactions[::-1], series_chart(points, Axis(opened, max(now, last)), steps=True))
