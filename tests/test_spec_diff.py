"""`flexprice-contract diff`: every rule on a pair of small specs, the full spec against itself and
against in-memory mutations of it, the output formats, `git:` sources and the exit codes."""
from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from contract_tests.cli import main
from contract_tests.diff import Comparison
from contract_tests.diff.sources import SpecSource, json_lines

from .conftest import full_spec_path

REF = "#/components/schemas/"


def small_spec() -> dict:
    """Two paths, parameters, a request body, responses and shared schemas: enough for every rule."""
    return {
        "openapi": "3.0.1",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/items": {
                "get": {
                    "summary": "List items",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                        {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
                    ],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": REF + "Item"}}}}}},
                    "security": [{"ApiKeyAuth": []}],
                },
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": REF + "CreateItem"}}}},
                    "responses": {"201": {"description": "created", "content": {"application/json": {
                        "schema": {"$ref": REF + "Item"}}}}},
                },
            },
            "/items/{id}": {
                "get": {
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"$ref": REF + "Item"}}}}},
                },
            },
        },
        "components": {"schemas": {
            "CreateItem": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "note": {"type": "string", "nullable": True},
            }},
            "Item": {"type": "object", "required": ["id", "name"], "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "note": {"type": "string"},
            }},
        }},
    }


ITEMS_GET = "/paths/~1items/get"
ITEMS_POST = "/paths/~1items/post"
CREATE = "/components/schemas/CreateItem"
ITEM = "/components/schemas/Item"


