"""The contract gate is tested here: it passes the correct mock and fails every broken server.

Each broken server (`tests/broken/`) is the real mock behind a proxy that injects one defect.
The gate runs in-process with a small, seeded budget so the whole matrix stays fast; one test
drives the `flexprice-contract` console script end to end as a user would.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contract_tests import gate, overlay
from contract_tests.config import GateConfig
from contract_tests.report import Report, summary
from flexprice_spec.document import Spec
from mock_server.runner import MockServer
from tests.broken.defects import DEFECTS
from tests.broken.serve import broken_server

API_KEY = "sk_contract_gate_test_key"
SEEDS = (1, 2, 3)
VERDICT_SECONDS = 60


def run_gate(url: str, spec: Path, seed: int, **options: object) -> Report:
    config = GateConfig(base_url=url, api_key=API_KEY, spec=spec, seed=seed, max_examples=5, request_timeout=2, **options)
    return gate.run(config)


@pytest.mark.parametrize("seed", SEEDS)
def test_gate_passes_the_correct_mock_on_the_secrets_spec(secrets_spec: Path, seed: int) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        report = run_gate(mock.url, secrets_spec, seed)
    assert report.passed, summary(report)
    assert {"pagination", "delete_means_gone", "read_after_write", "negative_data_rejection"} <= set(report.checks_run)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("defect", DEFECTS, ids=lambda defect: defect.name)
def test_gate_fails_each_broken_server_with_the_check_for_its_defect(secrets_spec: Path, defect: type, seed: int) -> None:
    started = time.monotonic()
    with broken_server(defect, secrets_spec, API_KEY) as url:
        report = run_gate(url, secrets_spec, seed)
    assert not report.passed
    assert report.failed_checks() & defect.caught_by, (
        f"{defect.name} should be caught by one of {sorted(defect.caught_by)}, got {sorted(report.failed_checks())}"
    )
    assert all(failure.curl.startswith("curl ") for failure in report.failures if failure.check in defect.caught_by)
    assert time.monotonic() - started < VERDICT_SECONDS


def test_stateful_phase_follows_the_derived_link_from_create_to_delete(secrets_spec: Path) -> None:
    with broken_server("new_key_not_found_on_delete", secrets_spec, API_KEY) as url:
        config = GateConfig(base_url=url, api_key=API_KEY, spec=secrets_spec, max_examples=5, request_timeout=2)
        report = gate.run(config, only=("schemathesis",))
    assert "ensure_resource_availability" in report.failed_checks(), summary(report)


def test_gate_passes_the_correct_server_behind_the_same_proxy(secrets_spec: Path) -> None:
    with broken_server("none", secrets_spec, API_KEY) as url:
        report = run_gate(url, secrets_spec, seed=1)
    assert report.passed, summary(report)


def test_read_only_gate_sends_nothing_but_get(secrets_spec: Path) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        report = run_gate(mock.url, secrets_spec, seed=1, read_only=True)
        methods = {entry["method"] for entry in mock.requests}
    assert report.passed, summary(report)
    assert methods == {"GET"}
    assert "delete_means_gone" not in report.checks_run


def test_rate_limit_spaces_the_requests(secrets_spec: Path) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        started = time.monotonic()
        report = run_gate(mock.url, secrets_spec, seed=1, rate_limit="50/s", fuzz=False, include=("listApiKeys",))
        elapsed = time.monotonic() - started
    assert report.passed, summary(report)
    assert elapsed >= (report.requests - 1) / 50


def test_semantic_checks_pass_the_mock_on_the_full_spec(full_spec: Path) -> None:
    with MockServer(spec=full_spec, api_keys=[API_KEY]) as mock:
        report = run_gate(mock.url, full_spec, seed=1, fuzz=False)
    assert not report.failures, summary(report)
    assert report.requests > 2 * 250  # no key and a wrong key on every secured operation, at least
    assert not report.not_covered.keys() - {("resource_hierarchy", "/wallets/transactions")}, report.not_covered


def test_schemathesis_passes_the_mock_on_rbac_role_lookups(full_spec: Path) -> None:
    with MockServer(spec=full_spec, api_keys=[API_KEY]) as mock:
        report = run_gate(mock.url, full_spec, seed=1, include=("getRbacRole",))
    assert report.passed, summary(report)


def test_links_chain_create_to_get_update_and_delete_without_touching_the_spec(full_spec: Path) -> None:
    spec = Spec.load(full_spec)
    before = spec.digest
    document = overlay.build(spec)
    links = document["paths"]["/customers"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {"getCustomer", "updateCustomer", "deleteCustomer"}
    assert {name: link["parameters"] for name, link in links.items()} == {
        "get_getCustomer": {"path.id": "$response.body#/id"},
        "update_updateCustomer": {"query.id": "$response.body#/id"},
        "delete_deleteCustomer": {"path.id": "$response.body#/id"},
    }
    key_links = document["paths"]["/secrets/api/keys"]["post"]["responses"]["201"]["links"]
    assert [link["parameters"] for link in key_links.values()] == [{"path.id": "$response.body#/secret/id"}]
    assert Spec.load(full_spec).digest == before == Spec(spec.document).digest


def test_integration_is_only_sent_as_negative_data(full_spec: Path) -> None:
    document = overlay.build(Spec.load(full_spec), include=("createApiKey",))
    request = document["components"]["schemas"]["CreateAPIKeyRequest"]["properties"]["type"]
    assert request["enum"] == ["private_key", "publishable_key"]
    assert "integration" in document["components"]["schemas"]["types.SecretType"]["enum"]
    assert list(document["paths"]) == ["/secrets/api/keys"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The installed console script beside this interpreter, else `python -m contract_tests`; the
    key comes from the environment, as the docs advise (reports then write it as the variable)."""
    script = Path(sys.executable).parent / "flexprice-contract"
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "contract_tests"]
    env = {**os.environ, "FLEXPRICE_API_KEY": API_KEY}
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=VERDICT_SECONDS * 2, env=env)


def test_console_script_exits_zero_on_the_mock_and_one_on_a_broken_server(secrets_spec: Path, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    common = ("--spec", str(secrets_spec), "--max-examples", "5", "--request-timeout", "2")
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        passing = _cli("--base-url", mock.url, *common)
    with broken_server("deleted_key_still_authenticates", secrets_spec, API_KEY) as url:
        failing = _cli("--base-url", url, *common, "--junit-xml", str(junit))
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "PASSED" in passing.stdout
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "[delete_means_gone]" in failing.stdout and "curl -X GET" in failing.stdout
    assert API_KEY not in failing.stdout
    assert '<testcase classname="flexprice-contract" name="delete_means_gone"><failure' in junit.read_text()


def test_pytest_form_fails_a_broken_server_on_the_rule_it_breaks(secrets_spec: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    with broken_server("wrong_total", secrets_spec, API_KEY) as url:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", str(root / "contract_tests"), "-q", "--base-url", url, "--api-key", API_KEY,
             "--spec", str(secrets_spec), "--max-examples", "3"],
            capture_output=True, text=True, timeout=VERDICT_SECONDS * 2, cwd=root,
        )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAILED contract_tests/test_contract.py::test_implementation_honours_flexprice_rule[pagination]" in result.stdout
    assert "1 failed, 15 passed, 16 skipped" in result.stdout  # a rule with nothing here to check is a skip


def test_console_script_without_base_url_tests_the_project_mock() -> None:
    result = _cli("--max-examples", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "testing http://127.0.0.1:" in result.stdout
