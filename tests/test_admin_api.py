"""The admin endpoints under `/_mock/`: reset, state, fixtures, the request journal, and the
end-to-end check of the CLI with the sample fixtures and the official SDK."""
from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from flexprice import Flexprice
from flexprice.models import errors

from mock_server import MockServer
from mock_server.app import create_app
from mock_server.devtools.journal import Journal

from .conftest import ACME_KEY as FIXTURE_KEY
from .conftest import ROOT, SAMPLES, SEED_SPEC

KEY = "sk_test_admin_key_0123456789"


@pytest.fixture(scope="module")
def server(full_spec):
    with MockServer(spec=full_spec, api_key=KEY, fixtures=[SAMPLES]) as mock:
        yield mock


@pytest.fixture
def mock(server):
    server.reset()
    return server


@pytest.fixture
def api(mock):
    with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": KEY}, timeout=10) as client:
        yield client


@pytest.fixture
def admin(mock):
    with httpx.Client(base_url=mock.url.removesuffix("/v1") + "/_mock/", timeout=10) as client:
        yield client


def test_reset_drops_created_objects_and_brings_fixture_objects_back(api, admin):
    created = api.post("customers", json={"external_id": "temp", "name": "Temp"}).json()["id"]
    assert api.delete("customers/cust_globex").status_code == 204
    reset = admin.post("reset")
    assert reset.status_code == 200
    assert reset.json()["records"]["customers"] == 3
    assert api.get(f"customers/{created}").status_code == 404
    assert api.get("customers/cust_globex").status_code == 200


def test_state_exports_the_fixture_format_with_key_hashes_only(api, admin):
    secret = api.post("secrets/api/keys", json={"name": "ci", "type": "private_key"}).json()
    state = admin.get("state")
    assert state.status_code == 200
    body = state.json()
    assert [c["id"] for c in body["customers"]] == ["cust_acme", "cust_globex", "cust_initech"]
    assert {"sha256", "secret_id"} <= set(body["api_keys"][-1]) and body["api_keys"][-1]["secret_id"] == secret["secret"]["id"]
    for raw in (secret["api_key"], KEY, FIXTURE_KEY):
        assert raw not in state.text


def test_posted_fixtures_load_until_the_next_reset(api, admin):
    loaded = admin.post("fixtures", content="plans:\n  - {id: plan_extra, name: Extra}\n",
                        headers={"content-type": "application/yaml"})
    assert loaded.status_code == 200
    assert loaded.json()["loaded"] == {"plans": 1}
    assert api.get("plans/plan_extra").json()["name"] == "Extra"
    admin.post("reset")
    assert api.get("plans/plan_extra").status_code == 404


def test_posted_bad_fixtures_get_400_naming_the_object_and_field(admin):
    response = admin.post("fixtures", json={"customers": [{"id": "cust_z", "external_id": "z", "name": 5}]})
    assert response.status_code == 400
    assert response.json()["message"] == "request body, customers[0] (id cust_z), field 'name': 5 is not of type 'string'"
    assert response.json()["details"] == {"object": {"value": "customers[0] (id cust_z)"}, "field": {"value": "name"}}


def test_the_journal_lists_requests_with_keys_masked(mock, api, admin):
    api.get("customers/cust_acme", params={"api_key": KEY})
    api.get("customers/nobody")
    entries = admin.get("requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["operation_id"]) for e in entries] == [
        ("GET", "/v1/customers/cust_acme", 200, "getCustomer"), ("GET", "/v1/customers/nobody", 404, "getCustomer")]
    assert entries[0]["query"] == "api_key=sk_te***89" and entries[0]["api_key"] == "sk_te***89"
    assert entries[0]["latency_ms"] >= 0 and entries[0]["time"].endswith("Z")
    assert KEY not in json.dumps(entries)
    assert mock.requests == entries


def test_deleting_the_journal_empties_it(api, admin):
    api.get("customers/cust_acme")
    assert admin.delete("requests").status_code == 204
    assert admin.get("requests").json() == {"requests": []}


def test_the_journal_keeps_only_the_latest_entries():
    journal = Journal(size=2)
    for n in range(3):
        journal.record((0.0, "GET", f"/v1/{n}", b"", [], 200, 1.0, None))
    assert [e["path"] for e in journal.entries()] == ["/v1/1", "/v1/2"]


def test_unknown_admin_paths_are_404_and_wrong_methods_405(admin):
    missing = admin.get("nothing")
    assert missing.status_code == 404 and "POST /_mock/reset" in missing.json()["message"]
    wrong = admin.get("reset")
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")


def test_admin_endpoints_are_neither_in_the_spec_nor_under_the_base_path(mock, api):
    assert api.get("_mock/state").status_code == 404
    served = httpx.get(mock.url + "/openapi.json").json()
    assert not [path for path in served["paths"] if "_mock" in path]


def test_no_admin_turns_the_endpoints_off():
    client = create_app(SEED_SPEC, admin=False).test_client()
    response = client.post("/_mock/reset")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_cli_serves_the_sample_fixtures_to_the_sdk_and_reset_restores_them(full_spec):
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--spec", str(full_spec), "--fixtures", str(SAMPLES), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = process.stdout.readline().strip()
        assert url.endswith("/v1"), process.stderr.read() if not url else url
        sdk = Flexprice(api_key_auth=FIXTURE_KEY, server_url=url)
        assert sdk.customers.get_customer(id="cust_acme").email == "billing@acme.example"
        assert sdk.plans.get_plan(id="plan_growth").lookup_key == "growth"
        created = sdk.customers.create_customer(external_id="e2e", name="End to end")
        sdk.customers.delete_customer(id="cust_globex")
        admin = url.removesuffix("/v1") + "/_mock"
        assert httpx.post(admin + "/reset").status_code == 200
        with pytest.raises(errors.FlexpriceError) as gone:
            sdk.customers.get_customer(id=created.id)
        assert gone.value.status_code == 404
        assert sdk.customers.get_customer(id="cust_globex").name == "Globex Inc."
        sdk.customers.get_customer(id="cust_initech")
        journal = httpx.get(admin + "/requests")
        assert [(e["method"], e["path"], e["status"]) for e in journal.json()["requests"]] == [
            ("GET", f"/v1/customers/{created.id}", 404), ("GET", "/v1/customers/cust_globex", 200),
            ("GET", "/v1/customers/cust_initech", 200)]
        assert FIXTURE_KEY not in journal.text and "sk_fi***38" in journal.text
    finally:
        process.terminate()
        process.communicate(timeout=30)
