"""The gate as a user meets it: never a crash, exit codes, slow operations, the report's shape.

Runs `contract_tests.cli.main` in-process (what `flexprice-contract` calls) against the mock,
a broken server, and a server whose every answer is wrong in shape.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from contract_tests import cli, gate
from contract_tests.report import mask
from mock_server.runner import MockServer
from tests.broken.serve import broken_server
from tests.broken.wrong_shapes import wrong_shapes_server

API_KEY = "sk_contract_gate_test_key"
SEEDS = (1, 2, 3)
SLOW_VERDICT_SECONDS = 90


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = cli.main([*args, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("seed", SEEDS)
def test_answers_of_every_wrong_shape_are_failures_not_a_crash(
    secrets_spec: Path, capsys: pytest.CaptureFixture, seed: int,
) -> None:
    with wrong_shapes_server(seed) as url:
        code, output = run_cli(capsys, "--base-url", url, "--api-key", API_KEY, "--spec", str(secrets_spec),
                               "--seed", str(seed), "--request-timeout", "2", "--max-examples", "3")
    assert code == cli.EXIT_FAILURES, output
    assert "Traceback" not in output and "the gate itself broke" not in output
    assert "FAILED:" in output and "curl -X " in output


def test_one_slow_operation_costs_two_timeouts_not_minutes(secrets_spec: Path, capsys: pytest.CaptureFixture) -> None:
    started = time.monotonic()
    with broken_server("slow_delete", secrets_spec, API_KEY) as url:
        code, output = run_cli(capsys, "--base-url", url, "--api-key", API_KEY, "--spec", str(secrets_spec))
    assert code == cli.EXIT_FAILURES
    assert "response_time" in output
    assert time.monotonic() - started < SLOW_VERDICT_SECONDS


def test_an_unreadable_spec_or_an_unknown_option_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    assert run_cli(capsys, "--spec", str(tmp_path / "missing.json"))[0] == cli.EXIT_USAGE
    assert run_cli(capsys, "--spec", str(tmp_path / "broken.json"))[0] == cli.EXIT_USAGE
    assert run_cli(capsys, "--base-url", "http://127.0.0.1:9/v1")[0] == cli.EXIT_USAGE  # no --api-key
    code, output = run_cli(capsys, "--profile", "fastest")
    assert code == cli.EXIT_USAGE
    assert output.splitlines() == ["Error: Invalid value for '--profile': 'fastest' is not one of 'default', 'quick', "
                                   "'thorough'."]


def test_a_bug_in_the_gate_itself_exits_3(secrets_spec: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_run(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug of the gate")

    monkeypatch.setattr(gate, "run", broken_run)
    code, output = run_cli(capsys, "--base-url", "http://127.0.0.1:9/v1", "--api-key", API_KEY, "--spec", str(secrets_spec))
    assert code == cli.EXIT_BROKEN
    assert "the gate itself broke" in output and "RuntimeError: a bug of the gate" in output


def test_a_base_url_without_v1_gets_the_hint(secrets_spec: Path, capsys: pytest.CaptureFixture) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        code, output = run_cli(capsys, "--base-url", mock.url.removesuffix("/v1"), "--api-key", API_KEY,
                               "--spec", str(secrets_spec), "--no-fuzz")
    assert code == cli.EXIT_FAILURES
    assert "is `/v1` missing from --base-url" in output


def test_a_short_key_from_the_environment_is_masked_in_the_key_header_only(
    secrets_spec: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEXPRICE_API_KEY", "x")
    with broken_server("wrong_total", secrets_spec, "x") as url:
        code, output = run_cli(capsys, "--base-url", url, "--spec", str(secrets_spec), "--no-fuzz")
    assert code == cli.EXIT_FAILURES
    assert "$FLEXPRICE_API_KEY-api-key" not in output and "[Filtered]" not in output
    assert "-H \"x-api-key: $FLEXPRICE_API_KEY\"" in output


def test_summary_counts_by_check_and_operation_before_at_most_show_examples(
    secrets_spec: Path, capsys: pytest.CaptureFixture,
) -> None:
    with wrong_shapes_server(1) as url:
        code, output = run_cli(capsys, "--base-url", url, "--api-key", API_KEY, "--spec", str(secrets_spec),
                               "--request-timeout", "2", "--max-examples", "3", "--show", "1")
    by_resource, by_check, by_operation, examples = (output.index(title) for title in (
        "by resource (", "by check (", "failures by operation", "examples (at most 1 per check"))
    assert by_resource < by_check < by_operation < examples
    shown = [line for line in output[examples:].splitlines() if line.startswith("[")]
    assert len(shown) == len({line.split("]")[0] for line in shown})  # one example per check


def test_read_only_lists_the_checks_it_skipped(secrets_spec: Path, capsys: pytest.CaptureFixture) -> None:
    with MockServer(spec=secrets_spec, api_keys=[API_KEY]) as mock:
        code, output = run_cli(capsys, "--base-url", mock.url, "--api-key", API_KEY, "--spec", str(secrets_spec),
                               "--read-only", "--no-fuzz")
    assert code == cli.EXIT_CONFORMS, output
    assert "not run:" in output and "delete_means_gone: writes, so not run under --read-only" in output


def test_help_shows_every_default_and_imports_neither_connexion_nor_uvicorn() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "contract_tests", "run", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert not imported & {"connexion", "uvicorn", "starlette", "flask"}
    shown = " ".join(result.stdout.split())
    for default in ("FLEXPRICE_CONTRACT_PROFILE; default: default]", "FLEXPRICE_CONTRACT_SEED; default: 0]",
                    "FLEXPRICE_CONTRACT_REQUEST_TIMEOUT; default: 5.0]", "FLEXPRICE_CONTRACT_SHOW; default: 3]",
                    "the profile's"):
        assert default in shown


def test_a_long_key_is_masked_wherever_it_appears_and_schemathesis_filtered_one_alike() -> None:
    key = "sk_contract_gate_long_key"
    assert mask(f"curl -H 'x-api-key: {key}' -d '{{\"echo\": \"{key}\"}}' http://h/v1", key) == (
        "curl -H \"x-api-key: $FLEXPRICE_CONTRACT_API_KEY\" -d '{\"echo\": \"$FLEXPRICE_CONTRACT_API_KEY\"}' http://h/v1"
    )
    assert mask("curl -H 'x-api-key: [Filtered]' http://h/v1", key) == (
        "curl -H \"x-api-key: $FLEXPRICE_CONTRACT_API_KEY\" http://h/v1"
    )
    assert mask("curl -H 'x-api-key: sk_created_by_the_gate' http://h/v1", key) == (
        "curl -H 'x-api-key: sk_created_by_the_gate' http://h/v1"
    )
