"""`pytest contract_tests --base-url URL --api-key KEY`: the gate's options, and the target fixture.

Without `--base-url` the session starts this project's mock (the one place pytest reaches into
`mock_server`'s server code, through `target.started_mock`); with it and no `--spec`, the spec the
target serves is tested, as `flexprice-contract` does (`spec_choice.py`).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, nullcontext
from pathlib import Path

import pytest

from .config import (
    DEFAULT_PROFILE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SEED,
    DEFAULT_SETTLE,
    PROFILES,
    GateConfig,
)
from .spec_choice import NoSpec, chosen_spec
from .target import LOCAL_API_KEY, started_mock


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flexprice-contract", "Flexprice contract gate")
    group.addoption("--base-url", default=None, help="implementation to test, including /v1 (default: start the mock)")
    group.addoption("--api-key", default=os.environ.get("FLEXPRICE_CONTRACT_API_KEY") or os.environ.get("FLEXPRICE_API_KEY"),
                    help="the x-api-key the gate sends (env FLEXPRICE_CONTRACT_API_KEY, or the older FLEXPRICE_API_KEY)")
    group.addoption("--spec", default=None,
                    help="OpenAPI document or subset (default: the one the target serves, else openapi.json)")
    group.addoption("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE, help="quick, default or thorough")
    group.addoption("--max-examples", type=int, default=None, help="default: the profile's")
    group.addoption("--seed", type=int, default=DEFAULT_SEED)
    group.addoption("--read-only", action="store_true", help="send only GET requests")
    group.addoption("--rate-limit", default=None, help="e.g. 10/s")
    group.addoption("--include-operation", action="append", default=[], metavar="OPERATION_ID")
    group.addoption("--exclude-operation", action="append", default=[], metavar="OPERATION_ID")
    group.addoption("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT)
    group.addoption("--settle", type=float, default=DEFAULT_SETTLE, help="seconds reads wait for an asynchronous server")
    group.addoption("--time-budget", type=float, default=None, help="default: the profile's")
    group.addoption("--overlay", action="append", default=[], metavar="FILE",
                    help="OpenAPI Overlay 1.0 file applied to the spec in memory (repeatable)")


@pytest.fixture(scope="session")
def gate_config(pytestconfig: pytest.Config) -> Iterator[GateConfig]:
    option = pytestconfig.getoption
    base_url, api_key = option("--base-url"), option("--api-key")
    if base_url and not api_key:
        pytest.exit("--api-key (or FLEXPRICE_CONTRACT_API_KEY) is required with --base-url", returncode=4)
    profile = PROFILES[option("--profile")]
    overlays = tuple(Path(path) for path in option("--overlay"))
    with ExitStack() as stack:
        try:
            spec, label = stack.enter_context(chosen_spec(option("--spec"), base_url, api_key or "", option("--request-timeout")))
        except NoSpec as error:
            pytest.exit(str(error), returncode=4)
        url = stack.enter_context(nullcontext(base_url) if base_url else started_mock(spec, api_key or LOCAL_API_KEY, overlays))
        yield GateConfig(
            spec_label=label,
            base_url=url, api_key=api_key or LOCAL_API_KEY, spec=spec,
            max_examples=profile.max_examples if option("--max-examples") is None else option("--max-examples"),
            seed=option("--seed"), read_only=option("--read-only"), rate_limit=option("--rate-limit"),
            include=tuple(option("--include-operation")), exclude=tuple(option("--exclude-operation")),
            request_timeout=option("--request-timeout"), settle=option("--settle"), phases=profile.phases, overlays=overlays,
            time_budget=profile.time_budget if option("--time-budget") is None else option("--time-budget"),
        )

