"""The gate's Schemathesis shares: every operation in exactly one, the work split about evenly,
and what each share found (or its dying) in the report."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_tests import overlay, shards
from contract_tests.report import Failure, Report
from flexprice_spec.document import HTTP_METHODS, Spec


def operations_of(document: dict) -> list[tuple[str, str]]:
    return [(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS]


def test_the_shares_hold_every_operation_once_and_about_equal_work(full_spec: Path) -> None:
    document = overlay.build(Spec.load(full_spec))
    shares = shards.split(document)
    assert len(shares) == shards.SHARDS
    held = [key for share in shares for key in operations_of(share)]
    assert sorted(held) == sorted(operations_of(document))
    work = [sum(shards.size(share["paths"][path][method], share) + shards.SIZE_OF_AN_OPERATION
                for path, method in operations_of(share)) for share in shares]
    assert max(work) <= 1.05 * min(work), work
    assert all(share["components"] is document["components"] for share in shares)


def test_one_operation_is_one_share() -> None:
    document = {"paths": {"/a": {"get": {"operationId": "a"}}}, "components": {}}
    assert shards.split(document) == [document]


def test_what_every_share_found_is_merged_in_share_order() -> None:
    def test(share: dict, partial: Report, told: shards.ShareProgress) -> None:
        (path,) = share["paths"]
        partial.requests = 3
        partial.count(path, 200)
        partial.ran["not_a_server_error"].add(path)
        partial.add(Failure("not_a_server_error", path, f"{path} answered 500"))
        told.advance(1)

    report = Report()
    shares = [{"paths": {"/a": {}}}, {"paths": {"/b": {}}}]
    shards.run(shares, test, report, 30.0, None)
    assert report.requests == 6
    assert dict(report.sent) == {"/a": 1, "/b": 1}
    assert report.ran["not_a_server_error"] == {"/a", "/b"}
    assert [failure.operation for failure in report.failures] == ["/a", "/b"]


def test_a_share_that_dies_is_a_failure_not_a_pass() -> None:
    def test(share: dict, partial: Report, told: shards.ShareProgress) -> None:
        if "/b" in share["paths"]:
            os._exit(3)
        partial.requests = 1

    report = Report()
    shards.run([{"paths": {"/a": {}}}, {"paths": {"/b": {}}}], test, report, 30.0, None)
    assert report.requests == 1
    assert [(f.check, f.message) for f in report.failures] == [
        ("transport", "a Schemathesis share ended without its findings (exit code 3)")]


def test_a_bug_in_a_share_breaks_the_gate_with_its_traceback() -> None:
    def test(share: dict, partial: Report, told: shards.ShareProgress) -> None:
        raise ValueError("a bug of the gate")

    with pytest.raises(shards.ShareBroke, match="ValueError: a bug of the gate"):
        shards.run([{"paths": {"/a": {}}}, {"paths": {"/b": {}}}], test, Report(), 30.0, None)
