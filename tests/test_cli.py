"""The `flexprice-mock` command as a newcomer runs it: start, announce, serve, stop."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from mock_server.app import DEFAULT_API_KEY
from mock_server.devtools.webhook_receiver import WebhookReceiver, new_secret

from .redis_server import free_port

KEY_BODY = {"name": "cli", "type": "private_key"}


@contextmanager
def running(*args: str, env: dict | None = None, cwd: Path | None = None,
            program: list[str] | None = None) -> Iterator[str]:
    """Start `python -m mock_server ARGS` (or `program ARGS`), yield the base URL it announces,
    then stop it."""
    process = subprocess.Popen(
        [*(program or [sys.executable, "-m", "mock_server"]), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, cwd=cwd,
    )
    try:
        line = process.stdout.readline().strip()
        assert line, process.stderr.read()
        yield line
    finally:
        process.terminate()
        process.wait(10)


def test_serves_the_seed_spec_under_v1_on_loopback_and_announces_the_url():
    with running() as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        response = httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": DEFAULT_API_KEY})
        assert response.status_code == 201
        raw = response.json()["api_key"]
        assert httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": raw}).status_code == 201
        assert httpx.post(url + "/secrets/api/keys", json=KEY_BODY).status_code == 401


def test_bootstrap_keys_come_from_the_option_or_the_environment():
    with running("--api-key", "sk_one", "--api-key", "sk_two") as url:
        for key, status in (("sk_one", 201), ("sk_two", 201), (DEFAULT_API_KEY, 401)):
            assert httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": key}).status_code == status
    with running(env={"FLEXPRICE_MOCK_API_KEY": "sk_from_env"}) as url:
        assert httpx.post(url + "/secrets/api/keys", json=KEY_BODY, headers={"x-api-key": "sk_from_env"}).status_code == 201


def test_serves_the_full_spec_given_with_spec(full_spec):
    with running("--spec", str(full_spec)) as url:
        response = httpx.get(url + "/secrets/api/keys", headers={"x-api-key": DEFAULT_API_KEY})
        assert response.status_code == 200
        assert response.json()["pagination"]["total"] == 0


def test_routes_lists_every_operation_with_its_role(full_spec):
    output = subprocess.run([sys.executable, "-m", "mock_server", "routes", "--spec", str(full_spec)],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert output[0].split() == ["method", "path", "operationId", "role", "resource"]
    assert len(output) == 1 + 257
    assert "GET     /customers/{id}" in "\n".join(output)
    assert any(line.split()[:5] == ["POST", "/secrets/api/keys", "createApiKey", "create", "/secrets/api/keys"]
               for line in output)


def test_lint_reports_the_unsatisfiable_duration_schema_and_passes_as_the_mock_works_around_it(full_spec):
    result = subprocess.run([sys.executable, "-m", "mock_server", "lint", "--spec", str(full_spec)],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("types.Duration: type object with enum")
    assert result.stderr.endswith("all worked around by the mock\n")


def test_lint_strict_fails_on_any_defect(full_spec):
    result = subprocess.run([sys.executable, "-m", "mock_server", "lint", "--strict", "--spec", str(full_spec)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout.startswith("types.Duration: type object with enum")


def test_lint_strict_passes_a_spec_without_defects():
    result = subprocess.run([sys.executable, "-m", "mock_server", "lint", "--strict"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_bind_failure_is_a_clear_error_not_a_traceback():
    with running() as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        result = subprocess.run([sys.executable, "-m", "mock_server", "--port", port],
                                capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert f"cannot bind 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_webhook_options_deliver_signed_events_to_the_url_given(full_spec):
    secret = new_secret()
    with WebhookReceiver(secret) as receiver, running("--spec", str(full_spec), "--webhook-url", receiver.url,
                                                      "--webhook-secret", secret, "--webhook-retries", "0") as url:
        response = httpx.post(url + "/customers", json={"external_id": "cli-wh", "name": "Ada"},
                              headers={"x-api-key": DEFAULT_API_KEY})
        assert response.status_code == 201
        [received] = receiver.wait_for(1)
        assert (received.event_type, received.verified) == ("customer.created", True)


def test_a_malformed_webhook_secret_is_a_usage_error_that_does_not_repeat_it():
    result = subprocess.run([sys.executable, "-m", "mock_server", "--webhook-url", "http://127.0.0.1:9/h",
                             "--webhook-secret", "hunter2-not-whsec"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--webhook-secret" in result.stderr and "whsec_" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def _fails(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server", *args], capture_output=True, text=True, timeout=60)


def test_more_than_one_worker_on_the_memory_store_is_a_usage_error():
    result = _fails("--workers", "2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: --workers 2 needs a shared store: the memory store lives in one process; pass --store redis://HOST:PORT/DB"]


def test_an_unreachable_redis_at_start_up_is_one_error_line_without_the_password():
    port = free_port()  # nothing listens there
    result = _fails("--store", f"redis://:s3cret@127.0.0.1:{port}/0")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot use the store at redis://:***@127.0.0.1:{port}/0: ")
    assert "Connection refused" in line and "s3cret" not in result.stderr


def test_a_namespace_that_cannot_prefix_keys_is_a_usage_error(redis_url):
    result = _fails("--store", redis_url, "--namespace", "a b*")
    assert result.returncode == 2 and "--namespace" in result.stderr and "Traceback" not in result.stderr
