"""Credit grant applications: each scheduled grant of credits to a subscription's customer, and
the job that applies them when they come due, as the real server runs them
(`internal/ee/service/creditgrant.go` InitializeCreditGrantWorkflow, processScheduledApplication,
applyCreditGrantToWallet, createNextPeriodApplication; `subscription_state_handler.go`).

A SUBSCRIPTION grant gets one application at its start, applied at once when that is not in the
future. Applying one, by the subscription's state: active or trialing applies, draft or
incomplete defers it (30 minutes, doubling with each retry), paused skips it, cancelled cancels
it and every later one. Applied, it tops up the customer's first active PRE_PAID wallet in the
subscription's currency (with the grant's conversion rates when the grant sets them), or a new
one, by `credits` (reason SUBSCRIPTION_CREDIT_GRANT), expiring as the grant says: never;
DURATION after n days, weeks, months or years from the period start (months and years as Go's
`AddDate`); BILLING_CYCLE at the end of the subscription period holding the period start. One
whose expiry is already past is skipped. A RECURRING grant then schedules the next application
for the grant period that follows (start + period x count from its anchor) unless that period
ends after the grant does. The clock's period job applies every application that came due,
oldest first; one that failed (no wallet could take it) is tried again when the clock moves.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ...core.failures import Failure
from ...core.times import stamp, when
from ..records import Records
from . import money
from .money import same_currency, text
from .periods import add_date, next_period_end, period_end
from .wallets import Wallets

APPLIES = {"active", "trialing"}
DEFERS = {"draft", "incomplete"}
SKIPS = {"paused"}
OPEN = ("pending", "failed")
APPLICATIONS_PER_CALL = 400
DURATION_DAYS = {"DAY": 1, "WEEK": 7}
DURATION_MONTHS = {"MONTH": 1, "YEAR": 12}


class GrantApplications:
    def __init__(self, records: Records, wallets: Wallets) -> None:
        self.records = records
        self.wallets = wallets
        self.clock = records.clock
        self.store = records.store
        self._next_due: datetime | None = None  # earliest pending application; None: unknown
        records.lifecycle.on_local_reset(self.forget_due)
        records.lifecycle.on_stale(self.forget_due)

    def forget_due(self) -> None:
        self._next_due = None

    # -- scheduling -----------------------------------------------------------------------------
    def begin(self, grant: dict, subscription: dict, first_end: datetime | None = None, credits: str | None = None,
              metadata: dict | None = None) -> None:
        """The grant's first application, at its start; applied now when that is not in the future.
        `first_end` and `credits` shorten and scale a first period that starts mid-cycle."""
        start = when(grant["start_date"])
        recurring = grant.get("cadence") == "RECURRING"
        end = (first_end or self.period_after(grant, start)) if recurring else None
        reason = "first_time_recurring_credit_grant" if recurring else "onetime_credit_grant"
        application = self._schedule(grant, subscription, start, end, reason, credits or grant["credits"], metadata)
        if when(application["scheduled_for"]) <= self.clock.now():
            self.catch_up(self.clock.now(), retry=False, force=True)

    def period_after(self, grant: dict, start: datetime) -> datetime:
        """Where the grant period that starts at `start` ends, from the grant's anchor."""
        anchor = when(grant.get("credit_grant_anchor") or grant["start_date"])
        return period_end(start, anchor, grant["period"], grant.get("period_count") or 1)

    def _schedule(self, grant: dict, subscription: dict, start: datetime, end: datetime | None, reason: str,
                  credits: str, metadata: dict | None = None) -> dict:
        application = self.records.new("creditgrant_application", {
            "credit_grant_id": grant["id"], "subscription_id": subscription["id"], "scheduled_for": stamp(start),
            "period_start": stamp(start), **({"period_end": stamp(end)} if end else {}),
            "application_status": "pending", "application_reason": reason, "credits": credits,
            "subscription_status_at_application": subscription.get("subscription_status"), "retry_count": 0,
            "idempotency_key": f"{grant['id']}:{stamp(start)}:{stamp(end) if end else ''}",
            **({"metadata": metadata} if metadata else {}),
        })
        if self._next_due is not None:
            self._next_due = min(self._next_due, start)
        return application

    def cancel_from(self, grant: dict, at: datetime) -> None:
        """Every open application of the grant scheduled at or after `at` is cancelled."""
        for application in self.records.where("creditgrant_application", credit_grant_id=grant["id"]):
            if application.get("application_status") in OPEN and when(application["scheduled_for"]) >= at:
                self.records.update("creditgrant_application", application["id"],
                                    {"application_status": "cancelled", "applied_at": None})

    # -- the period job -------------------------------------------------------------------------
    def catch_up(self, now: datetime, retry: bool = False, force: bool = False) -> None:
        """Every pending application due by `now` (and, with `retry`, every failed one), oldest
        first, each once, at most `APPLICATIONS_PER_CALL` per call; O(1) when none is due."""
        if not force and not retry and self._next_due is not None and now < self._next_due:
            return
        tried: set[str] = set()
        with self.store.atomic():
            for _ in range(APPLICATIONS_PER_CALL):
                due = self._earliest_due(now, retry, tried)
                if due is None:
                    return
                tried.add(due["id"])
                try:
                    self._process(due, now)
                except (Failure, ArithmeticError, ValueError) as problem:  # e.g. a period past year 9999
                    self._settle(due, "failed", failure_reason=f"Failed to apply the credit grant: {problem}")
            self._next_due = None

    def _earliest_due(self, now: datetime, retry: bool, tried: set[str]) -> dict | None:
        """The open application due first and not tried yet in this pass, remembering when the
        next pending one falls due."""
        due, due_at, upcoming = None, None, datetime.max.replace(tzinfo=now.tzinfo)
        for application in self.records.where("creditgrant_application"):
            status = application.get("application_status")
            if status not in OPEN or application["id"] in tried:
                continue
            at = when(application["scheduled_for"])
            if at > now:
                upcoming = min(upcoming, at) if status == "pending" else upcoming
            elif (status == "pending" or retry) and (due_at is None or at < due_at):
                due, due_at = application, at
        self._next_due = upcoming if due is None else None
        return due

    def _process(self, application: dict, now: datetime) -> None:
        subscription = self.records.get("subscription", application["subscription_id"])
        grant = self.records.get("creditgrant", application["credit_grant_id"])
        if subscription is None or grant is None or grant.get("status") != "published":
            self._settle(application, "skipped", failure_reason="the grant or its subscription is gone")
            return
        if application.get("application_status") == "failed":
            application = self.records.update("creditgrant_application", application["id"],
                                              {"retry_count": int(application.get("retry_count") or 0) + 1})
        status = subscription.get("subscription_status")
        if status in APPLIES:
            self._apply(application, grant, subscription, now)
        elif status in DEFERS:
            retries = int(application.get("retry_count") or 0)
            later = now + timedelta(minutes=30 * (1 << min(retries, 4)))
            self.records.update("creditgrant_application", application["id"],
                                {"scheduled_for": stamp(later), "retry_count": retries + 1})
        elif status == "cancelled":
            self._settle(application, "cancelled")
            self.cancel_from(grant, when(application["scheduled_for"]))
        else:
            self._settle(application, "skipped")
            self._next(grant, subscription, application)

    def _apply(self, application: dict, grant: dict, subscription: dict, now: datetime) -> None:
        try:
            wallet = self._wallet(grant, subscription)
        except Failure as failure:
            self._settle(application, "failed", failure_reason=f"Failed to create wallet for top up: {failure.message}")
            return
        expiry = self.expiry(grant, subscription, when(application["period_start"]))
        if expiry is not None and expiry < now:
            self._settle(application, "skipped", failure_reason=(
                f"Credit grant expired before application. Expiry date: {stamp(expiry)}, Current time: {stamp(now)}"))
            self._next(grant, subscription, application)
            return
        self.wallets.credit(wallet, money.decimal(application["credits"], "credits"), {
            "transaction_reason": "SUBSCRIPTION_CREDIT_GRANT", "idempotency_key": application["id"],
            **({"expiry_date": stamp(expiry)} if expiry else {}),
            **({"priority": grant["priority"]} if grant.get("priority") is not None else {}),
            "metadata": {"grant_id": grant["id"], "subscription_id": subscription["id"], "cga_id": application["id"],
                         **(application.get("metadata") or {})}})
        self._settle(application, "applied", applied_at=stamp(now))
        self._next(grant, subscription, application)

    def _settle(self, application: dict, status: str, **changes: object) -> None:
        self.records.update("creditgrant_application", application["id"], {"application_status": status, **changes})

    def _next(self, grant: dict, subscription: dict, application: dict) -> None:
        """A recurring grant's application for the period after this one, unless that period
        ends after the grant does."""
        if grant.get("cadence") != "RECURRING" or not application.get("period_end"):
            return
        start = when(application["period_end"])
        end = self.period_after(grant, start)
        if grant.get("end_date") and end > when(grant["end_date"]):
            return
        self._schedule(grant, subscription, start, end, "recurring_credit_grant", grant["credits"])

    def _wallet(self, grant: dict, subscription: dict) -> dict:
        """The customer's first active PRE_PAID wallet in the currency whose rates match the
        grant's (when it sets them), else a new one at the grant's rates."""
        rates = {name: money.decimal(grant[name], name) for name in ("conversion_rate", "topup_conversion_rate")
                 if grant.get(name) not in (None, "")}
        for wallet in self.records.where("wallet", customer_id=subscription["customer_id"]):
            if (wallet.get("wallet_status") == "active" and wallet.get("wallet_type") == "PRE_PAID"
                    and same_currency(wallet.get("currency"), subscription["currency"])
                    and all(money.decimal(wallet.get(name), name) == rate for name, rate in rates.items())):
                return wallet
        return self.wallets.create({"customer_id": subscription["customer_id"], "currency": subscription["currency"],
                                    **{name: text(rate) for name, rate in rates.items()}})

    @staticmethod
    def expiry(grant: dict, subscription: dict, start: datetime) -> datetime | None:
        if grant.get("expiration_type") == "DURATION":
            return expiry_after(grant, start)
        if grant.get("expiration_type") == "BILLING_CYCLE":
            return _period_end_holding(subscription, start)
        return None

    # -- reading --------------------------------------------------------------------------------
    def upcoming(self, subscription_ids: list[str]) -> list[dict]:
        """The pending and failed applications of the subscriptions scheduled after now,
        earliest first."""
        now = self.clock.now()
        found = [a for sub_id in subscription_ids
                 for a in self.records.where("creditgrant_application", subscription_id=sub_id)
                 if a.get("application_status") in OPEN and when(a["scheduled_for"]) > now]
        return sorted(found, key=lambda a: when(a["scheduled_for"]))


def expiry_after(grant: dict, start: datetime) -> datetime | None:
    """A DURATION grant's expiry for credits granted at `start`: n days or weeks later, or n
    months or years as Go's `AddDate` adds them."""
    unit, count = grant.get("expiration_duration_unit"), int(grant.get("expiration_duration") or 0)
    if count <= 0:
        return None
    if unit in DURATION_DAYS:
        return start + timedelta(days=DURATION_DAYS[unit] * count)
    return add_date(start, months=DURATION_MONTHS[unit] * count) if unit in DURATION_MONTHS else None


def _period_end_holding(subscription: dict, at: datetime) -> datetime | None:
    """The end of the subscription's billing period holding `at`: its current one, else walked
    from its start (`CalculateBillingPeriods`); None when no period of it holds `at`."""
    start, end = when(subscription["current_period_start"]), when(subscription["current_period_end"])
    if start <= at < end:
        return end
    start = when(subscription["start_date"])
    limit = when(subscription["end_date"]) if subscription.get("end_date") else None
    for _ in range(10_000):
        end = next_period_end(subscription, start)
        if start <= at < end:
            return end
        if limit is not None and end >= limit or start > at:
            return None
        start = end
    return None
