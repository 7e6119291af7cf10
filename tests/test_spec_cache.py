"""Start-up's cache: Connexion's OpenAPI-schema check runs once per document (by hash), at
start-up, so a broken document is refused before any request; never again for a document that
passed before (neither at start-up nor when Connexion's app is built on the first request the fast
path leaves to it), always for a changed one, and a failing one is not cached."""
from __future__ import annotations

import json

import pytest

from flexprice_spec.document import Spec, SpecError
from mock_server.app import create_app
from mock_server.http import spec_cache

from .conftest import SEED_SPEC


@pytest.fixture
def checks(tmp_path, monkeypatch):
    """Connexion's check, counted, with the cache in an empty folder."""
    monkeypatch.setenv("FLEXPRICE_MOCK_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    check = spec_cache._connexion_validate

    def counted(cls, spec):
        calls.append(spec["info"].get("title"))
        check(cls, spec)

    monkeypatch.setattr(spec_cache, "_connexion_validate", counted)
    monkeypatch.setattr(spec_cache, "_passed", set())  # what this process has seen pass: nothing yet
    return calls


def connexion(spec: Spec) -> None:
    """The mock's Connexion app, built now as the first request that reaches it builds it."""
    assert create_app(spec).connexion is not None


def seed(title: str = "seed") -> Spec:
    document = json.loads(SEED_SPEC.read_text())
    document["info"]["title"] = title
    return Spec(document)


def test_a_document_that_passed_once_is_not_checked_again(checks, tmp_path):
    connexion(seed())
    connexion(seed())
    assert checks == ["seed"]
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_a_changed_document_is_checked_again(checks):
    connexion(seed("one"))
    connexion(seed("two"))
    connexion(seed("one"))
    assert checks == ["one", "two"]


def test_a_document_that_fails_the_check_is_never_cached(checks, tmp_path):
    broken = seed("broken")
    broken.document["paths"]["/secrets/api/keys"]["post"]["responses"]["201"] = {"content": {}}  # no description
    for _attempt in range(2):
        with pytest.raises(Exception, match="is not valid under any of the given schemas"):
            connexion(broken)
    assert checks == ["broken", "broken"]
    assert not (tmp_path / "cache").exists()


def test_the_cache_can_be_turned_off_and_an_unwritable_one_only_costs_the_check(checks, tmp_path, monkeypatch):
    monkeypatch.setenv("FLEXPRICE_MOCK_CACHE_DIR", "off")
    connexion(seed())
    connexion(seed())  # the same process remembers
    spec_cache._passed.clear()  # as a new process
    connexion(seed())
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("FLEXPRICE_MOCK_CACHE_DIR", str(tmp_path / "file" / "cache"))
    spec_cache._passed.clear()
    connexion(seed())
    assert checks == ["seed"] * 3


def test_a_document_changed_in_memory_after_loading_is_checked_again(checks):
    spec = seed("loaded")
    connexion(spec)
    spec.document["info"]["title"] = "changed"
    connexion(spec)
    assert checks == ["loaded", "changed"]


def test_explaining_a_failure_always_checks(checks, tmp_path):
    connexion(seed())
    seed().check_schema()
    assert checks == ["seed", "seed"]


def test_a_document_that_breaks_the_schema_is_refused_at_start_up_naming_the_place(checks):
    untitled = seed()
    del untitled.document["info"]["title"]
    with pytest.raises(SpecError, match=r"not a valid OpenAPI document: 'title' is a required property \(at #/info\)"):
        create_app(untitled)
    assert checks == [None]  # checked at start-up, the one time
