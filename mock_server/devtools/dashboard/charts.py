"""Inline SVG geometry for the dashboard: a time axis with readable ticks, and a series of
(time, value) drawn as a line (usage so far) or as steps (a balance that jumps at each transaction).

The templates draw the SVG from these numbers; nothing is fetched or scripted, so a chart needs no
library, works without JavaScript and is the same in a screenshot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

WIDTH = 960.0
LANE = 28.0  # height of one subscription's lane on the timeline
CHART_HEIGHT = 110.0
TOP = 12.0  # room above a chart's highest point
MAX_TICKS = 8
DAY_STEPS = (1, 2, 7, 14)
MONTH_STEPS = (1, 2, 3, 6, 12)


@dataclass(slots=True)
class Axis:
    """Times from `start` to `end` across `width` pixels."""

    start: datetime
    end: datetime
    width: float = WIDTH

    def __post_init__(self) -> None:
        if self.end <= self.start:
            self.end = self.start + timedelta(days=1)

    def x(self, moment: datetime) -> float:
        share = (moment - self.start) / (self.end - self.start)
        return round(min(max(share, 0.0), 1.0) * self.width, 1)

    def ticks(self) -> list[tuple[float, str]]:
        """At most `MAX_TICKS` labelled marks on day or month boundaries, whichever step fits."""
        for days in DAY_STEPS:
            marks = _steps(_midnight_after(self.start), self.end, lambda at, n=days: at + timedelta(days=n))
            if len(marks) <= MAX_TICKS:
                return [(self.x(at), at.strftime("%b %d")) for at in marks]
        for months in MONTH_STEPS:
            marks = _steps(_month_after(self.start), self.end, lambda at, n=months: _add_months(at, n))
            if len(marks) <= MAX_TICKS:
                return [(self.x(at), at.strftime("%b %Y")) for at in marks]
        return [(self.x(self.start), self.start.strftime("%Y")), (self.x(self.end), self.end.strftime("%Y"))]


@dataclass(slots=True)
class Chart:
    """One series on its own axis: the polyline, a dot per point with its label, the scale."""

    axis: Axis
    height: float
    line: str
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    top_value: str = "0"

    @property
    def ticks(self) -> list[tuple[float, str]]:
        return self.axis.ticks()


def series_chart(points: list[tuple[datetime, Decimal]], axis: Axis, steps: bool = False,
                 height: float = CHART_HEIGHT) -> Chart:
    """`points` in time order on `axis`, scaled so the largest value reaches the top; with
    `steps` each value holds until the next point and the last until the axis ends."""
    top = max((value for _, value in points), default=Decimal(0))
    scale = (height - TOP) / float(top) if top > 0 else 0.0

    def y(value: Decimal) -> float:
        return round(height - float(value) * scale, 1)

    coords: list[tuple[float, float]] = []
    dots = []
    for index, (at, value) in enumerate(points):
        x = axis.x(at)
        if steps and index:
            coords.append((x, coords[-1][1]))
        coords.append((x, y(value)))
        dots.append((x, y(value), f"{at.strftime('%Y-%m-%d %H:%M')}: {_plain(value)}"))
    if steps and coords:
        coords.append((axis.width, coords[-1][1]))
    return Chart(axis, height, " ".join(f"{x},{y}" for x, y in coords), dots, _plain(top))


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 1E+1 is 10, 2.500 is 2.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _steps(first: datetime, end: datetime, step) -> list[datetime]:
    marks, at = [], first
    while at <= end and len(marks) <= MAX_TICKS:
        marks.append(at)
        at = step(at)
    return marks


def _midnight_after(moment: datetime) -> datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight >= moment else midnight + timedelta(days=1)


def _month_after(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first if first >= moment else _add_months(first, 1)


def _add_months(moment: datetime, months: int) -> datetime:
    """The 1st of the month `months` after `moment`'s (ticks fall on firsts only)."""
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1, day=1)
