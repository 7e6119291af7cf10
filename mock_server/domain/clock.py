"""The one clock all billing time comes from, and the test clock that moves it.

Real time by default; `start` freezes it at an instant (`--clock 2026-01-01T00:00:00Z`). It only
ever moves forward: `advance("P1M")` (ISO 8601 durations) or `to(instant)`. A running clock that
is advanced keeps running, shifted; a frozen one stays frozen at the new instant. Whoever must act
when time passes (the subscription period job) listens with `on_move`. Nothing in the domain
calls `datetime.now()`; API-key expiry stays on wall time, as the real server's auth does.

The clock never passes `HORIZON` (9000-01-01): a start, an advance or a target beyond it, or
beyond what a date can hold at all (9999-12-31), is a 400 naming the field, and the clock stays
where it was. The thousand years left after the horizon keep every period the job computes from
a date it reached writable.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ..core.failures import Invalid
from ..core.times import parse_duration, parse_instant, stamp, when

HORIZON = datetime(9000, 1, 1, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def within_horizon(moment: datetime, field: str) -> datetime:
    """`moment`, or a 400 naming `field` when it lies past the clock's horizon."""
    if moment > HORIZON:
        raise Invalid(field, f"{field} would take the clock to {stamp(moment)}, past its horizon ({stamp(HORIZON)})")
    return moment


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self._start = within_horizon(start, "clock") if start is not None else None
        self._listeners: list[Callable[[datetime], None]] = []
        self._savers: list[Callable[[dict], None]] = []
        self.reset()

    def reset(self) -> None:
        """Back to how it was made: frozen at `start`, or real time with no shift."""
        self._stand(self._start, timedelta(0))

    def _stand(self, frozen: datetime | None, shift: timedelta) -> None:
        self._frozen, self._shift = frozen, shift
        self._shift_us = shift // timedelta(microseconds=1)
        self._stamped: tuple[object, str] = (None, "")  # the last stamp, and what it was made of

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def now(self) -> datetime:
        return (self._frozen or datetime.now(timezone.utc)) + self._shift

    def stamp(self) -> str:
        """`now()` as the real server writes it, to the millisecond. The text is kept for the
        millisecond (or frozen instant) it names: a busy server stamps many records within one,
        and formatting is most of what a stamp costs."""
        if self._frozen is None:
            key: object = (time.time_ns() // 1000 + self._shift_us) // 1000
        else:
            key = self._frozen
        made_of, text = self._stamped
        if key != made_of:
            moment = EPOCH + timedelta(milliseconds=key) if self._frozen is None else self.now()
            text = stamp(moment)
            self._stamped = (key, text)
        return text

    def on_move(self, listener: Callable[[datetime], None]) -> None:
        self._listeners.append(listener)

    def on_save(self, saver: Callable[[dict], None]) -> None:
        """Call `saver` with the new `state()` whenever the clock moves, before the listeners:
        a shared store keeps it there for every process (`restore`)."""
        self._savers.append(saver)

    def state(self) -> dict:
        """Where the clock stands, as plain JSON: the frozen instant or the running shift."""
        return {"frozen": self._frozen.isoformat() if self._frozen else None,
                "shift": self._shift // timedelta(microseconds=1)}

    def restore(self, state: dict) -> None:
        """Stand where `state()` said another process's clock stood."""
        self._stand(when(state["frozen"]) if state.get("frozen") else None,
                    timedelta(microseconds=int(state.get("shift") or 0)))

    def advance(self, duration) -> datetime:
        """Move forward by a duration (ISO 8601 text or a timedelta); listeners run for the new now."""
        shown = duration
        if not isinstance(duration, timedelta):
            duration = parse_duration(duration)
        now = self.now()
        try:
            target = now + duration
        except (OverflowError, ValueError):  # past year 9999: no date holds it
            raise Invalid("advance", f"advance {shown!s} would take the clock past what a date can hold; "
                                     f"its horizon is {stamp(HORIZON)}") from None
        return self._move(within_horizon(target, "advance"), now)

    def to(self, instant: datetime | str) -> datetime:
        target = parse_instant(instant, "to") if isinstance(instant, str) else instant.astimezone(timezone.utc)
        now = self.now()
        if target < now:
            raise Invalid("to", f"the clock never goes backwards: {stamp(target)} is before now ({stamp(now)})")
        return self._move(within_horizon(target, "to"), now)

    def _move(self, target: datetime, now: datetime) -> datetime:
        if self._frozen is not None:
            self._stand(target - self._shift, self._shift)
        else:
            self._stand(None, self._shift + target - now)
        for saver in self._savers:
            saver(self.state())
        for listener in self._listeners:
            listener(target)
        return target

    def describe(self) -> dict:
        """What `GET /_mock/clock` answers."""
        return {"now": self.stamp(), "frozen": self.frozen,
                "start": stamp(self._start) if self._start else None}