def at(document: dict, pointer: str):
    node = document
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# (id, mutation of the new spec, rule, level, breaks servers, old pointer, new pointer)
RULE_CASES: list[tuple[str, Callable[[dict], None], str, str, bool, str | None, str | None]] = [
    ("path removed", lambda d: d["paths"].pop("/items/{id}"),
     "path-removed", "error", False, "/paths/~1items~1{id}", "/paths"),
    ("operation removed", lambda d: d["paths"]["/items"].pop("post"),
     "operation-removed", "error", False, ITEMS_POST, "/paths/~1items"),
    ("operation added", lambda d: d["paths"]["/items/{id}"].update(delete={"responses": {"204": {"description": "x"}}}),
     "operation-added", "info", True, None, "/paths/~1items~1{id}/delete"),
    ("parameter removed", lambda d: at(d, ITEMS_GET)["parameters"].pop(0),
     "parameter-removed", "warning", False, f"{ITEMS_GET}/parameters/0", ITEMS_GET),
    ("parameter moved from query to header", lambda d: at(d, ITEMS_GET)["parameters"][0].update({"in": "header"}),
     "parameter-moved", "error", True, f"{ITEMS_GET}/parameters/0", f"{ITEMS_GET}/parameters/0"),
    ("required parameter added", lambda d: at(d, ITEMS_GET)["parameters"].append(
        {"name": "status", "in": "query", "required": True, "schema": {"type": "string"}}),
     "parameter-added-required", "error", False, ITEMS_GET, f"{ITEMS_GET}/parameters/2"),
    ("optional parameter added", lambda d: at(d, ITEMS_GET)["parameters"].append(
        {"name": "status", "in": "query", "schema": {"type": "string"}}),
     "parameter-added", "info", True, ITEMS_GET, f"{ITEMS_GET}/parameters/2"),
    ("parameter made required", lambda d: at(d, ITEMS_GET)["parameters"][0].update(required=True),
     "parameter-made-required", "error", False, f"{ITEMS_GET}/parameters/0", f"{ITEMS_GET}/parameters/0"),
    ("parameter enum narrowed", lambda d: at(d, ITEMS_GET)["parameters"][1]["schema"]["enum"].remove("desc"),
     "request-enum-narrowed", "error", False, f"{ITEMS_GET}/parameters/1/schema/enum",
     f"{ITEMS_GET}/parameters/1/schema/enum"),
    ("parameter type changed", lambda d: at(d, ITEMS_GET)["parameters"][0]["schema"].update(type="string"),
     "request-type-changed", "error", True, f"{ITEMS_GET}/parameters/0/schema", f"{ITEMS_GET}/parameters/0/schema"),
    ("request body made required", lambda d: at(d, ITEMS_POST)["requestBody"].update(required=True),
     "request-body-required", "error", False, f"{ITEMS_POST}/requestBody", f"{ITEMS_POST}/requestBody"),
    ("required request field added", lambda d: at(d, CREATE).update(
        required=["name", "owner"], properties={**at(d, CREATE)["properties"], "owner": {"type": "string"}}),
     "request-property-added-required", "error", False, f"{CREATE}/properties", f"{CREATE}/properties/owner"),
    ("optional request field added", lambda d: at(d, CREATE)["properties"].update(owner={"type": "string"}),
     "request-property-added", "info", True, f"{CREATE}/properties", f"{CREATE}/properties/owner"),
    ("request field made required", lambda d: at(d, CREATE)["required"].append("kind"),
     "request-property-made-required", "error", False, f"{CREATE}/properties/kind", f"{CREATE}/properties/kind"),
    ("request field made optional", lambda d: at(d, CREATE)["required"].clear(),
     "request-property-made-optional", "info", True, f"{CREATE}/properties/name", f"{CREATE}/properties/name"),
    ("request field removed", lambda d: at(d, CREATE)["properties"].pop("note"),
     "request-property-removed", "warning", False, f"{CREATE}/properties/note", f"{CREATE}/properties"),
    ("request enum narrowed", lambda d: at(d, CREATE)["properties"]["kind"]["enum"].remove("b"),
     "request-enum-narrowed", "error", False, f"{CREATE}/properties/kind/enum", f"{CREATE}/properties/kind/enum"),
    ("request enum widened", lambda d: at(d, CREATE)["properties"]["kind"]["enum"].append("c"),
     "request-enum-widened", "info", True, f"{CREATE}/properties/kind/enum", f"{CREATE}/properties/kind/enum"),
    ("request type changed", lambda d: at(d, CREATE)["properties"]["name"].update(type="integer"),
     "request-type-changed", "error", True, f"{CREATE}/properties/name", f"{CREATE}/properties/name"),
    ("request value no longer nullable", lambda d: at(d, CREATE)["properties"]["note"].pop("nullable"),
     "request-nullable-removed", "error", False, f"{CREATE}/properties/note", f"{CREATE}/properties/note"),
    ("optional response field removed", lambda d: at(d, ITEM)["properties"].pop("note"),
     "response-optional-property-removed", "warning", False, f"{ITEM}/properties/note", f"{ITEM}/properties"),
    ("optional response field added", lambda d: at(d, ITEM)["properties"].update(url={"type": "string"}),
     "response-property-added", "info", False, f"{ITEM}/properties", f"{ITEM}/properties/url"),
    ("required response field added", lambda d: at(d, ITEM).update(
        required=["id", "name", "url"], properties={**at(d, ITEM)["properties"], "url": {"type": "string"}}),
     "response-property-added-required", "info", True, f"{ITEM}/properties", f"{ITEM}/properties/url"),
    ("response field made optional", lambda d: at(d, ITEM)["required"].remove("name"),
     "response-property-made-optional", "error", False, f"{ITEM}/properties/name", f"{ITEM}/properties/name"),
    ("response field made nullable", lambda d: at(d, ITEM)["properties"]["note"].update(nullable=True),
     "response-nullable-added", "error", False, f"{ITEM}/properties/note", f"{ITEM}/properties/note"),
    ("response enum widened", lambda d: at(d, ITEM)["properties"]["kind"]["enum"].append("c"),
     "response-enum-widened", "warning", False, f"{ITEM}/properties/kind/enum", f"{ITEM}/properties/kind/enum"),
    ("response enum narrowed", lambda d: at(d, ITEM)["properties"]["kind"]["enum"].remove("b"),
     "response-enum-narrowed", "info", True, f"{ITEM}/properties/kind/enum", f"{ITEM}/properties/kind/enum"),
    ("response type changed", lambda d: at(d, ITEM)["properties"]["id"].update(type="integer"),
     "response-type-changed", "error", True, f"{ITEM}/properties/id", f"{ITEM}/properties/id"),
    ("success status changed",
     lambda d: at(d, ITEMS_POST)["responses"].update({"200": at(d, ITEMS_POST)["responses"].pop("201")}),
     "success-status-changed", "error", True, f"{ITEMS_POST}/responses", f"{ITEMS_POST}/responses"),
    ("security added", lambda d: at(d, ITEMS_POST).update(security=[{"ApiKeyAuth": []}]),
     "security-added", "error", False, ITEMS_POST, f"{ITEMS_POST}/security"),
    ("security removed", lambda d: at(d, ITEMS_GET).pop("security"),
     "security-removed", "info", True, f"{ITEMS_GET}/security", ITEMS_GET),
    ("summary changed", lambda d: at(d, ITEMS_GET).update(summary="List all the items"),
     "doc-changed", "info", False, f"{ITEMS_GET}/summary", f"{ITEMS_GET}/summary"),
    ("field description added", lambda d: at(d, ITEM)["properties"]["id"].update(description="the id"),
     "doc-changed", "info", False, f"{ITEM}/properties/id", f"{ITEM}/properties/id"),
]


