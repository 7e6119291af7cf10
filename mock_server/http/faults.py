"""Injected faults for testing clients' retries and timeouts: latency and transient server errors.

Both draw from one seeded generator, reseeded on every store reset, so the same requests in the
same order meet the same delays and failures on every run. An injected error is answered before
the handler runs: the store is untouched, so a retry is always safe.
"""
from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field

from starlette.responses import Response

from . import errors

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
RETRY_AFTER_SECONDS = 1


def parse_duration(text: str) -> float:
    """`200ms` or `1.5s` in seconds; a unit is required so `200` is never mistaken for seconds."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 200ms or 1.5s)")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def parse_latency(text: str) -> tuple[float, float]:
    """`50ms` or a range `20ms-80ms`, as (low, high) seconds."""
    if text.strip().startswith("-"):
        raise ValueError(f"a latency cannot be negative: {text!r} (use e.g. 50ms, 1s or a range 20ms-80ms)")
    low, _, high = text.partition("-")
    bounds = (parse_duration(low), parse_duration(high) if high else parse_duration(low))
    if bounds[0] > bounds[1]:
        raise ValueError(f"latency range {text!r} runs backwards")
    return bounds


@dataclass(slots=True)
class Faults:
    """What `--latency` and `--error-rate` ask for, and the generator that decides."""

    latency: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    seed: int = 0
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error rate must be between 0 and 1, got {self.error_rate}")
        self.reseed()

    @classmethod
    def parse(cls, latency: str | None, error_rate: float, seed: int = 0) -> Faults:
        return cls(parse_latency(latency) if latency else (0.0, 0.0), error_rate, seed)

    @property
    def active(self) -> bool:
        return self.latency[1] > 0 or self.error_rate > 0

    def reseed(self) -> None:
        self.random = random.Random(self.seed)

    def delay(self) -> float:
        """Seconds to wait: the configured latency, or a seeded draw from its range."""
        low, high = self.latency
        return low if low == high else self.random.uniform(low, high)

    def fails(self) -> bool:
        return self.error_rate > 0 and self.random.random() < self.error_rate


async def wait(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


def injected_error(documented: set[str]) -> Response:
    """The operation's documented 500, or a 503 with `Retry-After` where it documents none."""
    if "500" in documented:
        return errors.error_response(500, "injected fault: internal error (--error-rate)", "internal_error")
    return errors.error_response(503, "injected fault: service unavailable (--error-rate)", "service_unavailable",
                                 headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
