"""Billing checks that drive the chain (`chain.py`): each a rule of any correct Flexprice server,
named, with its own failures (the rules themselves are in `expectations.py`).

* `price_read_back`: every price of the plan (each billing model) reads back as created.
* `subscription_line_items`: a subscription holds one line item per plan price (read back whole).
* `subscription_period`: its current period ends where the billing period says (calendar months).
* `subscription_usage`: `/subscriptions/usage` counts exactly the events sent, per usage price.
* `preview_usage_lines`: the invoice preview has the usage lines (allowance taken off) and the
  next period's fixed fee, summing to its subtotal.
* `end_of_period_cancel`: a subscription cancelled at period end stays active until then.
* `entitlements_carry_limits`: the plan's, the subscription's and the customer's entitlements
  carry the plan's limit.

Under `--read-only` the subscriptions the gate can reach (`reads.py`) are checked for what needs no
knowledge of how they were made: line items in their currency, period length, a scheduled cancel
not yet cancelled, and entitlement limits that add up.
"""
from __future__ import annotations

from datetime import datetime, timezone

from .billing import settled
from .billing_rules import parse_time
from .chain import ALLOWANCE, Chain, chain, subscribe
from .client import Exchange
from .expectations import (
    aggregation_errors,
    end_of_period_errors,
    entitlement_errors,
    line_item_errors,
    period_errors,
    preview_errors,
    price_differences,
    usage_errors,
)
from .reads import readable
from .records import record_of
from .semantic import Context, semantic

GET_PRICE, GET_SUBSCRIPTION, USAGE, PREVIEW = "getPrice", "getSubscription", "getSubscriptionUsage", "getInvoicePreview"
CANCEL, PLAN_ENTITLEMENTS = "cancelSubscription", "getPlanEntitlements"
CUSTOMER_ENTITLEMENTS, SUBSCRIPTION_ENTITLEMENTS = "getCustomerEntitlements", "getSubscriptionEntitlements"


def _expect_none(ctx: Context, wrong: list[str], exchange: Exchange, assertion: str, trace: list[Exchange] | None = None) -> None:
    for problem in wrong:
        ctx.expect(False, problem, exchange, exchange.operation, assertion, trace)


def _prices(built: Chain) -> list[dict]:
    """The chain's prices as the rules take them: what was sent, and the id."""
    return [{**record.sent, "id": record.id} for record in built.prices.values()]


def _subscriptions(ctx: Context) -> list[tuple[dict, Exchange]]:
    """The subscriptions a read-only run can reach, each read whole."""
    return readable(ctx, "/subscriptions", whole=True)


@semantic("price_read_back", needs=(GET_PRICE,))
def price_read_back(ctx: Context) -> None:
    """Each price of the chain's plan, one per billing model, reads back with its amounts."""
    built = chain(ctx)
    if not ctx.read_only and not built.need(ctx, "plan"):
        return
    for name, record in built.prices.items():
        exchange = ctx.call(GET_PRICE, record.id)
        ctx.require(exchange.status == 200, f"the {name} price {record.id} just created must be found", exchange,
                    GET_PRICE, "status == 200")
        sent = {**record.sent, "id": record.id}
        _expect_none(ctx, price_differences(sent, record_of(exchange.json())), exchange,
                     f"not price_differences(T({sent!r}), body)")
    if ctx.read_only:
        ctx.not_covered("/prices", "a read-only run does not know what a price was created with")


@semantic("subscription_line_items", needs=(GET_SUBSCRIPTION,))
def subscription_line_items(ctx: Context) -> None:
    """The chain's subscription, read back, has a line item for each of its plan's prices."""
    if ctx.read_only:
        for subscription, exchange in _subscriptions(ctx):
            if subscription.get("subscription_status") in ("active", "trialing"):
                _expect_none(ctx, line_item_errors(subscription, []), exchange, "not line_item_errors(body, [])", [exchange])
        return
    built = chain(ctx)
    if built.need(ctx, "subscription"):
        exchange = ctx.call(GET_SUBSCRIPTION, built.subscription.id)
        prices = _prices(built)
        _expect_none(ctx, line_item_errors(record_of(exchange.json()), prices), exchange,
                     f"not line_item_errors(body, T({prices!r}))")


@semantic("subscription_period", needs=(GET_SUBSCRIPTION,))
def subscription_period(ctx: Context) -> None:
    """A subscription's current period ends where its billing period says: a MONTHLY one a
    calendar month after it starts, at the anchor's day and clock."""
    found = [] if ctx.read_only else [chain(ctx).subscription] if chain(ctx).need(ctx, "subscription") else []
    for record in found:
        created = next((e for e in reversed(record.trace) if e.method == "POST" and e.status < 300
                        and record.id in e.text), None)
        if created is not None:
            _expect_none(ctx, [f"the create's answer: {p}" for p in period_errors(record.answer)], created,
                         "not period_errors(body)", record.trace[: record.trace.index(created) + 1])
        exchange = ctx.call(GET_SUBSCRIPTION, record.id)
        _expect_none(ctx, period_errors(record_of(exchange.json())), exchange, "not period_errors(body)")
    if ctx.read_only:
        for subscription, exchange in _subscriptions(ctx):
            if subscription.get("timezone") in (None, "", "UTC"):
                _expect_none(ctx, period_errors(subscription), exchange, "not period_errors(body)", [exchange])


