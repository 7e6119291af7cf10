"""`flexprice-contract diff` from the command line: specs read from git revisions (`--base`,
`--head`), from URLs and across files; levels and `--fail-on`; a policy from `--config` or
pyproject.toml; GitHub Actions annotations; the rule table kept in docs/contract-gate.md."""
from __future__ import annotations

import functools
import json
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from contract_tests.cli import main
from contract_tests.diff import catalog
from contract_tests.diff.sources import json_lines

from .test_spec_diff import CREATE, ITEM, at, small_spec

ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]


def write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) if path.suffix == ".json" else yaml.safe_dump(document,
                                                                                                sort_keys=False))
    return path


def make_required(document: dict) -> dict:
    at(document, CREATE)["required"].append("kind")
    return document


def drop_optional_response_field(document: dict) -> dict:
    at(document, ITEM)["properties"].pop("note")
    return document


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["diff", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def commit(repo: Path, message: str) -> None:
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", message], check=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git repository whose two commits hold the small spec, then with a request field made
    required; the working tree also drops an optional response field."""
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    write(root / "api" / "openapi.json", small_spec())
    commit(root, "spec")
    write(root / "api" / "openapi.json", make_required(small_spec()))
    commit(root, "kind required")
    write(root / "api" / "openapi.json", drop_optional_response_field(make_required(small_spec())))
    monkeypatch.chdir(root)
    return root


def test_base_and_head_read_both_specs_from_git(repo, capsys):
    code, report = run_json(capsys, "--base", "HEAD~1", "--head", "HEAD", "api/openapi.json")
    assert code == 1
    assert (report["old"], report["new"]) == ("git:HEAD~1:api/openapi.json", "git:HEAD:api/openapi.json")
    assert [(c["rule"], c["level"]) for c in report["changes"]] == [("request-property-made-required", "error")]
    line = report["changes"][0]["new"]["line"]
    assert (repo / "api" / "openapi.json").read_text().splitlines()[line - 1].strip() == '"kind": {'


def test_base_alone_compares_the_working_tree_from_a_subdirectory(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo / "api")
    code, report = run_json(capsys, "--base", "HEAD", "openapi.json")
    assert code == 0  # a warning does not fail by default
    assert report["new"] == "openapi.json"
    assert [(c["rule"], c["level"]) for c in report["changes"]] == [("response-optional-property-removed", "warning")]


def test_fail_on_warning_fails_on_a_warning(repo, capsys):
    assert main(["diff", "--base", "HEAD", "api/openapi.json", "--fail-on", "warning"]) == 1
    assert "Warnings: may break clients (1):" in capsys.readouterr().out
    assert main(["diff", "--base", "HEAD", "api/openapi.json", "--fail-on", "error"]) == 0


@pytest.mark.parametrize("argv", [["diff", "--base", "no-such-rev", "api/openapi.json"],
                                  ["diff", "--base", "HEAD", "api/openapi.json", "api/openapi.json"],
                                  ["diff", "--head", "HEAD", "a.json", "b.json"],
                                  ["diff", "only-one.json"]],
                         ids=["unknown revision", "two files with --base", "--head without --base", "one file"])
def test_a_git_or_usage_problem_is_exit_2_with_one_line(repo, capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1


def test_a_config_file_lowers_a_rule_to_info(tmp_path, capsys):
    old, new = write(tmp_path / "old.json", small_spec()), write(tmp_path / "new.json", make_required(small_spec()))
    config = tmp_path / "policy.toml"
    config.write_text('[rules]\nrequest-property-made-required = "info"\n')
    code, report = run_json(capsys, str(old), str(new), "--config", str(config))
    assert code == 0
    [change] = report["changes"]
    assert (change["rule"], change["level"], change["rule_level"]) == ("request-property-made-required", "info",
                                                                       "error")
    assert change["note"] == f"set to info by {config}"
    assert (report["error"], report["info"]) == (0, 1)


def test_pyproject_table_raises_a_rule_and_ignores_one_place_with_a_reason(tmp_path, capsys, monkeypatch):
    old = write(tmp_path / "old.json", small_spec())
    new = write(tmp_path / "new.json", drop_optional_response_field(make_required(small_spec())))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.flexprice-contract.diff]\nfail-on = "warning"\n'
        '[tool.flexprice-contract.diff.rules]\nresponse-optional-property-removed = "error"\n'
        '[[tool.flexprice-contract.diff.ignore]]\n'
        f'at = "{CREATE}/properties/kind"\nrule = "request-property-made-required"\n'
        'reason = "kind was always sent by our SDKs"\n')
    monkeypatch.chdir(tmp_path)
    code, report = run_json(capsys, str(old), str(new))
    assert code == 1
    assert [(c["rule"], c["level"], c["ignored"], c["fails"]) for c in report["changes"]] == [
        ("response-optional-property-removed", "error", None, True),
        ("request-property-made-required", "error", "kind was always sent by our SDKs", False)]
    main(["diff", str(old), str(new)])
    text = capsys.readouterr().out
    assert "Ignored by policy (1):" in text and "ignored: kind was always sent by our SDKs" in text


@pytest.mark.parametrize(("config", "message"), [
    ('[rules]\nrequest-property-made-requird = "info"\n', "did you mean request-property-made-required"),
    ('[rules]\ndoc-changed = "fatal"\n', "rules.doc-changed must be one of"),
    ('[[ignore]]\nat = "/paths"\n', "needs `at`"),
    ('fail_on = "warning"\n', "unknown key(s) 'fail_on'"),
    ('[deprecation-days]\nstable = -1\n', "deprecation-days takes"),
    ("not toml [", "not valid TOML"),
])
def test_a_bad_config_is_exit_2_naming_the_key(tmp_path, capsys, config, message):
    spec = write(tmp_path / "spec.json", small_spec())
    (tmp_path / "policy.toml").write_text(config)
    assert main(["diff", str(spec), str(spec), "--config", str(tmp_path / "policy.toml")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def split_into_files(root: Path, document: dict, suffix: str = ".yaml") -> Path:
    """The spec with its schemas moved to `schemas/items.yaml`, referenced across files."""
    schemas = document["components"].pop("schemas")
    text = json.dumps(schemas).replace("#/components/schemas/", "#/")
    write(root / "schemas" / f"items{suffix}", json.loads(text))
    text = json.dumps(document).replace("#/components/schemas/", f"schemas/items{suffix}#/")
    return write(root / "openapi.json", json.loads(text))


def test_refs_across_files_are_followed_and_located_in_their_file(tmp_path, capsys):
    old = split_into_files(tmp_path / "old", small_spec())
    new = split_into_files(tmp_path / "new", make_required(small_spec()))
    code, report = run_json(capsys, str(old), str(new))
    assert code == 1
    [change] = report["changes"]
    assert change["new"]["pointer"] == "schemas/items.yaml#/CreateItem/properties/kind"
    assert change["new"]["file"] == str(tmp_path / "new" / "schemas" / "items.yaml")
    lines = (tmp_path / "new" / "schemas" / "items.yaml").read_text().splitlines()
    assert lines[change["new"]["line"] - 1].strip() == "kind:"


def test_refs_across_files_are_read_at_the_git_revision(tmp_path, capsys, monkeypatch):
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    split_into_files(root, small_spec())
    commit(root, "split spec")
    split_into_files(root, make_required(small_spec()))
    monkeypatch.chdir(root)
    code, report = run_json(capsys, "--base", "HEAD", "openapi.json")
    assert code == 1
    [change] = report["changes"]
    assert change["old"]["file"] == "git:HEAD:schemas/items.yaml"
    assert change["new"]["file"] == "schemas/items.yaml"


def test_a_ref_to_a_missing_file_is_exit_2(tmp_path, capsys):
    spec = split_into_files(tmp_path, small_spec())
    (tmp_path / "schemas" / "items.yaml").unlink()
    assert main(["diff", str(spec), str(spec)]) == 2
    assert "schemas/items.yaml" in capsys.readouterr().err


@pytest.fixture
def served(tmp_path: Path):
    """`tmp_path` over HTTP on an ephemeral loopback port."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_is_read_with_its_refs_relative_to_it(tmp_path, served, capsys):
    split_into_files(tmp_path / "old", small_spec())
    new = split_into_files(tmp_path / "new", make_required(small_spec()))
    code, report = run_json(capsys, f"{served}/old/openapi.json", str(new))
    assert code == 1
    [change] = report["changes"]
    assert change["old"]["file"] == f"{served}/old/schemas/items.yaml"
    assert main(["diff", f"{served}/missing.json", str(new)]) == 2
    assert "HTTP 404" in capsys.readouterr().err


def test_github_annotations_point_at_the_line_in_the_new_file(tmp_path, capsys):
    old = write(tmp_path / "old.json", small_spec())
    new = write(tmp_path / "new.json", drop_optional_response_field(make_required(small_spec())))
    assert main(["diff", str(old), str(new), "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    error, warning, summary = lines
    kind_line = json_lines(new.read_text())[f"{CREATE}/properties/kind"]
    assert error.startswith(f"::error file={new},line={kind_line},title=request-property-made-required (error)::"
                            "request property `kind` made required (in POST /items;")
    assert warning.startswith(f"::warning file={new},line=")
    assert summary == "::notice title=flexprice-contract diff::1 breaking (error), 1 warning, 0 info; " \
                      "0 break servers built to the old spec"


def test_the_rule_table_in_the_docs_is_the_catalogue():
    docs = (ROOT / "docs" / "contract-gate.md").read_text()
    start, end = "<!-- rules: generated -->\n", "\n<!-- end of rules -->"
    assert start in docs and end in docs, "docs/contract-gate.md lacks the rule table markers"
    assert docs.split(start, 1)[1].split(end, 1)[0] == catalog.table(), \
        "regenerate it: flexprice-contract diff --rules"


def test_rules_prints_the_table_with_the_counts(capsys):
    assert main(["diff", "--rules"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"**{len(catalog.RULES)} rules**") and "oasdiff 1.28.0 has **509** (213 error" in out
