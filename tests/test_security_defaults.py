"""Safe defaults: loopback unless told, keys kept as digests and never echoed, logged, journalled
or exported, CORS off unless `--cors ORIGIN`."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mock_server import MockServer
from mock_server.cli import exposed

from .conftest import SEED_SPEC

ORIGIN = "https://app.example"
ADMIN_TOKEN = "adm_0f3e2d1c4b5a69788796a5b4"
PREFLIGHT = {"origin": ORIGIN, "access-control-request-method": "POST",
             "access-control-request-headers": "x-api-key, content-type"}


class Cli:
    """`python -m mock_server ARGS --port 0` in a subprocess: its base URL, and its output once stopped."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.err_path = tmp_path / "stderr.txt"
        self.out_path = tmp_path / "stdout.txt"
        with self.err_path.open("w") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "mock_server", *args, "--port", "0"],
                                            stdout=subprocess.PIPE, stderr=err, text=True)
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://"), self.stop()

    def stop(self) -> tuple[str, str]:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=15)
        return self.url + "\n" + out, self.err_path.read_text()


@pytest.fixture
def cli(tmp_path):
    started = []

    def start(*args: str) -> Cli:
        started.append(Cli(tmp_path, *args))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def strings_in(value: object, seen: set[int] | None = None) -> list[str]:
    """Every string reachable from `value`: attributes, slots, containers, dataclasses."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif dataclasses.is_dataclass(value):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif hasattr(value, "__dict__"):
        items = list(vars(value).values())
    else:
        return []
    return [s for item in items for s in strings_in(item, seen)]


def test_the_cli_binds_loopback_by_default_without_a_warning(cli):
    server = cli()
    assert server.url.startswith("http://127.0.0.1:")
    assert httpx.post(server.url + "/secrets/api/keys").status_code == 401
    _out, err = server.stop()
    assert "warning" not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_the_cli_refuses_to_put_open_admin_endpoints_on_the_network(host):
    result = subprocess.run([sys.executable, "-m", "mock_server", "--host", host, "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"Error: binding {host} would put the unauthenticated /_mock/ admin endpoints on the "
                             "network: pass --admin-token TOKEN (or FLEXPRICE_MOCK_ADMIN_TOKEN), or --no-admin\n")


def test_with_an_admin_token_every_interface_is_served_and_admin_needs_the_token(cli):
    server = cli("--host", "0.0.0.0", "--admin-token", ADMIN_TOKEN, "--log-level", "debug")
    loopback = server.url.replace("0.0.0.0", "127.0.0.1")
    admin = loopback.removesuffix("/v1") + "/_mock"
    assert httpx.post(loopback + "/secrets/api/keys").status_code == 401
    refused = httpx.get(admin + "/state")
    assert (refused.status_code, refused.json()["code"]) == (401, "permission_denied")
    assert refused.headers["www-authenticate"] == "Bearer"
    assert httpx.get(admin + "/state", headers={"authorization": "Bearer wrong-token"}).status_code == 401
    assert httpx.get(admin + "/state", headers={"authorization": ADMIN_TOKEN}).status_code == 401
    assert httpx.get(admin + "/state", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
    dashboard = httpx.get(admin + "/")
    assert dashboard.status_code == 401 and 'name="token"' in dashboard.text and "Overview" not in dashboard.text
    assert httpx.get(admin + "/", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
    out, err = server.stop()
    assert "warning: binding 0.0.0.0 exposes the mock to the network" in err
    assert ADMIN_TOKEN not in out + err


def test_with_no_admin_every_interface_is_served_without_admin_endpoints(cli):
    server = cli("--host", "0.0.0.0", "--no-admin")
    loopback = server.url.replace("0.0.0.0", "127.0.0.1")
    assert httpx.post(loopback.removesuffix("/v1") + "/_mock/reset").status_code == 404
    assert httpx.get(loopback.removesuffix("/v1") + "/_mock/").status_code == 404


def test_the_admin_token_comes_from_the_environment_too_and_is_never_journalled():
    with MockServer(spec=SEED_SPEC, admin_token=ADMIN_TOKEN) as mock:
        admin = mock.url.removesuffix("/v1") + "/_mock"
        assert httpx.post(admin + "/reset").status_code == 401
        assert httpx.post(admin + "/reset", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
        assert mock.requests == []
    result = subprocess.run([sys.executable, "-m", "mock_server", "--host", "0.0.0.0", "--latency", "soon"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "FLEXPRICE_MOCK_ADMIN_TOKEN": ADMIN_TOKEN})
    assert result.stderr.splitlines()[-1].startswith("Error: --latency: ")  # past the refusal: the env token counts
    assert ADMIN_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", False), ("127.0.0.2", False), ("::1", False), ("localhost", False),
    ("0.0.0.0", True), ("::", True), ("192.0.2.10", True), ("mock.internal", True),
])
def test_every_address_but_loopback_counts_as_exposed(host, expected):
    assert exposed(host) is expected


def test_the_store_holds_digests_never_a_raw_key(seed_mock, seed_client):
    created = seed_client.post("secrets/api/keys", json={"name": "ci", "type": "private_key"}).json()
    raw = created["api_key"]
    held = strings_in(seed_mock.store)
    assert seed_mock.backend.keys.authenticate(raw) and seed_mock.backend.keys.authenticate(seed_mock.api_key)
    assert [s for s in held if raw in s or seed_mock.api_key in s] == []
    # the walk did reach the store's contents: the secret's record and the key's digest
    assert any(created["secret"]["id"] in s and '"display_id"' in s for s in held)
    assert hashlib.sha256(raw.encode()).digest().decode("latin-1") in held


def test_only_the_create_response_ever_shows_a_raw_key(full_mock, full_client):
    created = full_client.post("secrets/api/keys", json={"name": "ci", "type": "private_key"})
    raw, secret_id = created.json()["api_key"], created.json()["secret"]["id"]
    assert created.text.count(raw) == 1
    listed = full_client.get("secrets/api/keys")
    assert listed.status_code == 200
    [secret] = [item for item in listed.json()["items"] if item["id"] == secret_id]
    assert raw not in listed.text and secret["display_id"] == f"{raw[:5]}***{raw[-2:]}"


def test_admin_state_and_request_journal_never_hold_a_raw_key(seed_mock, seed_client):
    raw = seed_client.post("secrets/api/keys", json={"name": "ci", "type": "private_key"}).json()["api_key"]
    assert seed_client.post("secrets/api/keys", json={}, headers={"x-api-key": raw}).status_code == 400
    admin = seed_mock.url.removesuffix("/v1") + "/_mock"
    state, journal = httpx.get(f"{admin}/state"), httpx.get(f"{admin}/requests")
    assert (state.status_code, journal.status_code) == (200, 200)
    assert len(journal.json()["requests"]) == 2
    for text in (state.text, journal.text):
        assert raw not in text and seed_mock.api_key not in text


def test_debug_logs_never_contain_a_raw_key(cli):
    boot = "sk_boot_never_logged_0123456789"
    server = cli("--api-key", boot, "--log-level", "debug")
    created = httpx.post(server.url + "/secrets/api/keys", headers={"x-api-key": boot},
                         json={"name": "ci", "type": "private_key"})
    raw = created.json()["api_key"]
    assert httpx.post(server.url + "/secrets/api/keys", headers={"x-api-key": raw}, json={}).status_code == 400
    assert httpx.get(server.url + "/secrets/api/keys", params={"api_key": raw}).status_code == 405
    out, err = server.stop()
    assert "Application startup complete" in err  # debug logging was on and captured
    assert raw not in out + err and boot not in out + err


def test_cors_is_off_by_default(seed_mock):
    preflight = httpx.options(seed_mock.url + "/secrets/api/keys", headers=PREFLIGHT)
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers
    simple = httpx.post(seed_mock.url + "/secrets/api/keys", headers={"origin": ORIGIN})
    assert simple.status_code == 401 and "access-control-allow-origin" not in simple.headers


def test_cors_origin_gets_preflights_and_headers_on_every_answer():
    with MockServer(spec=SEED_SPEC, cors_origins=[ORIGIN]) as mock:
        url = mock.url + "/secrets/api/keys"
        preflight = httpx.options(url, headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        created = httpx.post(url, headers={"origin": ORIGIN, "x-api-key": mock.api_key},
                             json={"name": "ci", "type": "private_key"})
        refused = httpx.post(url, headers={"origin": ORIGIN})
        assert (created.status_code, refused.status_code) == (201, 401)
        assert created.headers["access-control-allow-origin"] == refused.headers["access-control-allow-origin"] == ORIGIN


def test_cors_refuses_other_origins_in_the_error_envelope():
    with MockServer(spec=SEED_SPEC, cors_origins=[ORIGIN]) as mock:
        other = {**PREFLIGHT, "origin": "https://evil.example"}
        preflight = httpx.options(mock.url + "/secrets/api/keys", headers=other)
        assert preflight.status_code == 400
        assert preflight.json() == {"code": "validation_error", "message": "Disallowed CORS origin",
                                    "http_status_code": 400}
        simple = httpx.post(mock.url + "/secrets/api/keys", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


def test_the_cli_cors_option_turns_cors_on(cli):
    server = cli("--cors", ORIGIN, "--cors", "https://other.example")
    preflight = httpx.options(server.url + "/secrets/api/keys", headers={**PREFLIGHT, "origin": "https://other.example"})
    server.stop()
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://other.example"
