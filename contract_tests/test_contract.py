"""The gate as pytest tests: one per Flexprice rule, one for the Schemathesis phases.

Run as `pytest contract_tests --base-url URL --api-key KEY [--spec PATH ...]`.
"""
from __future__ import annotations

import pytest

from . import gate
from .config import GateConfig
from .report import NO_VERDICT, summary
from .gate import ordered_checks


def _verdict(config: GateConfig, name: str) -> None:
    report = gate.run(config, only=(name,))
    if report.verdict == NO_VERDICT:
        pytest.fail(f"nothing was tested: {report.why_untested()}", pytrace=False)
    if name != "schemathesis" and not report.ran.get(name):
        pytest.skip(f"{name} does not apply to the operations under test (or writes under --read-only)")
    if not report.passed:
        pytest.fail(summary(report), pytrace=False)


@pytest.mark.parametrize("rule", [check.name for check in ordered_checks()])
def test_implementation_honours_flexprice_rule(gate_config: GateConfig, rule: str) -> None:
    _verdict(gate_config, rule)


def test_implementation_passes_schemathesis_checks_and_stateful_sequences(gate_config: GateConfig) -> None:
    _verdict(gate_config, "schemathesis")
