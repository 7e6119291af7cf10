"""The gate's settings, shared by the console script and the pytest plugin.

A profile sizes a run; `default` is sized (measured in docs/contract-gate.md) to give a verdict on
the full 257-operation spec inside its time budget on two cores, even when other work shares them
(about 52 s on a quiet machine since Schemathesis runs on two processes; on one, 83 s quiet,
220 s at a load of 10, 300 s at 13). The budget is a bound that
stops a run gone wrong, not the plan (but under `--rate-limit` the plan is made to fit it:
`budget.py`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from flexprice_cli.program import DEFAULT_SEED  # noqa: F401 - one seed default for the family
from flexprice_spec.document import default_spec_path

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")


@dataclass(slots=True, frozen=True)
class Profile:
    """How hard Schemathesis tries: examples per operation and phase, which phases, the bound."""

    max_examples: int
    time_budget: float
    phases: tuple[str, ...]


PROFILES = {
    "quick": Profile(max_examples=2, time_budget=90.0, phases=("examples", "fuzzing", "stateful")),
    "default": Profile(max_examples=5, time_budget=600.0, phases=ALL_PHASES),
    "thorough": Profile(max_examples=25, time_budget=1200.0, phases=ALL_PHASES),
}
DEFAULT_PROFILE = "default"
DEFAULT_MAX_EXAMPLES = PROFILES[DEFAULT_PROFILE].max_examples
DEFAULT_TIME_BUDGET = PROFILES[DEFAULT_PROFILE].time_budget
DEFAULT_REQUEST_TIMEOUT = 5.0
DEFAULT_SETTLE = 5.0  # how long reads wait for an asynchronous server (ingest, invoicing) to catch up


def default_spec() -> Path:
    """The project's seed spec, shipped with the spec model."""
    return default_spec_path()


def parse_rate_limit(value: str | None) -> float | None:
    """Requests per second from `10/s`, `600/m` or `36000/h`; None means no limit."""
    if not value:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*", value)
    if match is None:
        raise ValueError(f"--rate-limit must look like 10/s, 600/m or 1000/h, not {value!r}")
    per = {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    return float(match.group(1)) / per


@dataclass(slots=True)
class GateConfig:
    """Where the implementation is, what to test and how hard."""

    base_url: str
    api_key: str
    spec: Path = field(default_factory=default_spec)
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = DEFAULT_SEED
    read_only: bool = False
    rate_limit: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    settle: float = DEFAULT_SETTLE
    time_budget: float = DEFAULT_TIME_BUDGET
    fuzz: bool = True
    phases: tuple[str, ...] = ALL_PHASES
    overlays: tuple[Path, ...] = ()  # Overlay 1.0 files applied to the spec in memory, in order
    key_source: str = "$FLEXPRICE_CONTRACT_API_KEY"  # where the key came from, for the refused-key line
    key_shown: str = "$FLEXPRICE_CONTRACT_API_KEY"  # how reproduce commands and written tests write the key
    spec_label: str = ""  # which spec this is and where it came from, for the report
    budget_source: str = f"the {DEFAULT_PROFILE} profile's bound"  # where `time_budget` came from

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.spec = Path(self.spec)
        self.overlays = tuple(Path(path) for path in self.overlays)
        parse_rate_limit(self.rate_limit)
        unknown = set(self.phases) - set(ALL_PHASES)
        if unknown:
            raise ValueError(f"unknown phases {sorted(unknown)}; the phases are {', '.join(ALL_PHASES)}")
