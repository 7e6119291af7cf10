"""Stalled renewals: the subscriptions the period job could not bill, at which period end, and why.

One subscription whose period cannot be billed (its usage comes to an amount no invoice column
holds, a period end past what a date can hold, a defect of the mock) must not hold up the
others, nor fail the requests that run the job: the job leaves it where it was, records it here
and goes on. It is not tried again while its period end is the one that failed (a change to the
subscription, or a reset, lets the job try again). The record is a shared setting of the store,
so every process sharing it skips the same subscriptions, and `GET /_mock/state` lists them.
"""
from __future__ import annotations

import logging

import orjson

from ...storage.store import Store, pack
from ..clock import Clock

log = logging.getLogger("mock_server")

SETTING = "stalled_renewals"
KEPT = 100  # the newest entries kept: one per subscription


class Stalled:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def entries(self) -> list[dict]:
        """`{subscription_id, period_end, reason, at}`, oldest first."""
        found = self.store.setting(SETTING)
        return orjson.loads(found) if found else []

    def skipped(self) -> dict[str, str]:
        """Subscription id -> the period end it stalled at."""
        return {entry["subscription_id"]: entry["period_end"] for entry in self.entries()}

    def record(self, subscription: dict, error: Exception) -> None:
        """Why `subscription`'s current period could not be billed; logged once, kept for all."""
        reason = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        entry = {"subscription_id": subscription["id"], "period_end": subscription.get("current_period_end"),
                 "reason": reason, "at": self.clock.stamp()}
        log.warning("period job: subscription %s skipped at period end %s: %s", entry["subscription_id"],
                    entry["period_end"], reason, exc_info=None if hasattr(error, "message") else error)
        others = [e for e in self.entries() if e["subscription_id"] != entry["subscription_id"]]
        self.store.save_setting(SETTING, pack([*others, entry][-KEPT:]))
