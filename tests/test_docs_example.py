"""docs/quickstart.md as a newcomer uses it: its commands and Python samples pasted into an empty
folder outside the checkout, each run twice, against the full spec and the packaged sample
fixtures. Both runs must pass, with nothing but the tests' own lines in pytest's output."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .test_cli import running

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart.md"
BIN = Path(sys.executable).parent
DOC_URL = "http://127.0.0.1:8080"


def block(language: str, first_line: str) -> str:
    """The fenced block of `language` whose text starts with `first_line`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", QUICKSTART.read_text(), flags=re.S)
    (found,) = [text for text in blocks if text.startswith(first_line)]
    return found


def command(name: str, full_spec: Path) -> list[str]:
    """The page's `name ...` command line, its placeholders replaced, comments dropped."""
    (line,) = [line for text in re.findall(r"```sh\n(.*?)```", QUICKSTART.read_text(), flags=re.S)
               for line in text.splitlines() if line.startswith(name + " ")]
    line = line.split("#", 1)[0].replace("path/to/flexprice/openapi.json", str(full_spec))
    return shlex.split(line)


def test_the_install_line_installs_the_mock_and_the_sdk_extra():
    install = block("sh", "python3 -m venv")
    assert "pip install -e 'path/to/flexprice-mock[sdk]'" in install
    extras = (ROOT / "pyproject.toml").read_text()
    assert 'sdk = ["flexprice==2.1.43"]' in extras


def test_the_python_sample_runs_twice_against_the_mock_the_page_starts(tmp_path, full_spec):
    name, *args = command("flexprice-mock", full_spec)
    sample = tmp_path / "sample.py"
    with running(*args, cwd=tmp_path, program=[str(BIN / name)]) as url:
        sample.write_text(block("python", "# sample.py").replace(DOC_URL, url.removesuffix("/v1")))
        for _run in range(2):
            result = subprocess.run([sys.executable, str(sample)], cwd=tmp_path, capture_output=True, text=True,
                                    timeout=60)
            assert (result.returncode, result.stdout, result.stderr) == (0, "Acme Corporation\nTrue\n", "")


def test_the_pytest_example_passes_twice_with_no_third_party_warnings(tmp_path, full_spec):
    (tmp_path / "test_billing.py").write_text(block("python", "# test_billing.py"))
    name, *args = command("pytest", full_spec)
    for _run in range(2):
        result = subprocess.run([sys.executable, "-m", name, "-p", "no:cacheprovider", *args], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.fullmatch(r"=+ 3 passed in [\d.]+s =+", result.stdout.splitlines()[-1]), result.stdout
        assert "warning" not in result.stdout.lower(), result.stdout


@pytest.mark.parametrize("option", ["--flexprice-fixtures", "--flexprice-spec"])
def test_a_wrong_path_is_one_pytest_usage_error(tmp_path, option):
    (tmp_path / "test_billing.py").write_text(block("python", "# test_billing.py"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", option, "nowhere"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"ERROR: {option} nowhere: " + (
        "no such file or folder ('sample' names the sample set shipped with flexprice-mock)"
        if option == "--flexprice-fixtures" else "no such file")]


def test_a_fixture_the_mock_refuses_stops_the_session_with_one_line(tmp_path, full_spec):
    (tmp_path / "test_billing.py").write_text(block("python", "# test_billing.py"))
    (tmp_path / "bad.yaml").write_text("customers:\n  - name: Ada\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--flexprice-spec",
                             str(full_spec), "--flexprice-fixtures", "bad.yaml"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "flexprice_mock: bad.yaml, customers[0], field 'external_id': 'external_id' is a required property" \
        in result.stdout
    assert "Traceback" not in result.stdout and "ERROR at setup" not in result.stdout
