"""Every error leaves the mock as the spec's `errors.ErrorResponse`, never problem+json."""
from __future__ import annotations

import logging

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.core.failures import Invalid
from mock_server.http.errors import status_of
from mock_server.http.handlers import Api, json_response

JSON = {"content-type": "application/json"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["http_status_code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize("content", [b"{", b'{"name": "x",', b"", b"null", b"[]", b'"text"', b"42"],
                         ids=["truncated", "unterminated", "empty", "null", "array", "string", "number"])
def test_bodies_that_are_not_a_json_object_are_400(seed_client, seed_checker, content):
    response = seed_client.post("secrets/api/keys", content=content, headers=JSON)
    assert_error(response, 400, "validation_error")
    seed_checker.check(response)


def test_unknown_enum_value_is_400_naming_it(seed_client):
    body = assert_error(seed_client.post("secrets/api/keys", json={"name": "x", "type": "root"}), 400, "validation_error")
    assert "root" in body["message"] and "type" in body["message"]


def test_unknown_path_is_404_not_found(seed_client):
    assert_error(seed_client.get("customers"), 404, "not_found")


def test_unknown_path_outside_the_base_path_is_404_not_found(seed_mock):
    assert_error(httpx.get(seed_mock.url.removesuffix("/v1") + "/secrets/api/keys"), 404, "not_found")


def test_wrong_method_is_405_with_the_error_shape(seed_client):
    body = assert_error(seed_client.delete("secrets/api/keys"), 405, "invalid_operation")
    assert body["message"] == "method not allowed"


def test_unknown_id_is_404_not_found(full_client, full_checker):
    response = full_client.get("customers/cust_missing")
    assert_error(response, 404, "not_found")
    full_checker.check(response)


@pytest.mark.parametrize("paging, message", [
    ({"limit": 2.0}, "2.0 is not of type 'integer' - 'limit'"),
    ({"offset": 1e19}, "1e+19 is not of type 'integer' - 'offset'"),
    ({"offset": 10**30}, "1e+30 is not of type 'integer' - 'offset'"),  # beyond int64: a float, as in Go
])
def test_search_paging_that_is_not_a_64_bit_integer_is_400(full_client, paging, message):
    body = assert_error(full_client.post("customers/search", json=paging), 400, "validation_error")
    assert body["message"] == message


def test_query_parameter_errors_name_the_parameter(full_client):
    body = assert_error(full_client.get("secrets/api/keys", params={"limit": "abc"}), 400, "validation_error")
    assert body["message"] == "query parameter 'limit': 'abc' is not of type 'integer'"


def test_strict_mode_logs_a_response_that_breaks_the_spec(caplog):
    app = create_app(strict=True, api_keys=["k"])
    app.api.behaviours["createApiKey"] = lambda api, call: json_response({"api_key": 42}, 201)
    with caplog.at_level(logging.ERROR, logger="mock_server"), TestClient(app) as client:
        client.post("/v1/secrets/api/keys", json={"name": "x", "type": "private_key"}, headers={"x-api-key": "k"})
    assert any("SPEC VIOLATION" in r.getMessage() for r in caplog.records)
    assert "api_key: 42 is not of type 'string'" in caplog.text


def test_strict_mode_is_silent_on_valid_responses(caplog):
    with caplog.at_level(logging.ERROR, logger="mock_server"), TestClient(create_app(strict=True, api_keys=["k"])) as client:
        response = client.post("/v1/secrets/api/keys", json={"name": "x", "type": "private_key"}, headers={"x-api-key": "k"})
    assert response.status_code == 201
    assert "SPEC VIOLATION" not in caplog.text


@pytest.mark.parametrize("paging, message", [
    ({"offset": 1e19}, "offset must fit in 64 bits"),  # where a spec leaves paging untyped
    ({"offset": 2**64}, "offset must fit in 64 bits"),
    ({"limit": 2.5}, "limit must be an integer"),
])
def test_paging_the_answer_could_not_carry_is_refused(paging, message):
    with pytest.raises(Invalid) as refused:
        Api.paging(paging)
    assert (status_of(refused.value), refused.value.message) == ((400, "validation_error"), message)


def test_a_missing_customer_is_worded_the_one_way_whichever_layer_looked(full_client):
    """A path id (the HTTP layer's lookup) and a reference in a body (the subscription service's)
    name the same fault in the same words; only the field that carried the key differs."""
    by_path = full_client.get("customers/cust_unknown")
    by_reference = full_client.post("subscriptions", json={
        "customer_id": "cust_unknown", "plan_id": "plan_unknown", "currency": "usd",
        "billing_cadence": "RECURRING", "billing_period": "MONTHLY", "billing_period_count": 1,
        "start_date": "2026-01-01T00:00:00Z"})
    assert (by_path.status_code, by_path.json()) == (404, {
        "code": "not_found", "message": "customer cust_unknown not found", "http_status_code": 404,
        "details": {"id": {"value": "cust_unknown"}}})
    assert (by_reference.status_code, by_reference.json()) == (404, {
        "code": "not_found", "message": "customer cust_unknown not found", "http_status_code": 404,
        "details": {"customer_id": {"value": "cust_unknown"}}})
