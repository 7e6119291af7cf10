"""Running usage aggregates: what a billing read of a whole period costs without rescanning it.

A billing read (`Usage.quantity`) asks what one meter measured for one customer in `[start,
end)`. The first read of a window scans its events and keeps the result as a `Tally`; from then
on every ingested event the window contains is folded into it (`Tallies.ingested`), so the next
read costs O(1) however many events the window holds. Every aggregation of the billing path is
followed: COUNT, SUM (WEIGHTED_SUM is one here), SUM_WITH_MULTIPLIER, AVG, MAX, LATEST, and
COUNT_UNIQUE with a count per distinct value, all with the billing path's rules (meter filters,
negative values counted as 0, COUNT_UNIQUE only over events that carry the field).

What a tally cannot follow exactly it gives up, and the next read scans again: an event that
replaced one (a re-sent id) taking back the window's maximum or latest value, and an event whose
time ties the latest one's (the store decides the order of equal times). Sums are `Decimal`s
added in arrival order where a scan adds in time order: equal as long as they fit the default
context's 28 digits. Each process keeps its own tallies: they are dropped when another process
writes to a shared store (`Lifecycle.on_stale`), on a reset, and all at once when there are more
than `MAX_TALLIES`.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ...core.times import micros, when
from .money import ZERO, quantity

MAX_TALLIES = 50_000  # windows followed per process before they are all dropped (a cache, no more)
SUMS = frozenset({"SUM", "SUM_WITH_MULTIPLIER", "WEIGHTED_SUM", "AVG"})


def as_text(value: object) -> str:
    """A property as COUNT_UNIQUE and the meter filters compare it: numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def matches(event: dict, filters: Iterable[tuple[str, Iterable[str]]]) -> bool:
    """Every filter key present in the properties with one of its values (numbers compared as text)."""
    properties = event.get("properties") or {}
    return all(key in properties and as_text(properties[key]) in set(values) for key, values in filters)


@dataclass(frozen=True, slots=True)
class Measure:
    """What a meter aggregates, as a key: two meters that measure alike share their tallies."""

    event_name: str
    kind: str
    field: str
    multiplier: Decimal | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]

    def counts(self, event: dict) -> bool:
        """Whether the event is one the meter counts (its filters, and for COUNT_UNIQUE the field)."""
        if self.filters and not matches(event, self.filters):
            return False
        return self.kind != "COUNT_UNIQUE" or self.field in (event.get("properties") or {})

    def value(self, event: dict) -> Decimal:
        """The event's contribution to sums, maxima and latest values: its field as a quantity,
        negative as 0, times the multiplier of a SUM_WITH_MULTIPLIER; 0 without a field."""
        if not self.field:
            return ZERO
        number = max(quantity((event.get("properties") or {}).get(self.field)), ZERO)
        return number * self.multiplier if self.kind == "SUM_WITH_MULTIPLIER" and self.multiplier is not None else number


