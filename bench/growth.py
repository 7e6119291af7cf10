"""How request cost and memory grow with the store (issue 6, item 4), measured in-process.

The full-spec app (`mock_server.app.create_app`) is driven through httpx's ASGI transport, so the
figures include Connexion routing and validation but no sockets. The store is filled through the
domain call the create handler uses (`Backend.create`), step by step up to each size; memory per
stored customer is the growth of the Python heap (tracemalloc) over that fill divided by the
records added. At each size the median of repeated requests is taken for: get by id, lookup by
external id (`GET /customers/external/{external_id}`), and a filtered search page (1 record in 100
matches, 50 per page), whose cost per stored record shows whether it stays one pass.
"""
from __future__ import annotations

import asyncio
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bench.servers import API_KEY
from mock_server.app import create_app

GROUPS = 100
SAMPLE_SECONDS = 2.0
MAX_SAMPLES = 300
MIN_SAMPLES = 5


@dataclass(slots=True, frozen=True)
class Step:
    """The figures at one store size."""

    size: int
    bytes_per_record: float
    get_us: float
    lookup_us: float
    search_us: float
    rss_mib: float


def customer(i: int) -> dict:
    return {"external_id": f"growth-{i}", "name": f"customer {i}", "email": f"group-{i % GROUPS}@example.com"}


def fill(app, start: int, stop: int) -> float:
    """Create customers start..stop-1; Python-heap bytes added per record."""
    api = app.state
    customers = next(r for r in api.model.resources.values() if r.collection == "/customers")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(start, stop):
        api.create(customers, customer(i))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown / (stop - start)


async def median_us(send: Callable[[int], object]) -> float:
    """Median latency of `send(i)` over a bounded number of calls (time- and count-limited)."""
    samples: list[float] = []
    deadline = time.perf_counter() + SAMPLE_SECONDS
    while len(samples) < MAX_SAMPLES and (len(samples) < MIN_SAMPLES or time.perf_counter() < deadline):
        started = time.perf_counter()
        response = await send(len(samples))
        samples.append((time.perf_counter() - started) * 1e6)
        response.raise_for_status()
    return statistics.median(samples)


async def measure(app, size: int, bytes_per_record: float) -> Step:
    ids = [r["id"] for r in app.state.store.select("/customers")]
    picks = random.Random(size)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1",
                                 headers={"x-api-key": API_KEY}) as client:
        get_us = await median_us(lambda n: client.get(f"/customers/{picks.choice(ids)}"))
        lookup_us = await median_us(
            lambda n: client.get(f"/customers/external/growth-{picks.randrange(size)}"))
        search_us = await median_us(lambda n: client.post(
            "/customers/search", json={"email": f"group-{n % GROUPS}@example.com", "limit": 50}))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Step(size, bytes_per_record, get_us, lookup_us, search_us, rss_mib)


def table(steps: list[Step]) -> str:
    first = steps[0]
    rows = [
        "| stored customers | get by id µs | lookup by external id µs | filtered search page µs "
        "| search ns per stored record | heap bytes per customer | peak RSS MiB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in steps:
        rows.append(
            f"| {s.size:,} | {s.get_us:.0f} ({s.get_us / first.get_us:.2f}x) "
            f"| {s.lookup_us:.0f} ({s.lookup_us / first.lookup_us:.2f}x) "
            f"| {s.search_us:,.0f} ({s.search_us / first.search_us:.1f}x) | {s.search_us * 1000 / s.size:.0f} "
            f"| {s.bytes_per_record:,.0f} | {s.rss_mib:.0f} |"
        )
    return "\n".join(rows)


def run(spec_path: str, sizes: list[int]) -> list[Step]:
    app = create_app(spec_path, api_keys=[API_KEY])
    steps, stored = [], 0
    for size in sorted(sizes):
        per_record = fill(app, stored, size)
        stored = size
        step = asyncio.run(measure(app, size, per_record))
        steps.append(step)
        print(f"  {size:,} customers: get {step.get_us:.0f} µs, lookup {step.lookup_us:.0f} µs, "
              f"search {step.search_us:,.0f} µs, {per_record:,.0f} B/record", file=sys.stderr, flush=True)
    return steps


def main(spec_path: str, sizes: list[int]) -> int:
    print(table(run(spec_path, sizes)))
    return 0
