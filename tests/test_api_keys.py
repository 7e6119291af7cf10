"""The API-key lifecycle as the real server has it: create, authenticate, list, delete, expire."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from mock_server.storage.store import hash_key

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
RFC3339_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


def create_key(client: httpx.Client, **fields) -> httpx.Response:
    return client.post("secrets/api/keys", json={"name": "ci", "type": "private_key", **fields})


def test_created_private_key_has_the_real_servers_shape(seed_client, seed_checker):
    response = create_key(seed_client, name="deploy bot")
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    seed_checker.check(response)
    body = response.json()
    raw, secret = body["api_key"], body["secret"]
    assert re.fullmatch(f"sk_{ULID}", raw)
    assert re.fullmatch(f"secret_{ULID}", secret["id"])
    assert secret["display_id"] == raw[:5] + "***" + raw[-2:]
    assert secret["name"] == "deploy bot"
    assert secret["type"] == "private_key"
    assert secret["provider"] == "flexprice"
    assert secret["status"] == "published"
    assert secret["user_type"] == "user"
    assert secret["roles"] == []
    assert re.fullmatch(RFC3339_UTC, secret["created_at"])
    assert secret["updated_at"] == secret["created_at"]
    assert "expires_at" not in secret


def test_publishable_key_starts_with_pk(seed_client):
    response = create_key(seed_client, type="publishable_key")
    assert response.status_code == 201
    assert re.fullmatch(f"pk_{ULID}", response.json()["api_key"])


def test_service_account_key_has_user_type_service_account(seed_client):
    response = create_key(seed_client, service_account_id="user_01")
    assert response.json()["secret"]["user_type"] == "service_account"


def test_expires_at_is_echoed(seed_client):
    expires = "2030-01-02T03:04:05Z"
    assert create_key(seed_client, expires_at=expires).json()["secret"]["expires_at"] == expires


def test_created_key_authenticates(seed_mock, seed_client):
    raw = create_key(seed_client).json()["api_key"]
    response = httpx.post(seed_mock.url + "/secrets/api/keys", json={"name": "x", "type": "private_key"},
                          headers={"x-api-key": raw})
    assert response.status_code == 201


def test_raw_key_is_returned_once_and_stored_only_as_its_hash(seed_mock, seed_client):
    body = create_key(seed_client).json()
    dumped = repr(seed_mock.store.dump()) + repr(seed_mock.store.key_digests())
    assert body["api_key"] not in dumped
    owners = {key.secret_id: sha256 for sha256, key in seed_mock.store.key_digests()}
    assert owners[body["secret"]["id"]] == hash_key(body["api_key"])


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"x-api-key": "sk_unknown"}], ids=["missing", "empty", "unknown"])
def test_missing_or_unknown_key_is_401_invalid_api_key(seed_mock, headers):
    response = httpx.post(seed_mock.url + "/secrets/api/keys", json={"name": "x", "type": "private_key"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "code": "permission_denied", "message": "Invalid API key", "http_status_code": 401, "error": "Invalid API key",
    }


def test_key_authenticates_until_its_expiry(seed_mock, seed_client):
    def works(raw: str) -> bool:
        response = httpx.post(seed_mock.url + "/secrets/api/keys", json={"name": "x", "type": "private_key"},
                              headers={"x-api-key": raw})
        return response.status_code == 201

    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    assert works(create_key(seed_client, expires_at=future).json()["api_key"])
    assert not works(create_key(seed_client, expires_at=past).json()["api_key"])


def test_integration_type_is_rejected_like_the_real_server(seed_client, seed_checker):
    response = create_key(seed_client, type="integration")
    assert response.status_code == 400
    seed_checker.check(response)
    assert response.json()["code"] == "validation_error"
    assert "type" in response.json()["message"]


@pytest.mark.parametrize("body, field", [
    ({"type": "private_key"}, "name"),
    ({"name": "x"}, "type"),
    ({"name": "x", "type": "root_key"}, "type"),
    ({"name": 5, "type": "private_key"}, "name"),
    ({"name": "x", "type": "private_key", "expires_at": "tomorrow"}, "expires_at"),
    ({"name": "x", "type": "private_key", "expires_at": "2030-01-02T03:04:05"}, "expires_at"),
])
def test_invalid_create_bodies_are_400_naming_the_field(seed_client, seed_checker, body, field):
    response = seed_client.post("secrets/api/keys", json=body)
    assert response.status_code == 400, response.text
    seed_checker.check(response)
    assert response.json()["code"] == "validation_error"
    assert response.json()["http_status_code"] == 400
    assert field in response.json()["message"]


def test_unknown_request_fields_are_ignored(seed_client):
    response = create_key(seed_client, billing_cadence="RECURRING")
    assert response.status_code == 201
    assert "billing_cadence" not in response.json()["secret"]


# -- served with the full spec: list and delete -------------------------------------------------

def test_list_shows_created_keys_newest_first_with_pagination(full_client, full_checker):
    ids = [create_key(full_client, name=f"k{i}").json()["secret"]["id"] for i in range(3)]
    response = full_client.get("secrets/api/keys")
    assert response.status_code == 200
    full_checker.check(response)
    body = response.json()
    assert [item["id"] for item in body["items"]] == ids[::-1]
    assert body["pagination"] == {"limit": 50, "offset": 0, "total": 3}


def test_list_honours_limit_and_offset(full_client):
    ids = [create_key(full_client, name=f"k{i}").json()["secret"]["id"] for i in range(5)]
    body = full_client.get("secrets/api/keys", params={"limit": 2, "offset": 1}).json()
    assert [item["id"] for item in body["items"]] == ids[::-1][1:3]
    assert body["pagination"] == {"limit": 2, "offset": 1, "total": 5}


def test_list_never_shows_raw_keys(full_client):
    raw = create_key(full_client).json()["api_key"]
    assert raw not in full_client.get("secrets/api/keys").text


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "abc"}])
def test_out_of_range_paging_is_400(full_client, full_checker, params):
    response = full_client.get("secrets/api/keys", params=params)
    assert response.status_code == 400
    full_checker.check(response)
    assert response.json()["code"] == "validation_error"
    assert next(iter(params)) in response.json()["message"]


def test_deleted_key_is_gone_and_no_longer_authenticates(full_mock, full_client, full_checker):
    body = create_key(full_client).json()
    raw, secret_id = body["api_key"], body["secret"]["id"]
    assert httpx.get(full_mock.url + "/secrets/api/keys", headers={"x-api-key": raw}).status_code == 200
    response = full_client.delete(f"secrets/api/keys/{secret_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert httpx.get(full_mock.url + "/secrets/api/keys", headers={"x-api-key": raw}).status_code == 401
    assert secret_id not in [item["id"] for item in full_client.get("secrets/api/keys").json()["items"]]


def test_deleting_an_unknown_key_is_404(full_client, full_checker):
    response = full_client.delete("secrets/api/keys/secret_unknown")
    assert response.status_code == 404
    full_checker.check(response)
    assert response.json()["code"] == "not_found"
    assert response.json()["http_status_code"] == 404