@semantic("subscription_usage", needs=(USAGE,), writes=True)
def subscription_usage(ctx: Context) -> None:
    """`/subscriptions/usage` of the chain's subscription counts exactly the events sent, per
    usage price, and costs what each price says (read until it settles)."""
    built = chain(ctx)
    if not built.need(ctx, "subscription", "usage"):
        return
    usage = {feature.answer.get("meter_id"): str(built.usage[name]) for name, feature in built.features.items()}
    prices = _prices(built)
    exchange, wrong = settled(ctx, lambda: ctx.call(USAGE, body={"subscription_id": built.subscription.id}),
                              lambda e: usage_errors(e.json(), usage, prices), [])
    _expect_none(ctx, wrong, exchange, f"not usage_errors(body, T({usage!r}), T({prices!r}))")


@semantic("preview_usage_lines", needs=(PREVIEW,), writes=True)
def preview_usage_lines(ctx: Context) -> None:
    """The invoice preview of the chain's subscription holds a usage line per usage price (the
    plan's allowance taken off), the next period's fixed fee, and lines summing to the subtotal."""
    built = chain(ctx)
    if not built.need(ctx, "subscription", "usage"):
        return
    usage = {feature.answer.get("meter_id"): str(built.usage[name]) for name, feature in built.features.items()}
    allowances = {built.features["requests"].answer.get("meter_id"): ALLOWANCE} if built.entitlement else {}
    prices = _prices(built)
    exchange, wrong = settled(ctx, lambda: ctx.call(PREVIEW, body={"subscription_id": built.subscription.id}),
                              lambda e: preview_errors(e.json(), prices, usage, allowances), [])
    _expect_none(ctx, wrong, exchange, f"not preview_errors(body, T({prices!r}), T({usage!r}), T({allowances!r}))")


@semantic("end_of_period_cancel", needs=(CANCEL, GET_SUBSCRIPTION))
def end_of_period_cancel(ctx: Context) -> None:
    """A subscription cancelled `end_of_period` stays active, `cancel_at_period_end`, until its
    period ends; read-only: no subscription with a cancel ahead is cancelled already."""
    if ctx.read_only:
        for subscription, exchange in _subscriptions(ctx):
            cancel_at = parse_time(subscription.get("cancel_at"))
            if subscription.get("cancel_at_period_end") and cancel_at is not None and subscription.get("subscription_status") == "cancelled":
                ctx.expect(cancel_at <= datetime.fromtimestamp(exchange.at, timezone.utc),
                           f"subscription {subscription.get('id')} is cancelled before its cancel_at {subscription.get('cancel_at')}",
                           exchange, exchange.operation, trace=[exchange])
        return
    built = chain(ctx)
    if not built.need(ctx, "plan"):
        return
    _, subscription, _ = subscribe(ctx, built)
    if subscription is None:
        ctx.not_covered("/subscriptions", f"no subscription to cancel: {built.missing.get('subscription')}")
        return
    cancel = ctx.call(CANCEL, subscription.id, body={"cancellation_type": "end_of_period", "reason": "contract gate"})
    ctx.require(200 <= cancel.status < 300, "an end_of_period cancel must be accepted", cancel, CANCEL, "200 <= status < 300")
    exchange = ctx.call(GET_SUBSCRIPTION, subscription.id)
    _expect_none(ctx, end_of_period_errors(record_of(exchange.json())), exchange, "not end_of_period_errors(body)")


@semantic("entitlements_carry_limits", needs=(SUBSCRIPTION_ENTITLEMENTS,))
def entitlements_carry_limits(ctx: Context) -> None:
    """The plan's metered entitlement (a limit) is in the plan's entitlements, and in the
    subscription's and the customer's with that limit; read-only: limits add up over sources."""
    if ctx.read_only:
        for subscription, _ in _subscriptions(ctx):
            exchange = ctx.call(SUBSCRIPTION_ENTITLEMENTS, str(subscription["id"]))
            if exchange.status == 200:
                _expect_none(ctx, aggregation_errors(exchange.json()), exchange, "not aggregation_errors(body)", [exchange])
        return
    built = chain(ctx)
    if not built.need(ctx, "subscription", "entitlement"):
        return
    feature = built.features["requests"].id
    if PLAN_ENTITLEMENTS in ctx.operations:
        exchange = ctx.call(PLAN_ENTITLEMENTS, built.plan.id)
        listed = [e for e in (exchange.json() or {}).get("items") or [] if e.get("id") == built.entitlement.id]
        ctx.expect(bool(listed) and listed[0].get("usage_limit") == ALLOWANCE,
                   f"the plan's entitlements must hold {built.entitlement.id} with usage_limit {ALLOWANCE}", exchange, PLAN_ENTITLEMENTS,
                   f"[e.get('usage_limit') for e in body['items'] if e.get('id') == T({built.entitlement.id!r})] == [{ALLOWANCE}]")
    for op_id, key in ((SUBSCRIPTION_ENTITLEMENTS, built.subscription.id), (CUSTOMER_ENTITLEMENTS, built.customer.id)):
        if op_id in ctx.operations:
            exchange = ctx.call(op_id, key)
            _expect_none(ctx, entitlement_errors(exchange.json(), feature, ALLOWANCE), exchange,
                         f"not entitlement_errors(body, T({feature!r}), {ALLOWANCE})")
