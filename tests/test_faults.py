"""Injected latency and errors: parsing, documented statuses, per-request latency, replay."""
from __future__ import annotations

import copy
import json
import time

import pytest
from click.testing import CliRunner

from flexprice_spec.document import Spec
from mock_server.app import create_app
from mock_server.cli import main
from mock_server.http.faults import Faults, parse_latency

from .conftest import SEED_SPEC

KEY = "sk_test_faults_key"
NEW_KEY = {"name": "ci", "type": "private_key"}


def client_for(spec=SEED_SPEC, **faults):
    app = create_app(spec, api_keys=(KEY,), faults=Faults(**faults))
    client = app.test_client()
    client.headers["x-api-key"] = KEY
    return app, client


@pytest.mark.parametrize(("text", "seconds"), [("50ms", (0.05, 0.05)), ("20ms-80ms", (0.02, 0.08)), ("1.5s", (1.5, 1.5))])
def test_latency_is_read_as_a_duration_or_a_range(text, seconds):
    assert parse_latency(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["50", "fast", "80ms-20ms", "-5ms"])
def test_a_latency_without_unit_or_running_backwards_is_refused(text):
    with pytest.raises(ValueError):
        parse_latency(text)


def test_the_cli_refuses_a_bad_latency():
    result = CliRunner().invoke(main, ["--latency", "50", "--port", "0"])
    assert result.exit_code == 2
    assert "not a duration: '50'" in result.output


def test_a_range_draws_seeded_delays_within_its_bounds():
    draws = [Faults(latency=(0.02, 0.08), seed=3).delay() for _ in range(2)]
    faults = Faults(latency=(0.02, 0.08), seed=3)
    series = [faults.delay() for _ in range(50)]
    assert draws[0] == draws[1] == series[0]
    assert all(0.02 <= d <= 0.08 for d in series) and len(set(series)) > 1


def test_configured_latency_delays_api_responses():
    _, client = client_for(latency=(0.1, 0.1))
    started = time.perf_counter()
    assert client.post("/v1/secrets/api/keys", json=NEW_KEY).status_code == 201
    assert time.perf_counter() - started >= 0.1


def test_prefer_latency_delays_one_request_and_the_journal_shows_it():
    app, client = client_for()
    started = time.perf_counter()
    assert client.post("/v1/secrets/api/keys", json=NEW_KEY, headers={"Prefer": "latency=150ms"}).status_code == 201
    assert time.perf_counter() - started >= 0.15
    assert app.journal.entries()[-1]["latency_ms"] >= 150


def test_an_injected_error_is_the_documented_500_and_stores_nothing(full_spec, full_checker):
    app, client = client_for(full_spec, error_rate=1.0)
    response = client.post("/v1/customers", json={"external_id": "a", "name": "A"})
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "message": "injected fault: internal error (--error-rate)",
                               "http_status_code": 500}
    full_checker.check(response)
    assert app.state.store.dump().get("/customers") is None


def test_an_injected_error_is_503_with_retry_after_where_500_is_undocumented():
    document = copy.deepcopy(json.loads(SEED_SPEC.read_text()))
    document["paths"]["/secrets/api/keys"]["post"]["responses"].pop("500", None)
    _, client = client_for(Spec(document), error_rate=1.0)
    response = client.post("/v1/secrets/api/keys", json=NEW_KEY)
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
    assert response.json()["code"] == "service_unavailable"


def test_faults_replay_after_a_reset():
    app, client = client_for(error_rate=0.5, seed=11)
    first = [client.post("/v1/secrets/api/keys", json=NEW_KEY).status_code for _ in range(20)]
    app.state.reset()
    again = [client.post("/v1/secrets/api/keys", json=NEW_KEY).status_code for _ in range(20)]
    assert first == again
    assert set(first) == {201, 500}


def test_faults_spare_what_is_not_an_api_operation():
    _, client = client_for(error_rate=1.0)
    assert client.get("/v1/openapi.json").status_code == 200
    assert client.get("/_mock/requests").status_code == 200
