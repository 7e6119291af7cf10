"""Cancelling a subscription, with its proration, as the real server does it
(`internal/ee/service/subscription.go` CancelSubscription, determineEffectiveDate,
convertProrationResultToDetails, generateCancellationMessage).

`immediate` cancels now (or at a past `cancel_at` after the period start): the final ARREAR
invoice when `cancel_immediately_inovice_policy: generate_invoice`, the line items, add-ons and
credit grants ended, and with `proration_behavior: create_prorations` each ADVANCE line item's
unused part credited (`proration.py`) and paid into a prepaid wallet. `end_of_period` and
`scheduled_date` only schedule the end, which the period job carries out (`subscriptions.py`);
an end of period never prorates, a scheduled date lists each line item with no credit. Trialing
subscriptions were never charged and are never prorated; a subscription whose line items bill
over different periods cannot be (400).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ...core.failures import Invalid, Refused
from ...core.times import parse_instant, stamp, when
from ..records import Records
from .invoices import Invoices
from .money import ZERO, text
from .proration import LineProration, Prorations
from .subscriptions import Subscriptions
from .wallets import Wallets

CANCELLATIONS = ("immediate", "end_of_period", "scheduled_date")
PRORATIONS = ("create_prorations", "none")


class Cancellations:
    def __init__(self, records: Records, subscriptions: Subscriptions, invoices: Invoices, prorations: Prorations,
                 wallets: Wallets) -> None:
        self.records = records
        self.subscriptions = subscriptions
        self.invoices = invoices
        self.prorations = prorations
        self.wallets = wallets
        self.clock = records.clock

    def cancel(self, subscription_id: str, request: dict) -> dict:
        return self.cancelled(subscription_id, request)[0]

    def cancelled(self, subscription_id: str, request: dict,
                  credit_wallet: bool = True) -> tuple[dict, list[LineProration]]:
        """The cancel's answer and each line item's proration; `credit_wallet=False` keeps the
        credit out of the wallet (a plan change nets it off the new subscription's first invoice)."""
        subscription = self.records.require("subscription", subscription_id)
        kind = request.get("cancellation_type")
        if kind not in CANCELLATIONS:
            raise Invalid("cancellation_type", f"cancellation_type must be one of {list(CANCELLATIONS)}")
        behaviour = request.get("proration_behavior") or "none"
        if behaviour not in PRORATIONS:
            raise Invalid("proration_behavior", f"proration_behavior must be one of {list(PRORATIONS)}")
        status = subscription.get("subscription_status")
        if status == "draft":
            raise Refused("a draft subscription cannot be cancelled", {"subscription_status": "draft"})
        if status == "cancelled":
            raise Refused("subscription is already cancelled", {"subscription_status": "cancelled"})
        items = self.subscriptions.current_items(subscription)
        if behaviour == "create_prorations" and len({item.get("billing_period") for item in items}) > 1:
            raise Invalid("proration_behavior", "proration is not supported for subscriptions with mixed billing "
                                                "periods; set proration_behavior to none")
        if kind != "immediate" and subscription.get("cancel_at"):
            raise Refused("subscription already has a cancellation scheduled", {"cancel_at": subscription["cancel_at"]})
        now = self.clock.now()
        effective = self._effective(subscription, kind, request, now)
        shares = []
        if behaviour == "create_prorations" and kind != "end_of_period" and status != "trialing":
            shares = self.prorations.cancellation(subscription, items, effective, refundable=kind == "immediate")
        credit = sum((share.credit for share in shares), ZERO)
        if kind == "immediate":
            self._immediate(subscription, request, effective, now, credit if credit_wallet else ZERO)
        else:
            self.subscriptions.schedule_end(subscription, effective, now, at_period_end=kind == "end_of_period")
        current = self.records.get("subscription", subscription_id)
        return {"subscription_id": subscription_id, "cancellation_type": kind, "effective_date": stamp(effective),
                "status": current["subscription_status"], "reason": request.get("reason") or "",
                "proration_details": self.prorations.details(shares), "total_credit_amount": text(credit),
                "processed_at": stamp(now), "message": _message(kind, effective)}, shares

    @staticmethod
    def _effective(subscription: dict, kind: str, request: dict, now: datetime) -> datetime:
        """When the cancellation takes effect: now (or a past `cancel_at` after the period start)
        for immediate, the period end, or the future `cancel_at` of a scheduled date."""
        if kind == "end_of_period":
            return when(subscription["current_period_end"])
        if kind == "scheduled_date":
            if not request.get("cancel_at"):
                raise Invalid("cancel_at", "cancel_at is required for a scheduled_date cancellation")
            effective = parse_instant(request["cancel_at"], "cancel_at")
            if effective <= now:
                raise Invalid("cancel_at", "cancel_at must be in the future; use cancellation_type immediate")
            return effective
        if not request.get("cancel_at"):
            return now
        effective = parse_instant(request["cancel_at"], "cancel_at")
        if effective > now or effective <= when(subscription["current_period_start"]):
            raise Invalid("cancel_at", "an immediate cancel_at must be in the past, after current_period_start")
        return effective

    def _immediate(self, subscription: dict, request: dict, effective: datetime, now: datetime, credit: Decimal) -> None:
        """The final invoice when asked for, line items and what ends with the subscription ended,
        the proration credit paid, then the subscription cancelled, in the server's order."""
        if request.get("cancel_immediately_inovice_policy") == "generate_invoice":
            self.invoices.issue(subscription, when(subscription["current_period_start"]), effective, "cancel",
                                "SUBSCRIPTION_UPDATE")
        self.subscriptions.end_items(subscription, effective)
        self.subscriptions.ended(subscription, effective, request.get("reason") or "")
        if credit > 0:
            self.wallets.prorated_credit(subscription["customer_id"], subscription["currency"], credit,
                                         f"proration_credit_cancel|{subscription['id']}|immediate|"
                                         f"{subscription['current_period_start']}|{subscription['current_period_end']}")
        self.subscriptions.mark_cancelled(subscription, {"cancelled_at": stamp(now), "cancel_at": stamp(effective),
                                                         "end_date": stamp(effective), "cancel_at_period_end": False})


def _message(kind: str, effective: datetime) -> str:
    if kind == "immediate":
        return "Subscription cancelled immediately"
    if kind == "end_of_period":
        return f"Subscription will be cancelled at the end of the current period ({effective.date().isoformat()})"
    return f"Subscription end date set to {effective.date().isoformat()}"
