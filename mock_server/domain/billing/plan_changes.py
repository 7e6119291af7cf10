"""Plan changes: moving a subscription to another plan at once, previewed or carried out, as the
real server's first change API does it (`internal/ee/service/subscription_change.go`
PreviewSubscriptionChange, ExecuteSubscriptionChangeInternal, determineChangeType,
calculateNextInvoicePreview, applySubscriptionChangePreviewCredit, calculateNewBillingCycle,
executeChange, createNewSubscription, convertCancellationProrationToDetails;
`internal/api/dto/subscription_change.go`).

A change needs an active or trialing subscription and another plan. It is an upgrade, a
downgrade or lateral as the sum of the target plan's price amounts is above, below or equal to
the current plan's. Carried out, the old subscription is cancelled now (billing its ARREAR
charges so far, unless trialing) and a new one on the target plan starts now, anchored now on
an anniversary cycle; with `create_prorations` the unused part of the old ADVANCE fees (the
cancel's proration) is not paid into a wallet but taken off the new subscription's opening
invoice, line by line (billed as SUBSCRIPTION_UPDATE). The preview computes the same proration,
a next invoice of the target plan's non-zero price amounts less that credit, and the new
billing cycle, and stores nothing. A change at `end_of_period` is not modelled (400).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ...core.failures import Invalid, Refused
from ...core.times import stamp, when
from ..records import Records
from . import money
from .cancellations import Cancellations
from .money import ZERO, text
from .periods import MONTHS, add_date
from .proration import Prorations
from .subscriptions import Subscriptions, price_fits

PRORATIONS = ("create_prorations", "none")
CHANGEABLE = ("active", "trialing")
DAYS = {"DAILY": 1, "WEEKLY": 7}
CARRIED = ("lookup_key", "timezone", "payment_terms", "commitment_amount", "overage_factor")


class PlanChanges:
    def __init__(self, records: Records, subscriptions: Subscriptions, cancellations: Cancellations,
                 prorations: Prorations) -> None:
        self.records = records
        self.subscriptions = subscriptions
        self.cancellations = cancellations
        self.prorations = prorations
        self.clock = records.clock

    def preview(self, subscription_id: str, request: dict) -> dict:
        subscription, current, target, kind = self._checked(subscription_id, request)
        now = self.clock.now()
        proration = None
        if request["proration_behavior"] == "create_prorations" and subscription["subscription_status"] != "trialing":
            shares = self.prorations.cancellation(subscription, self.subscriptions.current_items(subscription), now, True)
            proration = self.prorations.summary(subscription, shares, now)
        period, count = subscription["billing_period"], int(subscription.get("billing_period_count") or 1)
        return {
            "subscription_id": subscription["id"], "current_plan": _summary(current), "target_plan": _summary(target),
            "change_type": kind, "effective_date": stamp(now), "metadata": request.get("metadata") or {},
            "next_invoice_preview": self._next_invoice(subscription, target, proration, request.get("change_at")),
            "new_billing_cycle": {"period_start": stamp(now), "period_end": stamp(_period_end(now, period, count)),
                                  "billing_anchor": subscription.get("billing_anchor"), "billing_period": period,
                                  "billing_cadence": subscription.get("billing_cadence") or "RECURRING",
                                  "billing_period_count": count},
            "warnings": self._warnings(subscription, kind, request["proration_behavior"], now),
            **({"proration_details": proration} if proration else {}),
        }

    def execute(self, subscription_id: str, request: dict) -> dict:
        subscription, _, target, kind = self._checked(subscription_id, request)
        if request.get("change_at") == "end_of_period":
            raise Invalid("change_at", "a plan change at end_of_period is not modelled by the mock; use immediate")
        now = self.clock.now()
        prorate = request["proration_behavior"] == "create_prorations" and subscription["subscription_status"] != "trialing"
        old, shares = self.cancellations.cancelled(subscription["id"], {
            "cancellation_type": "immediate", "reason": "subscription_change",
            "proration_behavior": request["proration_behavior"],
            **({} if subscription["subscription_status"] == "trialing" else
               {"cancel_immediately_inovice_policy": "generate_invoice"})}, credit_wallet=False)
        credit = sum((share.credit for share in shares), ZERO) if prorate else ZERO
        new = self.subscriptions.create({
            "customer_id": subscription["customer_id"], "plan_id": target["id"], "currency": subscription["currency"],
            "billing_cadence": request["billing_cadence"], "billing_period": request["billing_period"],
            "billing_period_count": request["billing_period_count"], "billing_cycle": request["billing_cycle"],
            **({"billing_anchor": stamp(now)} if request["billing_cycle"] == "anniversary" else {}),
            "start_date": stamp(now), "proration_behavior": request["proration_behavior"],
            "metadata": {**(subscription.get("metadata") or {}), **(request.get("metadata") or {})},
            **{k: subscription[k] for k in CARRIED if subscription.get(k) is not None},
        }, opening_credit=credit)
        return {
            "old_subscription": {"id": old["subscription_id"], "status": old["status"]},
            "new_subscription": {k: new.get(k) for k in ("id", "plan_id", "current_period_start", "current_period_end",
                                                         "billing_anchor", "created_at")}
            | {"status": new.get("subscription_status")},
            "change_type": kind, "effective_date": stamp(now), "is_scheduled": False,
            "metadata": request.get("metadata") or {},
            **({"proration_applied": self.prorations.summary(subscription, shares, now)} if prorate else {}),
        }

    def _checked(self, subscription_id: str, request: dict) -> tuple[dict, dict, dict, str]:
        """The subscription, its plan, the target plan and the change type, or the 400 (404 for
        what does not exist) the server answers."""
        for name in ("target_plan_id", "billing_cadence", "billing_period", "billing_cycle"):
            if not request.get(name):
                raise Invalid(name, f"{name} is required")
        if request.get("proration_behavior") not in PRORATIONS:
            raise Invalid("proration_behavior", f"proration_behavior must be one of {', '.join(PRORATIONS)}")
        count = request.get("billing_period_count") or 1
        if not isinstance(count, int) or count < 0:
            raise Invalid("billing_period_count", "billing_period_count must be a positive number")
        request["billing_period_count"] = count
        subscription = self.records.require("subscription", subscription_id, named="id")
        current = self.records.require("plan", subscription.get("plan_id"))
        target = self.records.require("plan", request["target_plan_id"], named="target_plan_id")
        if current["id"] == target["id"]:
            raise Invalid("target_plan_id", "cannot change subscription to the same plan")
        status = subscription.get("subscription_status")
        if status not in CHANGEABLE:
            raise Refused(f"cannot change a {status} subscription: it must be active or trialing",
                          {"subscription_status": status})
        items = self.subscriptions.current_items(subscription)
        if request["proration_behavior"] == "create_prorations" and len({i.get("billing_period") for i in items}) > 1:
            raise Invalid("proration_behavior", "proration is not supported for subscriptions with mixed billing "
                                                "periods; set proration_behavior to none")
        if not any(price_fits(p, subscription["currency"], request["billing_period"], count) for p in self._prices(target)):
            raise Invalid("target_plan_id", f"no valid prices found for subscription: plan {target['id']} has no "
                                            f"{request['billing_period']} price in {subscription['currency']}")
        return subscription, current, target, _change_type(self._value(current), self._value(target))

    def _prices(self, plan: dict) -> list[dict]:
        return self.records.where("price", entity_type="PLAN", entity_id=plan["id"])

    def _value(self, plan: dict) -> Decimal:
        """A plan's worth for comparing: the sum of all its price amounts, whatever their type."""
        return sum((money.decimal(p.get("amount"), "amount") for p in self._prices(plan)), ZERO)

    def _next_invoice(self, subscription: dict, target: dict, proration: dict | None, change_at: str | None) -> dict:
        """The target plan's positive price amounts, one line each, less an immediate change's
        credit taken off the lines in order."""
        lines = [{"description": f"{target.get('name')} - {p.get('description') or 'Price'}",
                  "amount": money.decimal(p.get("amount"), "amount"), "quantity": "1", "is_proration": False}
                 for p in self._prices(target) if money.decimal(p.get("amount"), "amount") > 0]
        credit = money.decimal(proration["credit_amount"], "credit_amount") if proration else ZERO
        if change_at in (None, "immediate"):
            for line in lines:
                taken = min(credit, line["amount"])
                line["amount"] -= taken
                credit -= taken
        subtotal = sum((line["amount"] for line in lines), ZERO)
        return {"subtotal": text(max(subtotal, ZERO)), "tax_amount": "0", "total": text(subtotal),
                "currency": subscription["currency"],
                "line_items": [{**line, "amount": text(line["amount"]), "unit_price": text(line["amount"])}
                               for line in lines]}

    @staticmethod
    def _warnings(subscription: dict, kind: str, behaviour: str, now: datetime) -> list[str]:
        warnings = []
        if kind == "downgrade":
            warnings.append("This is a downgrade. You may lose access to certain features.")
        if subscription.get("trial_end") and when(subscription["trial_end"]) > now:
            warnings.append("Changing plans during trial period may end your trial immediately.")
        if behaviour == "create_prorations":
            warnings.append("Proration charges or credits will be applied to your next invoice.")
        return warnings


def _change_type(current: Decimal, target: Decimal) -> str:
    return "upgrade" if target > current else "downgrade" if target < current else "lateral"


def _summary(plan: dict) -> dict:
    return {k: plan[k] for k in ("id", "name", "lookup_key", "description") if plan.get(k) is not None}


def _period_end(start: datetime, period: str, count: int) -> datetime:
    """The preview's new period end: the start moved by the period with Go's `AddDate`."""
    if period in DAYS:
        return start + timedelta(days=DAYS[period] * count)
    return add_date(start, months=MONTHS.get(period, 1) * count if period in MONTHS else 1)
