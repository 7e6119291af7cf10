"""OpenAPI Overlay 1.0 files: applied in memory by the mock (`--overlay`, `routes`, its validation,
the document it serves) and by the contract gate (its own real-server overlay, and the user's),
never written back to the spec file."""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from contract_tests import overlay as gate_overlay
from contract_tests.cli import main as contract_main
from flexprice_spec.document import Spec
from flexprice_spec.overlays import Overlay, OverlayError
from mock_server import MockServer

from .conftest import API_KEY, SEED_SPEC
from .test_cli import running

NO_INTEGRATION = """\
overlay: 1.0.0
info: {title: No integration keys, version: 1.0.0}
actions:
  - target: "$.components.schemas['types.SecretType'].enum[?@ == 'integration']"
    description: the real server refuses integration keys
    remove: true
"""
NO_PUBLISHABLE = NO_INTEGRATION.replace("integration'", "publishable_key'")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def overlay_of(*actions: dict) -> Overlay:
    return Overlay.from_document({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)})


def test_update_merges_into_objects_and_appends_to_arrays():
    document = {"info": {"title": "a", "contact": {"name": "x"}}, "tags": [{"name": "one"}]}
    applied = overlay_of(
        {"target": "$.info", "update": {"title": "b", "contact": {"email": "x@example.invalid"}}},
        {"target": "$.tags", "update": {"name": "two"}},
    ).apply(document)
    assert document == {"info": {"title": "b", "contact": {"name": "x", "email": "x@example.invalid"}},
                        "tags": [{"name": "one"}, {"name": "two"}]}
    assert applied.selected == (1, 1)


def test_remove_takes_every_selected_node_out_of_its_parent():
    document = {"paths": {"/a": {"get": {}, "delete": {}}, "/b": {"delete": {}}}, "enum": ["x", "y", "x", "z"]}
    overlay_of({"target": "$.paths.*.delete", "remove": True},
               {"target": "$.enum[?@ == 'x']", "remove": True}).apply(document)
    assert document == {"paths": {"/a": {"get": {}}, "/b": {}}, "enum": ["y", "z"]}


def test_actions_run_in_order_on_what_the_earlier_ones_left():
    document = {"schema": {"type": {"$ref": "#/x"}}}
    overlay_of({"target": "$.schema.type", "remove": True},
               {"target": "$.schema", "update": {"type": {"enum": ["a"]}}}).apply(document)
    assert document == {"schema": {"type": {"enum": ["a"]}}}


def test_an_action_that_selects_nothing_is_reported():
    applied = overlay_of({"target": "$.nowhere", "remove": True}).apply({"paths": {}})
    assert applied.unmatched() == ["action 1 ($.nowhere) selects nothing"]


