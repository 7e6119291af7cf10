"""What a correct server's billing answers look like, as functions from an answer (and what the
gate sent) to the list of what is wrong with it: empty means right.

The checks in `flows.py` report these differences; `--write-tests` copies this module and
`billing_rules.py` into each test it writes, so a written test asserts the very same rule
without importing the gate.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .billing_rules import ZERO, cost, money, next_billing_date, parse_time, rounded

PRICE_FIELDS = ("type", "billing_model", "billing_period", "invoice_cadence", "tier_mode", "meter_id")


def price_differences(sent: dict, got: dict) -> list[str]:
    """A price read back has the amounts (as decimals) and the model it was created with."""
    wrong = [f"{name} {got.get(name)!r}, sent {sent[name]!r}" for name in PRICE_FIELDS
             if name in sent and got.get(name) != sent[name]]
    if "currency" in sent and str(got.get("currency", "")).lower() != sent["currency"].lower():
        wrong.append(f"currency {got.get('currency')!r}, sent {sent['currency']!r}")
    if "amount" in sent and money(got.get("amount")) != money(sent["amount"]):
        wrong.append(f"amount {got.get('amount')!r}, sent {sent['amount']!r}")
    if "tiers" in sent and _tiers(got.get("tiers")) != _tiers(sent["tiers"]):
        wrong.append(f"tiers {got.get('tiers')!r}, sent {sent['tiers']!r}")
    if "transform_quantity" in sent:
        want, have = sent["transform_quantity"], got.get("transform_quantity") or {}
        if money(have.get("divide_by")) != money(want.get("divide_by")) or have.get("round", "up") != want.get("round", "up"):
            wrong.append(f"transform_quantity {have!r}, sent {want!r}")
    return wrong


def _tiers(tiers: Any) -> list[tuple] | None:
    if not isinstance(tiers, list):
        return None
    return [(money(t.get("up_to")), money(t.get("unit_amount")), money(t.get("flat_amount") or 0))
            for t in tiers if isinstance(t, dict)]


def period_errors(subscription: dict) -> list[str]:
    """The current period ends where `NextBillingDate` puts it, to the second (UTC subscriptions)."""
    start, end = parse_time(subscription.get("current_period_start")), parse_time(subscription.get("current_period_end"))
    anchor = parse_time(subscription.get("billing_anchor")) or start
    if start is None or end is None or subscription.get("billing_period") not in ("MONTHLY", "ANNUAL", "QUARTERLY",
                                                                                  "HALF_YEARLY", "WEEKLY", "DAILY"):
        return [f"no readable period: {subscription.get('current_period_start')!r} to {subscription.get('current_period_end')!r}"]
    expected = next_billing_date(start, anchor, subscription["billing_period"], subscription.get("billing_period_count") or 1)
    if end.replace(microsecond=0) != expected:
        return [f"a {subscription['billing_period']} period from {subscription['current_period_start']} must end at "
                f"{expected.isoformat()}, not {subscription['current_period_end']}"]
    return []


def line_item_errors(subscription: dict, prices: list[dict]) -> list[str]:
    """One line item per plan price of the subscription's currency and period: its price, type,
    meter and cadence; quantity 1 for a fixed fee, 0 for usage. With no `prices` given (a
    subscription the gate did not make), at least one line, each in the subscription's currency."""
    items = subscription.get("line_items")
    if not isinstance(items, list) or not items:
        return [f"subscription {subscription.get('id')} has no line_items"]
    wrong = [f"line {item.get('id')} is in {item.get('currency')!r}, the subscription in {subscription.get('currency')!r}"
             for item in items if str(item.get("currency", subscription.get("currency", ""))).lower()
             != str(subscription.get("currency", "")).lower()]
    by_price = {item.get("price_id"): item for item in items}
    for price in prices:
        item = by_price.get(price["id"])
        if item is None:
            wrong.append(f"no line item for price {price['id']} ({price['type']} {price['billing_model']})")
            continue
        quantity = Decimal(1) if price["type"] == "FIXED" else ZERO
        if money(item.get("quantity")) != quantity:
            wrong.append(f"line for price {price['id']}: quantity {item.get('quantity')!r}, not {quantity}")
        for name in ("invoice_cadence", "meter_id"):
            if price.get(name) and item.get(name) != price[name]:
                wrong.append(f"line for price {price['id']}: {name} {item.get(name)!r}, not {price[name]!r}")
        if item.get("price_type", price["type"]) != price["type"]:
            wrong.append(f"line for price {price['id']}: price_type {item.get('price_type')!r}, not {price['type']!r}")
    if prices and len(items) != len(prices):
        wrong.append(f"{len(items)} line items for the plan's {len(prices)} prices")
    return wrong


