"""Record ids as the real server makes them: `<prefix>_<ULID>`, time-ordered."""
from __future__ import annotations

import random
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the base 32 alphabet ULIDs are written in
PAIRS = [a + b for a in CROCKFORD for b in CROCKFORD]  # every 10-bit value as its two characters


def encoded(value: int, bits: int) -> str:
    """`value` (`bits` long, a multiple of 10) in Crockford base 32, two characters per 10 bits."""
    return "".join([PAIRS[(value >> shift) & 1023] for shift in range(bits - 10, -1, -10)])


def ulid_text(milliseconds: int, randomness: bytes) -> str:
    """The 26 characters of the ULID with this time (48 bits, written as 50) and these 10
    random bytes (80 bits)."""
    return encoded(milliseconds, 50) + encoded(int.from_bytes(randomness, "big"), 80)


class IdFactory:
    """The ULID's time part is wall time, as the real server's; its random part is seeded, so a
    run replays (`seed=None`: from the OS, so processes sharing a store never draw the same ids)."""

    def __init__(self, seed: int | None) -> None:
        self._seed = seed
        self._millisecond, self._time_part = -1, ""
        self.reset()

    def reset(self) -> None:
        """Draw again from the seed: a reset mock makes the ids it made the first time."""
        self._random = random.Random(self._seed)

    def new(self, prefix: str) -> str:
        now = time.time_ns() // 1_000_000
        if now != self._millisecond:  # the time part is written once per millisecond
            self._millisecond, self._time_part = now, encoded(now, 50)
        ulid = self._time_part + encoded(int.from_bytes(self._random.randbytes(10), "big"), 80)
        return f"{prefix}_{ulid}" if prefix else ulid
