"""The billing objects the checks share, built once per run through the API as a client would.

A metered feature with its meter (SUM over `tokens`) and a second one (COUNT of requests); a plan
with a price of every billing model (a FIXED flat fee in advance; on the tokens meter a USAGE flat
fee, a package, a tiered VOLUME and a tiered SLAB price; on the requests meter a flat fee); a
metered entitlement of the plan on the requests feature with a limit; a customer with a monthly
subscription to the plan; events for both meters inside its period; its opening invoice. The
bodies are the real server's rules (BILLING.md), in the spec's field names.

A part the server refused (or whose operation is not under test) is missing, with the reason; the
checks that need it say so. `subscribe` makes a further customer and subscription on the same
plan, for the checks that change one (a payment, a cancel).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from .billing_rules import iso, parse_time
from .client import Exchange
from .records import Record, create_record, items_of, joined, op_for, record_of
from .semantic import Context

INGEST = "ingestEvent"
TOKENS = (40, 70, 60)  # the first is sent twice with the same event id: it counts once
REQUESTS = 3
ALLOWANCE = 2  # the plan's entitlement on requests: 3 sent, 1 billable
PRICES: dict[str, dict] = {
    "fixed": {"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10", "invoice_cadence": "ADVANCE"},
    "flat_fee": {"type": "USAGE", "billing_model": "FLAT_FEE", "amount": "0.0123", "invoice_cadence": "ARREAR"},
    "package": {"type": "USAGE", "billing_model": "PACKAGE", "amount": "5", "transform_quantity": {"divide_by": 100},
                "invoice_cadence": "ARREAR"},
    "volume": {"type": "USAGE", "billing_model": "TIERED", "tier_mode": "VOLUME", "invoice_cadence": "ARREAR",
               "tiers": [{"up_to": 100, "unit_amount": "0.10"}, {"up_to": 1000, "unit_amount": "0.05", "flat_amount": "2"},
                         {"unit_amount": "0.01"}]},
    "slab": {"type": "USAGE", "billing_model": "TIERED", "tier_mode": "SLAB", "invoice_cadence": "ARREAR",
             "tiers": [{"up_to": 100, "unit_amount": "0.10"}, {"unit_amount": "0.05", "flat_amount": "1"}]},
    "per_request": {"type": "USAGE", "billing_model": "FLAT_FEE", "amount": "0.50", "invoice_cadence": "ARREAR"},
}
METER_OF_PRICE = {"flat_fee": "tokens", "package": "tokens", "volume": "tokens", "slab": "tokens", "per_request": "requests"}


@dataclass
class Chain:
    features: dict[str, Record] = field(default_factory=dict)  # "tokens", "requests"
    plan: Record | None = None
    prices: dict[str, Record] = field(default_factory=dict)  # by the keys of PRICES
    entitlement: Record | None = None
    customer: Record | None = None
    subscription: Record | None = None
    invoice: dict | None = None  # the subscription's opening invoice, as read back
    usage: dict[str, Decimal] = field(default_factory=dict)  # meter -> what the events sent add up to
    missing: dict[str, str] = field(default_factory=dict)  # part -> why it is not there
    trace: list[Exchange] = field(default_factory=list)

    def need(self, ctx: Context, *parts: str) -> bool:
        """Whether every part is there; else the check notes which is not, and why."""
        absent = [part for part in parts if not getattr(self, part, None) and part not in self.features]
        for part in absent:
            ctx.not_covered(PART_RESOURCE.get(part, part), f"no {part}: {self.missing.get(part, 'not built')}")
        if not absent:
            ctx.use(self.trace)
        return not absent


PART_RESOURCE = {"plan": "/plans", "entitlement": "/entitlements", "customer": "/customers",
                 "subscription": "/subscriptions", "invoice": "/invoices", "usage": "/events"}


def chain(ctx: Context) -> Chain:
    """The run's chain, built on first use (never under --read-only)."""
    if "__chain__" not in ctx.samples:
        built = Chain()
        ctx.samples["__chain__"] = built
        if ctx.read_only:
            built.missing = dict.fromkeys(("plan", "subscription", "invoice", "usage"), "--read-only")
        else:
            with ctx.unattributed():  # building is not what the check that first needs it checks
                _build(ctx, built)
    return ctx.samples["__chain__"]


