"""Fault rules: the one mechanism behind every injected failure and delay.

A rule matches operations (by operationId, or a method and a path pattern: `rule_fields.py`
reads it), fires with a probability, and then delays the request (`latency`, fixed or a seeded
range) and/or answers it with a status and body in place of the handler. It may fire at most
`count` times, and only inside a time window (`after` it is set, `for` so long). Every rule
counts its hits. Three sources set rules, all kept here, in this order of precedence:

- `POST /_mock/faults` (`source: faults`): rules by operation or pattern, listed with their hits
  and deleted by id;
- stubs (`stubs.py`: `POST /_mock/stubs`, `MockServer.stub`, fixtures): a rule that always fires,
  `times` times, on one operation, then disappears;
- the command line (`source: options`): `--latency` is a rule that delays every operation,
  `--error-rate` one that answers the operation's documented 500 (or 503 with `Retry-After`)
  with that probability. Both draw from one generator seeded with `--seed` (`Faults`).

For a request that reached an operation (authenticated and valid), the live matching rules are
tried in that order (each set in the order made): each that fires adds its latency, and the
first that fires with a status answers after the latency so far; later rules are not tried. A
reset drops the rules set at run time and puts the command line's back, reseeded, so the same
requests in the same order meet the same faults on every run. An injected answer never runs the
handler: the store is untouched, so a retry is always safe.
"""
from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.responses import Response

from flexprice_spec.resources import Operation

from ..core.failures import NotFound
from . import errors

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
RETRY_AFTER_SECONDS = 1
SOURCES = ("faults", "stubs", "options")  # in order of precedence
Answer = Callable[[Operation, dict], Response]  # the operation and its documented responses


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


def draw(generator: random.Random, latency: tuple[float, float]) -> float:
    """Seconds to wait: the latency, or a seeded draw from its range."""
    low, high = latency
    return low if low == high else generator.uniform(low, high)


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
        return draw(self.random, self.latency)

    def fails(self) -> bool:
        return self.error_rate > 0 and self.random.random() < self.error_rate


@dataclass(slots=True)
class Rule:
    """One rule; `fires` and `delay` are its draws, `answer` what it answers (None: it only delays)."""

    id: str
    source: str
    request: str  # what it matches, as given: `createCustomer`, `POST /customers/*`, `every operation`
    operations: frozenset[str] | None  # operationIds it matches; None: every operation
    fires: Callable[[], bool]
    delay: Callable[[], float]
    answer: Answer | None
    described: dict  # what `public()` shows of how it was set (probability, status, body, latency, ...)
    count: int | None = None
    starts: float | None = None  # time.monotonic() bounds of its window
    ends: float | None = None
    hits: int = 0

    def live(self, now: float) -> bool:
        return ((self.count is None or self.hits < self.count) and (self.starts is None or now >= self.starts)
                and (self.ends is None or now < self.ends))

    def public(self) -> dict:
        """What `GET /_mock/faults` lists."""
        return {"id": self.id, "source": self.source, "request": self.request,
                "operations": None if self.operations is None else sorted(self.operations), **self.described,
                "count": self.count, "hits": self.hits, "remaining": None if self.count is None else self.count - self.hits,
                "active": self.live(time.monotonic())}


class FaultRules:
    """Every rule of one mock, by source, and the decision for each request."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults
        self._rules: dict[str, list[Rule]] = {source: [] for source in SOURCES}
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(SOURCES, 0)
        self.reset()

    def reset(self) -> None:
        """Back to the command line's rules, reseeded; the rules set at run time go."""
        with self._lock:
            for rules in self._rules.values():
                rules.clear()
        if self.faults is not None:
            self.faults.reseed()
            for rule in options_rules(self.faults):
                self.add(rule)

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules[rule.source].append(rule)
        return rule

    def next_id(self, source: str, prefix: str) -> str:
        with self._lock:
            self._counts[source] += 1
            return f"{prefix}_{self._counts[source]}"

    def entries(self, source: str | None = None) -> list[Rule]:
        with self._lock:
            return [rule for name in SOURCES if source in (None, name) for rule in self._rules[name]]

    def remove(self, rule_id: str) -> None:
        with self._lock:
            for rules in self._rules.values():
                for rule in rules:
                    if rule.id == rule_id:
                        rules.remove(rule)
                        return
        raise NotFound("fault rule", rule_id)

    def clear(self, *sources: str) -> None:
        with self._lock:
            for source in sources:
                self._rules[source].clear()

    def decide(self, op: Operation, responses: dict) -> tuple[float, Response | None]:
        """The latency of the rules that fire for this request of `op`, and the answer of the
        first that answers, if one does."""
        if not any(self._rules.values()):
            return 0.0, None
        now, latency, answer = time.monotonic(), 0.0, None
        with self._lock:
            for source in SOURCES:
                for rule in list(self._rules[source]):
                    if (rule.operations is not None and op.operation_id not in rule.operations) or not rule.live(now):
                        continue
                    if not rule.fires():
                        continue
                    rule.hits += 1
                    latency += rule.delay()
                    if source == "stubs" and not rule.live(now):
                        self._rules[source].remove(rule)  # a stub used up is gone
                    if rule.answer is not None:
                        answer = rule.answer
                        break
                if answer is not None:
                    break
        return latency, None if answer is None else answer(op, responses)


def options_rules(faults: Faults) -> list[Rule]:
    """`--latency` and `--error-rate` as rules on every operation, drawing from `faults`."""
    rules = []
    if faults.latency[1] > 0:
        low, high = faults.latency
        rules.append(Rule("option_latency", "options", "every operation (--latency)", None, lambda: True, faults.delay,
                          None, {"latency_ms": [round(low * 1000, 3), round(high * 1000, 3)], "probability": 1.0}))
    if faults.error_rate > 0:
        rules.append(Rule("option_error_rate", "options", "every operation (--error-rate)", None, faults.fails,
                          lambda: 0.0, injected_error,
                          {"probability": faults.error_rate, "status": "500, or 503 where 500 is undocumented"}))
    return rules


async def wait(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


def injected_error(_op: Operation, responses: dict) -> Response:
    """`--error-rate`'s answer: the operation's documented 500, or a 503 with `Retry-After`
    where it documents none."""
    if "500" in responses:
        return errors.error_response(500, "injected fault: internal error (--error-rate)", "internal_error")
    return errors.error_response(503, "injected fault: service unavailable (--error-rate)", "service_unavailable",
                                 headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
