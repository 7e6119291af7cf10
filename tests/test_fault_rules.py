"""Fault rules per operation (`/_mock/faults`): by operationId or path pattern, with a probability,
a status and body checked against the documented response, a latency, a count or a time window;
listed with their hits, deleted by id, seeded. Stubs and `--error-rate` are rules too."""
from __future__ import annotations

import math
import time

import httpx
import pytest

from mock_server import MockServer
from mock_server.http.faults import Faults

from .conftest import API_KEY, SEED_SPEC

CUSTOMER = {"name": "Acme"}


@pytest.fixture
def admin(full_mock):
    with httpx.Client(base_url=full_mock.url.removesuffix("/v1") + "/_mock/", timeout=10) as client:
        yield client


def create_customers(api: httpx.Client, count: int, tag: str = "c") -> list[int]:
    return [api.post("customers", json={**CUSTOMER, "external_id": f"{tag}-{n}"}).status_code for n in range(count)]


def test_a_rule_on_create_customer_at_half_fails_a_binomial_share_of_200_calls_and_counts_its_hits(
        full_mock, full_client, admin, full_checker):
    set_rule = admin.post("faults", json={"operation": "createCustomer", "probability": 0.5, "status": 503,
                                          "seed": 7})
    assert set_rule.status_code == 201, set_rule.text
    rule = set_rule.json()["rule"]
    assert {k: rule[k] for k in ("source", "request", "operations", "probability", "status", "hits", "active")} == {
        "source": "faults", "request": "createCustomer", "operations": ["createCustomer"], "probability": 0.5,
        "status": 503, "hits": 0, "active": True}
    statuses = create_customers(full_client, 200)
    failed = statuses.count(503)
    assert set(statuses) == {201, 503}
    bound = 4 * math.sqrt(200 * 0.5 * 0.5)  # four standard deviations: a false alarm once in 15,000 runs
    assert abs(failed - 100) <= bound, failed
    listed = admin.get("faults").json()["rules"]
    assert [(r["id"], r["hits"]) for r in listed] == [(rule["id"], failed)]
    refused = full_client.post("customers", json={**CUSTOMER, "external_id": "x"}, headers={"Prefer": "code=201"})
    if refused.status_code == 503:  # an injected answer is the documented envelope
        full_checker.check(refused)
        assert refused.json()["message"] == "createCustomer: status 503 injected with POST /_mock/faults"
    assert full_mock.store.dump()["/customers"].__len__() == statuses.count(201) + (refused.status_code == 201)

    full_mock.reset()  # a reset drops the rule; the same seed draws the same faults again
    assert admin.get("faults").json() == {"rules": []}
    admin.post("faults", json={"operation": "createCustomer", "probability": 0.5, "status": 503, "seed": 7})
    assert create_customers(full_client, 200) == statuses


def test_a_path_pattern_matches_every_operation_of_its_templates_and_methods(full_client, admin):
    rule = admin.post("faults", json={"method": "POST", "path": "/v1/customers*", "status": 500}).json()["rule"]
    assert {"createCustomer", "queryCustomer"} <= set(rule["operations"])
    assert all(op in rule["operations"] for op in ("createCustomer",)) and "getCustomer" not in rule["operations"]
    assert full_client.post("customers", json={**CUSTOMER, "external_id": "a"}).status_code == 500
    assert full_client.post("customers/search", json={}).status_code == 500
    assert full_client.get("customers/cust_nobody").status_code == 404  # GET is not matched


def test_a_count_ends_the_rule_and_the_list_shows_it_spent(full_client, admin):
    rule = admin.post("faults", json={"operation": "createCustomer", "status": 429, "count": 2}).json()["rule"]
    assert create_customers(full_client, 3) == [429, 429, 201]
    listed = admin.get("faults").json()["rules"][0]
    assert (listed["id"], listed["hits"], listed["remaining"], listed["active"]) == (rule["id"], 2, 0, False)


