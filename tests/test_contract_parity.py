"""`flexprice-contract parity`: the billing scenario against a target and against a mock the gate
starts, every differing field reported with its path. The target is a second mock, once behind a
proxy that plants one billing difference (`tests/broken/`: invoices a cent above their lines),
once plain: then nothing differs and the exit is 0."""
from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests import cli
from contract_tests.parity import Answer, Run, compare, fields
from mock_server.runner import MockServer
from tests.broken.serve import broken_server

API_KEY = "sk_contract_parity_target"
SETTLE = "1"  # the mocks are synchronous: a value that differs never settles, so do not wait 5 s for it
STEPS = 23  # the chain's 12 parts and 11 reads and actions, all in the chain's spec
INVOICE_TOTALS = ("subtotal", "total", "amount_due", "amount_remaining")


def parity(capsys: pytest.CaptureFixture, url: str, spec: Path, *args: str) -> tuple[int, list[str]]:
    code = cli.main(["parity", "--base-url", url, "--api-key", API_KEY, "--spec", str(spec), "--settle", SETTLE, *args])
    return code, capsys.readouterr().out.splitlines()


def test_a_planted_invoice_difference_is_reported_field_by_field_with_its_path(chain_spec, capsys):
    with broken_server("invoice_totals_cent_above", chain_spec, API_KEY) as url:
        code, lines = parity(capsys, url, chain_spec)
    assert code == cli.EXIT_FAILURES
    assert lines[0].startswith(f"flexprice-contract: parity of {url} with the mock at http://127.0.0.1:")
    differences = lines[1:-1]
    assert 'opening invoice (getInvoice) $.amount_due: target "10.01", mock "10"' in differences
    assert 'invoice after payment (getInvoice) $.amount_remaining: target "6.01", mock "6"' in differences
    assert {line.split(" (")[0] for line in differences} == {"opening invoice", "invoice preview", "invoice after payment"}
    assert {line.split(") ")[1].split(":")[0] for line in differences} == {f"$.{name}" for name in INVOICE_TOTALS}
    assert lines[-1] == f"parity: {STEPS} answers compared, {len(differences)} difference(s) in 3 step(s)"


def test_two_identical_mocks_have_no_difference_and_exit_0(chain_spec, capsys):
    with MockServer(spec=chain_spec, api_keys=[API_KEY], seed=7) as mock:
        code, lines = parity(capsys, mock.url, chain_spec)
    assert code == cli.EXIT_CONFORMS, lines
    assert lines[1:] == [f"parity: {STEPS} answers compared, no difference"]


def test_a_target_that_refuses_the_key_is_said_first_and_nothing_else_runs(chain_spec, capsys):
    with MockServer(spec=chain_spec, api_keys=["sk_another_key"]) as mock:
        code, lines = parity(capsys, mock.url, chain_spec)
    assert code == cli.EXIT_FAILURES
    assert len(lines) == 1 and lines[0].startswith("REFUSED KEY: the target refused the API key ending in 'rget'")


def test_a_spec_without_the_scenario_operations_gives_no_verdict(secrets_spec, capsys):
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        code, lines = parity(capsys, mock.url, secrets_spec)
    assert code == cli.EXIT_NO_VERDICT
    assert lines[-1] == f"parity: NO VERDICT: {secrets_spec} has none of the billing scenario's operations"


def test_ids_times_and_invoice_numbers_are_masked_and_amounts_compared_as_numbers():
    target = {"id": "inv_1", "customer_id": "cus_1", "line_ids": ["a", "b"], "invoice_number": "INV-0007",
              "created_at": "2026-01-01T00:00:00.123456Z", "amount": "10.00", "note": None}
    mock = {"id": "inv_2", "customer_id": "cus_9", "line_ids": ["c", "d"], "invoice_number": "INV-0001",
            "created_at": "2026-03-05T10:11:12Z", "amount": "10"}
    assert list(fields(target, mock)) == []


def test_each_difference_has_its_path_and_kinds_are_kept_apart():
    target = {"amount": "5", "paid": True, "lines": [{"amount": "1"}, {"amount": "2"}], "currency": "usd"}
    mock = {"amount": 5, "paid": 1, "lines": [{"amount": "1.5"}], "status": "draft"}
    assert list(fields(target, mock)) == [
        ("$.amount", '"5"', "5"), ("$.paid", "true", "1"), ("$.lines", "2 items", "1 items"),
        ("$.lines[0].amount", '"1"', '"1.5"'), ("$.currency", '"usd"', "(no field)"), ("$.status", "(no field)", '"draft"'),
    ]


def test_a_step_only_one_side_could_take_is_one_difference_saying_why():
    target = Run({"plan": Answer("plan", "createPlan", absent="refused: 400 name is required")})
    mock = Run({"plan": Answer("plan", "createPlan", 201, {"id": "plan_1"})})
    comparison = compare(target, mock)
    assert [d.line() for d in comparison.differences] == [
        "plan (createPlan): target nothing (refused: 400 name is required), mock 201"]
    assert comparison.compared == 0
