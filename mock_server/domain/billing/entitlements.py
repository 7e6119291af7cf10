"""Entitlements: what a customer may use, aggregated from the plans and active add-ons of its
active and trialing subscriptions (a subscription's own entitlements replace those for that
feature), and how much of each metered allowance the current period has used.

Per feature: metered limits add up (any unlimited contributor makes it unlimited), soft if any
is soft, the most common reset period; boolean ones are enabled if any is; static values are
collected. Disabled or unpublished entitlements do not count.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal

from ...core.times import when
from ..records import Records
from .addons import active_associations
from .money import ZERO, text
from .subscriptions import live_subscriptions
from .usage import Usage


class Entitlements:
    def __init__(self, records: Records, usage: Usage) -> None:
        self.records = records
        self.usage = usage

    def granted_by(self, subscription: dict) -> dict[str, list[tuple[dict, dict]]]:
        """feature id -> [(entitlement, source)] for one subscription: its plan's, each active
        add-on's (once per association), and its own, which replace the others feature by feature."""
        plan = self.records.get("plan", subscription.get("plan_id")) or {}
        sources = [("PLAN", plan.get("id"), plan.get("name"))]
        for association in active_associations(self.records, subscription):
            addon = self.records.get("addon", association["addon_id"]) or {}
            sources.append(("ADDON", association["addon_id"], addon.get("name")))
        by_feature: dict[str, list[tuple[dict, dict]]] = {}
        for entity_type, entity_id, name in sources:
            for feature_id, granted in self._granted(subscription, entity_type, entity_id, name).items():
                by_feature.setdefault(feature_id, []).extend(granted)
        own = self._granted(subscription, "SUBSCRIPTION", subscription["id"], subscription.get("lookup_key") or subscription["id"])
        by_feature.update(own)
        return by_feature

    def _granted(self, subscription: dict, entity_type: str, entity_id: object, name: object) -> dict[str, list[tuple[dict, dict]]]:
        found: dict[str, list[tuple[dict, dict]]] = {}
        if not entity_id:
            return found
        for entitlement in self.records.where("entitlement", entity_type=entity_type, entity_id=entity_id):
            if entitlement.get("status", "published") != "published" or entitlement.get("is_enabled") is False:
                continue
            source = {"subscription_id": subscription["id"], "entity_id": entity_id,
                      "entity_type": entity_type.lower(), "entity_name": name, "quantity": 1,
                      "entitlement_id": entitlement["id"], "is_enabled": True,
                      **{k: entitlement[k] for k in ("usage_limit", "static_value", "usage_reset_period")
                         if entitlement.get(k) is not None}}
            found.setdefault(entitlement["feature_id"], []).append((entitlement, source))
        return found

    @staticmethod
    def aggregate(granted: list[tuple[dict, dict]]) -> dict:
        entitlements = [e for e, _ in granted]
        kind = entitlements[0].get("feature_type")
        merged = {"is_enabled": True, "is_soft_limit": any(e.get("is_soft_limit") for e in entitlements),
                  "aggregation_mode": entitlements[0].get("aggregation_mode") or "additive"}
        if kind == "metered":
            limits = [e.get("usage_limit") for e in entitlements]
            merged["usage_limit"] = None if any(v is None for v in limits) else sum(limits)
            periods = Counter(e.get("usage_reset_period") for e in entitlements if e.get("usage_reset_period"))
            if periods:
                merged["usage_reset_period"] = periods.most_common(1)[0][0]
        elif kind == "static":
            merged["static_values"] = sorted({str(e["static_value"]) for e in entitlements if e.get("static_value")})
        elif kind == "config":
            merged["config_values"] = [e["config_value"] for e in entitlements if e.get("config_value")]
        return merged

    def features(self, subscriptions: list[dict], feature_ids: list[str] | None) -> list[dict]:
        grouped: dict[str, list[tuple[dict, dict]]] = {}
        for subscription in subscriptions:
            for feature_id, granted in self.granted_by(subscription).items():
                grouped.setdefault(feature_id, []).extend(granted)
        found = []
        for feature_id, granted in grouped.items():
            feature = self.records.get("feature", feature_id)
            if feature is None or (feature_ids and feature_id not in feature_ids):
                continue
            found.append({"feature": feature, "entitlement": self.aggregate(granted),
                          "sources": [source for _, source in granted]})
        return found

    def of_customer(self, customer: dict, feature_ids: list[str] | None = None,
                    subscription_ids: list[str] | None = None) -> dict:
        subscriptions = self._live(customer, subscription_ids)
        return {"customer_id": customer["id"], "subscriptions": subscriptions,
                "features": self.features(subscriptions, feature_ids)}

    def of_subscription(self, subscription: dict, feature_ids: list[str] | None = None) -> dict:
        return {"subscription_id": subscription["id"], "plan_id": subscription.get("plan_id"),
                "features": self.features([subscription], feature_ids)}

    def allowance(self, subscription: dict, meter_id: str | None) -> tuple[int | None, str | None] | None:
        """The subscription's metered allowance on the meter's feature: (limit or None for
        unlimited, reset period), or None when it grants nothing there."""
        if not meter_id:
            return None
        for feature in self.records.where("feature", meter_id=meter_id):
            granted = self.granted_by(subscription).get(feature["id"])
            if granted and granted[0][0].get("feature_type") == "metered":
                merged = self.aggregate(granted)
                return merged.get("usage_limit"), merged.get("usage_reset_period")
        return None

    def usage_summary(self, customer: dict, feature_ids: list[str] | None = None,
                      subscription_ids: list[str] | None = None) -> dict:
        """Each entitled feature against its limit over the current period."""
        subscriptions = self._live(customer, subscription_ids)
        summaries = []
        for entry in self.features(subscriptions, feature_ids):
            feature, merged = entry["feature"], entry["entitlement"]
            owner = next(s for s in subscriptions if s["id"] == entry["sources"][0]["subscription_id"])
            start, end = when(owner["current_period_start"]), when(owner["current_period_end"])
            used = self._used(feature, customer, None if merged.get("usage_reset_period") == "NEVER" else start, end)
            limit = merged.get("usage_limit") if feature.get("type") == "metered" else None
            unlimited = feature.get("type") == "metered" and limit is None
            summary = {"feature": feature, "current_usage": text(used), "is_enabled": merged["is_enabled"],
                       "is_soft_limit": merged["is_soft_limit"], "is_unlimited": unlimited,
                       "usage_percent": _percent(used, limit, unlimited), "next_usage_reset_at": owner["current_period_end"],
                       "sources": entry["sources"]}
            if limit is not None:
                summary["total_limit"] = limit
            summaries.append(summary)
        period = {}
        if subscriptions:
            period = {"start_time": subscriptions[0]["current_period_start"],
                      "end_time": subscriptions[0]["current_period_end"], "period": subscriptions[0]["billing_period"]}
        return {"customer_id": customer["id"], "features": summaries, "period": period}

    def _used(self, feature: dict, customer: dict, start: datetime | None, end: datetime) -> Decimal:
        meter = self.records.get("meter", feature.get("meter_id")) if feature.get("type") == "metered" else None
        return self.usage.quantity(meter, customer.get("external_id") or "", start, end) if meter else ZERO

    def _live(self, customer: dict, subscription_ids: list[str] | None) -> list[dict]:
        live = live_subscriptions(self.records, customer["id"])
        return [s for s in live if not subscription_ids or s["id"] in subscription_ids]


def _percent(used: Decimal, limit: int | None, unlimited: bool) -> str:
    """usage / limit as a ratio (170 of 100 is "1.7"); 100 for a limit of 0 or less, 0 unlimited."""
    if unlimited or limit is None:
        return "0"
    if limit <= 0:
        return "100"
    return text(used / Decimal(limit))
