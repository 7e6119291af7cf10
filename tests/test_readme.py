"""The README as a newcomer runs it: its first two commands stay true (the first installs and
starts the mock, whose base URL answers the index; the second is the test command CI runs), and
every later command it shows names its program by the venv's path, so it runs from a fresh shell
with no venv activated."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mock_server.app import DEFAULT_API_KEY
from mock_server.cli import main as mock_main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIRST_COMMANDS = [
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/flexprice-mock",
    ".venv/bin/python -m pytest -q",
]
VENV_PROGRAMS = {"flexprice-mock", "flexprice-contract", "python", "python3", "pytest", "pip"}  # what the venv holds
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
# A shell in a new terminal: the system's PATH, no VIRTUAL_ENV, none of this session's variables.
FRESH = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}

needs_the_readme_venv = pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="the tests run from another venv than the README's .venv")


def shell_blocks() -> list[list[str]]:
    """Each `sh` block's commands, continuation lines joined, comments and blank lines left out."""
    blocks = []
    for block in re.findall(r"^```sh\n(.*?)^```", README, re.S | re.M):
        joined = re.sub(r"\\\n\s*", " ", block)
        blocks.append([line for line in joined.splitlines() if shlex.split(line, comments=True)])
    return blocks


def programs(command: str) -> list[str]:
    """The program each part of a command line runs (`A=1 B=2 prog ...`, `a && b`)."""
    found = []
    for part in re.split(r"&&|\|\||;|\|", command):
        words = [word for word in shlex.split(part, comments=True) if not ASSIGNMENT.match(word)]
        if words:
            found.append(words[0])
    return found


def fresh_shell(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=ROOT, env=FRESH,
                          capture_output=True, text=True, timeout=60)


def later_programs() -> list[str]:
    return sorted({program for block in shell_blocks()[1:] for line in block for program in programs(line)})


def test_the_readme_opens_with_the_install_and_start_command_then_the_test_command_ci_runs():
    assert shell_blocks()[0] == FIRST_COMMANDS
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip()]
    assert ci[-1] == FIRST_COMMANDS[1]
    assert ci.count("python3 -m venv .venv") == 1


def test_the_first_command_starts_the_mock_on_loopback_8080_by_default():
    defaults = {param.name: param.default for param in mock_main.params}
    assert (defaults["host"], defaults["port"]) == ("127.0.0.1", 8080)
    assert "`http://127.0.0.1:8080/v1`" in README


@needs_the_readme_venv
def test_the_first_commands_mock_from_a_fresh_shell_announces_its_base_url_which_answers_the_index():
    start = FIRST_COMMANDS[0].split(" && ")[-1]
    process = subprocess.Popen(["bash", "--noprofile", "--norc", "-c", f"exec {start}"], cwd=ROOT,
                               env={**FRESH, "FLEXPRICE_MOCK_PORT": "0"},  # 8080 may be taken on this machine
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url), process.stderr.read()
        index = httpx.get(url).json()
        assert index["api"] == "/v1" and index["spec"]["seed"] is True
        created = httpx.post(url + "/secrets/api/keys", json={"name": "readme", "type": "private_key"},
                             headers={"x-api-key": DEFAULT_API_KEY})
        assert created.status_code == 201
    finally:
        process.terminate()
        process.wait(10)


def test_every_later_command_names_its_program_by_the_venvs_path():
    later = later_programs()
    assert {".venv/bin/flexprice-mock", ".venv/bin/flexprice-contract", ".venv/bin/python"} <= set(later)
    bare = [program for program in later if Path(program).name in VENV_PROGRAMS and not program.startswith(".venv/bin/")]
    assert bare == []


@needs_the_readme_venv
@pytest.mark.parametrize("program", [".venv/bin/flexprice-mock", ".venv/bin/flexprice-contract", ".venv/bin/python"])
def test_each_later_commands_program_runs_from_a_fresh_shell(program):
    assert program in later_programs()
    result = fresh_shell(f"{program} --version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith((Path(program).name, "Python 3"))
