"""The `Prefer` header and its `__code`/`__example`/`__dynamic` query twins, as Prism has them."""
from __future__ import annotations

import copy
import json
import logging

import pytest

from flexprice_spec.document import Spec
from mock_server.app import create_app

from .conftest import SEED_SPEC

KEY = "sk_test_prefer_key"
CUSTOMER = {"external_id": "acme", "name": "Acme"}


@pytest.fixture(scope="module")
def full_app(full_spec):
    return create_app(full_spec, api_keys=(KEY,))


@pytest.fixture
def client(full_app):
    full_app.state.reset()
    client = full_app.test_client()
    client.headers["x-api-key"] = KEY
    return client


def customers(client) -> int:
    return client.post("/v1/customers/search", json={}).json()["pagination"]["total"]


def test_prefer_code_answers_the_documented_error_in_the_error_shape(client, full_checker):
    response = client.post("/v1/customers", json=CUSTOMER, headers={"Prefer": "code=400"})
    assert response.status_code == 400
    assert response.json() == {"code": "validation_error", "message": "createCustomer: status 400 requested with Prefer",
                               "http_status_code": 400}
    full_checker.check(response)
    assert customers(client) == 0


def test_prefer_code_500_carries_the_internal_error_code(client, full_checker):
    response = client.get("/v1/customers/cust_x", headers={"Prefer": "code=500"})
    assert (response.status_code, response.json()["code"]) == (500, "internal_error")
    full_checker.check(response)


def test_an_undocumented_code_gets_400_naming_the_documented_ones(client):
    response = client.post("/v1/customers", json=CUSTOMER, headers={"Prefer": "code=404"})
    assert response.status_code == 400
    assert response.json()["message"] == "Prefer code=404 is not documented for createCustomer; documented: 201, 400, 500"


def test_a_code_that_is_no_http_status_is_rejected(client):
    response = client.post("/v1/customers", json=CUSTOMER, headers={"Prefer": "code=abc"})
    assert (response.status_code, response.json()["message"]) == (400, "Prefer code must be an HTTP status, got 'abc'")


def test_the_query_parameter_works_like_the_header_and_is_not_passed_on(client, caplog):
    with caplog.at_level(logging.DEBUG, logger="connexion"):
        response = client.post("/v1/customers?__code=400", json=CUSTOMER)
    assert response.status_code == 400
    assert "__code" not in caplog.text  # Connexion never saw it as an unknown argument
    assert client.post("/v1/customers?__code=201", json=CUSTOMER).status_code == 201
    assert customers(client) == 1


def test_the_success_code_runs_the_real_handler(client):
    response = client.post("/v1/customers", json=CUSTOMER, headers={"Prefer": "code=201"})
    assert response.status_code == 201
    assert client.get(f"/v1/customers/{response.json()['id']}").status_code == 200


def test_dynamic_answers_fresh_schema_valid_data_and_stores_nothing(client, full_checker):
    first = client.post("/v1/customers", json=CUSTOMER, headers={"Prefer": "dynamic=true"})
    second = client.post("/v1/customers?__dynamic=true", json=CUSTOMER)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    full_checker.check(first)
    assert customers(client) == 0


def test_prefer_comes_after_authentication_and_validation(client):
    assert client.post("/v1/customers", json=CUSTOMER, headers={"Prefer": "code=500", "x-api-key": "wrong"}).status_code == 401
    invalid = client.post("/v1/customers", json={"name": 5}, headers={"Prefer": "dynamic=true"})
    assert invalid.status_code == 400 and "dynamic" not in invalid.text


def test_an_unknown_example_gets_400_saying_the_spec_has_none(client):
    response = client.get("/v1/customers/cust_x", headers={"Prefer": "example=acme"})
    assert response.status_code == 400
    assert response.json()["message"] == "no example named 'acme' for getCustomer 200; the spec documents no examples for it"


@pytest.fixture(scope="module")
def example_client():
    """The seed spec with named examples added in memory (the full spec documents none)."""
    document = copy.deepcopy(json.loads(SEED_SPEC.read_text()))
    media = document["paths"]["/secrets/api/keys"]["post"]["responses"]["201"]["content"]["application/json"]
    media["examples"] = {"issued": {"value": {"api_key": "sk_example"}}, "other": {"value": {"api_key": "sk_other"}}}
    client = create_app(Spec(document), api_keys=(KEY,)).test_client()
    client.headers["x-api-key"] = KEY
    return client


def test_prefer_example_answers_that_named_example(example_client):
    response = example_client.post("/v1/secrets/api/keys", json={"name": "a", "type": "private_key"},
                                   headers={"Prefer": "example=issued"})
    assert (response.status_code, response.json()) == (201, {"api_key": "sk_example"})


def test_a_missing_example_gets_400_naming_the_ones_that_exist(example_client):
    response = example_client.post("/v1/secrets/api/keys?__example=nope", json={"name": "a", "type": "private_key"})
    assert response.status_code == 400
    assert response.json()["message"] == "no example named 'nope' for createApiKey 201; examples: issued, other"
