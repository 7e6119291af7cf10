"""The three workloads of issue 6, each driven by wrk (timed runs) or by httpx (smoke runs).

(a) `GET /secrets/api/keys`, (b) `POST /secrets/api/keys` with a valid body, (c) the stateful
loop create customer -> get it -> search it, and (d) `POST /customers` alone, each a new customer
(the write every webhook follows). Paths are relative to a server's base URL: the mock
serves under `/v1`, Prism at the root, and the harness passes each its own base.
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


LIST_KEYS = Workload(
    "a", "GET /secrets/api/keys", "single.lua", ("GET", "/secrets/api/keys"),
    _repeat(ProbeRequest("GET", "/secrets/api/keys", None)), full_spec_only=True,
)
CREATE_KEY_WORKLOAD = Workload(
    "b", "POST /secrets/api/keys", "single.lua",
    ("POST", "/secrets/api/keys", json.dumps(API_KEY_BODY)), _repeat(CREATE_KEY),
)
MIXED = Workload(
    "c", "create+get+search customer", "mixed.lua", (), _mixed, full_spec_only=True,
)
CREATE_CUSTOMER = Workload(
    "d", "POST /customers", "create.lua", (), _creates, full_spec_only=True,
)
WORKLOADS = {w.key: w for w in (LIST_KEYS, CREATE_KEY_WORKLOAD, MIXED, CREATE_CUSTOMER)}
