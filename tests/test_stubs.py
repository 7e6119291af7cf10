"""Scripted failures (`/_mock/stubs`, `MockServer.stub`, fixture `stubs:`): the next N matching
requests answer the stubbed status, then normal service resumes; bodies are checked against the
operation's documented response."""
from __future__ import annotations

import time

import httpx
import pytest
from flexprice import Flexprice
from flexprice.models import errors
from flexprice.utils.retries import BackoffStrategy, RetryConfig

from mock_server import MockServer
from mock_server.http.stubs import StubError

from .conftest import API_KEY as KEY
from .conftest import SEED_SPEC

KEY_BODY = {"name": "ci", "type": "private_key"}
RETRIES = RetryConfig("backoff", BackoffStrategy(initial_interval=1, max_interval=20, exponent=1.5,
                                                 max_elapsed_time=10_000, jitter_ms=0), retry_connection_errors=False)


@pytest.fixture
def mock(seed_mock):
    return seed_mock


@pytest.fixture
def api(seed_client):
    return seed_client


@pytest.fixture
def admin(seed_mock):
    with httpx.Client(base_url=seed_mock.url.removesuffix("/v1") + "/_mock/", timeout=10) as client:
        yield client


def test_the_official_sdk_with_its_retry_config_sees_two_503s_then_a_201(full_mock):
    admin = full_mock.url.removesuffix("/v1") + "/_mock/stubs"
    set_stub = httpx.post(admin, json={"operation": "createCustomer", "status": 503, "times": 2})
    assert set_stub.status_code == 201, set_stub.text
    sdk = Flexprice(api_key_auth=full_mock.api_key, server_url=full_mock.url, retry_config=RETRIES)
    created = sdk.customers.create_customer(external_id="retried", name="Retried Ltd")
    assert created.external_id == "retried"
    assert [(e["operation_id"], e["status"]) for e in full_mock.requests] == [("createCustomer", 503)] * 2 + [
        ("createCustomer", 201)]
    assert [c["external_id"] for c in full_mock.store.dump()["/customers"]] == ["retried"]  # created once
    assert httpx.get(admin).json() == {"stubs": []}


def test_without_retries_the_sdk_surfaces_the_stubbed_503_and_the_envelope(full_mock):
    full_mock.stub("createCustomer", status=503)
    sdk = Flexprice(api_key_auth=full_mock.api_key, server_url=full_mock.url)
    with pytest.raises(errors.FlexpriceError) as failed:
        sdk.customers.create_customer(external_id="once", name="Once")
    assert failed.value.status_code == 503
    assert failed.value.body == ('{"code":"service_unavailable","message":"createCustomer: status 503 stubbed with '
                                 'POST /_mock/stubs","http_status_code":503}')
    assert sdk.customers.create_customer(external_id="once", name="Once").external_id == "once"


def test_a_stub_answers_its_times_then_normal_service_resumes(api, admin):
    stub = admin.post("stubs", json={"method": "POST", "path": "/v1/secrets/api/keys", "status": 500, "times": 2})
    assert stub.status_code == 201
    assert stub.json()["stub"] == {"id": stub.json()["stub"]["id"], "operation": "createApiKey",
                                   "request": "POST /secrets/api/keys", "status": 500, "times": 2, "remaining": 2,
                                   "delay_ms": 0.0, "body": {"code": "internal_error", "http_status_code": 500,
                                   "message": "createApiKey: status 500 stubbed with POST /_mock/stubs"}}
    first = api.post("secrets/api/keys", json=KEY_BODY)
    assert (first.status_code, first.json()) == (500, {
        "code": "internal_error", "message": "createApiKey: status 500 stubbed with POST /_mock/stubs",
        "http_status_code": 500})
    assert admin.get("stubs").json()["stubs"][0]["remaining"] == 1
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 500
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 201


def test_a_given_body_is_answered_as_is_when_it_matches_the_documented_response(mock, api):
    body = {"code": "validation_error", "message": "slow down", "http_status_code": 400}
    mock.stub(method="post", path="/secrets/api/keys", status=400, body=body)
    answer = api.post("secrets/api/keys", json=KEY_BODY)
    assert (answer.status_code, answer.json()) == (400, body)