@pytest.mark.parametrize(("mutate", "rule", "level", "servers", "old", "new"),
                         [case[1:] for case in RULE_CASES], ids=[case[0] for case in RULE_CASES])
def test_each_rule_is_found_once_at_its_place_and_classified(mutate, rule, level, servers, old, new):
    before = small_spec()
    after = copy.deepcopy(before)
    mutate(after)
    changes = Comparison(before, after).changes
    assert [(c.rule, c.level, c.servers, c.old, c.new) for c in changes] == [(rule, level, servers, old, new)]


def test_a_spec_compared_with_itself_has_no_change():
    assert Comparison(small_spec(), small_spec()).changes == []


def test_a_renamed_path_parameter_is_the_same_parameter():
    after = small_spec()
    item = after["paths"].pop("/items/{id}")
    item["get"]["parameters"][0]["name"] = "item_id"
    after["paths"]["/items/{item_id}"] = item
    assert Comparison(small_spec(), after).changes == []


def test_a_change_to_a_shared_schema_is_one_change_listing_every_operation():
    after = small_spec()
    at(after, ITEM)["properties"].pop("note")
    [change] = Comparison(small_spec(), after).changes
    assert sorted(change.operations) == ["GET /items", "GET /items/{id}", "POST /items"]


def test_a_recursive_schema_is_compared_without_looping():
    before = small_spec()
    at(before, ITEM)["properties"]["children"] = {"type": "array", "items": {"$ref": REF + "Item"}}
    after = copy.deepcopy(before)
    at(after, ITEM)["properties"]["kind"]["enum"].append("c")
    assert [c.rule for c in Comparison(before, after).changes] == ["response-enum-widened"]


def test_json_lines_map_pointers_to_the_lines_they_start_on():
    text = '{\n  "a": {\n    "b/c": [\n      "x",\n      {"d": 1}\n    ]\n  },\n  "e": "{[,"\n}\n'
    lines = json_lines(text)
    assert (lines["/a"], lines["/a/b~1c"], lines["/a/b~1c/0"], lines["/a/b~1c/1"], lines["/a/b~1c/1/d"],
            lines["/e"]) == (2, 3, 4, 5, 5, 8)


def test_yaml_specs_have_lines_too(tmp_path: Path):
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    import yaml

    old.write_text(yaml.safe_dump(small_spec(), sort_keys=False))
    after = small_spec()
    at(after, CREATE)["required"].append("kind")
    new.write_text(yaml.safe_dump(after, sort_keys=False))
    source = SpecSource.read(str(new))
    line = source.line(f"{CREATE}/properties/kind")
    assert new.read_text().splitlines()[line - 1].strip() == "kind:"


# -- the full spec -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def full_document() -> dict:
    return json.loads(full_spec_path().read_text())


def test_the_full_spec_against_itself_has_no_change(full_document: dict):
    assert Comparison(full_document, copy.deepcopy(full_document)).changes == []


FULL_MUTATIONS = [
    ("/components/schemas/CreateCustomerRequest", lambda s: s["required"].append("email"),
     "request-property-made-required", "/components/schemas/CreateCustomerRequest/properties/email"),
    ("/components/schemas/types.CustomerFilter/properties/order", lambda s: s["enum"].remove("desc"),
     "request-enum-narrowed", "/components/schemas/types.CustomerFilter/properties/order/enum"),
    ("/components/schemas/CustomerResponse/properties", lambda s: s.update(nickname={"type": "string"}),
     "response-property-added", "/components/schemas/CustomerResponse/properties/nickname"),
    ("/components/schemas/CustomerResponse/properties/email", lambda s: s.update(type="integer"),
     "response-type-changed", "/components/schemas/CustomerResponse/properties/email"),
    ("/paths/~1customers", lambda s: s.pop("post"), "operation-removed", "/paths/~1customers"),
    ("/paths/~1customers/post/responses", lambda s: s.update({"200": s.pop("201")}),
     "success-status-changed", "/paths/~1customers/post/responses"),
]


