"""Record ids as the real server makes them: `<prefix>_<ULID>`, time-ordered."""
from __future__ import annotations

import random
from datetime import datetime, timezone

from ulid import ULID


class IdFactory:
    """The ULID's time part is wall time, as the real server's; its random part is seeded, so a
    run replays (`seed=None`: from the OS, so processes sharing a store never draw the same ids)."""

    def __init__(self, seed: int | None) -> None:
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        """Draw again from the seed: a reset mock makes the ids it made the first time."""
        self._random = random.Random(self._seed)

    def new(self, prefix: str) -> str:
        ulid = ULID.from_timestamp(datetime.now(timezone.utc).timestamp())
        raw = bytes(ulid)[:6] + self._random.randbytes(10)
        return f"{prefix}_{ULID.from_bytes(raw)}" if prefix else str(ULID.from_bytes(raw))