def usage_errors(answer: dict, usage: dict[str, str], prices: list[dict]) -> list[str]:
    """`/subscriptions/usage`: each usage price's charge counts exactly the usage of its meter
    sent in the period (no allowance taken off), and costs what the price says for it."""
    charges = answer.get("charges")
    if not isinstance(charges, list):
        return ["no charges in the answer"]
    wrong = []
    for price in (p for p in prices if p["type"] == "USAGE"):
        found = [c for c in charges if (c.get("price") or {}).get("id") == price["id"] or c.get("price_id") == price["id"]]
        quantity = Decimal(usage[price["meter_id"]])
        if not found:
            wrong.append(f"no charge for usage price {price['id']} ({price['billing_model']})")
        elif money(found[0].get("quantity")) != quantity:
            wrong.append(f"charge of price {price['id']}: quantity {found[0].get('quantity')!r}, the events sent make {quantity}")
        elif rounded(money(found[0].get("amount")) or ZERO, price["currency"]) != rounded(cost(price, quantity), price["currency"]):
            wrong.append(f"charge of price {price['id']}: amount {found[0].get('amount')!r}, {quantity} at this price "
                         f"costs {rounded(cost(price, quantity), price['currency'])}")
    return wrong


def preview_errors(invoice: dict, prices: list[dict], usage: dict[str, str], allowances: dict[str, int]) -> list[str]:
    """The preview of the current period: a usage line per usage price, its quantity the usage
    less the plan's allowance on that meter (and `adjusted_entitlement_quantity` what was taken
    off), its amount that quantity's cost rounded; the next period's fixed fees; lines summing
    to the subtotal."""
    lines = invoice.get("line_items")
    if not isinstance(lines, list):
        return ["the preview has no line_items"]
    wrong = []
    for price in prices:
        mine = [line for line in lines if line.get("price_id") == price["id"]]
        if not mine:
            wrong.append(f"no line for {price['type']} price {price['id']} ({price['billing_model']})")
            continue
        if price["type"] == "FIXED":
            expected = rounded(Decimal(price["amount"]), price["currency"])
            if money(mine[0].get("amount")) != expected:
                wrong.append(f"fixed line of price {price['id']}: amount {mine[0].get('amount')!r}, not {expected}")
            continue
        used = Decimal(usage[price["meter_id"]])
        billable = max(used - allowances.get(price["meter_id"], 0), ZERO)
        expected = rounded(cost(price, billable), price["currency"])
        line = mine[0]
        if money(line.get("quantity")) != billable:
            wrong.append(f"usage line of price {price['id']}: quantity {line.get('quantity')!r}, the events sent make {billable}"
                         + (f" ({used} less the allowance of {allowances[price['meter_id']]})" if price["meter_id"] in allowances else ""))
        elif money(line.get("amount")) != expected:
            wrong.append(f"usage line of price {price['id']}: amount {line.get('amount')!r}, {billable} at this price costs {expected}")
        if price["meter_id"] in allowances and money(line.get("adjusted_entitlement_quantity") or 0) != used - billable:
            wrong.append(f"usage line of price {price['id']}: adjusted_entitlement_quantity "
                         f"{line.get('adjusted_entitlement_quantity')!r}, not {used - billable}")
    subtotal = money(invoice.get("subtotal"))
    amounts = [money(line.get("amount")) for line in lines]
    if None not in amounts and subtotal != sum(amounts, ZERO):
        wrong.append(f"subtotal {invoice.get('subtotal')!r} is not the sum of the lines {sum(amounts, ZERO)}")
    return wrong


def end_of_period_errors(subscription: dict) -> list[str]:
    """Cancelled at the end of its period: still active, `cancel_at_period_end`, `cancel_at` the
    period's end."""
    wrong = []
    if subscription.get("subscription_status") != "active":
        wrong.append(f"subscription_status {subscription.get('subscription_status')!r}: it stays active until its period ends")
    if subscription.get("cancel_at_period_end") is not True:
        wrong.append(f"cancel_at_period_end {subscription.get('cancel_at_period_end')!r}, not true")
    cancel_at, end = parse_time(subscription.get("cancel_at")), parse_time(subscription.get("current_period_end"))
    if cancel_at is None or end is None or cancel_at.replace(microsecond=0) != end.replace(microsecond=0):
        wrong.append(f"cancel_at {subscription.get('cancel_at')!r} must be the period end {subscription.get('current_period_end')!r}")
    return wrong


def entitlement_errors(answer: dict, feature_id: str, limit: int | None) -> list[str]:
    """The feature's entitlement in a customer's or subscription's entitlements carries `limit`."""
    features = [f for f in answer.get("features") or [] if (f.get("feature") or {}).get("id") == feature_id]
    if not features:
        return [f"feature {feature_id} is not among the entitlements"]
    got = (features[0].get("entitlement") or {}).get("usage_limit")
    return [] if got == limit else [f"feature {feature_id}: usage_limit {got!r}, the plan's entitlement says {limit!r}"]


def aggregation_errors(answer: dict) -> list[str]:
    """Each metered feature's `usage_limit` is the sum of its sources' limits, or null (unlimited)
    when any source is unlimited."""
    wrong = []
    for feature in answer.get("features") or []:
        sources = [s for s in feature.get("sources") or [] if s.get("is_enabled", True)]
        if (feature.get("feature") or {}).get("type") != "metered" or not sources:
            continue
        limits = [s.get("usage_limit") for s in sources]
        expected = None if None in limits else sum(limits)
        got = (feature.get("entitlement") or {}).get("usage_limit")
        if got != expected:
            wrong.append(f"feature {(feature.get('feature') or {}).get('id')}: usage_limit {got!r}, its sources add up to {expected!r}")
    return wrong