def test_a_time_window_opens_after_its_delay_and_closes_after_its_length(full_client, admin):
    admin.post("faults", json={"operation": "createCustomer", "status": 503, "after": "300ms", "for": "1s"})
    assert create_customers(full_client, 1, "before") == [201]
    time.sleep(0.35)
    assert create_customers(full_client, 1, "during") == [503]
    time.sleep(1.0)
    assert create_customers(full_client, 1, "after") == [201]


def test_a_latency_rule_delays_without_answering(full_client, admin):
    admin.post("faults", json={"operation": "createCustomer", "latency": "200ms"})
    started = time.monotonic()
    assert create_customers(full_client, 1) == [201]
    assert time.monotonic() - started >= 0.2
    assert admin.get("faults").json()["rules"][0]["latency_ms"] == [200.0, 200.0]


def test_a_given_body_must_match_the_documented_response(full_client, admin):
    body = {"code": "validation_error", "message": "no", "http_status_code": 400}
    assert admin.post("faults", json={"operation": "createCustomer", "status": 400, "body": body}).status_code == 201
    answer = full_client.post("customers", json={**CUSTOMER, "external_id": "b"})
    assert (answer.status_code, answer.json()) == (400, body)
    refused = admin.post("faults", json={"operation": "createCustomer", "status": 201, "body": {"id": 5}})
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("body does not match CustomerResponse, the 201 response of "
                                                "createCustomer: id: 5 is not of type 'string'")


@pytest.mark.parametrize(("fields", "field"), [
    ({"operation": "createCustomer", "status": 503, "probability": 0}, "probability"),
    ({"operation": "createCustomer", "status": 503, "probability": 1.5}, "probability"),
    ({"operation": "createCustomer"}, "status"),
    ({"operation": "createCustomer", "status": 503, "count": 0}, "count"),
    ({"operation": "createCustomer", "status": 503, "for": "soon"}, "for"),
    ({"operation": "createCustomer", "latency": "80ms-20ms"}, "latency"),
    ({"path": "/nowhere*", "status": 503}, "path"),
    ({"operation": "nope", "status": 503}, "operation"),
    ({"operation": "createCustomer", "status": 503, "times": 2}, "times"),
])
def test_a_rule_the_spec_or_the_mock_cannot_take_is_a_400_naming_the_field(full_client, admin, fields, field):
    refused = admin.post("faults", json=fields)
    assert (refused.status_code, refused.json()["details"]) == (400, {"field": {"value": field}}), refused.text
    assert admin.get("faults").json() == {"rules": []}


def test_rules_are_deleted_by_id_or_all_at_once(full_client, admin):
    first = admin.post("faults", json={"operation": "createCustomer", "status": 503}).json()["rule"]["id"]
    admin.post("faults", json={"operation": "getCustomer", "status": 503})
    assert admin.delete(f"faults/{first}").status_code == 204
    assert admin.delete(f"faults/{first}").status_code == 404
    assert create_customers(full_client, 1) == [201]
    assert admin.delete("faults").status_code == 204
    assert admin.get("faults").json() == {"rules": []}


def test_stubs_and_the_command_lines_faults_are_rules_of_the_one_mechanism():
    with MockServer(spec=SEED_SPEC, api_key=API_KEY, faults=Faults.parse("5ms", 0.25, seed=3)) as mock:
        admin = mock.url.removesuffix("/v1") + "/_mock/"
        mock.stub("createApiKey", status=503, times=2)
        api = httpx.Client(base_url=mock.url + "/", headers={"x-api-key": API_KEY})
        statuses = [api.post("secrets/api/keys", json={"name": "k", "type": "private_key"}).status_code
                    for _ in range(40)]
        assert statuses[:2] == [503, 503] and set(statuses[2:]) == {201, 500}
        rules = {r["id"]: r for r in httpx.get(admin + "faults").json()["rules"]}
        assert list(rules) == ["option_latency", "option_error_rate"]  # the used-up stub is gone
        assert rules["option_latency"]["hits"] == 38  # the stub answered the first two before it
        assert rules["option_error_rate"]["hits"] == statuses.count(500)
        assert httpx.delete(admin + "faults").status_code == 204  # the command line's stay
        assert len(httpx.get(admin + "faults").json()["rules"]) == 2
