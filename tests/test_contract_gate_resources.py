"""The rules checked on every resource, proven on the billing subset of the spec.

Each broken server of `tests/broken/resource_defects.py` is caught, with three seeds, by the rule
it breaks; the correct mock passes every rule (and the Schemathesis examples phase) on the same
subset. The full-spec verdict is measured, not tested here (docs/contract-gate.md).
"""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from contract_tests import gate
from contract_tests.config import GateConfig
from contract_tests.report import Report, summary
from mock_server.runner import MockServer
from tests.broken.resource_defects import BILLING_PATHS, RESOURCE_DEFECTS
from tests.broken.serve import broken_server

from .conftest import spec_subset

API_KEY = "sk_contract_gate_test_key"
SEEDS = (1, 2, 3)
RESOURCE_RULES = {
    "create_read_back", "update_persists", "delete_removes", "lookup_finds", "duplicate_key_is_409",
    "invalid_create_is_400", "unknown_reference_is_404", "search_filters", "pagination_everywhere",
    "invoice_totals", "wallet_top_up", "usage_aggregates_events",
}


@pytest.fixture(scope="session")
def billing_spec(full_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return spec_subset(full_spec, BILLING_PATHS, tmp_path_factory.mktemp("spec"), "billing.json")


def run_gate(url: str, spec: Path, seed: int) -> Report:
    config = GateConfig(base_url=url, api_key=API_KEY, spec=spec, seed=seed, max_examples=2,
                        request_timeout=2, phases=("examples",))
    return gate.run(config)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_mock_keeps_every_resource_rule_and_billing_invariant(billing_spec: Path, seed: int) -> None:
    with MockServer(spec=billing_spec, api_keys=[API_KEY]) as mock:
        report = run_gate(mock.url, billing_spec, seed)
    assert report.passed, summary(report)
    assert RESOURCE_RULES <= set(report.checks_run)
    assert not {"create_read_back", "wallet_top_up", "invoice_totals"} & set(report.skipped), report.skipped


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("defect", RESOURCE_DEFECTS, ids=lambda defect: defect.name)
def test_each_resource_rule_catches_the_server_that_breaks_it(billing_spec: Path, defect: type, seed: int) -> None:
    with broken_server(defect, billing_spec, API_KEY) as url:
        report = run_gate(url, billing_spec, seed)
    assert report.failed_checks() & defect.caught_by, (
        f"{defect.name} should be caught by {sorted(defect.caught_by)}, got {sorted(report.failed_checks())}"
    )
    assert all(f.curl.startswith("curl ") for f in report.failures if f.check in defect.caught_by)


def test_what_the_resource_rules_create_they_delete_where_the_api_can(billing_spec: Path) -> None:
    with MockServer(spec=billing_spec, api_keys=[API_KEY]) as mock:
        report = gate.run(GateConfig(base_url=mock.url, api_key=API_KEY, spec=billing_spec, fuzz=False))
        left = httpx.post(f"{mock.url}/customers/search", json={"limit": 1000}, headers={"x-api-key": API_KEY}).json()
    assert report.passed, summary(report)
    assert left["items"] == []
