"""Schemathesis, with all its checks, against the live mock on the seed and the full spec: 0 failures.

The fuzzer reads the served spec plus the real server's rules that the document leaves out
(`fuzz_document`); the copy is written to a temporary folder at test time, never into the repo:
- every operation may answer 400 (any invalid input), 401 (secured operations, missing or wrong
  `x-api-key`) and 404 (an id in the path or body that names nothing), and every create or update
  409 (a unique key such as a customer's `external_id` already taken), each as an
  `errors.ErrorResponse`, so `status_code_conformance` and `response_schema_conformance` check
  those answers instead of flagging them as undocumented;
- integers are 64-bit (the server is Go): without the bound the fuzzer sends 10^30 to `integer`
  fields, which the mock, like the real server, refuses;
- `limit`/`offset` carry the bounds (1..1000, >= 0) that the spec states for the same query
  filter on most list operations and leaves out on four;
- API keys of type `integration` are in the enum but refused by the real server, and by the mock.
Rules no schema can state get a per-operation setting (`FUZZ_CONFIG`): the positive-data check
also expects a 400 where the real server wants `id` or `lookup_key` (`GET /customers/wallets`),
`id` or `external_customer_id` (`PUT /customers`), decimal strings (`POST /wallets`, `POST
/invoices`) and a positive amount (`POST /wallets/{id}/top-up`), and where a billing rule refuses
what the schema allows (docs/billing.md): RFC 3339 event timestamps, time windows in order, the
price rules (a USAGE price needs a meter and ARREAR, TIERED needs tiers, ...), a metered feature's
meter, a plan price that fits the subscription, the invoice, payment and cancellation state
machines, a customer for the usage summary, a payment's 3-letter currency, positive amount and
payable invoice and the payment lifecycle, a coupon's discount and cadence, a tax rate's value and
an active rate named by code (for associations and `tax_rate_overrides`), a rate in use that is
neither changed nor deleted, a credit note's finalized invoice, lines and limit, a credit grant's
scope, cadence and expiry rules (its `expiration_type` is required), an add-on with a price that
fits, an association that is not already removed, a plan change to another plan with a fitting
price, and the fields a subscription's `expand` may name; and
`GET /rbac/roles/{id}` documents its 404 as a map of strings, which no `errors.ErrorResponse`
can be, so its responses are not schema-checked.

The CI run is bounded by `FLEXPRICE_FUZZ_EXAMPLES` (default 2 per operation); docs/reliability.md
has the longer run and its numbers.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SEED_SPEC

EXAMPLES = int(os.environ.get("FLEXPRICE_FUZZ_EXAMPLES", "2"))
PHASES = os.environ.get("FLEXPRICE_FUZZ_PHASES", "examples,fuzzing")
ERROR_STATUSES = ("400", "401", "404")
INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}
PAGING_BOUNDS = {"limit": {"minimum": 1, "maximum": 1000}, "offset": {"minimum": 0}}
FUZZ_CONFIG = """
[[operations]]
include-operation-id = ["getCustomerWallets", "updateCustomer", "createWallet", "topUpWallet",
  "ingestEvent", "ingestEventsBulk", "getUsageStatistics", "getUsageByMeter", "listRawEvents",
  "createFeature", "createPrice", "createPricesBulk", "createEntitlement", "createEntitlementsBulk",
  "createSubscription", "cancelSubscription", "getSubscriptionUsage", "getInvoicePreview", "createInvoice",
  "finalizeInvoice", "voidInvoice", "updateInvoicePaymentStatus", "getCustomerUsageSummary", "createPayment",
  "updatePayment", "processPayment", "deletePayment", "createCoupon", "createTaxRate", "updateTaxRate",
  "deleteTaxRate", "createTaxAssociation", "createCustomer", "createCreditNote", "processCreditNote",
  "voidCreditNote", "createCreditGrant", "updateCreditGrant", "deleteCreditGrant", "addSubscriptionAddon",
  "removeSubscriptionAddon", "previewSubscriptionChange", "executeSubscriptionChange", "getSubscriptionV2"]
checks = { positive_data_acceptance = { expected-statuses = ["2xx", "400", "401", "404"] } }

[[operations]]
include-operation-id = "getRbacRole"
checks = { response_schema_conformance = { enabled = false } }
"""
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def fuzz_document(document: dict) -> dict:
    """`document` plus the real server's rules listed in the module docstring."""
    doc = copy.deepcopy(document)
    error = {"description": "error", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/errors.ErrorResponse"}}}}
    for item in doc["paths"].values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in ERROR_STATUSES:
                if status != "401" or operation.get("security", doc.get("security")):
                    responses.setdefault(status, error)
            if method in ("post", "put"):
                responses.setdefault("409", error)
            for param in operation.get("parameters", []):
                if param.get("in") == "query" and param.get("name") in PAGING_BOUNDS:
                    param["schema"] = {**PAGING_BOUNDS[param["name"]], **param.get("schema", {})}
    _bound_integers(doc)
    secret_type = doc["components"]["schemas"].get("types.SecretType")
    if secret_type is not None:
        secret_type["enum"] = [value for value in secret_type["enum"] if value != "integration"]
    return doc


def _bound_integers(node: object) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key, bound in INT64.items():
                node.setdefault(key, bound)
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


def run_schemathesis(spec: Path, mock, workdir: Path) -> dict:
    """One `schemathesis run` against `mock`; its JSON report."""
    fuzz_spec = workdir / "fuzz-openapi.json"
    fuzz_spec.write_text(json.dumps(fuzz_document(json.loads(spec.read_text()))))
    config = workdir / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG)
    report = workdir / "report.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run", str(fuzz_spec),
        # every check runs (Schemathesis's default); `--checks all` would override FUZZ_CONFIG
        "--url", mock.url, "--header", f"x-api-key: {mock.api_key}",
        "--phases", PHASES, "--max-examples", str(EXAMPLES), "--seed", "1", "--workers", "1",
        "--generation-database", "none", "--no-color", "--request-timeout", "30",
        "--report", "json", "--report-json-path", str(report),
    ]
    finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert report.is_file(), finished.stdout[-3000:] + finished.stderr[-3000:]
    result = json.loads(report.read_text())
    result["output"] = finished.stdout
    return result


def assert_clean(result: dict) -> None:
    failures = [(f["code"], f["title"], f["operations"]) for f in result["failures"]]
    assert result["test_cases"]["generated"] > 0
    assert (failures, result["errors"]) == ([], []), result["output"][-6000:]


def test_schemathesis_finds_nothing_on_the_seed_spec(seed_mock, tmp_path):
    result = run_schemathesis(SEED_SPEC, seed_mock, tmp_path)
    assert_clean(result)
    assert result["operations"]["tested"] == 1


@pytest.mark.timeout(300)
def test_schemathesis_finds_nothing_on_the_full_spec(full_mock, full_spec, tmp_path):
    result = run_schemathesis(full_spec, full_mock, tmp_path)
    assert_clean(result)
    assert result["operations"]["tested"] == result["operations"]["total"] > 250


def test_fuzz_document_documents_the_error_statuses_and_bounds_without_touching_the_served_spec():
    served = json.loads(SEED_SPEC.read_text())
    before = json.dumps(served, sort_keys=True)
    fuzzed = fuzz_document(served)
    responses = fuzzed["paths"]["/secrets/api/keys"]["post"]["responses"]
    assert {"400", "401", "404"} <= set(responses)
    assert "integration" not in fuzzed["components"]["schemas"]["types.SecretType"]["enum"]
    assert json.dumps(served, sort_keys=True) == before
