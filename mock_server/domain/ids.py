"""Record ids as the real server makes them: `<prefix>_<ULID>`, time-ordered."""
from __future__ import annotations

import random
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the base 32 alphabet ULIDs are written in
PAIRS = [a + b for a in CROCKFORD for b in CROCKFORD]  # every 10-bit value as its two characters
# A random byte as a random character: 256 is a multiple of 32, so each is equally likely.
RANDOM_CHARACTER = bytes(ord(CROCKFORD[byte % 32]) for byte in range(256))
RANDOM_PART = 16  # characters: 80 random bits


def time_part(milliseconds: int) -> str:
    """The first 10 characters of a ULID: its 48-bit time, written as 50 bits."""
    return "".join([PAIRS[(milliseconds >> shift) & 1023] for shift in range(40, -1, -10)])


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
        return self.many(prefix, 1)[0]

    def many(self, prefix: str, count: int) -> list[str]:
        """`count` new ids: one clock read, one draw of random bytes, each written at C speed."""
        now = time.time_ns() // 1_000_000
        if now != self._millisecond:  # the time part is written once per millisecond
            self._millisecond, self._time_part = now, time_part(now)
        head = f"{prefix}_{self._time_part}" if prefix else self._time_part
        randomness = self._random.randbytes(RANDOM_PART * count).translate(RANDOM_CHARACTER).decode()
        return [head + randomness[i:i + RANDOM_PART] for i in range(0, RANDOM_PART * count, RANDOM_PART)]