@pytest.mark.parametrize(("document", "message"), [
    ({"info": {"title": "t", "version": "1"}, "actions": [{"target": "$", "remove": True}]}, "not an Overlay 1.x"),
    ({"overlay": "1.0.0", "actions": [{"target": "$.a", "remove": True}]}, "'info' needs a 'title'"),
    ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": []}, "'actions' must be a non-empty"),
    ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": [{"target": "$.a"}]},
     "action 1 has neither 'update' nor 'remove: true'"),
    ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": [{"target": "$[?", "remove": True}]},
     "action 1: bad JSONPath"),
])
def test_a_malformed_overlay_is_refused_with_what_is_wrong(document, message):
    with pytest.raises(OverlayError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Overlay.from_document(document, "o.yaml")


def test_updating_a_string_is_an_error_naming_the_action():
    with pytest.raises(OverlayError, match=r"action 1 \(\$.info.title\): update needs an object or array"):
        overlay_of({"target": "$.info.title", "update": {"a": 1}}).apply({"info": {"title": "x"}})


# -- the mock ------------------------------------------------------------------------------------

def test_the_mock_serves_and_validates_the_overlaid_spec_and_leaves_the_file_alone(tmp_path):
    overlay = write(tmp_path, "no-publishable.yaml", NO_PUBLISHABLE)
    before = digest(SEED_SPEC)
    with MockServer(spec=SEED_SPEC, api_key=API_KEY, overlays=[overlay]) as mock, \
            httpx.Client(base_url=mock.url + "/", headers={"x-api-key": API_KEY}) as client:
        refused = client.post("secrets/api/keys", json={"name": "o", "type": "publishable_key"})
        accepted = client.post("secrets/api/keys", json={"name": "o", "type": "private_key"})
        served = client.get("openapi.json").json()
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    assert accepted.status_code == 201
    assert served["components"]["schemas"]["types.SecretType"]["enum"] == ["private_key", "integration"]
    assert digest(SEED_SPEC) == before


def test_routes_sees_the_overlay_and_names_what_it_did(tmp_path):
    add_delete = write(tmp_path, "add-delete.yaml", """\
overlay: 1.0.0
info: {title: Delete keys, version: 1.0.0}
actions:
  - target: $.paths
    update:
      /secrets/api/keys/{id}:
        delete:
          operationId: deleteApiKey
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          responses: {'204': {description: deleted}}
""")
    no_integration = write(tmp_path, "no-integration.yaml", NO_INTEGRATION)
    result = subprocess.run([sys.executable, "-m", "mock_server", "routes", "--spec", str(SEED_SPEC),
                             "--overlay", str(add_delete), "--overlay", str(no_integration)],
                            capture_output=True, text=True, check=True)
    assert [line.split()[:4] for line in result.stdout.splitlines()[1:]] == [
        ["POST", "/secrets/api/keys", "createApiKey", "create"],
        ["DELETE", "/secrets/api/keys/{id}", "deleteApiKey", "delete"],
    ]
    assert result.stderr.splitlines() == [
        f"overlay {add_delete} (Delete keys): 1 action(s), 1 node(s) changed",
        f"overlay {no_integration} (No integration keys): 1 action(s), 1 node(s) changed",
    ]


def test_flexprice_mock_serves_the_overlaid_spec(tmp_path):
    overlay = write(tmp_path, "no-integration.yaml", NO_INTEGRATION)
    with running("--overlay", str(overlay)) as url:
        served = httpx.get(url + "/openapi.json").json()
    assert served["components"]["schemas"]["types.SecretType"]["enum"] == ["private_key", "publishable_key"]


def test_an_unreadable_overlay_stops_the_mock_with_one_line(tmp_path):
    broken = write(tmp_path, "broken.yaml",
                   "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions: [{target: '$[?'}]\n")
    result = subprocess.run([sys.executable, "-m", "mock_server", "routes", "--overlay", str(broken)],
                            capture_output=True, text=True)
    assert result.returncode == 2  # a usage error, as for a spec the mock cannot serve
    assert result.stderr.strip().splitlines() == [f"Error: {broken}: action 1 has neither 'update' nor 'remove: true'"]


# -- the gate ------------------------------------------------------------------------------------

def test_the_gate_applies_its_real_server_overlay_to_what_it_sends():
    document = gate_overlay.build(Spec.load(SEED_SPEC))
    schemas = document["components"]["schemas"]
    narrowed = {"type": "string", "enum": ["private_key", "publishable_key"]}
    assert schemas["CreateAPIKeyRequest"]["properties"]["type"] == narrowed
    assert "integration" in schemas["types.SecretType"]["enum"]  # answers may still list such keys


def test_the_gate_sees_a_user_overlay_and_the_file_is_unchanged(tmp_path):
    overlay = write(tmp_path, "no-integration.yaml", NO_INTEGRATION)
    before = digest(SEED_SPEC)
    document = gate_overlay.build(Spec.load(SEED_SPEC, [overlay]))
    assert document["components"]["schemas"]["types.SecretType"]["enum"] == ["private_key", "publishable_key"]
    assert digest(SEED_SPEC) == before


def test_the_gate_run_with_an_overlay_passes_the_mock_it_starts_with_it(tmp_path, capsys):
    overlay = write(tmp_path, "no-integration.yaml", NO_INTEGRATION)
    assert contract_main(["--spec", str(SEED_SPEC), "--overlay", str(overlay), "--no-fuzz"]) == 0
    assert f"with overlay(s) {overlay}" in capsys.readouterr().out.splitlines()[0]


def test_the_gate_refuses_an_unreadable_overlay_as_a_usage_error(tmp_path, capsys):
    assert contract_main(["--overlay", str(tmp_path / "missing.yaml"), "--no-fuzz"]) == 2
    assert capsys.readouterr().err == f"Error: Invalid value for '--overlay': File '{tmp_path / 'missing.yaml'}' does not exist.\n"


def test_overlay_show_lists_the_shipped_real_server_overlay(capsys):
    assert contract_main(["overlay", "--show"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(gate_overlay.REAL_SERVER_OVERLAY)
    assert "  1. remove $.components.schemas.CreateAPIKeyRequest.properties.type" in out
    assert "  2. update $.components.schemas.CreateAPIKeyRequest.properties" in out


def docs_block(language: str, first_line: str) -> str:
    text = (Path(__file__).resolve().parent.parent / "docs" / "contract-gate.md").read_text()
    (block,) = [b for b in re.findall(rf"```{language}\n(.*?)```", text, flags=re.S) if b.startswith(first_line)]
    return block


def test_the_documented_overlay_removes_integration_from_the_seed_spec(tmp_path):
    overlay = write(tmp_path, "no-integration.yaml", docs_block("yaml", "# no-integration.yaml"))
    spec = Spec.load(SEED_SPEC, [overlay])
    assert spec.schemas["types.SecretType"]["enum"] == ["private_key", "publishable_key"]


def test_the_documented_pull_request_job_is_a_workflow_that_runs_diff():
    workflow = yaml.safe_load(docs_block("yaml", "name: API changes"))
    steps = workflow["jobs"]["spec-changes"]["steps"]
    assert any("flexprice-contract diff" in step.get("run", "") for step in steps)
    assert any("gh pr comment" in step.get("run", "") for step in steps)