@pytest.mark.parametrize("fields, message, field", [
    ({"operation": "createApiKey", "status": 201, "body": {"api_key": 5}},
     "body does not match CreateAPIKeyResponse, the 201 response of createApiKey: api_key: 5 is not of type 'string'",
     "body"),
    ({"operation": "createApiKey", "status": 500, "body": {"code": "oops"}},
     "body does not match errors.ErrorResponse, the 500 response of createApiKey: code: 'oops' is not one of",
     "body"),
    ({"operation": "createApiKey", "status": 299},
     "createApiKey documents no 299 response; documented: 201, 400, 500 (any status of 400 or more may be stubbed)",
     "status"),
    ({"operation": "createCustomer", "status": 503},
     "the served spec has no operation 'createCustomer' (flexprice-mock routes lists them)", "operation"),
    ({"method": "GET", "path": "/secrets/api/keys", "status": 503},
     "the served spec has no operation GET /secrets/api/keys", "path"),
    ({"operation": "createApiKey", "status": 503, "times": 0}, "times must be a whole number of at least 1, got 0",
     "times"),
    ({"operation": "createApiKey", "status": 503, "delay": "soon"},
     "delay must be a duration such as 200ms or 2s, got 'soon'", "delay"),
    ({"operation": "createApiKey", "status": 503, "count": 2, "headers": {}},
     "unknown field(s) count, headers; a stub has operation, method, path, status, body, times, delay", "count"),
    ({"operation": "createApiKey"}, "status must be an HTTP status code (100-599), got None", "status"),
])
def test_a_stub_the_spec_does_not_allow_is_refused_with_a_400_saying_why(admin, api, fields, message, field):
    refused = admin.post("stubs", json=fields)
    assert refused.status_code == 400
    assert refused.json()["message"].startswith(message), refused.json()
    assert refused.json()["details"] == {"field": {"value": field}}
    assert admin.get("stubs").json() == {"stubs": []}
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 201


def test_a_body_that_is_not_json_is_a_400(admin):
    refused = admin.post("stubs", content=b"{operation")
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")


def test_a_stub_never_hides_a_401_or_a_400_and_is_not_used_up_by_them(mock, api):
    mock.stub("createApiKey", status=503)
    assert httpx.post(mock.url + "/secrets/api/keys", json=KEY_BODY).status_code == 401
    assert api.post("secrets/api/keys", json={"name": "ci", "type": "nope"}).status_code == 400
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 503


def test_delete_clears_the_stubs_and_a_reset_does_too(mock, api, admin):
    mock.stub("createApiKey", status=503, times=5)
    assert admin.delete("stubs").status_code == 204
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 201
    mock.stub("createApiKey", status=503, times=5)
    mock.reset()
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 201


def test_a_stub_waits_its_delay_before_answering(mock, api):
    mock.stub("createApiKey", status=503, delay="150ms")
    started = time.monotonic()
    assert api.post("secrets/api/keys", json=KEY_BODY).status_code == 503
    assert time.monotonic() - started >= 0.15


def test_a_stub_that_is_refused_in_process_raises_stub_error(mock):
    with pytest.raises(StubError, match="times must be a whole number"):
        mock.stub("createApiKey", status=503, times=-1)


def test_fixture_stubs_are_set_at_start_and_again_after_every_reset(tmp_path):
    (tmp_path / "stubs.yaml").write_text("stubs:\n  - {operation: createApiKey, status: 503, times: 1}\n")
    with MockServer(spec=SEED_SPEC, api_key=KEY, fixtures=[tmp_path / "stubs.yaml"]) as mock:
        post = lambda: httpx.post(mock.url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": KEY})  # noqa: E731
        assert [post().status_code, post().status_code] == [503, 201]
        mock.reset()
        assert [post().status_code, post().status_code] == [503, 201]


def test_a_bad_fixture_stub_names_the_file_the_stub_and_the_field(tmp_path):
    (tmp_path / "stubs.yaml").write_text("stubs:\n  - {operation: createApiKey, status: 503, times: none}\n")
    with pytest.raises(ValueError, match=r"stubs.yaml, stubs\[0\], field 'times': times must be a whole number"):
        MockServer(spec=SEED_SPEC, fixtures=[tmp_path / "stubs.yaml"])
