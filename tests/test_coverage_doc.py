"""docs/coverage.md carries the route table that the current inference prints for the full spec."""
from __future__ import annotations

from click.testing import CliRunner

from mock_server.cli import main

from .conftest import ROOT


def test_coverage_doc_has_the_current_route_table(full_spec):
    result = CliRunner().invoke(main, ["routes", "--spec", str(full_spec), "--markdown"])
    assert result.exit_code == 0, result.output
    doc = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert result.output in doc, (
        "docs/coverage.md is out of date: regenerate its table with "
        "`flexprice-mock routes --spec ../shared/flexprice/openapi.json --markdown`")
    assert result.output.count("\n") == 257 + 2
