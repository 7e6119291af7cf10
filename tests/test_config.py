"""`flexprice-mock --config mock.toml` and `[tool.flexprice-mock]` in a pyproject: defaults for
every option, read off the command's own parameters; flags win; unknown keys are an error."""
from __future__ import annotations

from pathlib import Path

import click
import httpx
from click.testing import CliRunner

from mock_server import config
from mock_server.app import DEFAULT_API_KEY
from mock_server.cli import main

from .test_cli import KEY_BODY, running


def status_with(url: str, key: str) -> int:
    return httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": key}).status_code


def test_a_config_file_sets_the_options_and_flags_given_win(tmp_path):
    (tmp_path / "mock.toml").write_text('api-key = ["sk_from_config"]\nlog-level = "error"\n')
    with running("--config", str(tmp_path / "mock.toml")) as url:
        assert [status_with(url, "sk_from_config"), status_with(url, DEFAULT_API_KEY)] == [201, 401]
    with running("--config", str(tmp_path / "mock.toml"), "--api-key", "sk_from_flag") as url:
        assert [status_with(url, "sk_from_flag"), status_with(url, "sk_from_config")] == [201, 401]


def test_a_pyproject_in_the_working_directory_configures_the_mock(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.flexprice-mock]\napi-key = "sk_from_pyproject"\n')
    with running(cwd=tmp_path) as url:
        assert status_with(url, "sk_from_pyproject") == 201


def test_unknown_keys_are_one_error_naming_them(tmp_path):
    (tmp_path / "mock.toml").write_text("port = 0\nprot = 1\nverbose = true\n")
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "mock.toml")])
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert line.startswith(f"Error: {tmp_path / 'mock.toml'}: unknown key(s) prot, verbose; the options are: accept-key, admin-token, ")


def test_a_pyproject_without_the_table_or_bad_toml_is_one_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    (tmp_path / "mock.toml").write_text("port =\n")
    for path, message in ((tmp_path / "pyproject.toml", "no [tool.flexprice-mock] table"),
                          (tmp_path / "mock.toml", "not valid TOML: Invalid value (at line 1, column 7)")):
        result = CliRunner().invoke(main, ["--config", str(path)])
        assert (result.exit_code, result.output) == (2, f"Error: {path}: {message}\n")


def test_subcommands_take_the_shared_spec_and_their_own_table(tmp_path, full_spec):
    (tmp_path / "mock.toml").write_text(f'spec = "{full_spec}"\nstrict = true\n\n[routes]\nmarkdown = true\n')
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "mock.toml"), "routes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "| method | path | operationId | role | resource |" and len(lines) == 2 + 257
    lint = CliRunner().invoke(main, ["--config", str(tmp_path / "mock.toml"), "lint"])
    assert lint.exit_code == 0  # the server's `strict` is not lint's


def test_an_option_added_to_the_command_is_a_config_key_without_a_list_to_update():
    @click.group()
    @click.option("--clock", default="real")
    @click.option("--overlay", "overlays", multiple=True)
    def command(clock, overlays):
        """A stand-in for options other modules add."""

    mapped = config.default_map(command, {"clock": "2026-01-01T00:00:00Z", "overlay": "a.yaml"}, Path("mock.toml"))
    assert mapped == {"clock": "2026-01-01T00:00:00Z", "overlays": ["a.yaml"]}
