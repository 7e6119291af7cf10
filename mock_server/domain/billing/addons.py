"""Add-ons on subscriptions: attaching one, removing it, and the associations a subscription has,
as the real server does them (`internal/ee/service/subscription_addon.go` AttachAddon and
DetachAddon; `subscription.go` createAddonAttachParams, createLineItemFromPrice,
materializeAddonCreditGrants, validateEntitlementCompatibility, addonPeriodEndForStartDate;
`addon.go` GetActiveAddonAssociation; `line_item_proration.go` for `create_prorations`).

Attaching stores an association (the add-on and the subscription as sent) from `start_date`
(now by default) and one line item per add-on price in the subscription's currency and billing
period (or ONETIME), starting at the latest of the attach, the subscription's start and the
price's start, so it is billed from then on; the add-on's ADDON credit grants are copied from
the attach; its entitlements count with the subscription's while the association is active. A
`onetime` add-on ends, with its line items, at the end of the billing period holding its start.
Only active (or draft) subscriptions take add-ons, and an add-on's metered feature must reset
as the subscription's does. With `create_prorations`, each FIXED line item is charged for what
is left of the current period on a ONE_OFF invoice. Removing cancels the association at
`effective_date` (the period end by default, else inside the current period), ends its open
line items and future credit grants there, and with `create_prorations` credits the unused part
of their ADVANCE fees into a prepaid wallet.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ...core.failures import Invalid
from ...core.times import parse_instant, stamp, when
from ..records import Records
from .grants import Grants
from .invoices import Invoices
from .money import ZERO, text
from .periods import period_containing
from .proration import Prorations
from .subscriptions import price_fits
from .wallets import Wallets

CADENCES = ("onetime", "recurring")
PRORATIONS = ("create_prorations", "none")
ATTACHABLE = ("active", "draft")


class Addons:
    def __init__(self, records: Records, grants: Grants, prorations: Prorations, invoices: Invoices, wallets: Wallets,
                 granted: Callable[[dict], dict[str, list[tuple[dict, dict]]]]) -> None:
        self.records = records
        self.grants = grants
        self.prorations = prorations
        self.invoices = invoices
        self.wallets = wallets
        self.granted = granted  # subscription -> feature id -> [(entitlement, source)] (`Entitlements.granted_by`)
        self.clock = records.clock

    # -- attaching ------------------------------------------------------------------------------
    def attach(self, request: dict) -> dict:
        """`POST /subscriptions/addon`: the association made, `subscription.updated` sent."""
        if not request.get("subscription_id"):
            raise Invalid("subscription_id", "subscription_id is required")
        subscription = self.records.require("subscription", request["subscription_id"])
        association = self._attach(subscription, request, self._reset_periods(subscription))
        self.records.changed("subscription.updated", "subscription", self.records.get("subscription", subscription["id"]))
        return association

    def starting(self, fields: dict, status: str):
        """When a subscription is created with `addons`: each checked against the request before
        it is stored; the returned step attaches them from its start once it is."""
        requests = fields.get("addons") or []
        resets = self._plan_reset_periods(str(fields.get("plan_id") or ""))
        for i, request in enumerate(requests):
            self._checked(request, status, str(fields.get("currency") or ""), fields.get("billing_period"), resets,
                          f"addons[{i}].")

        def attach(subscription: dict) -> None:
            resets = self._plan_reset_periods(subscription["plan_id"])
            for request in requests:
                start = request.get("start_date") or subscription["start_date"]
                self._attach(subscription, {**request, "start_date": start}, resets)
        return attach

    def _checked(self, request: dict, status: str, currency: str, period: str, resets: dict[str, str],
                 prefix: str = "") -> tuple[dict, list[dict]]:
        """The add-on and its prices that fit the subscription, or a 400 naming what is wrong;
        `resets` (feature id -> usage reset period) gains the add-on's metered features."""
        if not request.get("addon_id"):
            raise Invalid(prefix + "addon_id", "addon_id is required")
        if (request.get("cadence") or "recurring") not in CADENCES:
            raise Invalid(prefix + "cadence", f"cadence must be one of {', '.join(CADENCES)}")
        if request.get("proration_behavior") and request["proration_behavior"] not in PRORATIONS:
            raise Invalid(prefix + "proration_behavior", f"proration_behavior must be one of {', '.join(PRORATIONS)}")
        if request.get("start_date"):
            parse_instant(request["start_date"], prefix + "start_date")
        addon = self.records.require("addon", request["addon_id"], named=prefix + "addon_id")
        if addon.get("status", "published") != "published":
            raise Invalid(prefix + "addon_id", "addon is not published: cannot add inactive addon to subscription")
        if status not in ATTACHABLE:
            raise Invalid(prefix + "subscription_id", "subscription status does not allow addon attachment: addon can "
                                                      "only be added to active or draft subscriptions")
        for entitlement in self.records.where("entitlement", entity_type="ADDON", entity_id=addon["id"]):
            if entitlement.get("feature_type") != "metered":
                continue
            feature, reset = entitlement.get("feature_id"), entitlement.get("usage_reset_period")
            if feature in resets and resets[feature] != reset:
                raise Invalid(prefix + "addon_id", f"metered feature usage reset period conflict: feature '{feature}' "
                                                   f"has conflicting reset periods: {resets[feature]} vs {reset}")
            resets[feature] = reset
        prices = self.records.where("price", entity_type="ADDON", entity_id=addon["id"])
        if not prices:
            raise Invalid(prefix + "addon_id", "no prices found for entity: the addon must have at least one price")
        prices = [p for p in prices if price_fits(p, currency, period)]
        if not prices:
            raise Invalid(prefix + "addon_id", f"no valid prices found for subscription: the addon has no "
                                               f"{period} price in {currency}")
        return addon, prices

    def _attach(self, subscription: dict, request: dict, resets: dict[str, str]) -> dict:
        addon, prices = self._checked(request, subscription.get("subscription_status"), subscription["currency"],
                                      subscription["billing_period"], resets)
        start = parse_instant(request["start_date"], "start_date") if request.get("start_date") else self.clock.now()
        end = period_containing(subscription, start, "start_date")[1] if request.get("cadence") == "onetime" else None
        prorate = request.get("proration_behavior") == "create_prorations"
        period = period_containing(subscription, start, "start_date") if prorate else None
        if period is not None and (start <= period[0] or (subscription.get("end_date")
                                                          and period[1] > when(subscription["end_date"]))):
            period = None  # a grant starting on a period boundary, or past the subscription's end, is whole
        grants = self.grants.addon_copies(addon["id"])
        if grants and start < when(subscription["start_date"]):
            raise Invalid("start_date", "an add-on with credit grants cannot start before its subscription does")
        association = self.records.new("addon_association", {
            "entity_id": subscription["id"], "entity_type": "subscription", "addon_id": addon["id"],
            "addon_status": "active", "start_date": stamp(start), **({"end_date": stamp(end)} if end else {}),
            **({"metadata": request["metadata"]} if request.get("metadata") else {})})
        items = [self._line_item(subscription, addon, association, price, start, end) for price in prices]
        self.grants.copy(subscription, grants, start, end, period)
        if prorate:
            effective = max([start, *(when(item["start_date"]) for item in items)])
            self._charge(subscription, items, effective, association)
        return association

    def _line_item(self, subscription: dict, addon: dict, association: dict, price: dict, start: datetime,
                   end: datetime | None) -> dict:
        usage = price.get("type") == "USAGE"
        starts = [start, when(subscription["start_date"])] + ([when(price["start_date"])] if price.get("start_date") else [])
        begins = max(starts)
        return self.records.new("subscription_lineitem", {
            "subscription_id": subscription["id"], "customer_id": subscription["customer_id"],
            "entity_id": addon["id"], "entity_type": "addon", "addon_association_id": association["id"],
            "price_id": price["id"], "price_type": price.get("type"), "currency": subscription["currency"],
            "billing_period": price.get("billing_period"), "invoice_cadence": price.get("invoice_cadence"),
            "display_name": price.get("display_name"), "start_date": stamp(begins),
            **({"end_date": stamp(end)} if end else {}),
            **({"meter_id": price.get("meter_id"), "meter_display_name": (price.get("meter") or {}).get("name")}
               if usage else {}),
            "quantity": "0" if usage else str(price.get("min_quantity") or 1),
            "metadata": {"addon_id": addon["id"], "subscription_id": subscription["id"], "addon_quantity": "1",
                         "addon_status": "active"},
        })

    def _charge(self, subscription: dict, items: list[dict], at: datetime, association: dict) -> None:
        """The attach's proration charge, on a ONE_OFF invoice from `at` to the period end."""
        shares = [self.prorations.addition(subscription, item, at) for item in items]
        shares = [share for share in shares if share.charge > 0]
        total = sum((share.charge for share in shares), ZERO)
        if total <= 0:
            return
        end = subscription["current_period_end"]
        self.invoices.create({
            "customer_id": subscription["customer_id"], "subscription_id": subscription["id"],
            "invoice_type": "ONE_OFF", "currency": subscription["currency"], "billing_reason": "SUBSCRIPTION_UPDATE",
            "amount_due": text(total), "total": text(total), "subtotal": text(total), "period_start": stamp(at),
            "period_end": end, "billing_period": subscription.get("billing_period"),
            "idempotency_key": f"addon_add_{association['id']}_{int(at.timestamp())}",
            "line_items": [{
                "price_id": share.item["price_id"], "price_type": share.item.get("price_type"),
                "display_name": share.item.get("display_name"), "amount": text(share.charge),
                "quantity": share.item.get("quantity"), "period_start": stamp(at), "period_end": end,
                "subscription_line_item_id": share.item["id"],
                "metadata": {"description": f"Proration charge: {share.item.get('quantity')} x "
                                            f"{share.item.get('display_name')} ({at.date()} - {when(end).date()})"},
            } for share in shares]})

    # -- removing -------------------------------------------------------------------------------
    def detach(self, request: dict) -> None:
        """`DELETE /subscriptions/addon`: the association cancelled, `subscription.updated` sent."""
        key = request.get("addon_association_id")
        if not key:
            raise Invalid("addon_association_id", "addon_association_id is required")
        if request.get("proration_behavior") and request["proration_behavior"] not in PRORATIONS:
            raise Invalid("proration_behavior", f"proration_behavior must be one of {', '.join(PRORATIONS)}")
        association = self.records.require("addon_association", key, named="addon_association_id")
        if association.get("addon_status") != "active" or association.get("end_date"):
            raise Invalid("addon_association_id", "addon is already scheduled to be removed")
        items = self.records.where("subscription_lineitem", subscription_id=association["entity_id"],
                                   addon_association_id=association["id"])
        if items and all(item.get("end_date") for item in items):
            raise Invalid("addon_association_id", "addon is already scheduled to end")
        items = [item for item in items if not item.get("end_date")]
        subscription = self.records.require("subscription", association["entity_id"])
        effective = when(subscription["current_period_end"])
        if request.get("effective_date"):
            effective = parse_instant(request["effective_date"], "effective_date")
            if not when(subscription["current_period_start"]) <= effective <= when(subscription["current_period_end"]):
                raise Invalid("effective_date", "effective_date must be between the subscription's current period "
                                                "start and end")
        if any(effective < when(item["start_date"]) for item in items):
            raise Invalid("effective_date", "effective from date must be on or after the line item's start date")
        self.cancel(association, effective, request.get("reason") or "")
        for item in items:
            self.records.update("subscription_lineitem", item["id"], {"end_date": stamp(effective)})
        self.grants.end_for(subscription, effective, association["addon_id"])
        if request.get("proration_behavior") == "create_prorations":
            credit = sum((self.prorations.removal(subscription, item, effective).credit for item in items), ZERO)
            if credit > 0:
                self.wallets.prorated_credit(subscription["customer_id"], subscription["currency"], credit,
                                             f"addon_remove_{subscription['id']}_{association['id']}_"
                                             f"{int(effective.timestamp())}")
        self.records.changed("subscription.updated", "subscription", self.records.get("subscription", subscription["id"]))

    def cancel(self, association: dict, at: datetime, reason: str) -> dict:
        return self.records.update("addon_association", association["id"], {
            "end_date": stamp(at), "cancelled_at": stamp(at), "addon_status": "cancelled",
            **({"cancellation_reason": reason} if reason else {})})

    def end_all(self, subscription: dict, at: datetime, reason: str) -> None:
        """When the subscription ends: every association active in its current period ends too."""
        for association in active_associations(self.records, subscription):
            self.cancel(association, at, reason)

    # -- reading --------------------------------------------------------------------------------
    def listed(self, subscription_id: str) -> list[dict]:
        """`GET /subscriptions/{id}/addons/associations`: the active ones, each with its add-on."""
        subscription = self.records.require("subscription", subscription_id, named="id")
        return [{**a, "addon": self.records.get("addon", a["addon_id"])}
                for a in active_associations(self.records, subscription)]

    def _reset_periods(self, subscription: dict) -> dict[str, str]:
        """Feature id -> usage reset period of the metered features the subscription has."""
        return {feature_id: granted[-1][0].get("usage_reset_period")
                for feature_id, granted in self.granted(subscription).items()
                if granted[-1][0].get("feature_type") == "metered"}

    def _plan_reset_periods(self, plan_id: str) -> dict[str, str]:
        return {e["feature_id"]: e.get("usage_reset_period")
                for e in self.records.where("entitlement", entity_type="PLAN", entity_id=plan_id)
                if e.get("feature_type") == "metered"}


def active_associations(records: Records, subscription: dict) -> list[dict]:
    """The subscription's active add-on associations overlapping its current period (a removal
    marks one cancelled at once, though its line items bill until it ends)."""
    start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
    return [a for a in records.where("addon_association", entity_id=subscription["id"], addon_status="active")
            if (not a.get("start_date") or when(a["start_date"]) <= end)
            and (not a.get("end_date") or when(a["end_date"]) > start)]
