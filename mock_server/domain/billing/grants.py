"""Credit grants: PLAN and ADDON grants (templates) and SUBSCRIPTION grants (scheduled credits),
checked, created, ended and copied as the real server does it (`internal/api/dto/creditgrant.go`
Validate and ToCreditGrant, `internal/ee/service/creditgrant.go` CreateCreditGrant,
UpdateCreditGrant, DeleteCreditGrant; `subscription.go` handleCreditGrantsWithStart,
addonCreditGrantProration; `internal/domain/proration/creditgrant_proration.go`).

A new subscription copies the `credit_grants` of its request, or else its plan's published PLAN
grants (newest first), as SUBSCRIPTION grants starting at its start (its trial end, when it has
one) and ending with it; an attached add-on copies its ADDON grants from the attach date,
ending with the add-on. All grants copied together must share their conversion rates. Each
copy's applications are `grant_applications`' business. Ending a subscription or an add-on
ends its grants there and cancels the applications still to come.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from ...core.failures import Invalid, Refused
from ...core.times import parse_instant, stamp, when
from ..records import Records
from . import money
from .grant_applications import GrantApplications, expiry_after
from .money import text
from .periods import period_end
from .proration import coefficient

SCOPES = ("PLAN", "SUBSCRIPTION", "ADDON")
CADENCES = ("ONETIME", "RECURRING")
PERIODS = ("DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "QUARTERLY", "HALF_YEARLY")
EXPIRIES = ("NEVER", "DURATION", "BILLING_CYCLE")
UNITS = ("DAY", "WEEK", "MONTH", "YEAR")
RATES = ("conversion_rate", "topup_conversion_rate")
COPIED = ("name", "credits", "cadence", "period", "period_count", "expiration_type", "expiration_duration",
          "expiration_duration_unit", "priority", "metadata", *RATES)
CREDITS_PLACES = Decimal("1e-8")  # a prorated first grant's credits
MOST_CREDITS = Decimal("1e30")
PROBE = datetime(2100, 1, 1, tzinfo=timezone.utc)  # a grant's periods and expiry must stay on the calendar from here


class Grants:
    def __init__(self, records: Records, applications: GrantApplications) -> None:
        self.records = records
        self.applications = applications
        self.clock = records.clock

    # -- POST /creditgrants ---------------------------------------------------------------------
    def create(self, fields: dict, record_id: str | None = None) -> dict:
        grant = checked(fields)
        scope = grant["scope"]
        if scope in ("PLAN", "ADDON"):
            owner = scope.lower()
            found = self.records.require(owner, grant[f"{owner}_id"])
            if found.get("status", "published") != "published":
                raise Invalid(f"{owner}_id", f"{owner} is not published")
            same_rates([grant, *self.templates(owner, found["id"])],
                       f"all credit grants for a{'n' if owner == 'addon' else ''} {owner} must have the same "
                       "conversion_rate and topup_conversion_rate")
            return self.records.new("creditgrant", grant, record_id)
        subscription = self.records.require("subscription", grant["subscription_id"])
        self._fits(grant, subscription)
        stored = self.records.new("creditgrant", {**grant, "credit_grant_anchor": grant["start_date"]}, record_id)
        self.applications.begin(stored, subscription)
        return self.records.get("creditgrant", stored["id"])

    def _fits(self, grant: dict, subscription: dict) -> None:
        """A SUBSCRIPTION grant lies within its subscription, which is not cancelled."""
        if subscription.get("subscription_status") == "cancelled":
            raise Invalid("subscription_id", "subscription is cancelled")
        if when(grant["start_date"]) < when(subscription["start_date"]):
            raise Invalid("start_date", "credit grant start_date must be greater than or equal to subscription start_date")
        ends = subscription.get("end_date")
        if grant.get("end_date") and ends and when(grant["end_date"]) > when(ends):
            raise Invalid("end_date", "credit grant end_date must be less than or equal to subscription end_date")

    def templates(self, owner: str, owner_id: str) -> list[dict]:
        """A plan's or an add-on's published grants of that scope, newest first."""
        return list(reversed([g for g in self.records.where("creditgrant", scope=owner.upper(), **{f"{owner}_id": owner_id})
                              if g.get("status") == "published"]))

    def of_subscription(self, subscription_id: str) -> list[dict]:
        return [g for g in self.records.where("creditgrant", scope="SUBSCRIPTION", subscription_id=subscription_id)
                if g.get("status") == "published"]

    # -- PUT and DELETE /creditgrants/{id} ------------------------------------------------------
    def update(self, grant_id: str, changes: dict) -> dict:
        """`name` and `metadata` change; an `end_date` (not in the past) ends the grant there."""
        grant = self.records.require("creditgrant", grant_id)
        end = parse_instant(changes["end_date"], "end_date") if changes.get("end_date") else None
        if end is not None and end < self.clock.now():
            raise Invalid("end_date", "end_date cannot be in the past")
        if changes.get("name") is not None and not str(changes["name"]).strip():
            raise Invalid("name", "name is required")
        updated = self.records.update("creditgrant", grant_id, {k: changes[k] for k in ("name", "metadata")
                                                                if changes.get(k) is not None})
        if end is not None:
            self.end(grant, end)
            updated = self.records.get("creditgrant", grant_id)
        return updated

    def end(self, grant: dict, at: datetime | None = None) -> None:
        """A PLAN grant is archived; any other keeps its record, ends at `at` (now by default) and
        its applications from then on are cancelled."""
        if grant.get("status") != "published":
            raise Refused("credit grant is not in published status", {"status": grant.get("status")})
        if grant.get("scope") == "PLAN":
            self.records.update("creditgrant", grant["id"], {"status": "archived"})
            return
        at = at or self.clock.now()
        if grant.get("scope") == "SUBSCRIPTION":
            self.applications.cancel_from(grant, at)
        self.records.update("creditgrant", grant["id"], {"end_date": stamp(at)})

    def end_for(self, subscription: dict, at: datetime, addon_id: str | None = None) -> None:
        """The subscription's grants (those copied from `addon_id` only, when given) end at `at`."""
        for grant in self.of_subscription(subscription["id"]):
            if addon_id is None or grant.get("addon_id") == addon_id:
                self.end(grant, at)

    # -- copies onto a subscription -------------------------------------------------------------
    def starting(self, fields: dict, status: str) -> Callable[[dict], None]:
        """When a subscription is created: the grants it gets (its request's `credit_grants`, or its
        plan's), checked before it is stored; the returned step copies them once it is."""
        requested = fields.get("credit_grants")
        if requested is not None:  # checked as the copies they become: their scope and dates are set when copied
            placeholder = {"scope": "SUBSCRIPTION", "subscription_id": "-", "start_date": self.clock.stamp(),
                           "end_date": None}
            copies = [checked({**g, **placeholder}, f"credit_grants[{i}].") for i, g in enumerate(requested)]
        else:
            copies = [{k: g[k] for k in COPIED if k in g} | {"plan_id": g["plan_id"]}
                      for g in self.templates("plan", str(fields.get("plan_id") or ""))]
        same_rates(copies, "all credit grants must have the same conversion_rate and topup_conversion_rate")

        def copy(subscription: dict) -> None:
            start = when(subscription.get("trial_end") or subscription["start_date"])
            self.copy(subscription, copies, start, None)
        return copy

    def addon_copies(self, addon_id: str) -> list[dict]:
        """An add-on's grants as they are copied onto a subscription, checked before anything is
        written (they must share their rates)."""
        copies = [{k: g[k] for k in COPIED if k in g} | {"addon_id": addon_id} for g in self.templates("addon", addon_id)]
        same_rates(copies, "all credit grants must have the same conversion_rate and topup_conversion_rate")
        return copies

    def copy(self, subscription: dict, copies: list[dict], start: datetime, end: datetime | None,
             period: tuple[datetime, datetime] | None = None) -> None:
        """The copies as SUBSCRIPTION grants from `start` until `end` (or the subscription's end),
        each with its first application. With `period` (an add-on attached with
        `create_prorations` inside that billing period), a recurring grant that recurs with the
        subscription's billing period is anchored on the period's end and its first application
        scaled to the part of the period it covers."""
        limit = when(subscription["end_date"]) if subscription.get("end_date") else None
        end = min(end, limit) if end is not None and limit is not None else (end or limit)
        for copy in copies:
            grant = {k: v for k, v in copy.items() if k not in ("start_date", "end_date", "subscription_id", "scope")}
            grant.update(scope="SUBSCRIPTION", subscription_id=subscription["id"], start_date=stamp(start),
                         credit_grant_anchor=stamp(start), **({"end_date": stamp(end)} if end else {}))
            prorated = (period is not None and grant.get("cadence") == "RECURRING"
                        and grant.get("period") == subscription.get("billing_period"))
            if prorated:
                grant["credit_grant_anchor"] = stamp(period[1])
            self._fits(grant, subscription)
            stored = self.records.new("creditgrant", grant)
            if not prorated:
                self.applications.begin(stored, subscription)
                continue
            share = coefficient(period[0], period[1], start)
            credits = money.decimal(stored["credits"], "credits") * share
            first = text(credits.quantize(CREDITS_PLACES, rounding=ROUND_HALF_UP))
            self.applications.begin(stored, subscription, period[1], first, {
                "proration_applied": "true", "proration_coefficient": text(share),
                "proration_original_credits": stored["credits"], "proration_period_start": stamp(period[0]),
                "proration_period_end": stamp(period[1]), "proration_date": stamp(start),
                "proration_strategy": "second_based", "proration_source": "addon_attach"})