def _build(ctx: Context, built: Chain) -> None:
    before = {id(exchange) for exchange in ctx.trace}
    for name, aggregation in (("tokens", {"type": "SUM", "field": "tokens"}), ("requests", {"type": "COUNT"})):
        feature = make(ctx, built, name, "/features", {
            "name": tag(ctx, name), "type": "metered",
            "meter": {"name": tag(ctx, name), "event_name": tag(ctx, name, "_"), "aggregation": aggregation,
                      "reset_usage": "BILLING_PERIOD"},
        })
        if feature is not None:
            built.features[name] = feature
    built.plan = make(ctx, built, "plan", "/plans", {"name": tag(ctx, "plan"), "lookup_key": tag(ctx, "plan")})
    if built.plan is not None:
        for name, price in PRICES.items():
            feature = built.features.get(METER_OF_PRICE.get(name, ""))
            if name in METER_OF_PRICE and feature is None:
                continue
            body = {**price_base(built.plan.id), **price}
            if feature is not None:
                body["meter_id"] = feature.answer.get("meter_id")
            made = make(ctx, built, f"{name} price", "/prices", body, {"entity_id": built.plan})
            if made is not None:
                built.prices[name] = made
        if "requests" in built.features:
            built.entitlement = make(ctx, built, "entitlement", "/entitlements", {
                "entity_type": "PLAN", "entity_id": built.plan.id, "feature_id": built.features["requests"].id,
                "feature_type": "metered", "is_enabled": True, "usage_limit": ALLOWANCE, "usage_reset_period": "MONTHLY",
            }, {"entity_id": built.plan, "feature_id": built.features["requests"]})
    if built.plan is not None and "fixed" in built.prices:
        built.customer, built.subscription, built.invoice = _subscribe(ctx, built)
    if built.subscription is not None:
        _send_events(ctx, built)
    built.trace = joined([e for e in ctx.trace if id(e) not in before])


def subscribe(ctx: Context, built: Chain) -> tuple[Record | None, Record | None, dict | None]:
    """A new customer, its monthly subscription to the chain's plan, and its opening invoice."""
    with ctx.unattributed():
        return _subscribe(ctx, built)


def _subscribe(ctx: Context, built: Chain) -> tuple[Record | None, Record | None, dict | None]:
    customer = make(ctx, built, "customer", "/customers", {"external_id": tag(ctx, "customer"), "name": tag(ctx, "customer"),
                                                           "email": "gate@example.com"})
    if customer is None:
        return None, None, None
    subscription = make(ctx, built, "subscription", "/subscriptions", subscription_body(customer.id, built.plan.id),
                        {"customer_id": customer, "plan_id": built.plan})
    if subscription is None:
        return customer, None, None
    invoice = opening_invoice(ctx, subscription.id)
    if invoice is None:
        built.missing["invoice"] = "no invoice of the subscription was found (its opening invoice of the fixed fee)"
    return customer, subscription, invoice


def subscription_body(customer_id: str, plan_id: str) -> dict:
    return {"customer_id": customer_id, "plan_id": plan_id, "currency": "usd", "billing_period": "MONTHLY",
            "billing_period_count": 1}


def price_base(plan_id: str) -> dict:
    return {"currency": "usd", "entity_type": "PLAN", "entity_id": plan_id, "billing_period": "MONTHLY",
            "billing_period_count": 1, "price_unit_type": "FIAT"}


def opening_invoice(ctx: Context, subscription_id: str) -> dict | None:
    """The subscription's first invoice, read back whole (lines included) once it is there."""
    search, get = ctx.operations.get("queryInvoice"), ctx.operations.get("getInvoice")
    if search is None or get is None:
        return None
    deadline = time.monotonic() + ctx.settle
    while True:
        found = items_of(ctx.call(search, body={"subscription_ids": [subscription_id], "limit": 10})) or []
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not found:
        return None
    return record_of(ctx.call(get, str(found[-1]["id"])).json())


def _send_events(ctx: Context, built: Chain) -> None:
    """The events, timed just after the subscription's period starts (so inside it, whatever the
    server's clock says), each meter's total noted for the checks that read usage."""
    if INGEST not in ctx.operations:
        built.missing["usage"] = f"{INGEST} is not under test"
        return
    start = parse_time(built.subscription.answer.get("current_period_start"))
    if start is None:
        built.missing["usage"] = "the subscription has no current_period_start"
        return
    external_id = built.customer.answer.get("external_id", built.customer.sent["external_id"])
    sent = [("tokens", {"tokens": str(tokens)}) for tokens in TOKENS] + [("requests", {})] * REQUESTS
    bodies = [
        {"event_id": tag(ctx, meter, "_"), "event_name": built.features[meter].sent["meter"]["event_name"],
         "external_customer_id": external_id, "timestamp": iso(start + timedelta(seconds=1 + n)), "properties": properties}
        for n, (meter, properties) in enumerate(sent) if meter in built.features
    ]
    for body in [*bodies, *bodies[:1]]:  # the first again, with its id: counted once
        exchange = ctx.call(INGEST, body=body)
        if not 200 <= exchange.status < 300:
            built.missing["usage"] = f"an event was refused: {exchange.status} {exchange.text[:200]}"
            return
    built.usage = {"tokens": Decimal(sum(TOKENS)), "requests": Decimal(REQUESTS)}


def make(ctx: Context, built: Chain, part: str, collection: str, body: dict,
         parents: dict[str, Record] | None = None) -> Record | None:
    """Create one part with this body; a part that cannot be made is missing, with the reason."""
    resource = ctx.model.resources.get(collection) if ctx.model else None
    if resource is None or op_for(ctx, resource, "create") is None:
        built.missing[part] = f"no create of {collection} is under test"
        return None
    record = create_record(ctx, resource, body=body, parents=parents)
    if record is None:
        built.missing[part] = ctx.refusals.get(collection, "refused")
    return record


def tag(ctx: Context, name: str, sep: str = "-") -> str:
    """A unique, recognisable value (`gate-1-7-plan`): a replay makes its own from it."""
    ctx.counter += 1
    return sep.join(("gate", str(ctx.seed), str(ctx.counter), name))