@pytest.mark.parametrize(("pointer", "mutate", "rule", "new_pointer"), FULL_MUTATIONS,
                         ids=[m[2] for m in FULL_MUTATIONS])
def test_a_mutation_of_the_full_spec_is_found_at_its_pointer(full_document, pointer, mutate, rule, new_pointer):
    after = copy.deepcopy(full_document)
    mutate(at(after, pointer))
    assert [(c.rule, c.new) for c in Comparison(full_document, after).changes] == [(rule, new_pointer)]


def must_show_copy(full_document: dict, path: Path) -> Path:
    """The issue's scenario: one request field made required, one request enum value removed, one
    optional response field added."""
    after = copy.deepcopy(full_document)
    for pointer, mutate, _, _ in FULL_MUTATIONS[:3]:
        mutate(at(after, pointer))
    path.write_text(json.dumps(after, indent=2))
    return path


def test_the_must_show_copy_has_two_breaking_changes_with_lines_and_exits_1(full_document, tmp_path, capsys):
    new = must_show_copy(full_document, tmp_path / "new.json")
    assert main(["diff", str(full_spec_path()), str(new), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["breaking"], report["non_breaking"]) == (2, 1)
    made_required = report["changes"][0]
    assert made_required["rule"] == "request-property-made-required"
    assert made_required["operations"] == ["POST /customers"]
    old_lines = full_spec_path().read_text().splitlines()
    new_lines = new.read_text().splitlines()
    assert old_lines[made_required["old"]["line"] - 1].strip() == '"email": {'
    assert new_lines[made_required["new"]["line"] - 1].strip() == '"email": {'
    assert [c["breaking"] for c in report["changes"]] == [True, True, False]


def test_text_report_groups_breaking_changes_first_with_both_locations(full_document, tmp_path, capsys):
    new = must_show_copy(full_document, tmp_path / "new.json")
    assert main(["diff", str(full_spec_path()), str(new)]) == 1
    out = capsys.readouterr().out
    assert "2 breaking (error), 0 warning, 1 info" in out.splitlines()[0]
    assert out.index("Errors: breaking for clients (2):") < out.index("Info (1):")
    assert f"new: {new}:" in out and f"old: {full_spec_path()}:" in out


def test_the_full_spec_against_itself_exits_0(capsys):
    assert main(["diff", str(full_spec_path()), str(full_spec_path())]) == 0
    assert "no changes" in capsys.readouterr().out


# -- formats, sources, exit codes ------------------------------------------------------------------

def write_pair(tmp_path: Path, mutate: Callable[[dict], None]) -> tuple[str, str]:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(small_spec(), indent=2))
    after = small_spec()
    mutate(after)
    new.write_text(json.dumps(after, indent=2))
    return str(old), str(new)


def add_optional_field(document: dict) -> None:
    at(document, CREATE)["properties"]["owner"] = {"type": "string"}


def test_fail_on_decides_the_exit_code(tmp_path, capsys):
    old, new = write_pair(tmp_path, add_optional_field)
    assert main(["diff", old, new]) == 0
    assert main(["diff", old, new, "--fail-on", "any"]) == 1
    old, new = write_pair(tmp_path, lambda d: at(d, CREATE)["required"].append("kind"))
    assert main(["diff", old, new, "--fail-on", "none"]) == 0
    assert main(["diff", old, new]) == 1


def test_junit_has_a_failed_case_per_breaking_change(tmp_path, capsys):
    old, new = write_pair(tmp_path, lambda d: (at(d, CREATE)["required"].append("kind"), add_optional_field(d)))
    main(["diff", old, new, "--format", "junit"])
    suite = ElementTree.fromstring(capsys.readouterr().out.split("?>", 1)[1])
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [case.get("classname") for case in suite if case.find("failure") is not None]
    assert failed == ["request-property-made-required"]


