"""The gate as pytest tests: one per Flexprice rule, one for the Schemathesis phases.

Run as `pytest contract_tests --base-url URL --api-key KEY [--spec PATH ...]`.
"""
from __future__ import annotations

import pytest

from . import gate
from .config import GateConfig
from .report import summary
from .semantic import CHECKS


def _verdict(config: GateConfig, name: str) -> None:
    report = gate.run(config, only=(name,))
    if name != "schemathesis" and name not in report.checks_run:
        pytest.skip(f"{name} does not apply to the operations under test (or writes under --read-only)")
    if not report.passed:
        pytest.fail(summary(report), pytrace=False)


@pytest.mark.parametrize("rule", [check.name for check in CHECKS])
def test_implementation_honours_flexprice_rule(gate_config: GateConfig, rule: str) -> None:
    _verdict(gate_config, rule)


def test_implementation_passes_schemathesis_checks_and_stateful_sequences(gate_config: GateConfig) -> None:
    _verdict(gate_config, "schemathesis")
