"""The domain on its own: a backend built from a spec model, a store and a clock, with no app, no
request and no Connexion, creating and billing through the same services the HTTP layer calls.

The amounts are BILLING.md's worked volume example (170 tokens on tiers of 0.10 up to 100, 0.05
plus a flat 2 up to 1000: 10.50), reached here without a byte of HTTP.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from flexprice_spec.document import Spec
from flexprice_spec.resources import infer
from mock_server.core.failures import Conflict, Invalid, NotFound
from mock_server.domain.backend import Backend
from mock_server.domain.clock import Clock
from mock_server.domain.replica import Replica
from mock_server.storage.opening import open_store

from .billing_api import VOLUME_TIERS

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def spec(full_spec) -> Spec:
    return Spec.load(full_spec)


@pytest.fixture
def backend(spec: Spec) -> Backend:
    model = infer(spec)
    store = open_store(None, {r.collection: r.unique_keys for r in model.resources.values()})
    backend = Backend(spec, model, Replica(store, Clock(START)))
    backend.lifecycle.ready()
    return backend


def create(backend: Backend, entity: str, **fields) -> dict:
    return backend.create(backend.records.resource(entity), fields)


def test_the_domain_imports_neither_connexion_nor_a_server() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, mock_server.domain.backend; "
                               "print(sorted({'connexion', 'starlette', 'uvicorn'} & set(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_a_subscription_billed_through_the_backend_previews_the_worked_volume_amount(backend: Backend) -> None:
    feature = create(backend, "feature", name="Tokens", type="metered", meter={
        "name": "tokens", "event_name": "llm", "aggregation": {"type": "SUM", "field": "tokens"}})
    plan = create(backend, "plan", name="Pro")
    create(backend, "price", type="USAGE", billing_model="TIERED", tier_mode="VOLUME", tiers=VOLUME_TIERS,
           currency="usd", entity_type="PLAN", entity_id=plan["id"], billing_period="MONTHLY",
           invoice_cadence="ARREAR", price_unit_type="FIAT", meter_id=feature["meter_id"])
    customer = create(backend, "customer", external_id="A", name="A")
    subscription = create(backend, "subscription", customer_id=customer["id"], plan_id=plan["id"],
                          currency="usd", billing_period="MONTHLY")
    backend.billing.usage.ingest([
        {"event_name": "llm", "external_customer_id": "A", "timestamp": "2026-01-02T00:00:00Z",
         "properties": {"tokens": "100"}},
        {"event_name": "llm", "external_customer_id": "A", "timestamp": "2026-01-03T00:00:00Z",
         "properties": {"tokens": "70"}},
    ])
    preview = backend.billing.invoices.preview(subscription, None, None, False)
    assert (Decimal(preview["subtotal"]), Decimal(preview["total"])) == (Decimal("10.50"), Decimal("10.50"))
    assert [(line["quantity"], line["amount"]) for line in preview["line_items"]] == [("170", "10.5")]


def test_the_backends_refusals_are_failures_in_domain_terms(backend: Backend) -> None:
    customers = backend.records.resource("customer")
    with pytest.raises(NotFound) as missing:
        backend.existing(customers, "cust_unknown")
    assert (missing.value.message, missing.value.details) == ("customer cust_unknown not found", {"id": "cust_unknown"})
    create(backend, "customer", external_id="A", name="A")
    with pytest.raises(Conflict):
        create(backend, "customer", external_id="A", name="again")
    with pytest.raises(Invalid) as invalid:
        backend.create_api_key(backend.records.resource("secret_api_key"), {"name": "x", "type": "integration"}, None)
    assert invalid.value.field == "type"


def test_a_reset_empties_the_backend_and_starts_the_clock_again(backend: Backend) -> None:
    create(backend, "customer", external_id="A", name="A")
    backend.clock.advance("P1M")
    backend.reset()
    assert list(backend.query(backend.records.resource("customer"), {})) == []
    assert backend.clock.now() == START
