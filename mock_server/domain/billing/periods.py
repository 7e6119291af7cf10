"""Billing periods: where a period that starts at some instant ends, as the real server's
`NextBillingDate` computes it (in UTC: customer time zones are not modelled), and the anchor of
a calendar billing cycle; the period that holds an instant; Go's `AddDate`, which some durations use."""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from ...core.failures import Invalid
from ...core.times import when

MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "HALF_YEARLY": 6, "ANNUAL": 12}


def shifted(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole months, keeping its day (clamped) and its time of day."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def checked_period_end(start: datetime, anchor: datetime, period: str, count: int = 1) -> datetime:
    """`period_end`, or a 400 when no date holds it (past year 9999), naming a subscription's
    count when there is one, else its start."""
    try:
        return period_end(start, anchor, period, count)
    except (OverflowError, ValueError):
        field = "billing_period_count" if int(count or 1) > 1 else "start_date"
        raise Invalid(field, f"the {period} period starting {start:%Y-%m-%d} with count {count} ends past "
                             "what a date can hold (year 9999)") from None


def period_end(start: datetime, anchor: datetime, period: str, count: int = 1) -> datetime:
    """The end of the period that starts at `start`, at the anchor's time of day, to the second.

    DAILY and WEEKLY step days from the start (WEEKLY to the anchor's weekday); QUARTERLY and
    HALF_YEARLY end a first period that starts before the anchor on the anchor itself; MONTHLY
    ends one that starts before the anchor's day on that day of the same month. Otherwise the
    period steps whole months from the start's month to the anchor's day (ANNUAL: the anchor's
    month too), clamped to the month's last day: anchored on Jan 31, Feb 28 (29) then Mar 31."""
    count = max(int(count or 1), 1)
    clock = {"hour": anchor.hour, "minute": anchor.minute, "second": anchor.second, "microsecond": 0}
    if period == "DAILY":
        return (start + timedelta(days=count)).replace(**clock)
    if period == "WEEKLY":
        ahead = (anchor.weekday() - start.weekday()) % 7
        return (start + timedelta(days=count * 7 if ahead == 0 else ahead + (count - 1) * 7)).replace(**clock)
    if period not in MONTHS:
        raise Invalid("billing_period", f"billing_period {period!r} has no periods")
    if period in ("QUARTERLY", "HALF_YEARLY") and start < anchor:
        return anchor
    if period == "MONTHLY":
        day = min(anchor.day, calendar.monthrange(start.year, start.month)[1])
        if start.day < day:
            return start.replace(day=day, **clock)
    year, month = divmod(start.year * 12 + start.month - 1 + MONTHS[period] * count, 12)
    month += 1
    if period == "ANNUAL":
        month = anchor.month
    return start.replace(year=year, month=month, day=min(anchor.day, calendar.monthrange(year, month)[1]), **clock)


def next_period_end(subscription: dict, start: datetime) -> datetime:
    """Where the subscription's period that starts at `start` ends, from its stored anchor."""
    anchor = when(subscription.get("billing_anchor") or subscription["start_date"])
    return checked_period_end(start, anchor, subscription["billing_period"], subscription.get("billing_period_count") or 1)


def calendar_anchor(start: datetime, period: str) -> datetime:
    """`billing_cycle: calendar`: the next calendar boundary after `start` (next month's 1st for
    MONTHLY, next Monday for WEEKLY, next day for DAILY, next quarter/half/year start); a 400
    when that is past year 9999."""
    months = MONTHS.get(period)
    if months is None and period not in ("DAILY", "WEEKLY"):
        raise Invalid("billing_period", f"billing_period {period!r} has no periods")
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        if months is None:
            return midnight + timedelta(days=1 if period == "DAILY" else 7 - midnight.weekday())
        first = midnight.replace(day=1)
        return shifted(shifted(first, -((first.month - 1) % months)), months)
    except (OverflowError, ValueError):
        raise Invalid("start_date", f"the calendar period after {start:%Y-%m-%d} starts past year 9999") from None


def period_containing(subscription: dict, at: datetime, field: str) -> tuple[datetime, datetime]:
    """The subscription's billing period `[start, end)` that holds `at`, walked forward from its
    current period as the real server's `FindPeriodForDate` walks (240 periods at most); a time
    before the current period is a 400 naming `field`."""
    start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
    for _ in range(240):
        if start <= at < end:
            return start, end
        start, end = end, next_period_end(subscription, end)
    raise Invalid(field, f"{field} falls in no billing period of the subscription from its current period on")


def add_date(moment: datetime, years: int = 0, months: int = 0) -> datetime:
    """`moment` moved by calendar years and months as Go's `time.AddDate` moves it: a day the
    target month lacks runs over into the next (Jan 31 + 1 month = Mar 3), unlike `shifted`."""
    year, month = divmod(moment.year * 12 + moment.month - 1 + years * 12 + months, 12)
    return moment.replace(year=year, month=month + 1, day=1) + timedelta(days=moment.day - 1)
