"""The clock's stamps: kept for the millisecond they name, never past a move of the clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mock_server.core.times import stamp
from mock_server.domain.clock import Clock

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_frozen_clock_stamps_its_instant_to_the_millisecond() -> None:
    clock = Clock(datetime(2026, 1, 1, 12, 30, 15, 123_999, tzinfo=timezone.utc))
    assert clock.stamp() == "2026-01-01T12:30:15.123Z"
    assert clock.stamp() == "2026-01-01T12:30:15.123Z"


def test_a_stamp_taken_right_after_an_advance_names_the_new_instant() -> None:
    frozen = Clock(START)
    assert frozen.stamp() == "2026-01-01T00:00:00.000Z"
    frozen.advance(timedelta(milliseconds=1))
    assert frozen.stamp() == "2026-01-01T00:00:00.001Z"

    running = Clock()
    before = running.stamp()
    running.advance("P1D")
    after = running.stamp()
    assert after > before
    assert abs(datetime.fromisoformat(after.replace("Z", "+00:00")) - running.now()) < timedelta(seconds=1)


def test_a_running_clock_stamps_what_now_reads() -> None:
    clock = Clock()
    clock.advance("P3D")
    low = stamp(clock.now())
    text = clock.stamp()
    high = stamp(clock.now())
    assert low <= text <= high


def test_a_restored_or_reset_clock_forgets_the_stamp_it_kept() -> None:
    clock = Clock(START)
    assert clock.stamp() == "2026-01-01T00:00:00.000Z"
    clock.restore({"frozen": "2026-02-01T00:00:00+00:00", "shift": 0})
    assert clock.stamp() == "2026-02-01T00:00:00.000Z"
    clock.reset()
    assert clock.stamp() == "2026-01-01T00:00:00.000Z"
