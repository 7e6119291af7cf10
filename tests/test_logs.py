"""The access log: one line per request, text or JSON, silent by default, never a raw key."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

import httpx
import pytest

from mock_server.app import create_app
from mock_server.logs import JsonFormatter

from .conftest import SEED_SPEC

KEY = "sk_test_logging_key_0123456789"


@pytest.fixture(scope="module")
def client():
    client = create_app(SEED_SPEC, api_keys=(KEY,)).test_client()
    client.headers["x-api-key"] = KEY
    return client


def test_each_request_logs_one_info_line_with_method_path_status_and_ms(client, caplog):
    with caplog.at_level(logging.INFO, logger="mock_server.access"):
        client.post("/v1/secrets/api/keys", json={"name": "a", "type": "private_key"})
    (record,) = [r for r in caplog.records if r.name == "mock_server.access"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("POST /v1/secrets/api/keys 201 ") and record.getMessage().endswith("ms")
    assert (record.method, record.path, record.status, record.operation_id) == ("POST", "/v1/secrets/api/keys", 201, "createApiKey")


def test_the_access_log_is_silent_at_the_default_level(client, caplog):
    with caplog.at_level(logging.WARNING):
        client.post("/v1/secrets/api/keys", json={"name": "a", "type": "private_key"})
    assert [r for r in caplog.records if r.name == "mock_server.access"] == []


def test_no_raw_key_reaches_the_log_or_the_journal(caplog):
    app = create_app(SEED_SPEC, api_keys=(KEY,))
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        client.post(f"/v1/secrets/api/keys?x-api-key={KEY}", json={"name": "a", "type": "private_key"},
                    headers={"x-api-key": KEY})
        client.post("/v1/secrets/api/keys", json={"name": 7}, headers={"x-api-key": KEY})
    journal = json.dumps(app.journal.entries())
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # httpx is the client
    assert server_side and not [line for line in server_side if KEY in line]
    assert KEY not in journal
    assert "sk_te***89" in journal


def test_the_json_formatter_writes_one_object_with_the_request_fields():
    record = logging.LogRecord("mock_server.access", logging.INFO, __file__, 1, "%s %s %d %.1fms",
                               ("GET", "/v1/x", 200, 1.25), None)
    record.__dict__.update(method="GET", path="/v1/x", status=200, ms=1.25, operation_id="getX")
    line = json.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("level", "logger", "message", "method", "path", "status", "ms", "operation_id")} == {
        "level": "info", "logger": "mock_server.access", "message": "GET /v1/x 200 1.2ms", "method": "GET",
        "path": "/v1/x", "status": 200, "ms": 1.25, "operation_id": "getX"}


def test_the_cli_logs_json_lines_only(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--spec", str(SEED_SPEC), "--port", "0", "--api-key", KEY,
         "--log-level", "info", "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        httpx.post(url + "/secrets/api/keys", json={"name": "a", "type": "private_key"}, headers={"x-api-key": KEY})
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "mock_server.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [("POST", "/v1/secrets/api/keys", 201)]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert KEY not in stderr
