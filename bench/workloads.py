"""The workloads, each driven by wrk (timed runs) or by httpx (smoke runs).

(a) `GET /secrets/api/keys`, (b) `POST /secrets/api/keys` with a valid body, (c) the stateful
loop create customer -> get it -> search it, (d) `POST /customers` alone, each a new customer
(the write every webhook follows), (e) `POST /events`, one usage event, and (f) `POST
/events/bulk` with 100 events (`per_request` = 100: its figures are also given per event).
Paths are relative to a server's base URL: the mock serves under `/v1`, Prism at the root, and
the harness passes each its own base. `samples` are requests of each kind the workload sends,
whose answers the bare limit and WireMock replay (`bench.peers`), with the path pattern they
answer.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.servers import ProbeRequest, auth_headers

LUA_DIR = Path(__file__).resolve().parent / "lua"
API_KEY_BODY = {"name": "bench", "type": "private_key"}
CREATE_KEY = ProbeRequest("POST", "/secrets/api/keys", API_KEY_BODY)


@dataclass(slots=True, frozen=True)
class Workload:
    """What to send: a Lua script plus its arguments for wrk, a Python twin for smoke runs."""

    key: str
    title: str
    script: str
    wrk_args: tuple[str, ...]
    smoke: Callable[[httpx.Client, str, int], list[httpx.Response]]
    full_spec_only: bool = False
    samples: tuple[tuple[ProbeRequest, str], ...] = ()  # (a request, the path pattern it stands for)
    per_request: int = 1  # units of work per request: events in a bulk

    def lua(self) -> str:
        """The script wrk loads: the workload's own code followed by the shared reporter."""
        return (LUA_DIR / self.script).read_text() + "\n" + (LUA_DIR / "report.lua").read_text()


def _repeat(request: ProbeRequest) -> Callable[[httpx.Client, str, int], list[httpx.Response]]:
    def send(client: httpx.Client, base_url: str, count: int) -> list[httpx.Response]:
        return [request.send(client, base_url) for _ in range(count)]

    return send


def _mixed(client: httpx.Client, base_url: str, count: int) -> list[httpx.Response]:
    """The same create -> get -> search chain as mixed.lua, `count` requests in all."""
    responses: list[httpx.Response] = []
    headers = auth_headers()
    while len(responses) < count:
        body = {"external_id": f"smoke-{len(responses)}", "name": "x"}
        created = client.post(f"{base_url}/customers", json=body, headers=headers)
        responses.append(created)
        if created.status_code != 201:
            continue
        customer = created.json()
        search = {"external_id": customer["external_id"]}
        responses.append(client.get(f"{base_url}/customers/{customer['id']}", headers=headers))
        responses.append(client.post(f"{base_url}/customers/search", json=search, headers=headers))
    return responses[:count]


def _creates(client: httpx.Client, base_url: str, count: int) -> list[httpx.Response]:
    """The same creates as create.lua."""
    return [client.post(f"{base_url}/customers", json={"external_id": f"smoke-{n}", "name": "x"},
                        headers=auth_headers()) for n in range(count)]


EVENT_BODY = {"event_name": "tokens", "external_customer_id": "bench-customer", "properties": {"tokens": "3"}}
BULK_SIZE = 100
BULK_BODY = {"events": [{"event_name": "tokens", "external_customer_id": f"bench-customer-{i % 10}",
                         "properties": {"tokens": str(i % 50), "model": "m"}} for i in range(BULK_SIZE)]}
LIST = ProbeRequest("GET", "/secrets/api/keys", None)
EVENT = ProbeRequest("POST", "/events", EVENT_BODY)
BULK = ProbeRequest("POST", "/events/bulk", BULK_BODY)
CUSTOMER = ProbeRequest("POST", "/customers", {"external_id": "bench-sample", "name": "x"})
ID = "[^/]+"

LIST_KEYS = Workload(
    "a", "GET /secrets/api/keys", "single.lua", ("GET", "/secrets/api/keys"),
    _repeat(LIST), full_spec_only=True, samples=((LIST, "/secrets/api/keys"),),
)
CREATE_KEY_WORKLOAD = Workload(
    "b", "POST /secrets/api/keys", "single.lua",
    ("POST", "/secrets/api/keys", json.dumps(API_KEY_BODY)), _repeat(CREATE_KEY),
    samples=((CREATE_KEY, "/secrets/api/keys"),),
)
MIXED = Workload(
    "c", "create+get+search customer", "mixed.lua", (), _mixed, full_spec_only=True,
    samples=((CUSTOMER, "/customers"), (ProbeRequest("GET", "/customers/{id}", None), f"/customers/{ID}"),
             (ProbeRequest("POST", "/customers/search", {"external_id": "bench-sample"}), "/customers/search")),
)
CREATE_CUSTOMER = Workload(
    "d", "POST /customers", "create.lua", (), _creates, full_spec_only=True, samples=((CUSTOMER, "/customers"),),
)
INGEST = Workload(
    "e", "POST /events", "single.lua", ("POST", "/events", json.dumps(EVENT_BODY)), _repeat(EVENT),
    full_spec_only=True, samples=((EVENT, "/events"),),
)
BULK_INGEST = Workload(
    "f", f"POST /events/bulk ({BULK_SIZE} events)", "single.lua", ("POST", "/events/bulk", json.dumps(BULK_BODY)),
    _repeat(BULK), full_spec_only=True, samples=((BULK, "/events/bulk"),), per_request=BULK_SIZE,
)
WORKLOADS = {w.key: w for w in (LIST_KEYS, CREATE_KEY_WORKLOAD, MIXED, CREATE_CUSTOMER, INGEST, BULK_INGEST)}
