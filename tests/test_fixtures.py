"""Data fixtures: the sample set on the full spec, load-time validation, and state replay."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.devtools.fixtures import FixtureError, parse, read
from mock_server.storage.store import hash_key

from .conftest import ACME_KEY, SAMPLES

EXPIRED_KEY = "sk_fixture_expired_0b9e8d7c6f5a"


@pytest.fixture(scope="module")
def app(full_spec):
    return create_app(full_spec, api_keys=(), fixtures=[SAMPLES])


@pytest.fixture
def client(app):
    app.state.reset()
    client = app.test_client()
    client.headers["x-api-key"] = ACME_KEY
    return client


def load_text(app, tmp_path: Path, name: str, text: str) -> dict:
    path = tmp_path / name
    path.write_text(text)
    return app.fixtures.load(read(path))


def test_sample_fixture_objects_are_served_like_created_ones(client):
    assert client.get("/v1/customers/cust_acme").json()["external_id"] == "acme-corp"
    assert client.get("/v1/customers/external/globex").json()["id"] == "cust_globex"
    assert client.get("/v1/prices/lookup/starter_monthly").json()["entity_id"] == "plan_starter"
    assert client.get("/v1/plans/plan_growth").json()["lookup_key"] == "growth"
    found = client.post("/v1/features/search", json={}).json()
    assert [item["id"] for item in found["items"]] == ["feat_sso", "feat_seats", "feat_api_calls"]
    created = client.post("/v1/customers", json={"external_id": "new", "name": "New"}).json()
    fixture = client.get("/v1/customers/cust_acme").json()
    assert set(created) - {"email", "address_line1", "address_city", "address_country", "metadata"} == set(fixture) - {
        "email", "address_line1", "address_city", "address_country", "metadata"}
    assert fixture["tenant_id"] == created["tenant_id"]


def test_sample_records_satisfy_the_served_record_schema(client, full_checker):
    for path in ("/v1/customers/cust_acme", "/v1/plans/plan_starter", "/v1/prices/price_growth_api_calls"):
        full_checker.check(client.get(path))


def test_fixture_objects_enforce_unique_keys_against_created_ones(client):
    response = client.post("/v1/customers", json={"external_id": "acme-corp", "name": "Copy"})
    assert response.status_code == 409


def test_raw_fixture_keys_authenticate_and_an_expired_one_does_not(client):
    assert client.get("/v1/customers/cust_acme").status_code == 200
    assert client.get("/v1/customers/cust_acme", headers={"x-api-key": EXPIRED_KEY}).status_code == 401


def test_raw_fixture_keys_are_stored_only_as_hashes(app, client):
    digests = dict(app.state.store.key_digests())
    assert hash_key(ACME_KEY) in digests
    assert ACME_KEY not in json.dumps(app.fixtures.export())


def test_an_error_names_the_file_the_object_and_the_field(app, tmp_path):
    text = "customers:\n  - id: cust_ok\n    external_id: ok\n    name: Ok\n  - id: cust_bad\n    external_id: bad\n    name: Bad\n    email: 5\n"
    with pytest.raises(FixtureError) as caught:
        load_text(app, tmp_path, "bad.yaml", text)
    assert str(caught.value) == f"{tmp_path / 'bad.yaml'}, customers[1] (id cust_bad), field 'email': 5 is not of type 'string'"


def test_a_missing_required_field_is_named(app, tmp_path):
    with pytest.raises(FixtureError) as caught:
        load_text(app, tmp_path, "c.json", json.dumps({"customers": [{"external_id": "x"}]}))
    assert caught.value.object == "customers[0]" and caught.value.field == "name"
    assert "'name' is a required property" in str(caught.value)


def test_a_field_neither_schema_knows_is_an_error(app, tmp_path):
    with pytest.raises(FixtureError) as caught:
        load_text(app, tmp_path, "c.yaml", "customers:\n  - {external_id: x, name: X, extrenal_ref: y}\n")
    assert caught.value.field == "extrenal_ref"
    assert "not in CreateCustomerRequest nor CustomerResponse" in str(caught.value)


def test_a_resource_the_served_spec_lacks_is_an_error_listing_the_known_ones(app, tmp_path):
    with pytest.raises(FixtureError) as caught:
        load_text(app, tmp_path, "c.yaml", "customer:\n  - {external_id: x, name: X}\n")
    assert "the served spec has no resource 'customer'" in str(caught.value)
    assert " customers," in str(caught.value)


def test_nothing_is_stored_when_a_later_object_is_invalid(app, client, tmp_path):
    with pytest.raises(FixtureError):
        load_text(app, tmp_path, "c.yaml", "customers:\n  - {id: cust_first, external_id: f, name: F}\n  - {name: 7}\n")
    assert client.get("/v1/customers/cust_first").status_code == 404


def test_a_duplicate_unique_key_names_the_field(app, client, tmp_path):
    with pytest.raises(FixtureError) as caught:
        load_text(app, tmp_path, "c.yaml", "customers:\n  - {id: cust_dup, external_id: acme-corp, name: Dup}\n")
    assert caught.value.field == "external_id"
    assert "already exists" in str(caught.value)


def test_a_reference_to_a_missing_record_names_the_field(app, client, tmp_path):
    with pytest.raises(FixtureError) as caught:
        load_text(app, tmp_path, "w.yaml", "wallets:\n  - {customer_id: cust_nobody, currency: usd}\n")
    assert caught.value.field == "customer_id"


def test_referenced_resources_load_first_whatever_the_file_order(app, client, tmp_path):
    loaded = load_text(app, tmp_path, "w.yaml", "wallets:\n  - {id: wallet_1, customer_id: cust_new, currency: usd}\n"
                                                "customers:\n  - {id: cust_new, external_id: new, name: New}\n")
    assert loaded == {"customers": 1, "wallets": 1}
    assert client.get("/v1/wallets/wallet_1").json()["customer_id"] == "cust_new"


def test_yaml_timestamps_are_kept_as_the_strings_written(app, client, tmp_path):
    load_text(app, tmp_path, "c.yaml", "customers:\n  - {id: cust_old, external_id: old, name: Old, "
                                       "created_at: 2024-05-01T10:00:00.000Z}\n")
    assert client.get("/v1/customers/cust_old").json()["created_at"] == "2024-05-01T10:00:00.000Z"


def test_an_exported_state_replays_into_a_fresh_mock(app, client, full_spec, tmp_path):
    secret = client.post("/v1/secrets/api/keys", json={"name": "ci", "type": "private_key"}).json()
    created = client.post("/v1/customers", json={"external_id": "replay", "name": "Replay"}).json()
    state = app.fixtures.export()
    assert secret["api_key"] not in json.dumps(state)
    (tmp_path / "state.json").write_text(json.dumps(state))
    replay = create_app(full_spec, api_keys=(), fixtures=[tmp_path / "state.json"]).test_client()
    replay.headers["x-api-key"] = secret["api_key"]
    replayed = replay.get(f"/v1/customers/{created['id']}").json()
    own = ("tenant_id", "environment_id", "created_by", "updated_by")  # each mock has its own tenant
    assert {k: v for k, v in replayed.items() if k not in own} == {k: v for k, v in created.items() if k not in own}
    assert replay.get("/v1/customers/cust_acme").status_code == 200
    assert replay.delete(f"/v1/secrets/api/keys/{secret['secret']['id']}").status_code in (200, 204)
    assert replay.get("/v1/customers/cust_acme").status_code == 401


def test_hashed_keys_must_be_sha256_digests(app):
    with pytest.raises(FixtureError) as caught:
        app.fixtures.load([("inline", parse("api_keys:\n  - sha256: abc\n", "inline"))])
    assert str(caught.value) == "inline, api_keys[0], field 'sha256': must be 64 hex digits (the SHA-256 of the raw key)"


def test_the_cli_exits_non_zero_naming_the_bad_fixture(full_spec, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("plans:\n  - {id: plan_x, name: X, display_order: first}\n")
    result = subprocess.run([sys.executable, "-m", "mock_server", "--spec", str(full_spec), "--fixtures", str(bad),
                             "--port", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"Error: {bad}, plans[0] (id plan_x), field 'display_order': 'first' is not of type 'integer'" in result.stderr
