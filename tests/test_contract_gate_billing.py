"""The billing checks and RESTler's checkers, proven on broken billing servers.

Each broken server of `tests/broken/billing_defects.py` is the correct mock behind the proxy with
one billing bug; the gate (its semantic checks: seconds a run) fails it with the check meant for
that bug, and the correct mock behind the same proxy keeps every one of those checks. Read-only
runs find the same invariants broken on records someone else made; `--write-tests` turns a
failure into a test that fails on the broken server and passes on the mock.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from contract_tests import cli, gate
from contract_tests.config import GateConfig
from contract_tests.report import Report, summary
from mock_server.runner import MockServer
from tests.broken.billing_defects import BILLING_DEFECTS
from tests.broken.resource_defects import RESOURCE_DEFECTS
from tests.broken.serve import broken_server

API_KEY = "sk_contract_gate_test_key"
SETTLE = 1.0  # the mock is synchronous: a wrong value never settles, so do not wait the default 5 s for it
BILLING_CHECKS = {
    "invoice_totals", "wallet_top_up", "usage_aggregates_events", "payment_moves_invoice", "price_read_back",
    "subscription_line_items", "subscription_period", "subscription_usage", "preview_usage_lines",
    "end_of_period_cancel", "entitlements_carry_limits",
}
CHECKERS = {"leakage", "resource_hierarchy", "unknown_fields"}
CLOSED_CUSTOMERS = """overlay: 1.0.0
info: {title: Customers are closed, version: 1.0.0}
actions:
  - target: $.components.schemas.CustomerResponse
    update: {additionalProperties: false}
"""


@pytest.fixture(scope="session")
def closed_customers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An overlay that closes CustomerResponse, so `unknown_fields` has a schema to hold answers to."""
    path = tmp_path_factory.mktemp("overlay") / "closed-customers.yaml"
    path.write_text(CLOSED_CUSTOMERS)
    return path


def run_gate(url: str, spec: Path, overlay: Path, only: tuple[str, ...] = (), **options: object) -> Report:
    config = GateConfig(base_url=url, api_key=API_KEY, spec=spec, fuzz=False, request_timeout=5, overlays=(overlay,),
                        settle=SETTLE, **options)
    return gate.run(config, only=only)


@pytest.mark.parametrize("defect", BILLING_DEFECTS, ids=lambda defect: defect.name)
def test_each_billing_check_and_checker_catches_the_server_that_breaks_it(
    chain_spec: Path, closed_customers: Path, defect: type,
) -> None:
    with broken_server(defect, chain_spec, API_KEY) as url:
        report = run_gate(url, chain_spec, closed_customers)
    assert defect.caught_by <= report.failed_checks(), (
        f"{defect.name} should be caught by {sorted(defect.caught_by)}, got {sorted(report.failed_checks())}"
    )
    caught = [f for f in report.failures if f.check in defect.caught_by]
    assert all(f.curl.startswith("curl ") and f.trace and f.assertion for f in caught)


def test_every_billing_check_and_checker_has_a_broken_server_it_must_catch() -> None:
    meant = set().union(*(defect.caught_by for defect in (*BILLING_DEFECTS, *RESOURCE_DEFECTS)))
    assert BILLING_CHECKS | CHECKERS <= meant
    assert BILLING_CHECKS | CHECKERS <= {check.name for check in gate.ordered_checks()}


def test_the_correct_mock_keeps_every_billing_check_and_checker(chain_spec: Path, closed_customers: Path) -> None:
    with broken_server("none", chain_spec, API_KEY) as url:
        report = run_gate(url, chain_spec, closed_customers)
    assert report.passed, summary(report)
    ran = {check for check, operations in report.ran.items() if operations}
    assert BILLING_CHECKS | CHECKERS <= ran
    assert not [key for key in report.not_covered if key[0] in BILLING_CHECKS | CHECKERS], report.not_covered
    assert {"/prices", "/subscriptions", "/payments"} <= {report.group_of(op) for op in report.ran["create_read_back"]}


def _someone_elses_billing(url: str) -> None:
    """What a read-only run finds on staging: a subscription, its opening invoice, a payment of it."""
    with httpx.Client(base_url=url + "/", headers={"x-api-key": API_KEY}) as client:
        def made(path: str, body: dict) -> dict:
            answer = client.post(path, json=body)
            assert answer.status_code < 300, answer.text
            return answer.json()
        plan = made("plans", {"name": "Staging plan"})
        made("prices", {"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10", "currency": "usd", "entity_type": "PLAN",
                        "entity_id": plan["id"], "billing_period": "MONTHLY", "invoice_cadence": "ADVANCE", "price_unit_type": "FIAT"})
        customer = made("customers", {"external_id": "staging-1", "name": "Staging customer"})
        subscription = made("subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"], "currency": "usd",
                                              "billing_period": "MONTHLY"})
        invoice = made("invoices/search", {"subscription_ids": [subscription["id"]]})["items"][0]
        made("payments", {"destination_type": "INVOICE", "destination_id": invoice["id"], "payment_method_type": "OFFLINE",
                          "amount": "4", "currency": "usd"})


@pytest.mark.parametrize(("defect", "check"), [("invoice_totals_cent_above", "invoice_totals"),
                                               ("thirty_day_period", "subscription_period")])
def test_read_only_runs_hold_the_invariants_on_what_they_can_reach(chain_spec: Path, closed_customers: Path,
                                                                   defect: str, check: str) -> None:
    """GET /payments lists the payment, which names its invoice, which names its subscription."""
    for name in ("none", defect):
        with broken_server(name, chain_spec, API_KEY) as url:
            _someone_elses_billing(url)
            report = run_gate(url, chain_spec, closed_customers, read_only=True, only=(check,))
        assert report.ran[check], summary(report)
        assert report.passed == (name == "none"), summary(report)


def test_a_written_test_fails_on_the_broken_server_and_passes_on_the_mock(chain_spec: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXPRICE_API_KEY", API_KEY)
    written = tmp_path / "written"
    with broken_server("price_amount_differs", chain_spec, API_KEY) as url:
        code = cli.main(["--base-url", url, "--spec", str(chain_spec), "--no-fuzz", "--no-progress",
                         "--write-tests", str(written)])
        on_broken = _pytest(written / "test_price_read_back.py", url)
    output = capsys.readouterr().out
    assert code == cli.EXIT_FAILURES and "test_price_read_back.py" in output
    assert API_KEY not in (written / "test_price_read_back.py").read_text()
    with MockServer(spec=chain_spec, api_keys=[API_KEY]) as mock:
        on_mock = _pytest(written / "test_price_read_back.py", mock.url)
    assert on_broken.returncode == 1 and " failed" in on_broken.stdout, on_broken.stdout[-2000:]
    assert on_mock.returncode == 0 and " passed" in on_mock.stdout, on_mock.stdout[-2000:]


def _pytest(path: Path, url: str) -> subprocess.CompletedProcess:
    """The written file run on its own, as its reader would, against `url` (no plugin is needed)."""
    env = {**os.environ, "FLEXPRICE_BASE_URL": url, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=path.parent)
