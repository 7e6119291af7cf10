"""`ReadCache`: what one process read from a shared store, kept while the store's state cannot
have changed, so a read that was made since the last change needs no round trip.

Entries are grouped by resource and hold what the backend answered (stored texts, never
decoded records, so no caller can change one). The owner keeps them valid: it clears them all
when the shared state's stamp moved (another process wrote, a reset, a lost state) and `drop`s
one resource's when it wrote that resource itself and nobody else wrote meanwhile. A read
filled after a drop or a clear that happened while it was under way is refused (`epoch`), so a
thread can never put back what a write made stale. Bounded by the number of texts it holds.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

MISSING = object()  # no entry: read it
MAX_TEXTS = 20_000  # texts held in all (about 10 MB of typical records): past it, start again
MAX_ENTRY = 1_000  # texts in one answer worth keeping (a filtered scan of a big resource is not)


class ReadCache:
    __slots__ = ("_entries", "_sizes", "_texts", "_epoch", "_lock")

    def __init__(self) -> None:
        self._entries: dict[str, dict[Hashable, object]] = {}
        self._sizes: dict[str, int] = {}  # texts held per resource
        self._texts = 0
        self._epoch = 0
        self._lock = threading.Lock()

    def read(self, resource: str, key: Hashable, read: Callable[[], object], size: Callable[[object], int]) -> object:
        """The kept answer to `key` about `resource`, else `read()`'s, kept when it holds at
        most `MAX_ENTRY` texts (`size`)."""
        found = self.get(resource, key)
        if found is not MISSING:
            return found
        epoch = self._epoch
        value = read()
        self.keep(epoch, resource, key, value, size(value))
        return value

    def get(self, resource: str, key: Hashable) -> object:
        """The kept answer, or `MISSING`."""
        return self._entries.get(resource, {}).get(key, MISSING)

    @property
    def epoch(self) -> int:
        """Moves on with every drop and clear: what was read before it moved may be stale."""
        return self._epoch

    def keep(self, epoch: int, resource: str, key: Hashable, value: object, texts: int = 1) -> None:
        """Keep an answer read when the epoch was `epoch`, unless a write or a clear came since."""
        if texts > MAX_ENTRY:
            return
        with self._lock:
            if epoch == self._epoch:
                if self._texts + texts > MAX_TEXTS:
                    self._empty()
                self._entries.setdefault(resource, {})[key] = value
                self._sizes[resource] = self._sizes.get(resource, 0) + texts
                self._texts += texts

    def drop(self, resource: str) -> None:
        """This process wrote `resource`: its answers are stale, the others' still hold."""
        with self._lock:
            self._epoch += 1
            self._entries.pop(resource, None)
            self._texts -= self._sizes.pop(resource, 0)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._empty()

    def _empty(self) -> None:
        self._entries.clear()
        self._sizes.clear()
        self._texts = 0
