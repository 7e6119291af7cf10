"""Subscriptions: a new subscription gets one line item per price of its plan, as the real server
does, so `/subscriptions/lineitems/search` finds them. No proration or invoicing."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call
from .registry import behaviour


@behaviour("createSubscription")
def create_subscription(api: Api, call: Call) -> Response:
    subscription = api.create_record(call.op.resource, api.fields(call.body))
    prices = api.model.resource_for_key("price_id")
    line_items = api.model.resource_for_key(f"{call.op.resource.entity}_lineitem_id")
    if prices is not None and line_items is not None:
        plan_id = subscription.get("plan_id")
        for price in reversed(api.store.select(prices.collection, lambda p: p.get("entity_id") == plan_id)):
            api.create_record(line_items, {
                "subscription_id": subscription["id"], "customer_id": subscription.get("customer_id"),
                "price_id": price["id"], "price_type": price.get("type"), "meter_id": price.get("meter_id"),
                "entity_type": "plan", "entity_id": plan_id, "currency": price.get("currency"),
                "billing_period": price.get("billing_period"), "invoice_cadence": price.get("invoice_cadence"),
                "quantity": "1", "start_date": subscription.get("start_date") or subscription["created_at"],
            })
    return api.render(call.op, subscription)