def checked(fields: dict, prefix: str = "") -> dict:
    """A grant request as `CreateCreditGrantRequest.Validate` checks it (each refusal a 400
    naming the field), reduced to the fields its scope, cadence and expiry keep."""
    def refuse(field: str, message: str) -> Invalid:
        return Invalid(prefix + field, message)

    name = str(fields.get("name") or "").strip()
    if not name:
        raise refuse("name", "name is required")
    scope = fields.get("scope")
    if scope not in SCOPES:
        raise refuse("scope", f"scope must be one of {', '.join(SCOPES)}")
    grant = {"name": name, "scope": scope}
    owner = {"PLAN": "plan_id", "SUBSCRIPTION": "subscription_id", "ADDON": "addon_id"}[scope]
    if not fields.get(owner):
        raise refuse(owner, f"{owner} is required for {scope}-scoped grants")
    grant[owner] = fields[owner]
    if scope == "SUBSCRIPTION":
        if not fields.get("start_date"):
            raise refuse("start_date", "start_date is required for SUBSCRIPTION-scoped grants")
        start = parse_instant(fields["start_date"], prefix + "start_date")
        grant["start_date"] = stamp(start)
        if fields.get("end_date"):
            end = parse_instant(fields["end_date"], prefix + "end_date")
            if end < start:
                raise refuse("end_date", "end_date cannot be before start_date")
            grant["end_date"] = stamp(end)
        grant.update({k: fields[k] for k in ("plan_id", "addon_id") if fields.get(k)})
    else:
        for name in ("start_date", "end_date"):
            if fields.get(name):
                raise refuse(name, f"start_date and end_date are not allowed for {scope}-scoped grants")
    credits = money.decimal(fields.get("credits"), prefix + "credits", None)
    if credits <= 0:
        raise refuse("credits", "credits must be greater than zero")
    if credits >= MOST_CREDITS:
        raise refuse("credits", "credits must be below 10^30, what the mock keeps exactly")
    grant["credits"] = text(credits)
    if fields.get("cadence") not in CADENCES:
        raise refuse("cadence", f"cadence must be one of {', '.join(CADENCES)}")
    grant["cadence"] = fields["cadence"]
    if fields.get("expiration_type") not in EXPIRIES:
        raise refuse("expiration_type", f"expiration_type must be one of {', '.join(EXPIRIES)}")
    grant["expiration_type"] = fields["expiration_type"]
    if grant["cadence"] == "RECURRING":
        if fields.get("period") not in PERIODS:
            raise refuse("period", f"period is required for RECURRING cadence, one of {', '.join(PERIODS)}")
        if not isinstance(fields.get("period_count"), int) or fields["period_count"] <= 0:
            raise refuse("period_count", "period_count is required for RECURRING cadence and must be above 0")
        grant.update(period=fields["period"], period_count=fields["period_count"])
        _on_the_calendar(prefix + "period_count", lambda: period_end(PROBE, PROBE, grant["period"], grant["period_count"]))
    if grant["expiration_type"] == "DURATION":
        if fields.get("expiration_duration_unit") not in UNITS:
            raise refuse("expiration_duration_unit", f"expiration_duration_unit must be one of {', '.join(UNITS)}")
        if not isinstance(fields.get("expiration_duration"), int) or fields["expiration_duration"] <= 0:
            raise refuse("expiration_duration", "expiration_duration is required for DURATION expiration type")
        grant.update({k: fields[k] for k in ("expiration_duration", "expiration_duration_unit")})
        _on_the_calendar(prefix + "expiration_duration", lambda: expiry_after(grant, PROBE))
    for rate in RATES:
        if fields.get(rate) not in (None, ""):
            if money.decimal(fields[rate], prefix + rate) <= 0:
                raise refuse(rate, f"{rate} must be greater than zero")
            grant[rate] = text(money.decimal(fields[rate], rate))
    grant.update({k: fields[k] for k in ("priority", "metadata") if fields.get(k) is not None})
    return grant


def _on_the_calendar(field: str, moment: Callable[[], datetime]) -> None:
    """A period or a duration long enough to leave the calendar (past the year 9999) is a 400."""
    try:
        moment()
    except (OverflowError, ValueError):
        raise Invalid(field, f"{field} reaches past the year 9999") from None


def same_rates(grants: list[dict], message: str) -> None:
    """Grants given or copied together must agree on both conversion rates (absent or equal)."""
    def rates(grant: dict) -> tuple:
        return tuple(money.decimal(grant[r], r) if grant.get(r) not in (None, "") else None for r in RATES)
    if len({rates(g) for g in grants}) > 1:
        raise Invalid("conversion_rate", message)

