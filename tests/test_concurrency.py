"""400 creates from 16 threads at once against the live mock, with reads and deletes in between:
every write is kept, ids and raw keys are unique, every new key works, nothing answers 5xx."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

THREADS, CREATES = 16, 400
PER_THREAD = CREATES // THREADS
DELETED = THREADS * len(range(0, PER_THREAD, 4))  # each thread deletes its every fourth customer


def in_parallel(mock, work) -> list:
    """`work(client, thread_index)` in `THREADS` threads released together; their results, in order."""
    start = threading.Barrier(THREADS)

    def run(index: int):
        with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=60) as client:
            start.wait(timeout=30)
            return work(client, index)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_concurrent_api_key_creates_are_all_kept_unique_and_working(seed_mock):
    def create_and_use(client: httpx.Client, index: int) -> list[tuple[int, dict, int]]:
        results = []
        for n in range(PER_THREAD):
            created = client.post("secrets/api/keys", json={"name": f"t{index}-{n}", "type": "private_key"})
            body = created.json()
            # `{}` lacks the required `type`: a 400 (not a 401) proves the new key authenticated
            used = client.post("secrets/api/keys", json={}, headers={"x-api-key": body.get("api_key", "")})
            results.append((created.status_code, body, used.status_code))
        return results

    results = [r for thread in in_parallel(seed_mock, create_and_use) for r in thread]
    assert [status for status, _, _ in results] == [201] * CREATES
    assert [status for _, _, status in results] == [400] * CREATES
    raw_keys = {body["api_key"] for _, body, _ in results}
    secret_ids = {body["secret"]["id"] for _, body, _ in results}
    assert len(raw_keys) == len(secret_ids) == CREATES
    assert all(seed_mock.backend.keys.authenticate(raw) for raw in raw_keys)
    assert len(seed_mock.store.select("/secrets/api/keys")) == CREATES


def test_concurrent_customer_creates_reads_and_deletes_keep_every_write(full_mock):
    def lifecycle(client: httpx.Client, index: int) -> list[tuple[str, str, list[int]]]:
        results = []
        for n in range(PER_THREAD):
            external = f"ext-{index}-{n}"
            created = client.post("customers", json={"external_id": external, "name": f"Customer {index}/{n}"})
            customer_id = created.json().get("id", "")
            statuses = [created.status_code, client.get(f"customers/{customer_id}").status_code]
            if n % 4 == 0:
                statuses.append(client.delete(f"customers/{customer_id}").status_code)
            results.append((customer_id, external, statuses))
        return results

    results = [r for thread in in_parallel(full_mock, lifecycle) for r in thread]
    deleted = {cid for cid, _, statuses in results if len(statuses) == 3}
    kept = {cid: external for cid, external, statuses in results if len(statuses) == 2}
    assert [statuses[:2] for _, _, statuses in results] == [[201, 200]] * CREATES
    assert all(statuses[2] == 204 for _, _, statuses in results if len(statuses) == 3)  # the spec documents 204
    assert len({cid for cid, _, _ in results}) == CREATES
    assert len(deleted) == DELETED and len(kept) == CREATES - DELETED

    with httpx.Client(base_url=full_mock.url + "/", headers={"x-api-key": full_mock.api_key}, timeout=60) as client:
        listed = client.post("customers/search", json={"limit": 1000}).json()
        assert listed["pagination"]["total"] == len(kept)
        assert {c["id"]: c["external_id"] for c in listed["items"]} == kept
        assert {client.get(f"customers/{cid}").status_code for cid in deleted} == {404}