def test_markdown_is_a_table_per_group(tmp_path, capsys):
    old, new = write_pair(tmp_path, lambda d: (at(d, CREATE)["required"].append("kind"), add_optional_field(d)))
    main(["diff", old, new, "--format", "markdown"])
    out = capsys.readouterr().out
    assert out.startswith("### API changes: 1 breaking (error), 0 warning, 1 info")
    assert "#### Errors: breaking for clients (1)" in out and "#### Info (1)" in out
    assert "| `request-property-made-required`: request property `kind` made required | POST /items |" in out


def test_git_sources_are_read_with_git_show(tmp_path, capsys, monkeypatch):
    old, new = write_pair(tmp_path, lambda d: at(d, CREATE)["required"].append("kind"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "openapi.json").write_text(Path(old).read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "openapi.json"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "spec"], check=True)
    (repo / "openapi.json").write_text(Path(new).read_text())
    monkeypatch.chdir(repo)
    assert main(["diff", "git:HEAD:openapi.json", "openapi.json", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["old"] == "git:HEAD:openapi.json"
    lines = Path(old).read_text().splitlines()
    line = report["changes"][0]["old"]["line"]
    assert lines[line - 1].strip() == '"kind": {'
    assert lines.index('    "schemas": {') < line < lines.index('      "Item": {')


@pytest.mark.parametrize("make_args", [
    lambda tmp: ["diff", str(tmp / "missing.json"), str(tmp / "old.json")],
    lambda tmp: ["diff", str(tmp / "broken.json"), str(tmp / "old.json")],
    lambda tmp: ["diff", "git:no-such-rev:openapi.json", str(tmp / "old.json")],
    lambda tmp: ["diff", str(tmp / "old.json"), str(tmp / "old.json"), "--overlay", str(tmp / "broken.json")],
], ids=["missing file", "invalid JSON", "unknown git revision", "bad overlay"])
def test_unreadable_input_is_exit_2_with_one_line(tmp_path, capsys, make_args, monkeypatch):
    write_pair(tmp_path, add_optional_field)
    (tmp_path / "broken.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    assert main(make_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1


def test_an_overlay_applies_to_both_specs_before_comparing(tmp_path, capsys):
    old, new = write_pair(tmp_path, lambda d: at(d, CREATE)["required"].append("kind"))
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n"
                       "  - target: $.components.schemas.CreateItem.properties.kind\n    remove: true\n")
    assert main(["diff", old, new, "--overlay", str(overlay)]) == 0


MALFORMED: list[tuple[str, Callable[[dict], None]]] = [
    ("properties as a list", lambda d: at(d, CREATE).update(properties=["name"])),
    ("required holding a mapping", lambda d: at(d, ITEM).update(required=[{"id": True}])),
    ("parameters not a list", lambda d: at(d, ITEMS_GET).update(parameters={"limit": 1})),
    ("responses as a list", lambda d: at(d, ITEMS_POST).update(responses=["201"])),
    ("security as text", lambda d: at(d, ITEMS_GET).update(security="ApiKeyAuth")),
    ("a parameter's `in` a mapping", lambda d: at(d, ITEMS_GET)["parameters"][0].update({"in": {}})),
    ("an operation that is a list", lambda d: d["paths"]["/items"].update(post=[])),
    ("enum as text", lambda d: at(d, CREATE)["properties"]["kind"].update(enum="a,b")),
]


@pytest.mark.parametrize("mutate", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_spec_is_compared_without_the_gate_breaking(tmp_path, capsys, mutate):
    old, new = write_pair(tmp_path, mutate)
    assert main(["diff", old, new]) in (0, 1)
    assert main(["diff", new, old, "--format", "github"]) in (0, 1)


def test_yaml_statuses_read_as_numbers_are_the_json_ones(tmp_path, capsys):
    old = tmp_path / "old.yaml"
    import yaml

    old.write_text(yaml.safe_dump(small_spec(), sort_keys=False).replace("'200':", "200:").replace("'201':", "201:"))
    assert yaml.safe_load(old.read_text())["paths"]["/items"]["get"]["responses"].keys() == {200}
    _, new = write_pair(tmp_path, lambda d: None)
    assert main(["diff", str(old), new]) == 0
    assert "no changes" in capsys.readouterr().out
