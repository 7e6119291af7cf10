"""Every command of both CLIs answers a spec it cannot serve with one line naming the file, what
is wrong and where, and exit 2: never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from contract_tests import cli as contract_cli
from mock_server.cli import main

from .conftest import SEED_SPEC

SEED = json.loads(SEED_SPEC.read_text())
ERROR_REF = "#/components/schemas/errors.ErrorResponse"


def unresolvable_ref() -> str:
    return json.dumps(SEED).replace(json.dumps(ERROR_REF), json.dumps("#/components/schemas/Nope"), 1)


MALFORMED = {
    "bad YAML": ("spec.yaml", "openapi: 3.0.0\npaths:\n  /x: [a\n",
                 "spec.yaml: not valid YAML: expected ',' or ']', but got '<stream end>' (line 4, column 1)"),
    "truncated JSON": ("spec.json", SEED_SPEC.read_text()[:300],
                       "spec.json: not valid JSON: "),
    "unresolvable $ref": ("spec.json", unresolvable_ref(),
                          "spec.json: $ref '#/components/schemas/Nope' does not resolve (used at #/paths/~1secrets~1api~1keys/"),
    "not OpenAPI": ("spec.json", '{"hello": "world"}',
                    "spec.json: not an OpenAPI 3 document (no 'openapi' field; Swagger 2.0 is not supported)"),
    "empty file": ("spec.yaml", "", "spec.yaml: the file is empty"),
    "a list": ("spec.yaml", "- 1\n- 2\n", "spec.yaml: not an OpenAPI document (a list, not a mapping)"),
    "not UTF-8": ("spec.json", b"\xff\xfe{}", "spec.json: not UTF-8 text (byte 0)"),
}
MOCK_COMMANDS = {"serve": [], "routes": ["routes"], "lint": ["lint"]}


def write(tmp_path, case: str):
    name, content, expected = MALFORMED[case]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path, expected


@pytest.mark.parametrize("command", MOCK_COMMANDS)
@pytest.mark.parametrize("case", MALFORMED)
def test_every_mock_command_answers_a_malformed_spec_with_one_line_and_exit_2(tmp_path, monkeypatch, case, command):
    path, expected = write(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*MOCK_COMMANDS[command], "--spec", path.name, *(["--port", "0"] * (command == "serve"))])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = result.output.splitlines()
    assert line.startswith("Error: " + expected)


@pytest.mark.parametrize("case", MALFORMED)
def test_the_contract_gate_answers_a_malformed_spec_with_one_line_and_exit_2(tmp_path, monkeypatch, capsys, case):
    path, expected = write(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    assert contract_cli.main(["--spec", path.name]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("Error: " + expected)


def test_the_installed_command_prints_no_traceback_for_a_malformed_spec(tmp_path):
    path, expected = write(tmp_path, "unresolvable $ref")
    result = subprocess.run([sys.executable, "-m", "mock_server", "routes", "--spec", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "does not resolve" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", MOCK_COMMANDS)
def test_a_spec_that_breaks_the_openapi_schema_is_one_line_naming_the_place_and_exit_2(tmp_path, command):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**SEED, "paths": {"/x": {"get": {"responses": "none"}}}}))
    result = CliRunner().invoke(main, [*MOCK_COMMANDS[command], "--spec", str(path), *(["--port", "0"] * (command == "serve"))])
    assert result.exit_code == 2
    assert result.output == (f"Error: {path}: not a valid OpenAPI document: 'none' is not of type 'object' "
                             "(at #/paths/~1x/get/responses)\n")


def test_the_contract_gate_names_the_place_a_spec_breaks_the_openapi_schema(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**SEED, "paths": {"/x": {"get": {"responses": "none"}}}}))
    assert contract_cli.main(["--spec", str(path)]) == 2
    assert capsys.readouterr().err == (f"Error: {path}: not a valid OpenAPI document: 'none' is not "
                                       "of type 'object' (at #/paths/~1x/get/responses)\n")


def test_a_negative_latency_says_so():
    result = CliRunner().invoke(main, ["--latency", "-5ms"])
    assert result.exit_code == 2
    assert result.output == ("Error: --latency: a latency cannot be negative: '-5ms' "
                             "(use e.g. 50ms, 1s or a range 20ms-80ms)\n")


@pytest.mark.parametrize("case", MALFORMED)
def test_the_contract_diff_answers_a_malformed_spec_with_one_line_and_exit_2(tmp_path, monkeypatch, capsys, case):
    path, _expected = write(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    assert contract_cli.main(["diff", path.name, str(SEED_SPEC)]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("Error: ") and path.name in line
