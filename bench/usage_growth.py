"""How billing reads grow with stored usage events (issues 11 and 28), measured in-process.

One customer with a subscription (a fixed ADVANCE fee and a SUM usage price) is read through
`POST /invoices/preview` and `POST /subscriptions/usage` while events pile up, through httpx's
ASGI transport. Two series: events of *other* customers (10k, 100k, 1M: the reads must stay
flat, since they go through the index by customer and event name) and events of the customer
itself (1k .. 100k, inside its current period). A read follows the window's running tally
(`domain/billing/tallies.py`), kept up to date as events are ingested; the "cold" preview is
one read right after the process's tallies were dropped (as another process's write drops
them), so it scans the window once. Memory per event is the growth of the Python heap
(tracemalloc) over the ingest, divided by the events. Events are stored through the ingest
service (`Billing.usage.ingest`), as `POST /events/bulk` stores them, in batches of 1,000.
"""
from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc
from dataclasses import dataclass

import httpx

from bench.growth import median_us
from bench.servers import API_KEY
from mock_server.app import create_app
from mock_server.core.times import parse_instant
from mock_server.domain.clock import Clock

START = "2026-01-01T00:00:00Z"
BATCH = 1000
CUSTOMER = "usage-growth-customer"


@dataclass(slots=True, frozen=True)
class Step:
    series: str
    events: int
    bytes_per_event: float
    preview_us: float
    usage_us: float
    cold_preview_us: float


def ingest(app, count: int, customer: str | None, offset: int) -> float:
    """Store `count` events (of `customer`, or spread over 10,000 others); heap bytes per event."""
    usage = app.state.billing.usage
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for first in range(0, count, BATCH):
        usage.ingest([{"event_name": "tokens", "external_customer_id": customer or f"other-{(offset + i) % 10_000}",
                       "timestamp": f"2026-01-{1 + (offset + i) % 28:02d}T12:00:00Z",
                       "properties": {"tokens": str(1 + i % 50), "model": "gpt-4"}}
                      for i in range(first, min(first + BATCH, count))])
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown / count


async def setup(client: httpx.AsyncClient) -> str:
    """The customer, a metered feature, a plan with a fixed and a usage price, a subscription."""
    async def post(path: str, body: dict) -> dict:
        response = await client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    await post("/customers", {"external_id": CUSTOMER, "name": "Growth"})
    feature = await post("/features", {"name": "Tokens", "type": "metered", "meter": {
        "name": "Tokens", "event_name": "tokens", "aggregation": {"type": "SUM", "field": "tokens"},
        "reset_usage": "BILLING_PERIOD"}})
    plan = await post("/plans", {"name": "Growth"})
    common = {"entity_type": "PLAN", "entity_id": plan["id"], "currency": "usd", "billing_period": "MONTHLY",
              "billing_model": "FLAT_FEE", "price_unit_type": "FIAT"}
    await post("/prices", {**common, "type": "FIXED", "amount": "10", "invoice_cadence": "ADVANCE"})
    await post("/prices", {**common, "type": "USAGE", "amount": "0.01", "invoice_cadence": "ARREAR",
                           "meter_id": feature["meter_id"]})
    subscription = await post("/subscriptions", {"external_customer_id": CUSTOMER, "plan_id": plan["id"],
                                                 "currency": "usd", "billing_period": "MONTHLY"})
    return subscription["id"]


async def measure(app, client: httpx.AsyncClient, subscription_id: str) -> tuple[float, float, float]:
    def preview(n: int):
        return client.post("/invoices/preview", json={"subscription_id": subscription_id})

    app.state.billing.usage.tallies.clear()
    started = time.perf_counter()
    (await preview(0)).raise_for_status()
    cold = (time.perf_counter() - started) * 1e6
    previews = await median_us(preview)
    usage = await median_us(lambda n: client.post("/subscriptions/usage", json={"subscription_id": subscription_id}))
    return previews, usage, cold


async def series(spec_path: str, name: str, sizes: list[int], own: bool) -> list[Step]:
    app = create_app(spec_path, api_keys=[API_KEY], clock=Clock(parse_instant(START, "clock")))
    steps, stored = [], 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock/v1",
                                 headers={"x-api-key": API_KEY}) as client:
        subscription_id = await setup(client)
        gc.collect()
        gc.freeze()  # as the CLI does after start-up: collections then walk only what requests made
        for size in sorted(sizes):
            started = time.perf_counter()
            per_event = ingest(app, size - stored, CUSTOMER if own else None, stored)
            stored = size
            preview, usage, cold = await measure(app, client, subscription_id)
            steps.append(Step(name, size, per_event, preview, usage, cold))
            print(f"  {name}: {size:,} events ({time.perf_counter() - started:.1f} s): preview {preview:,.0f} µs "
                  f"(cold {cold:,.0f} µs), usage {usage:,.0f} µs, {per_event:,.0f} B/event", file=sys.stderr, flush=True)
    return steps


def table(steps: list[Step]) -> str:
    rows = ["| stored events | preview µs | /subscriptions/usage µs | cold preview µs (one scan) | heap bytes per event |",
            "| --- | ---: | ---: | ---: | ---: |"]
    first = {}
    for s in steps:
        base = first.setdefault(s.series, s)
        rows.append(f"| {s.events:,} {s.series} | {s.preview_us:,.0f} ({s.preview_us / base.preview_us:.2f}x) "
                    f"| {s.usage_us:,.0f} ({s.usage_us / base.usage_us:.2f}x) | {s.cold_preview_us:,.0f} "
                    f"| {s.bytes_per_event:,.0f} |")
    return "\n".join(rows)


def run(spec_path: str, others: list[int], own: list[int]) -> list[Step]:
    return [*asyncio.run(series(spec_path, "of other customers", others, own=False)),
            *asyncio.run(series(spec_path, "of the customer itself", own, own=True))]


def main(spec_path: str, others: list[int], own: list[int]) -> int:
    print(table(run(spec_path, others, own)))
    return 0
