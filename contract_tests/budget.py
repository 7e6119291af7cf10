"""How a run fits its time budget, and what it says when the budget cuts it short.

Without `--rate-limit` the profiles are sized for the machine (docs/contract-gate.md). With one,
the requests the budget can hold are known before Schemathesis starts (rate x time left), so the
Schemathesis phases are planned to fit: the coverage phase, the heaviest, is left out first, then
fewer examples per operation, then the stateful and fuzzing phases; the examples phase always runs.
The plan is a note in the report naming what was left out and the `--time-budget` that includes it.
The request counts per operation are measured on the full spec against the mock (the docs' table).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import GateConfig, parse_rate_limit

# Requests Schemathesis sends per operation and phase (`fuzzing`: per example), measured on the full
# spec: coverage sends about 18 per GET and 140 per write (whose bodies it varies field by field).
PER_OPERATION = {"examples": 1.0, "stateful": 3.0}
COVERAGE_PER_READ, COVERAGE_PER_WRITE = 18.0, 140.0
PER_FUZZING_EXAMPLE = 1.1
SAFETY = 0.8  # the share of rate x time the plan may use: answers take time too
MARGIN_SECONDS = 5.0
DROP_ORDER = ("coverage", "stateful", "fuzzing")


@dataclass(slots=True)
class FuzzPlan:
    phases: tuple[str, ...]
    max_examples: int
    notes: list[str] = field(default_factory=list)


def estimate(phases: tuple[str, ...], max_examples: int, reads: int, writes: int) -> int:
    """Requests Schemathesis sends for these phases on `reads` GET and `writes` other operations."""
    total = sum(PER_OPERATION.get(phase, 0.0) for phase in phases) * (reads + writes)
    if "fuzzing" in phases:
        total += PER_FUZZING_EXAMPLE * max_examples * (reads + writes)
    if "coverage" in phases:
        total += COVERAGE_PER_READ * reads + COVERAGE_PER_WRITE * writes
    return math.ceil(total)


def fuzz_plan(config: GateConfig, reads: int, writes: int, time_left: float) -> FuzzPlan:
    """The phases and examples per operation that fit `time_left` at the rate limit."""
    operations = reads + writes
    rate = parse_rate_limit(config.rate_limit)
    phases = tuple(p for p in config.phases if not (p == "stateful" and config.read_only))
    plan = FuzzPlan(phases, config.max_examples)
    if rate is None or not operations:
        return plan
    affordable = int(rate * max(time_left - MARGIN_SECONDS, 0.0) * SAFETY)
    wanted = estimate(phases, config.max_examples, reads, writes)
    if wanted <= affordable:
        plan.notes.append(f"at {config.rate_limit} the {time_left:.0f} s left hold about {affordable:,} requests; "
                          f"Schemathesis needs about {wanted:,} ({'+'.join(phases)}, {config.max_examples} examples per operation)")
        return plan
    left_out: list[str] = []
    for phase in DROP_ORDER:
        if estimate(plan.phases, plan.max_examples, reads, writes) <= affordable:
            break
        if phase == "fuzzing":
            while plan.max_examples > 1 and estimate(plan.phases, plan.max_examples, reads, writes) > affordable:
                plan.max_examples -= 1
            if estimate(plan.phases, plan.max_examples, reads, writes) <= affordable:
                break
        if phase in plan.phases:
            plan.phases = tuple(p for p in plan.phases if p != phase)
            left_out.append(phase)
    needed = wanted / (rate * SAFETY) + MARGIN_SECONDS + (config.time_budget - time_left)
    plan.notes.append(
        f"at {config.rate_limit} the {time_left:.0f} s left of the {config.time_budget:g} s budget hold about "
        f"{affordable:,} requests, not the {wanted:,} Schemathesis would send; planned to fit: "
        f"{'+'.join(plan.phases)} with {plan.max_examples} example(s) per operation on {operations} operations"
        + (f", left out: {', '.join(left_out)}" if left_out else "")
        + f". --time-budget {math.ceil(needed / 10) * 10} runs all of it"
    )
    return plan


def cut_message(config: GateConfig, where: str, done: str, requests: int) -> str:
    """What the budget cut, what was done before it, and the flag that extends it."""
    return (
        f"the time budget of {config.time_budget:g} s ({config.budget_source}) ran out {where}; "
        f"done before it: {done}; {requests:,} requests in all. --time-budget {config.time_budget * 2:g} "
        f"extends it (or --max-examples, --phases or --profile quick to do less)"
    )
