"""A verdict a CI team can trust: none without evidence, a refused key said first, the spec the
target serves when none is given, reports that list each resource and check, a staging run that
fits its bound, and a run cut short that says by what and how to give it more time.

Runs `contract_tests.cli.main` in-process (what `flexprice-contract` calls), with the semantic
checks only or a small Schemathesis budget, so each test takes seconds.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from contract_tests import cli
from mock_server.runner import MockServer
from tests.broken.proxy import Response, ThreadedServer
from tests.broken.serve import broken_server

API_KEY = "sk_contract_gate_test_key"


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = cli.main([*args, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_run_that_tests_nothing_has_no_verdict_and_says_why(secrets_spec: Path, capsys: pytest.CaptureFixture) -> None:
    code, output = run_cli(capsys, "--spec", str(secrets_spec), "--include-operation", "noSuchOperation")
    assert code == cli.EXIT_NO_VERDICT == 4
    assert "PASSED" not in output
    assert "NO VERDICT: nothing was tested; 0 operation(s) under test, 0 requests" in output
    assert "why: no operation of the spec is under test: is it the right spec (--spec)" in output


def test_without_a_spec_the_gate_tests_the_one_the_target_serves_and_says_so(
    secrets_spec: Path, capsys: pytest.CaptureFixture,
) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        code, output = run_cli(capsys, "--base-url", mock.url, "--api-key", API_KEY, "--no-fuzz")
    assert code == cli.EXIT_CONFORMS, output
    assert f"against the spec the target serves at {mock.url}/openapi.json (2 paths)" in output
    assert "PASSED: 0 failure(s)" in output and "3 operation(s) under test" in output


def test_without_a_spec_a_target_that_serves_none_needs_one(capsys: pytest.CaptureFixture) -> None:
    async def not_found(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            answer = Response(404).set_json({"message": "not found"})
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()]})
            await send({"type": "http.response.body", "body": answer.body})

    with ThreadedServer(not_found) as url:
        code, output = run_cli(capsys, "--base-url", f"{url}/v1", "--api-key", API_KEY)
    assert code == cli.EXIT_USAGE
    assert f"the target serves no OpenAPI document at {url}/v1/openapi.json" in output and "--spec PATH is needed" in output


def test_a_refused_key_is_one_first_line_naming_its_last_four_characters(
    secrets_spec: Path, capsys: pytest.CaptureFixture,
) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        code, output = run_cli(capsys, "--base-url", mock.url, "--api-key", "wrong", "--spec", str(secrets_spec))
    assert code == cli.EXIT_FAILURES
    first, *rest = output.splitlines()
    assert first.startswith("REFUSED KEY: the target refused the API key ending in 'rong' (from --api-key): ")
    assert "answered 401" in first and rest == []


def test_reproduce_commands_write_the_key_as_its_source_and_never_raw(
    secrets_spec: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Expanded from an exported variable: as that variable; from $FLEXPRICE_CONTRACT_API_KEY (or
    the older $FLEXPRICE_API_KEY): as that variable; typed on the command line: as
    $FLEXPRICE_CONTRACT_API_KEY (export it to replay). No report holds the raw key."""
    shown = {}
    with broken_server("wrong_total", secrets_spec, API_KEY) as url:
        common = ("--base-url", url, "--spec", str(secrets_spec), "--no-fuzz")
        shown["typed"] = run_cli(capsys, *common, "--api-key", API_KEY)[1]
        monkeypatch.setenv("STAGING_KEY", API_KEY)
        shown["variable"] = run_cli(capsys, *common, "--api-key", API_KEY)[1]
        monkeypatch.delenv("STAGING_KEY")
        monkeypatch.setenv("FLEXPRICE_CONTRACT_API_KEY", API_KEY)
        shown["environment"] = run_cli(capsys, *common)[1]
        monkeypatch.delenv("FLEXPRICE_CONTRACT_API_KEY")
        monkeypatch.setenv("FLEXPRICE_API_KEY", API_KEY)
        shown["older variable"] = run_cli(capsys, *common)[1]
    assert '-H "x-api-key: $FLEXPRICE_CONTRACT_API_KEY"' in shown["typed"] and API_KEY not in shown["typed"]
    assert '-H "x-api-key: $STAGING_KEY"' in shown["variable"] and API_KEY not in shown["variable"]
    assert '-H "x-api-key: $FLEXPRICE_CONTRACT_API_KEY"' in shown["environment"] and API_KEY not in shown["environment"]
    assert '-H "x-api-key: $FLEXPRICE_API_KEY"' in shown["older variable"] and API_KEY not in shown["older variable"]


