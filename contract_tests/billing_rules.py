"""The real server's billing arithmetic, as the checks compare against it (BILLING.md, part 1).

Exact decimals throughout; a charge is rounded once, to its currency's precision, half away from
zero, when it is put on a line. A period ends where the server's `NextBillingDate` puts it. These
are rules of any correct Flexprice server, written from its documentation, not from the mock.
"""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)
# Digits after the point by currency; 2 for any other (`types/currency.go`).
PRECISION = {"jpy": 0, "krw": 0, "vnd": 0, "clp": 0, "kwd": 3, "clf": 4}
MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "HALF_YEARLY": 6, "ANNUAL": 12}


def money(value: Any) -> Decimal | None:
    """A decimal string (or number) as a Decimal; None for anything else."""
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        return None


def rounded(amount: Decimal, currency: str) -> Decimal:
    places = PRECISION.get(currency.lower(), 2)
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def cost(price: dict, quantity: Decimal) -> Decimal:
    """What `quantity` costs at `price`, unrounded: FLAT_FEE per unit, PACKAGE per started (or,
    rounding down, whole) package, TIERED by VOLUME (all units at the tier the total falls in) or
    SLAB (each tier its share); `up_to` is inclusive, and each tier used adds its flat amount."""
    if quantity <= 0:
        return ZERO
    model = price.get("billing_model")
    if model == "FLAT_FEE":
        return Decimal(price["amount"]) * quantity
    if model == "PACKAGE":
        transform = price.get("transform_quantity") or {"divide_by": 1}
        divide_by = Decimal(transform.get("divide_by") or 0)
        if divide_by <= 0:
            return ZERO
        how = ROUND_FLOOR if transform.get("round") == "down" else ROUND_CEILING
        return Decimal(price["amount"]) * (quantity / divide_by).to_integral_value(rounding=how)
    tiers = sorted(price.get("tiers") or [], key=lambda t: Decimal("Infinity") if t.get("up_to") is None else Decimal(t["up_to"]))
    if price.get("tier_mode") == "SLAB":
        return _slab(tiers, quantity)
    for tier in tiers:
        if tier.get("up_to") is None or quantity <= Decimal(tier["up_to"]):
            return quantity * Decimal(tier["unit_amount"]) + Decimal(tier.get("flat_amount") or 0)
    return ZERO


def _slab(tiers: list[dict], quantity: Decimal) -> Decimal:
    total, below, left = ZERO, ZERO, quantity
    for tier in tiers:
        if left <= 0:
            break
        size = left if tier.get("up_to") is None else min(left, Decimal(tier["up_to"]) - below)
        if size > 0:
            total += size * Decimal(tier["unit_amount"]) + Decimal(tier.get("flat_amount") or 0)
            left -= size
        below = Decimal(tier["up_to"]) if tier.get("up_to") is not None else below
    return total


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def iso(moment: datetime) -> str:
    """Milliseconds, UTC, `Z`: what the server stores (and what events must be to land in a period)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def next_billing_date(start: datetime, anchor: datetime, period: str, unit: int = 1) -> datetime:
    """Where a period starting at `start` ends (`types/date.go` NextBillingDate, in UTC): days for
    DAILY and WEEKLY; months for the rest, at the anchor's day (clamped to the month's last day)
    and clock; a MONTHLY period starting before the anchor's day ends on it that same month."""
    clock = {"hour": anchor.hour, "minute": anchor.minute, "second": anchor.second, "microsecond": 0}
    if period == "DAILY":
        return (start + timedelta(days=unit)).replace(**clock)
    if period == "WEEKLY":
        days = (anchor.weekday() - start.weekday()) % 7 + (unit - 1) * 7
        return (start + timedelta(days=unit * 7 if anchor.weekday() == start.weekday() else days)).replace(**clock)
    if period in ("QUARTERLY", "HALF_YEARLY") and start < anchor:
        return anchor
    if period == "MONTHLY":
        day = min(anchor.day, calendar.monthrange(start.year, start.month)[1])
        if start.day < day:
            return start.replace(day=day, **clock)
    months = start.month - 1 + MONTHS[period] * unit
    year, month = start.year + months // 12, months % 12 + 1
    if period == "ANNUAL":
        year, month = start.year + unit, anchor.month
    return start.replace(year=year, month=month, day=min(anchor.day, calendar.monthrange(year, month)[1]), **clock)