@dataclass(slots=True)
class Tally:
    """One meter's aggregate of one customer's events in `[start, end)` (µs; None: open)."""

    measure: Measure
    start: int | None
    end: int | None
    count: int = 0
    total: Decimal = ZERO
    highest: Decimal | None = None
    latest_at: int | None = None
    latest: Decimal = ZERO
    distinct: Counter = field(default_factory=Counter)
    exact: bool = True

    def covers(self, at: int) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def scanned(self, events: list[dict]) -> Tally:
        """Filled from the window's events, oldest first, as a scan reads them: one pass per
        step, as the billing path aggregated before tallies."""
        measure, kind = self.measure, self.measure.kind
        chosen = [e for e in events if measure.counts(e)] if measure.filters or kind == "COUNT_UNIQUE" else events
        self.count = len(chosen)
        if kind == "COUNT_UNIQUE":
            self.distinct = Counter(as_text(e["properties"][measure.field]) for e in chosen)
        elif kind != "COUNT" and chosen:
            values = [measure.value(e) for e in chosen] if measure.field else [ZERO] * len(chosen)
            if kind in SUMS:
                self.total = sum(values, ZERO)
            elif kind == "MAX":
                self.highest = max(values)
            elif kind == "LATEST":
                self.latest_at, self.latest = micros(when(chosen[-1]["timestamp"])), values[-1]
        return self

    def add(self, event: dict, at: int) -> None:
        """Count one ingested event, at `at` (µs)."""
        measure = self.measure
        if not measure.counts(event):
            return
        self.count += 1
        value = measure.value(event)
        if measure.kind in SUMS:
            self.total += value
        elif measure.kind == "MAX":
            self.highest = value if self.highest is None else max(self.highest, value)
        elif measure.kind == "COUNT_UNIQUE":
            self.distinct[as_text(event["properties"][measure.field])] += 1
        if measure.kind == "LATEST":
            if self.latest_at is None or at > self.latest_at:
                self.latest_at, self.latest = at, value
            elif at == self.latest_at:
                self.exact = False  # which of two equal times is later is the store's order

    def remove(self, event: dict, at: int) -> None:
        """Take back an event a re-sent id replaced; what cannot be taken back makes it inexact."""
        measure = self.measure
        if not measure.counts(event):
            return
        self.count -= 1
        value = measure.value(event)
        if measure.kind in SUMS:
            self.total -= value
        elif measure.kind == "MAX" and value == self.highest:
            self.exact = False
        elif measure.kind == "LATEST" and at == self.latest_at:
            self.exact = False
        elif measure.kind == "COUNT_UNIQUE":
            key = as_text(event["properties"][measure.field])
            self.distinct[key] -= 1
            if not self.distinct[key]:
                del self.distinct[key]

    def value(self) -> Decimal:
        kind = self.measure.kind
        if kind == "COUNT":
            return Decimal(self.count)
        if kind == "AVG":
            return self.total / self.count if self.count and self.measure.field else ZERO
        if kind in SUMS:
            return self.total
        if kind == "MAX":
            return self.highest if self.highest is not None else ZERO
        if kind == "LATEST":
            return self.latest if self.count else ZERO
        return Decimal(len(self.distinct))


class Tallies:
    """The tallies of one process, by (customer, event name), each window's by (measure, start, end)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # a scan and its tally, an ingest and its folding: one at a time
        self._by_series: dict[tuple[str, str], dict[tuple[Measure, int | None, int | None], Tally]] = {}
        self._size = 0

    def clear(self) -> None:
        with self.lock:
            self._by_series.clear()
            self._size = 0

    def find(self, customer: str, measure: Measure, start: int | None, end: int | None) -> Tally | None:
        found = self._by_series.get((customer, measure.event_name), {}).get((measure, start, end))
        return found if found is not None and found.exact else None

    def keep(self, customer: str, tally: Tally) -> Tally:
        if self._size >= MAX_TALLIES:
            self.clear()
        windows = self._by_series.setdefault((customer, tally.measure.event_name), {})
        self._size += (tally.measure, tally.start, tally.end) not in windows
        windows[(tally.measure, tally.start, tally.end)] = tally
        return tally

    def ingested(self, added: list[tuple[int, str, dict]], replaced: list[dict]) -> None:
        """Fold a stored batch into the tallies whose windows its events fall in. Each replaced
        event is taken back just before the event that replaced it is counted, as the store did:
        an id's every occurrence in the batch replaced one if it was stored before, else every
        occurrence but the first (`replaced` lists them in that order)."""
        if not self._by_series:
            return
        pending = iter(replaced)
        stored_before = set()
        if replaced:
            occurrences = Counter(event_id for _, event_id, _ in added)
            replacements = Counter(event["id"] for event in replaced)
            stored_before = {i for i, n in replacements.items() if n == occurrences[i]}
        seen: set[str] = set()
        for at, event_id, fields in added:
            if replaced and (event_id in seen or event_id in stored_before):
                old = next(pending)
                self._apply(old, micros(when(old["timestamp"])), removed=True)
            seen.add(event_id)
            self._apply(fields, at, removed=False)

    def _apply(self, event: dict, at: int, removed: bool) -> None:
        windows = self._by_series.get((event["external_customer_id"], event["event_name"]))
        for tally in windows.values() if windows else ():
            if tally.covers(at):
                if removed:
                    tally.remove(event, at)
                else:
                    tally.add(event, at)