def test_the_reports_list_each_resource_and_check_and_the_page_stands_alone(
    chain_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
) -> None:
    page, data_file = tmp_path / "report.html", tmp_path / "report.json"
    with MockServer(spec=chain_spec, api_keys=[API_KEY]) as mock:
        run_cli(capsys, "--base-url", mock.url, "--api-key", API_KEY, "--spec", str(chain_spec), "--no-fuzz",
                "--report", str(page), "--report-json", str(data_file))
    data, html = json.loads(data_file.read_text()), page.read_text()
    for resource in ("/prices", "/subscriptions", "/payments", "/invoices"):
        assert "create_read_back" in data["resources"][resource]["passed"], data["resources"][resource]
        assert f"<td>{resource}</td>" in html
    assert data["operations"]["createPrice"]["statuses"]["201"] >= 6
    assert data["checks"]["preview_usage_lines"]["passed"] == ["getInvoicePreview"]
    assert "By resource" in html and "By check" in html and "By operation" in html
    assert not re.search(r"<script|<link|\bsrc=|@import", html)


def test_a_run_cut_by_its_budget_in_the_semantic_checks_says_which_budget_and_how_to_extend_it(
    full_spec: Path, capsys: pytest.CaptureFixture,
) -> None:
    code, output = run_cli(capsys, "--spec", str(full_spec), "--time-budget", "0.3")
    assert code == cli.EXIT_FAILURES
    assert "cut: the time budget of 0.3 s (--time-budget) ran out in the semantic checks, during " in output
    assert "Schemathesis did not start" in output and "--time-budget 0.6 extends it" in output


def test_a_run_cut_by_its_budget_in_schemathesis_says_what_was_done(secrets_spec: Path, capsys: pytest.CaptureFixture) -> None:
    code, output = run_cli(capsys, "--spec", str(secrets_spec), "--phases", "examples,fuzzing", "--max-examples", "2000",
                           "--time-budget", "4")
    assert code == cli.EXIT_FAILURES
    assert "cut: the time budget of 4 s (--time-budget) ran out in Schemathesis's fuzzing phase; done before it: " \
           "the semantic checks, examples, fuzzing at " in output
    assert "--time-budget 8 extends it" in output


def test_a_rate_limited_read_only_run_plans_schemathesis_to_fit_its_bound(chain_spec: Path, capsys: pytest.CaptureFixture) -> None:
    started = time.monotonic()
    with MockServer(spec=chain_spec, api_keys=[API_KEY]) as mock:
        code, output = run_cli(capsys, "--base-url", mock.url, "--api-key", API_KEY, "--spec", str(chain_spec),
                               "--read-only", "--rate-limit", "50/s", "--time-budget", "12")
        methods = {entry["method"] for entry in mock.requests}
    assert code == cli.EXIT_CONFORMS, output
    assert time.monotonic() - started < 12
    assert methods == {"GET"}
    assert "planned to fit: examples+fuzzing with 5 example(s) per operation" in output and "left out: coverage" in output
    assert re.search(r"--time-budget \d+ runs all of it", output)


def test_a_schemathesis_failure_is_written_as_a_test_that_replays_it(
    secrets_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEXPRICE_API_KEY", API_KEY)
    with broken_server("server_error_on_empty_name", secrets_spec, API_KEY) as url:
        code, output = run_cli(capsys, "--base-url", url, "--spec", str(secrets_spec), "--max-examples", "3",
                               "--write-tests", str(tmp_path))
        env = {**os.environ, "FLEXPRICE_BASE_URL": url, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        replayed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                   str(tmp_path / "test_not_a_server_error.py")],
                                  capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert code == cli.EXIT_FAILURES and "test_not_a_server_error.py" in output
    assert replayed.returncode == 1 and "assert 500 < 500" in replayed.stdout, replayed.stdout[-2000:]
