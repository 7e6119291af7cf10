"""What a reset and an invoice preview cost on each store (issue 13), timed in process.

Each store gets an in-process `MockServer` on the full spec with the sample fixtures and a
frozen clock, all of them up at once. A reset is `POST /_mock/reset`: everything cleared, the
fixtures loaded again, as between two tests. The preview is `POST /invoices/preview` of the
billing tests' worked subscription (tests/billing_api.py: five usage prices, an entitlement, six
events), which reads the subscription, its prices, meters and the customer's events from the
store. Calls alternate between the stores (memory, redis, memory, ...), so a drift of the
machine hits each alike; each figure is the median of `samples` calls, with the ratio against
the memory store.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stores import BENCH_DB, MEMORY, Backend
from mock_server import MockServer
from tests.billing_api import START, Api, worked_subscription
from tests.redis_server import RedisServer

NAMESPACE = "bench-costs"
Call = Callable[[], httpx.Response]


@dataclass(slots=True, frozen=True)
class Costs:
    backend: Backend
    reset_ms: float
    preview_ms: float


class _Unchecked:
    @staticmethod
    def check(response: httpx.Response) -> None:
        """The billing builders check every answer against the spec: the tests' business, not
        the bench's (`Api.ok` still insists on a 2xx)."""


def open_mock(stack: ExitStack, spec: Path, backend: Backend, redis: RedisServer | None) -> MockServer:
    """A fresh in-process mock on `backend`'s store (a Redis one on an emptied DB)."""
    options = {}
    if backend.store != MEMORY:
        redis.flush(BENCH_DB)
        options = {"store": redis.url(BENCH_DB), "namespace": NAMESPACE}
    return stack.enter_context(MockServer(spec=spec, clock=START, fixtures=["sample"], **options))


def client(stack: ExitStack, mock: MockServer) -> httpx.Client:
    return stack.enter_context(httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=30))


def medians_ms(calls: list[Call], samples: int) -> list[float]:
    """The median time of each call, the calls taking turns."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(samples):
        for call, taken in zip(calls, times):
            started = time.perf_counter()
            call().raise_for_status()
            taken.append((time.perf_counter() - started) * 1000)
    return [statistics.median(taken) for taken in times]


def reset(api: httpx.Client, mock: MockServer) -> Call:
    url = mock.url.removesuffix("/v1") + "/_mock/reset"
    return lambda: api.post(url)


def preview(api: httpx.Client) -> Call:
    """Build the worked subscription through `api`; the call previews its invoice."""
    subscription = worked_subscription(Api(api, _Unchecked()))
    return lambda: api.post("invoices/preview", json={"subscription_id": subscription["id"]})


def measure(spec: Path, stores: list[Backend], redis: RedisServer | None, samples: int) -> list[Costs]:
    with ExitStack() as stack:
        mocks = [open_mock(stack, spec, backend, redis) for backend in stores]
        apis = [client(stack, mock) for mock in mocks]
        resets = medians_ms([reset(api, mock) for api, mock in zip(apis, mocks)], samples)
        previews = medians_ms([preview(api) for api in apis], samples)
    found = [Costs(*figures) for figures in zip(stores, resets, previews)]
    for c in found:
        print(f"  costs on {c.backend.label}: reset {c.reset_ms:.2f} ms, invoice preview {c.preview_ms:.2f} ms",
              file=sys.stderr, flush=True)
    return found


def table(found: list[Costs], samples: int) -> str:
    memory = next((c for c in found if c.backend.store == MEMORY), None)

    def ratio(value: float, base: float | None) -> str:
        return f"{value / base:.2f}x" if base else ""

    rows = [f"| store | `POST /_mock/reset` ms (median of {samples}) | vs memory "
            f"| `POST /invoices/preview` ms (median of {samples}) | vs memory |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for c in found:
        rows.append(f"| {c.backend.store} | {c.reset_ms:.2f} | {ratio(c.reset_ms, memory and memory.reset_ms)} "
                    f"| {c.preview_ms:.2f} | {ratio(c.preview_ms, memory and memory.preview_ms)} |")
    return "\n".join(rows)


def run(spec: Path, backends: list[Backend], redis: RedisServer | None, samples: int) -> str:
    """One in-process mock per store (workers are a CLI matter, so one process each)."""
    return table(measure(spec, [b for b in backends if b.workers == 1], redis, samples), samples)
