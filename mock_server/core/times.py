"""Instants and durations as the API writes them: RFC 3339 in UTC with milliseconds, ISO 8601
durations whose months stay calendar months, and microseconds since the epoch for indexes.

A leaf every layer may use: storage keys event times by `micros`, the domain stamps records,
the HTTP layer parses query times. A malformed value is `Invalid` naming the field.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import isodate

from .failures import Invalid


def utc_now() -> str:
    """Wall time (not the billing clock) as the real server writes it: for what the clock does
    not govern, such as webhook delivery attempts."""
    return stamp(datetime.now(timezone.utc))


def parse_instant(value: object, field: str) -> datetime:
    """An RFC 3339 date-time with a zone, in UTC; anything else is a 400 naming `field`."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if not isinstance(value, str) or parsed is None or parsed.tzinfo is None:
        raise Invalid(field, f"{field} must be an RFC 3339 date-time with a time zone, got {value!r}")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise Invalid(field, f"{field} {value!r} is outside the dates UTC can hold (years 1 to 9999)") from None


def when(value: object) -> datetime:
    """A time the mock stored (its own RFC 3339 stamps) as a datetime."""
    return parse_instant(value, "timestamp")


def moved(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, held to the dates that exist (years 1 to 9999): a due date a day after
    9999-12-31, or a window a week before 0001-01-03, stops at the edge instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch: how the event index keeps times."""
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def stamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the real server writes times."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_duration(value: object, field: str = "advance"):
    """`P1M`, `P3D`, `PT1H`, `P1Y2M`: a positive ISO 8601 duration (months stay calendar months)."""
    try:
        duration = isodate.parse_duration(str(value))
    except (isodate.ISO8601Error, ValueError, TypeError, OverflowError):
        raise Invalid(field, f"{field} must be an ISO 8601 duration such as P1M, P3D or PT1H, got {value!r}") from None
    probe = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        moved = probe + duration
    except (OverflowError, ValueError):  # `P10000Y`, `P999999999D`: past year 9999
        raise Invalid(field, f"{field} {value!r} is longer than any date can be moved") from None
    if not isinstance(value, str) or moved <= probe:
        raise Invalid(field, f"{field} must be a positive duration (the clock never goes backwards), got {value!r}")
    return duration
