"""docs/coverage.md carries the route table that the current inference prints for the full spec, and
the count of operations that answer synthesized filler."""
from __future__ import annotations

from click.testing import CliRunner

from flexprice_spec.document import Spec
from flexprice_spec.resources import infer
from mock_server.cli import main
from mock_server.http.behaviours import BEHAVIOURS

from .conftest import ROOT


def test_coverage_doc_has_the_current_route_table(full_spec):
    result = CliRunner().invoke(main, ["routes", "--spec", str(full_spec), "--markdown"])
    assert result.exit_code == 0, result.output
    doc = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert result.output in doc, (
        "docs/coverage.md is out of date: regenerate its table with "
        "`flexprice-mock routes --spec ../shared/flexprice/openapi.json --markdown`")
    assert result.output.count("\n") == 257 + 2


def test_coverage_doc_states_how_many_computed_operations_answer_synthesized_filler(full_spec):
    """A `computed` operation no named behaviour backs answers made-up data: the doc's count is
    the current one."""
    model = infer(Spec.load(str(full_spec), ()))
    computed = [op for op in model.operations if op.role == "computed"]
    filler = [op for op in computed if op.operation_id not in BEHAVIOURS]
    doc = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert f"now: **{len(filler)}** of the {len(computed)} `computed` operations" in doc
