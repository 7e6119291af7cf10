"""A subscription as the real server's reads fill it (`internal/ee/service/subscription.go`
GetSubscription and GetSubscriptionV2, `internal/types/expand.go`, the line item repository's
active filter).

`GET /subscriptions/{id}` always carries its line items (published, not ended before the current
period starts), each with its price, the plan, the customer, its credit grants and its coupon
associations. `GET /subscriptions/{id}/v2` carries the subscription alone unless `expand` asks:
`plan` (`plan.prices` with its prices), `customer`, `subscription_line_items` (with their prices
under `prices` or `subscription_line_items.prices`); a field the server cannot expand is a 400.
"""
from __future__ import annotations

from ...core.failures import Invalid
from ..records import Records
from .grants import Grants
from .subscriptions import Subscriptions

# What `expand` may name on a subscription, and what each may nest (`SubscriptionExpandConfig`).
EXPANDABLE = {"plan": ("prices",), "customer": (), "prices": ("meters",), "meters": None, "schedule": (),
              "coupon_associations": ("coupon",), "coupon": None, "subscription_line_items": ("prices", "meters"),
              "entitlements": ()}


class SubscriptionViews:
    def __init__(self, records: Records, subscriptions: Subscriptions, grants: Grants) -> None:
        self.records = records
        self.subscriptions = subscriptions
        self.grants = grants

    def full(self, subscription_id: str) -> dict:
        subscription = self.records.require("subscription", subscription_id, named="id")
        view = {**subscription, "line_items": self._items(subscription, with_prices=True),
                **self._owners(subscription, "plan", "customer")}
        grants = self.grants.of_subscription(subscription["id"])
        coupons = self.records.where("coupon_association", subscription_id=subscription["id"])
        return {**view, **({"credit_grants": grants} if grants else {}),
                **({"coupon_associations": coupons} if coupons else {})}

    def expanded(self, subscription_id: str, expand: str | None) -> dict:
        fields = parsed_expand(expand)
        subscription = self.records.require("subscription", subscription_id, named="id")
        view = {**subscription, "plan_prices_out_of_sync": False}
        view.update(self._owners(subscription, *(entity for entity in ("plan", "customer") if entity in fields)))
        if "prices" in fields.get("plan", ()) and "plan" in view:
            view["plan"] = {**view["plan"], "prices": self.records.where("price", entity_type="PLAN",
                                                                          entity_id=view["plan"]["id"])}
        if "subscription_line_items" in fields:
            items = self._items(subscription, "prices" in fields or "prices" in fields["subscription_line_items"])
            if items:
                view["line_items"] = items
        return view

    def _owners(self, subscription: dict, *entities: str) -> dict:
        """The subscription's plan and customer as stored. Once a cancelled subscription's plan or
        customer is deleted the mock has no record left to show (the real server soft-deletes and
        still shows the archived one), so the field is left out: `null` would break its schema."""
        owners = {entity: self.records.get(entity, subscription.get(f"{entity}_id")) for entity in entities}
        return {entity: record for entity, record in owners.items() if record is not None}

    def _items(self, subscription: dict, with_prices: bool) -> list[dict]:
        items = self.subscriptions.current_items(subscription)
        if not with_prices:
            return items
        return [{**item, "price": self.records.get("price", item.get("price_id"))} for item in items]


def parsed_expand(expand: str | None) -> dict[str, set[str]]:
    """`plan.prices,customer` -> {"plan": {"prices"}, "customer": set()}; a field not expandable
    on a subscription, or nested where it cannot be, is a 400 naming `expand`."""
    fields: dict[str, set[str]] = {}
    for part in (expand or "").split(",") if expand else ():
        root, *nested = [name.strip() for name in part.strip().split(".")]
        if root not in EXPANDABLE:
            raise Invalid("expand", f"field not allowed to be expanded: {root!r}")
        allowed = EXPANDABLE[root]
        for name in nested:
            if allowed is None:
                raise Invalid("expand", f"field does not support nested expands: {root!r}")
            if name not in allowed:
                raise Invalid("expand", f"field not allowed to be expanded: {name!r} under {root!r}")
        fields.setdefault(root, set()).update(nested)
    return fields
