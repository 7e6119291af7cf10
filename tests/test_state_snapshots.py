"""State that survives: `GET /_mock/state/export` and `POST /_mock/state/import`, in-process
`mock.snapshot()` / `mock.restore()`, and `--state-file`, which brings a killed mock back where
it was and never leaves half a file."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from mock_server import MockServer
from mock_server.app import DEFAULT_API_KEY
from mock_server.domain.snapshots import FORMAT, VERSION

from .billing_api import START

KEY_BODY = {"name": "ci", "type": "private_key"}


def build_world(api: httpx.Client, admin: httpx.Client) -> dict:
    """A customer with a usage-priced subscription, events, an API key and a clock a month on:
    what a restored state must hold, as the API answers it."""
    customer = api.post("customers", json={"external_id": "acme", "name": "Acme"}).json()
    feature = api.post("features", json={"name": "Tokens", "type": "metered", "meter": {
        "name": "tokens", "event_name": "llm", "aggregation": {"type": "SUM", "field": "tokens"},
        "reset_usage": "BILLING_PERIOD"}}).json()
    plan = api.post("plans", json={"name": "Pro"}).json()
    common = {"currency": "usd", "entity_type": "PLAN", "entity_id": plan["id"], "billing_period": "MONTHLY",
              "price_unit_type": "FIAT"}
    assert api.post("prices", json={**common, "type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10",
                                    "invoice_cadence": "ADVANCE"}).status_code == 201
    assert api.post("prices", json={**common, "type": "USAGE", "billing_model": "FLAT_FEE", "amount": "0.5",
                                    "meter_id": feature["meter_id"], "invoice_cadence": "ARREAR"}).status_code == 201
    subscription = api.post("subscriptions", json={"customer_id": customer["id"], "plan_id": plan["id"],
                                                   "currency": "usd", "billing_period": "MONTHLY"}).json()
    for tokens in (3, 4):
        assert api.post("events", json={"event_name": "llm", "external_customer_id": "acme",
                                        "timestamp": "2026-01-05T00:00:00Z",
                                        "properties": {"tokens": str(tokens)}}).status_code == 202
    key = api.post("secrets/api/keys", json=KEY_BODY).json()["api_key"]
    assert admin.post("clock", json={"advance": "P1M"}).status_code == 200
    return {"customer": customer["id"], "subscription": subscription["id"], "key": key}


def observe(api: httpx.Client, admin: httpx.Client, world: dict) -> dict:
    """What the API and the clock say about the world, volatile nothing."""
    invoices = api.post("invoices/search", json={"subscription_id": world["subscription"]}).json()["items"]
    keyed = httpx.post(str(api.base_url) + "customers/search", json={}, headers={"x-api-key": world["key"]})
    return {
        "customer": api.get(f"customers/{world['customer']}").json(),
        "subscription": api.get(f"subscriptions/{world['subscription']}").json(),
        "invoices": sorted((i["id"], i["invoice_number"], i["billing_reason"], i["total"]) for i in invoices),
        "key": keyed.status_code,
        "clock": admin.get("clock").json()["now"],
    }


def clients(base: str, key: str = DEFAULT_API_KEY) -> tuple[httpx.Client, httpx.Client]:
    root = base.removesuffix("/v1")
    return (httpx.Client(base_url=base + "/", headers={"x-api-key": key}, timeout=10),
            httpx.Client(base_url=root + "/_mock/", timeout=10))


@pytest.fixture(scope="module")
def mock(full_spec):
    with MockServer(spec=full_spec, clock=START) as server:
        yield server


@pytest.fixture
def world(mock):
    mock.reset()
    api, admin = clients(mock.url, mock.api_key)
    with api, admin:
        made = build_world(api, admin)
        yield api, admin, made


def test_an_exported_snapshot_imported_after_a_reset_brings_every_record_key_event_and_the_clock_back(world):
    api, admin, made = world
    before = observe(api, admin, made)
    assert before["clock"] == "2026-02-01T00:00:00.000Z" and before["key"] == 200
    assert [i[2] for i in before["invoices"]] == ["SUBSCRIPTION_CREATE", "SUBSCRIPTION_CYCLE"]
    assert sorted(i[3] for i in before["invoices"]) == ["10", "13.5"]  # the renewal bills 7 tokens at 0.50
    exported = admin.get("state/export")
    assert exported.headers["content-disposition"].startswith("attachment")
    snapshot = exported.json()
    assert (snapshot["format"], snapshot["version"]) == (FORMAT, VERSION)
    assert made["key"] not in exported.text  # keys as digests only
    assert admin.post("reset").status_code == 200
    assert api.get(f"customers/{made['customer']}").status_code == 404
    imported = admin.post("state/import", content=exported.content)
    assert imported.status_code == 200, imported.text
    assert imported.json()["loaded"]["customers"] == 1 and imported.json()["records"]["invoices"] == 2
    assert observe(api, admin, made) == before
    usage = api.post("invoices/preview", json={"subscription_id": made["subscription"]}).json()
    assert usage["subtotal"] == "10"  # the new period has no usage yet: the events stayed in January
    assert api.post("invoices/search", json={}).json()["pagination"]["total"] == 2


def test_a_snapshot_of_a_newer_format_is_refused_with_a_400_that_says_so_and_changes_nothing(world):
    api, admin, made = world
    snapshot = admin.get("state/export").json()
    newer = admin.post("state/import", json={**snapshot, "version": VERSION + 1, "records": {}})
    assert newer.status_code == 400
    assert newer.json()["details"] == {"field": {"value": "version"}}
    assert newer.json()["message"].startswith(f"this snapshot is version {VERSION + 1}, written by a newer "
                                              "flexprice-mock")
    assert "upgrade it to import the snapshot" in newer.json()["message"]
    assert api.get(f"customers/{made['customer']}").status_code == 200


@pytest.mark.parametrize(("change", "field"), [
    ({"format": "fixtures"}, "format"),
    ({"records": {"/nothing": []}}, "records"),
    ({"api_keys": [{"key": "sk_raw"}]}, "api_keys[0]"),
    ({"clock": {"frozen": "yesterday", "shift": 0}}, "clock.frozen"),
    ({"events": [{"id": "e"}]}, "events[0]"),
])
def test_a_malformed_snapshot_is_a_400_naming_the_field_and_the_state_is_untouched(world, change, field):
    api, admin, made = world
    refused = admin.post("state/import", json={**admin.get("state/export").json(), **change})
    assert (refused.status_code, refused.json()["details"]) == (400, {"field": {"value": field}})
    assert api.get(f"customers/{made['customer']}").status_code == 200


def test_a_snapshot_whose_records_collide_is_refused_and_the_state_it_found_is_kept(world):
    api, admin, made = world
    snapshot = admin.get("state/export").json()
    twin = {**snapshot["records"]["/customers"][0], "id": "cust_twin"}
    clash = {**snapshot, "records": {**snapshot["records"], "/customers": [*snapshot["records"]["/customers"], twin]}}
    refused = admin.post("state/import", json=clash)
    assert (refused.status_code, refused.json()["code"]) == (409, "already_exists")
    assert api.get("customers/cust_twin").status_code == 404
    assert observe(api, admin, made)["invoices"][0][2] == "SUBSCRIPTION_CREATE"


def test_in_process_a_world_built_once_is_restored_before_each_test(mock, world):
    api, admin, made = world
    saved = mock.snapshot()
    before = observe(api, admin, made)
    for round_ in range(3):
        api.post("customers", json={"external_id": f"extra-{round_}", "name": "Extra"})
        mock.clock.advance("P1M")
        assert mock.restore(saved)["customers"] == 1
        assert mock.requests == []  # the journal starts again, as after a reset
        assert observe(api, admin, made) == before


def test_a_snapshot_restores_into_a_mock_on_redis(full_spec, redis_url, world):
    api, admin, made = world
    saved = admin.get("state/export").json()
    before = observe(api, admin, made)
    with MockServer(spec=full_spec, clock=START, store=redis_url) as shared:
        assert shared.restore(saved)["subscriptions"] == 1
        other_api, other_admin = clients(shared.url, shared.api_key)
        with other_api, other_admin:
            assert observe(other_api, other_admin, made) == before
            assert other_admin.get("state/export").json()["records"] == saved["records"]


# -- --state-file ---------------------------------------------------------------------------------
def start(full_spec: Path, state: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", "0", "--spec", str(full_spec), "--clock", START,
         "--state-file", str(state), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line, process.stderr.read()
    return process, line


def killed(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_a_mock_killed_and_restarted_with_its_state_file_has_everything_and_the_clock(full_spec, tmp_path):
    state = tmp_path / "state.json"
    process, url = start(full_spec, state, "--state-interval", "0.2")
    try:
        api, admin = clients(url)
        with api, admin:
            made = build_world(api, admin)
            before = observe(api, admin, made)
            deadline = time.monotonic() + 10
            while made["subscription"] not in state.read_text() or '"shift"' not in state.read_text() or \
                    orjson.loads(state.read_bytes())["clock"]["frozen"] != "2026-02-01T00:00:00+00:00":
                assert time.monotonic() < deadline, "the state was never saved"
                time.sleep(0.05)
    finally:
        killed(process)
    process, url = start(full_spec, state)
    try:
        api, admin = clients(url)
        with api, admin:
            assert observe(api, admin, made) == before
    finally:
        process.terminate()
        process.wait(10)


def test_kill_9_during_a_save_leaves_the_previous_snapshot_whole_and_loadable(full_spec, tmp_path):
    """20,000 events make each save take a while. The mock is stopped as soon as a save's
    temporary file appears; if the file is still there the save is caught halfway (else it is
    let go and tried again), and the mock is killed there."""
    state, strays = tmp_path / "state.json", lambda: list(tmp_path.glob(".state.json.*.tmp"))
    process, url = start(full_spec, state, "--state-interval", "0.05")
    try:
        api, _ = clients(url)
        for batch in range(20):
            events = [{"event_name": "llm", "external_customer_id": "first", "timestamp": "2026-01-05T00:00:00Z",
                       "properties": {"tokens": str(n), "padding": "x" * 100}} for n in range(1000)]
            assert api.post("events/bulk", json={"events": events}).status_code == 202
        deadline = time.monotonic() + 120  # a guard against hanging, not a timing (loaded machines are slow)
        while len(orjson.loads(state.read_bytes())["events"]) < 20_000 or strays():
            assert time.monotonic() < deadline, "the events were never saved"
            time.sleep(0.05)
        for attempt in range(50):
            made = api.post("customers", json={"external_id": f"c{attempt}", "name": "C"}).json()
            deadline = time.monotonic() + 60
            while not strays():
                assert time.monotonic() < deadline, "no save started"
            process.send_signal(signal.SIGSTOP)
            if strays():
                break  # stopped between writing the temporary file and renaming it
            process.send_signal(signal.SIGCONT)
        else:
            pytest.fail("never caught a save halfway")
        killed(process)
    finally:
        if process.poll() is None:
            killed(process)
    assert strays(), "killed mid-save: its temporary file is left"
    previous = orjson.loads(state.read_bytes())  # whole JSON: the snapshot saved before
    ids = {c["id"] for c in previous["records"].get("/customers", [])}
    assert made["id"] not in ids and len(previous["events"]) == 20_000
    process, url = start(full_spec, state)
    try:
        api, _ = clients(url)
        assert api.post("customers/search", json={}).json()["pagination"]["total"] == len(ids)
        assert api.get(f"customers/{made['id']}").status_code == 404
        assert not strays()  # the stray is cleaned up at start
    finally:
        process.terminate()
        process.wait(10)


def test_a_state_file_that_is_not_a_snapshot_is_one_error_line_and_exit_2(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"format": "something else"}')
    result = subprocess.run([sys.executable, "-m", "mock_server", "--port", "0", "--state-file", str(state)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f'Error: --state-file {state}: cannot restore it: a snapshot is a JSON object with "format": '
        '"flexprice-mock-snapshot", as GET /_mock/state/export answers']
