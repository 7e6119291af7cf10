"""`flexprice-mock` and `flexprice-contract` as one family (`flexprice_cli`): `--version` on both,
usage errors as one `Error:` line and exit 2 in both, one seed default, names that say what they
mean (`--accept-key` on the mock, `--api-key` its older name), and one naming of environment
variables, run as installed."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from contract_tests import cli as gate_cli
from flexprice_cli.program import DEFAULT_SEED
from mock_server.cli import main as mock_main

from .test_cli import KEY_BODY, running

BIN = Path(sys.executable).parent
PROGRAMS = ("flexprice-mock", "flexprice-contract")


def run(program: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / program), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("program", PROGRAMS)
def test_both_commands_print_their_name_and_version(program):
    result = run(program, "--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{program} {version('flexprice-mock')}\n", "")


@pytest.mark.parametrize("command", [
    ["flexprice-mock"], ["flexprice-mock", "routes"], ["flexprice-mock", "lint"],
    ["flexprice-contract"], ["flexprice-contract", "run"],
    ["flexprice-contract", "parity", "--base-url", "http://127.0.0.1:9/v1", "--api-key", "sk_any"],
], ids=" ".join)
@pytest.mark.parametrize("case", ["missing", "not JSON"])
def test_a_bad_spec_is_one_error_line_and_exit_2_in_every_command(tmp_path, command, case):
    path = tmp_path / "spec.json"
    if case == "not JSON":
        path.write_text("{not json")
    result = run(*command, "--spec", str(path))
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    expected = (f"Error: Invalid value for '--spec': File '{path}' does not exist." if case == "missing"
                else f"Error: {path}: not valid JSON")
    assert line.startswith(expected), line


@pytest.mark.parametrize("program", PROGRAMS)
def test_an_unknown_option_is_one_error_line_and_exit_2_in_both(program):
    result = run(program, "--prot", "8080")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: No such option '--prot'.")


def test_both_commands_default_to_the_same_seed():
    defaults = {param.name: param.default for param in mock_main.params}
    gate_defaults = {param.name: param.default for param in gate_cli.flexprice_contract.commands["run"].params}
    parity_defaults = {param.name: param.default for param in gate_cli.flexprice_contract.commands["parity"].params}
    assert defaults["seed"] == gate_defaults["seed"] == parity_defaults["seed"] == DEFAULT_SEED


def test_accept_key_names_the_keys_the_mock_accepts_by_option_or_variable_and_api_key_still_works():
    checks = (("sk_new_name", 201), ("sk_old_name", 201), ("sk_flexprice_mock_dev_key", 401))
    with running("--accept-key", "sk_new_name", "--api-key", "sk_old_name") as url:
        for key, status in checks:
            assert httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": key}).status_code == status
    with running(env={"FLEXPRICE_MOCK_ACCEPT_KEY": "sk_new_name sk_old_name"}) as url:
        for key, status in checks:
            assert httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": key}).status_code == status


@pytest.mark.parametrize(("program", "args", "variable", "expected"), [
    ("flexprice-mock", [], "FLEXPRICE_MOCK_PORT", "Error: Invalid value for '--port' (from $FLEXPRICE_MOCK_PORT): "),
    ("flexprice-mock", ["routes"], "FLEXPRICE_MOCK_SPEC", "Error: Invalid value for '--spec' (from $FLEXPRICE_MOCK_SPEC): "),
    ("flexprice-contract", [], "FLEXPRICE_CONTRACT_PROFILE",
     "Error: Invalid value for '--profile' (from $FLEXPRICE_CONTRACT_PROFILE): "),
    ("flexprice-contract", ["parity", "--base-url", "http://127.0.0.1:9/v1", "--api-key", "sk_any"],
     "FLEXPRICE_CONTRACT_REQUEST_TIMEOUT",
     "Error: Invalid value for '--request-timeout' (from $FLEXPRICE_CONTRACT_REQUEST_TIMEOUT): "),
    ("flexprice-contract", ["diff", "a.json", "b.json"], "FLEXPRICE_CONTRACT_DIFF_FORMAT",
     "Error: Invalid value for '--format' (from $FLEXPRICE_CONTRACT_DIFF_FORMAT): "),
], ids=lambda value: value if isinstance(value, str) and value.isupper() else None)
def test_every_option_reads_the_variable_of_its_program_and_name_and_a_bad_value_names_it(program, args, variable, expected):
    result = run(program, *args, env={variable: "not-a-value"})
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(expected), line


def test_a_subcommand_flag_that_means_something_else_has_its_own_variable(full_spec):
    """The server's `--strict` (`FLEXPRICE_MOCK_STRICT`) is not lint's (`FLEXPRICE_MOCK_LINT_STRICT`)."""
    runner = CliRunner()
    assert runner.invoke(mock_main, ["lint", "--spec", str(full_spec)], env={"FLEXPRICE_MOCK_STRICT": "1"}).exit_code == 0
    assert runner.invoke(mock_main, ["lint", "--spec", str(full_spec)], env={"FLEXPRICE_MOCK_LINT_STRICT": "1"}).exit_code == 1
