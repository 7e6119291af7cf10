"""The outbox: a domain event for every state change the services make, in the order they make
them, as the real server publishes them (`customer.created`, `invoice.update.finalized`, ...).

An event stays with the process that recorded it, which delivers it (`devtools.webhooks` listens):
once in all, however many processes share the store. The newest `OUTBOX_SIZE` are kept for
inspection (`MockServer.outbox`).
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .clock import Clock
from .ids import IdFactory

OUTBOX_SIZE = 10_000  # domain events kept for delivery and inspection; the oldest go first


class Outbox:
    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock, self._ids = clock, ids
        self._events: deque[dict] = deque(maxlen=OUTBOX_SIZE)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict], None]] = []

    def record(self, event_type: str, entity: str, payload: dict) -> dict:
        """One change, stamped by the billing clock, handed to every listener in order."""
        change = {"id": self._ids.new("sys_event"), "event_type": event_type, "entity": entity,
                  "timestamp": self._clock.stamp(), "payload": payload}
        with self._lock:
            self._events.append(change)
            for listener in self._listeners:
                listener(change)
        return change

    def on_change(self, listener: Callable[[dict], None]) -> None:
        """Call `listener` with every change recorded from now on, in outbox order (under a
        lock, so it must only hand the change on: webhooks queue it)."""
        with self._lock:
            self._listeners.append(listener)

    def entries(self) -> list[dict]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        """After a reset: what was recorded before is no longer news."""
        with self._lock:
            self._events.clear()
