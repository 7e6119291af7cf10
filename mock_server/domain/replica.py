"""A replica: what one mock process holds around the store it may share with others.

The store keeps the state; the replica adds what each process runs itself: the billing clock,
the id factory, the lifecycle (set-up, resets, catching up with the other processes), the outbox
of the changes it makes and the API keys it checks. The backend is built on one; so are the
store contract's tests, which run two replicas on one Redis as two processes of a deployment.
"""
from __future__ import annotations

from ..storage.store import Store
from .clock import Clock
from .events import Outbox
from .ids import IdFactory
from .keys import ApiKeys
from .lifecycle import Lifecycle


class Replica:
    def __init__(self, store: Store, clock: Clock | None = None, seed: int = 0) -> None:
        self.store = store
        self.clock = clock or Clock()
        # ids from the OS when processes share the store, so none draws another's
        self.ids = IdFactory(None if store.shared else seed)
        self.lifecycle = Lifecycle(store, self.clock, self.ids)
        self.outbox = Outbox(self.clock, self.ids)
        self.keys = ApiKeys(store)
        self.lifecycle.on_local_reset(self.outbox.clear)
        self.lifecycle.on_local_reset(self.keys.restore_bootstrap)

    @property
    def tenant(self):
        return self.lifecycle.tenant
