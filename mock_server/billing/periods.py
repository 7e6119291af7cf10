"""Billing periods: where a period that starts at some instant ends, for every billing period.

The period ends are the anchor moved by whole steps (months for MONTHLY/QUARTERLY/HALF_YEARLY/
ANNUAL, days for DAILY/WEEKLY), each step counted from the anchor itself and clamped to the last
day of a shorter month: an anchor on Jan 31 bills on Feb 28 (29), then Mar 31 again. A period
ends at the first such date after its start, so a start before the anchor's day ends the first
period on that day of the same month, as the real server's `NextBillingDate` does.
"""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from ..domain import Invalid

MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "HALF_YEARLY": 6, "ANNUAL": 12}
DAYS = {"DAILY": 1, "WEEKLY": 7}


def shifted(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole months, keeping its day (clamped) and its time of day."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def step_date(anchor: datetime, period: str, steps: int) -> datetime:
    if period in MONTHS:
        return shifted(anchor, MONTHS[period] * steps)
    if period in DAYS:
        return anchor + timedelta(days=DAYS[period] * steps)
    raise Invalid("billing_period", f"billing_period {period!r} has no periods")


def period_end(start: datetime, anchor: datetime, period: str, count: int = 1) -> datetime:
    """The end of the period that starts at `start`: the first anchor date after it."""
    count = max(int(count or 1), 1)
    if period in MONTHS:
        months = (start.year - anchor.year) * 12 + start.month - anchor.month
        steps = months // (MONTHS[period] * count) - 1
    elif period in DAYS:
        steps = (start - anchor).days // (DAYS[period] * count) - 1
    else:
        raise Invalid("billing_period", f"billing_period {period!r} has no periods")
    while (end := step_date(anchor, period, steps * count)) <= start:
        steps += 1
    return end


def calendar_anchor(start: datetime, period: str) -> datetime:
    """`billing_cycle: calendar`: the next calendar boundary after `start` (next month's 1st for
    MONTHLY, next Monday for WEEKLY, next day for DAILY, next quarter/half/year start)."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if period in DAYS:
        days = 1 if period == "DAILY" else 7 - midnight.weekday()
        return midnight + timedelta(days=days)
    months = MONTHS.get(period)
    if months is None:
        raise Invalid("billing_period", f"billing_period {period!r} has no periods")
    first = midnight.replace(day=1)
    boundary = shifted(first, -((first.month - 1) % months))
    return shifted(boundary, months)
