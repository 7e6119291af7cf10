"""Several mocks over one Redis serve one API: keys, records, unique keys, the clock and resets
are shared; a lost Redis is a 503 in the envelope, and serving resumes when it is back."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from flexprice import Flexprice

from mock_server import MockServer
from mock_server.storage import redis_scripts

from .conftest import API_KEY

ERROR_FIELDS = {"code", "message", "http_status_code", "details"}


def _mocks(spec: Path, redis_url: str, count: int = 2, **options) -> list[MockServer]:
    return [MockServer(spec=spec, api_key=API_KEY, store=redis_url, **options).start() for _ in range(count)]


@pytest.fixture
def pair(full_spec: Path, redis_url: str):
    """Two mocks on the full spec over one Redis database, the clock frozen."""
    mocks = _mocks(full_spec, redis_url, clock="2026-01-01T00:00:00Z")
    yield mocks
    for mock in mocks:
        mock.stop()


def _client(mock: MockServer, key: str = API_KEY) -> httpx.Client:
    return httpx.Client(base_url=mock.url + "/", headers={"x-api-key": key}, timeout=15)


def _admin(mock: MockServer) -> str:
    return mock.url.removesuffix("/v1")


def test_a_key_and_a_customer_made_through_one_mock_are_read_through_the_other_with_the_sdk(pair):
    first, second = pair
    with Flexprice(server_url=first.url, api_key_auth=API_KEY) as sdk:
        key = sdk.secrets.create_api_key(name="ci", type_="private_key").api_key
    with Flexprice(server_url=first.url, api_key_auth=key) as sdk:
        created = sdk.customers.create_customer(external_id="acme-1", name="Acme")
    with Flexprice(server_url=second.url, api_key_auth=key) as sdk:
        read = sdk.customers.get_customer(id=created.id)
    assert (read.id, read.external_id, read.name) == (created.id, "acme-1", "Acme")


def test_a_unique_key_taken_through_one_mock_is_409_through_the_other(pair):
    first, second = pair
    with _client(first) as one, _client(second) as other:
        assert one.post("customers", json={"external_id": "dup", "name": "A"}).status_code == 201
        refused = other.post("customers", json={"external_id": "dup", "name": "B"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "already_exists"
    assert refused.json()["details"] == {"external_id": {"value": "dup"}}


def test_the_clock_moved_through_one_mock_moves_both(pair):
    first, second = pair
    moved = httpx.post(_admin(first) + "/_mock/clock", json={"advance": "P1M"}).json()
    assert moved["now"] == "2026-02-01T00:00:00.000Z"
    assert httpx.get(_admin(second) + "/_mock/clock").json()["now"] == "2026-02-01T00:00:00.000Z"
    with _client(second) as other:
        customer = other.post("customers", json={"external_id": "later", "name": "L"}).json()
    assert customer["created_at"] == "2026-02-01T00:00:00.000Z"


def test_a_reset_through_one_mock_resets_both_and_revokes_the_keys_made_since(pair):
    first, second = pair
    with _client(first) as one:
        key = one.post("secrets/api/keys", json={"name": "k", "type": "private_key"}).json()["api_key"]
        customer = one.post("customers", json={"external_id": "gone", "name": "G"}).json()
    assert httpx.post(_admin(second) + "/_mock/reset").status_code == 200
    with _client(first, key) as with_key, _client(first) as bootstrap:
        assert with_key.get(f"customers/{customer['id']}").status_code == 401
        assert bootstrap.get(f"customers/{customer['id']}").status_code == 404


def test_concurrent_top_ups_through_two_mocks_lose_no_credit(pair):
    first, second = pair
    with _client(first) as one:
        customer = one.post("customers", json={"external_id": "wallet-owner", "name": "W"}).json()
        wallet = one.post("wallets", json={"customer_id": customer["id"], "currency": "usd"}).json()

    def top_up(index: int) -> int:
        with _client(pair[index % 2]) as client:
            return client.post(f"wallets/{wallet['id']}/top-up",
                               json={"credits_to_add": "1.25", "transaction_reason": "FREE_CREDIT_GRANT"}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(top_up, range(64)))
    assert statuses == [200] * 64
    with _client(second) as other:
        balance = other.get(f"wallets/{wallet['id']}").json()
    assert Decimal(balance["credit_balance"]) == Decimal("80")


def test_two_namespaces_on_one_redis_do_not_see_each_other(full_spec: Path, redis_url: str):
    one, = _mocks(full_spec, redis_url, 1, namespace="ci-1")
    other, = _mocks(full_spec, redis_url, 1, namespace="ci-2")
    try:
        with _client(one) as a, _client(other) as b:
            created = a.post("customers", json={"external_id": "same", "name": "A"}).json()
            assert b.get(f"customers/{created['id']}").status_code == 404
            assert b.post("customers", json={"external_id": "same", "name": "B"}).status_code == 201
    finally:
        one.stop()
        other.stop()


def test_a_paused_redis_is_503_in_the_envelope_then_serving_resumes(full_spec: Path, redis_url: str, redis_server):
    mock, = _mocks(full_spec, redis_url, 1)
    try:
        with _client(mock) as client:
            created = client.post("customers", json={"external_id": "kept", "name": "K"}).json()
            redis_server.pause()
            started = time.monotonic()
            answers = [client.get(f"customers/{created['id']}"), client.post("customers", json={"name": "N"})]
            waited = time.monotonic() - started
            redis_server.resume()
            again = client.get(f"customers/{created['id']}")
    finally:
        redis_server.resume()
        mock.stop()
    assert [a.status_code for a in answers] == [503, 503]
    assert all(set(a.json()) == ERROR_FIELDS and a.json()["code"] == "service_unavailable" for a in answers)
    assert waited < 15  # bounded by the socket timeouts: never a hang
    assert again.status_code == 200 and again.json()["external_id"] == "kept"


def test_a_killed_redis_is_503_and_after_its_restart_what_was_acknowledged_is_there(full_spec: Path, redis_url: str,
                                                                                    redis_server):
    mock, = _mocks(full_spec, redis_url, 1)
    try:
        with _client(mock) as client:
            key = client.post("secrets/api/keys", json={"name": "k", "type": "private_key"}).json()["api_key"]
            created = client.post("customers", json={"external_id": "durable", "name": "D"}).json()
            redis_server.kill()
            down = client.get(f"customers/{created['id']}")
            redis_server.restart()
            with _client(mock, key) as with_key:
                back = with_key.get(f"customers/{created['id']}")
                more = with_key.post("customers", json={"external_id": "after", "name": "A"})
    finally:
        redis_server.ensure_running()
        mock.stop()
    assert down.status_code == 503 and down.json()["code"] == "service_unavailable"
    assert back.status_code == 200 and back.json()["external_id"] == "durable"
    assert more.status_code == 201


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # the thread ended after the listing: it has no children
            continue
        found += [int(c) for c in children]
    return found


def test_two_workers_keep_every_write_hold_unique_keys_and_share_keys(full_spec: Path, redis_url: str):
    """`--workers 2` on one port: 16 threads, 400 creates, reads and deletes, all kept."""
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--spec", str(full_spec), "--port", "0",
                                "--store", redis_url, "--workers", "2", "--api-key", API_KEY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < 3 and time.monotonic() < deadline:  # 2 workers, 1 resource tracker
            time.sleep(0.1)
        workers = [pid for pid in _children(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        before = {pid: _cpu_ticks(pid) for pid in workers}
        with httpx.Client(base_url=url + "/", headers={"x-api-key": API_KEY}, timeout=30) as admin:
            keys = [admin.post("secrets/api/keys", json={"name": f"k{i}", "type": "private_key"}).json()["api_key"]
                    for i in range(4)]

        def lifecycle(index: int) -> tuple[str, list[int]]:
            with httpx.Client(base_url=url + "/", headers={"x-api-key": keys[index % 4]}, timeout=30) as client:
                created = client.post("customers", json={"external_id": f"ext-{index}", "name": f"n{index}"})
                record = created.json()
                statuses = [created.status_code, client.get(f"customers/{record['id']}").status_code,
                            client.post("customers", json={"external_id": f"ext-{index}", "name": "dup"}).status_code]
                if index % 4 == 0:
                    statuses.append(client.delete(f"customers/{record['id']}").status_code)
                return record["id"], statuses

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lifecycle, range(100)))
        with httpx.Client(base_url=url + "/", headers={"x-api-key": keys[1]}, timeout=30) as client:
            kept = [client.get(f"customers/{record_id}").status_code for record_id, _ in results]
        after = {pid: _cpu_ticks(pid) for pid in workers}
    finally:
        process.terminate()
        process.wait(30)
    assert all(statuses[:3] == [201, 200, 409] for _, statuses in results)
    assert all(statuses[3:] == [204] for i, (_, statuses) in enumerate(results) if i % 4 == 0)
    assert len({record_id for record_id, _ in results}) == 100
    assert kept == [404 if i % 4 == 0 else 200 for i in range(100)]
    assert len(workers) == 2 and all(after[pid] > before[pid] for pid in workers)  # both served


def _round_trips(sent: list[bytes]) -> list[str]:
    """What each command sent to Redis was: a store script's name (`STAMP`), else the command's."""
    scripts = {hashlib.sha1(text.encode()).hexdigest().encode(): name
               for name, text in vars(redis_scripts).items() if name.isupper()}
    parts = [command.split(b"\r\n") for command in sent]
    return [scripts.get(p[4], b"?") if p[2] == b"EVALSHA" else p[2].decode() for p in parts]


@pytest.mark.parametrize("method, path, body, work", [
    ("GET", "secrets/api/keys", None, []),  # the page as the warm-up read it: nothing wrote it since
    ("POST", "customers", {"external_id": "trips", "name": "Trips"}, ["PUT"]),  # the tax links as read before
    ("POST", "events", {"event_name": "llm", "external_customer_id": "trips"}, ["ADD_DISTINCT_EVENTS"]),
    ("POST", "events/bulk", {"events": [{"event_name": "llm", "external_customer_id": f"c{i % 3}"} for i in range(50)]},
     ["ADD_DISTINCT_EVENTS"]),
], ids=["list", "create", "ingest", "bulk"])
def test_a_request_on_redis_reads_its_key_with_its_catching_up_in_one_round_trip_then_does_its_work(
        pair, monkeypatch, method, path, body, work):
    first, _ = pair
    sent: list[bytes] = []
    sending = redis.connection.AbstractConnection.send_packed_command

    def count(connection, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return sending(connection, command, check_health)

    with _client(first) as api:
        warm = {**body, "external_id": "warm-up"} if body and "external_id" in body else body
        assert api.request(method, path, json=warm).is_success  # scripts loaded, caches warm
        with monkeypatch.context() as patched:
            patched.setattr(redis.connection.AbstractConnection, "send_packed_command", count)
            response = api.request(method, path, json=body)
    assert response.is_success, response.text
    assert _round_trips(sent) == ["STAMP", *work]  # one script each: no HGETALL of the shared settings
