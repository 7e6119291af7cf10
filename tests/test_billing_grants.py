"""Credit grants as the real server applies them (BILLING-2.md section 3; `internal/ee/service/
creditgrant.go`, `subscription.go` handleCreditGrants, `internal/api/dto/creditgrant.go`): plan
grants copied to each new subscription and applied at its start into a PRE_PAID wallet, recurring
ones applied again when the clock passes each grant period, expiry types, and the upcoming
applications `/customers/{id}/grants/upcoming` and `/subscriptions/{id}/grants/upcoming` list."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mock_server.domain.billing.periods import add_date

from .billing_api import api, billing_mock, customer, plan, price, subscribe  # noqa: F401 (fixtures)


def grant(api, plan_id: str, credits: str, cadence: str = "ONETIME", expiration_type: str = "NEVER", **extra) -> dict:
    body = {"name": f"{cadence} {credits}", "scope": "PLAN", "plan_id": plan_id, "credits": credits,
            "cadence": cadence, "expiration_type": expiration_type, **extra}
    if cadence == "RECURRING":
        body = {"period": "MONTHLY", "period_count": 1, **body}
    return api.ok("POST", "creditgrants", body)


def wallets(api, customer_id: str) -> list[dict]:
    return api.ok("GET", f"customers/{customer_id}/wallets")


def transactions(api, wallet_id: str) -> list[dict]:
    return sorted(api.ok("GET", f"wallets/{wallet_id}/transactions")["items"], key=lambda t: t["created_at"])


def upcoming(api, path: str) -> list[dict]:
    return api.ok("GET", f"{path}/grants/upcoming")["items"]


@pytest.fixture
def pro(api) -> dict:
    created = plan(api)
    price(api, created["id"], amount="90")
    return created


@pytest.fixture
def customer_id(api) -> str:
    return customer(api)["id"]


# -- the worked example ----------------------------------------------------------------------------
def test_plan_grants_of_300_once_and_45_monthly_fill_a_new_prepaid_wallet_with_345(api, billing_mock, pro, customer_id):
    grant(api, pro["id"], "300")
    grant(api, pro["id"], "45", "RECURRING")
    subscription = subscribe(api, customer_id, pro["id"])
    [wallet] = wallets(api, customer_id)
    assert {k: wallet[k] for k in ("wallet_type", "currency", "credit_balance", "balance", "conversion_rate")} == {
        "wallet_type": "PRE_PAID", "currency": "usd", "credit_balance": "345", "balance": "345", "conversion_rate": "1"}
    assert wallet["config"] == {"allowed_price_types": ["USAGE"]}
    credited = transactions(api, wallet["id"])
    assert sorted(t["credit_amount"] for t in credited) == ["300", "45"]
    assert {t["transaction_reason"] for t in credited} == {"SUBSCRIPTION_CREDIT_GRANT"}
    [due] = upcoming(api, f"subscriptions/{subscription['id']}")
    assert {k: due[k] for k in ("scheduled_for", "period_start", "period_end", "credits", "application_status",
                                "application_reason", "subscription_id")} == {
        "scheduled_for": "2026-02-01T00:00:00.000Z", "period_start": "2026-02-01T00:00:00.000Z",
        "period_end": "2026-03-01T00:00:00.000Z", "credits": 45, "application_status": "pending",
        "application_reason": "recurring_credit_grant", "subscription_id": subscription["id"]}
    assert upcoming(api, f"customers/{customer_id}") == [due]


def test_the_recurring_grant_is_applied_again_when_the_clock_passes_its_period(api, billing_mock, pro, customer_id):
    grant(api, pro["id"], "300")
    grant(api, pro["id"], "45", "RECURRING")
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.to("2026-02-01T00:00:00Z")
    [wallet] = wallets(api, customer_id)
    assert (wallet["credit_balance"], len(transactions(api, wallet["id"]))) == ("390", 3)
    [due] = upcoming(api, f"subscriptions/{subscription['id']}")
    assert (due["scheduled_for"], due["period_end"]) == ("2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z")
    billing_mock.clock.to("2026-04-15T00:00:00Z")
    assert wallets(api, customer_id)[0]["credit_balance"] == "480"


def test_the_subscriptions_grants_are_its_plans_copied_from_its_start(api, pro, customer_id):
    template = grant(api, pro["id"], "45", "RECURRING", priority=2)
    subscription = subscribe(api, customer_id, pro["id"])
    [copy] = api.ok("GET", f"subscriptions/{subscription['id']}")["credit_grants"]
    assert {k: copy.get(k) for k in ("scope", "subscription_id", "plan_id", "credits", "cadence", "period", "period_count",
                                     "start_date", "credit_grant_anchor", "priority", "end_date")} == {
        "scope": "SUBSCRIPTION", "subscription_id": subscription["id"], "plan_id": pro["id"], "credits": "45",
        "cadence": "RECURRING", "period": "MONTHLY", "period_count": 1, "start_date": "2026-01-01T00:00:00.000Z",
        "credit_grant_anchor": "2026-01-01T00:00:00.000Z", "priority": 2, "end_date": None}
    assert copy["id"] != template["id"] and copy["id"].startswith("cg_")
    listed = api.ok("GET", f"plans/{pro['id']}/creditgrants")
    assert ([g["id"] for g in listed["items"]], listed["pagination"]["total"]) == ([template["id"]], 1)


def test_a_subscription_requested_with_credit_grants_gets_those_instead_of_its_plans(api, pro, customer_id):
    grant(api, pro["id"], "300")
    subscribe(api, customer_id, pro["id"], credit_grants=[
        {"name": "Own", "scope": "PLAN", "credits": "7.5", "cadence": "ONETIME", "expiration_type": "NEVER"}])
    assert wallets(api, customer_id)[0]["credit_balance"] == "7.5"


def test_grants_go_into_the_customers_existing_prepaid_wallet(api, pro, customer_id):
    existing = api.ok("POST", "wallets", {"customer_id": customer_id, "currency": "usd", "conversion_rate": "2"})
    grant(api, pro["id"], "50")
    subscribe(api, customer_id, pro["id"])
    [wallet] = wallets(api, customer_id)
    assert (wallet["id"], wallet["credit_balance"], wallet["balance"]) == (existing["id"], "50", "100")


def test_a_grant_at_another_conversion_rate_makes_its_own_wallet_at_that_rate(api, pro, customer_id):
    grant(api, pro["id"], "10", conversion_rate="2", topup_conversion_rate="2")
    subscribe(api, customer_id, pro["id"])
    [wallet] = wallets(api, customer_id)
    assert (wallet["conversion_rate"], wallet["topup_conversion_rate"], wallet["credit_balance"], wallet["balance"]) == (
        "2", "2", "10", "20")


def test_a_grant_no_wallet_can_take_fails_and_is_tried_again_when_the_clock_moves(api, billing_mock, pro, customer_id):
    existing = api.ok("POST", "wallets", {"customer_id": customer_id, "currency": "usd"})
    grant(api, pro["id"], "10", conversion_rate="2", topup_conversion_rate="2")
    subscribe(api, customer_id, pro["id"])  # a second active prepaid usd wallet cannot be made: the grant fails
    assert [(w["id"], w["credit_balance"]) for w in wallets(api, customer_id)] == [(existing["id"], "0")]
    api.ok("POST", f"wallets/{existing['id']}/terminate")
    billing_mock.clock.advance("PT1M")
    [made] = [w for w in wallets(api, customer_id) if w["wallet_status"] == "active"]
    assert (made["conversion_rate"], made["credit_balance"], made["balance"]) == ("2", "10", "20")


# -- expiry ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("expiry", "expires"), [
    ({"expiration_type": "DURATION", "expiration_duration": 2, "expiration_duration_unit": "WEEK"},
     "2026-01-15T00:00:00.000Z"),
    ({"expiration_type": "DURATION", "expiration_duration": 1, "expiration_duration_unit": "MONTH"},
     "2026-02-01T00:00:00.000Z"),
    ({"expiration_type": "BILLING_CYCLE"}, "2026-02-01T00:00:00.000Z"),
    ({"expiration_type": "NEVER"}, None),
])
def test_granted_credits_expire_as_the_grants_expiration_type_says(api, pro, customer_id, expiry, expires):
    grant(api, pro["id"], "20", **expiry)
    subscribe(api, customer_id, pro["id"])
    [credit] = transactions(api, wallets(api, customer_id)[0]["id"])
    assert credit.get("expiry_date") == expires


def test_a_duration_in_months_runs_over_the_months_end_as_gos_add_date_does():
    at = datetime(2026, 1, 31, tzinfo=timezone.utc)
    assert add_date(at, months=1) == datetime(2026, 3, 3, tzinfo=timezone.utc)
    assert add_date(datetime(2028, 1, 31, tzinfo=timezone.utc), months=1) == datetime(2028, 3, 2, tzinfo=timezone.utc)
    assert add_date(at, years=1) == datetime(2027, 1, 31, tzinfo=timezone.utc)


def test_a_backdated_subscription_catches_up_skipping_the_grants_already_expired(api, pro, customer_id):
    grant(api, pro["id"], "10", "RECURRING", expiration_type="DURATION", expiration_duration=5,
          expiration_duration_unit="DAY")
    subscription = subscribe(api, customer_id, pro["id"], start_date="2025-10-30T00:00:00Z")
    [wallet] = wallets(api, customer_id)
    assert [t["credit_amount"] for t in transactions(api, wallet["id"])] == ["10"]  # Dec 30's, expiring Jan 4
    assert upcoming(api, f"subscriptions/{subscription['id']}")[0]["scheduled_for"] == "2026-01-30T00:00:00.000Z"


# -- grants created on a subscription --------------------------------------------------------------
def test_a_subscription_grant_starting_later_is_upcoming_then_applied_when_the_clock_gets_there(api, billing_mock, pro,
                                                                                               customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    created = api.ok("POST", "creditgrants", {
        "name": "Bonus", "scope": "SUBSCRIPTION", "subscription_id": subscription["id"], "credits": "25",
        "cadence": "ONETIME", "expiration_type": "NEVER", "start_date": "2026-01-10T00:00:00Z"})
    assert created["credit_grant_anchor"] == "2026-01-10T00:00:00.000Z"
    [due] = upcoming(api, f"customers/{customer_id}")
    assert (due["credit_grant_id"], due["application_reason"], due["credits"]) == (created["id"], "onetime_credit_grant", 25)
    assert wallets(api, customer_id) == []
    billing_mock.clock.to("2026-01-10T00:00:00Z")
    assert (wallets(api, customer_id)[0]["credit_balance"], upcoming(api, f"customers/{customer_id}")) == ("25", [])


def test_cancelling_the_subscription_ends_its_grants_and_their_upcoming_applications(api, billing_mock, pro, customer_id):
    grant(api, pro["id"], "45", "RECURRING")
    subscription = subscribe(api, customer_id, pro["id"])
    billing_mock.clock.to("2026-01-20T00:00:00Z")
    api.ok("POST", f"subscriptions/{subscription['id']}/cancel", {"cancellation_type": "immediate"})
    assert upcoming(api, f"customers/{customer_id}") == []
    assert api("GET", f"subscriptions/{subscription['id']}/grants/upcoming").status_code == 404
    [copy] = api.ok("GET", f"subscriptions/{subscription['id']}")["credit_grants"]
    assert copy["end_date"] == "2026-01-20T00:00:00.000Z"
    billing_mock.clock.to("2026-03-01T00:00:00Z")
    assert wallets(api, customer_id)[0]["credit_balance"] == "45"


def test_a_deleted_plan_grant_is_archived_and_no_longer_copied(api, pro, customer_id):
    template = grant(api, pro["id"], "45")
    assert api.ok("DELETE", f"creditgrants/{template['id']}") == {"message": "credit grant deleted successfully"}
    assert api.ok("GET", f"creditgrants/{template['id']}")["status"] == "archived"
    assert api.ok("GET", f"plans/{pro['id']}/creditgrants")["items"] == []
    subscribe(api, customer_id, pro["id"])
    assert wallets(api, customer_id) == []


# -- refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "field"), [
    ({"expiration_type": None}, "expiration_type"),
    ({"credits": "0"}, "credits"),
    ({"credits": "lots"}, "credits"),
    ({"plan_id": None}, "plan_id"),
    ({"start_date": "2026-01-01T00:00:00Z"}, "start_date"),
    ({"cadence": "RECURRING"}, "period"),
    ({"cadence": "RECURRING", "period": "MONTHLY", "period_count": 0}, "period_count"),
    ({"expiration_type": "DURATION", "expiration_duration": 3}, "expiration_duration_unit"),
    ({"expiration_type": "DURATION", "expiration_duration_unit": "DAY"}, "expiration_duration"),
    ({"conversion_rate": "0"}, "conversion_rate"),
    ({"scope": "SUBSCRIPTION", "subscription_id": "subs_x"}, "start_date"),
    ({"credits": "1e30"}, "credits"),
    ({"cadence": "RECURRING", "period": "DAILY", "period_count": 2**62}, "period_count"),
    ({"expiration_type": "DURATION", "expiration_duration": 2**40, "expiration_duration_unit": "YEAR"},
     "expiration_duration"),
])
def test_a_grant_the_real_server_rejects_is_400_naming_the_field(api, pro, change, field):
    body = {"name": "G", "scope": "PLAN", "plan_id": pro["id"], "credits": "5", "cadence": "ONETIME",
            "expiration_type": "NEVER", **change}
    api.refused("POST", "creditgrants", {k: v for k, v in body.items() if v is not None}, field)


def test_plan_grants_at_different_conversion_rates_are_refused(api, pro):
    grant(api, pro["id"], "5", conversion_rate="2")
    api.refused("POST", "creditgrants", {"name": "G", "scope": "PLAN", "plan_id": pro["id"], "credits": "5",
                                         "cadence": "ONETIME", "expiration_type": "NEVER"}, "conversion_rate")


def test_a_subscription_grant_before_the_subscription_or_on_a_cancelled_one_is_refused(api, pro, customer_id):
    subscription = subscribe(api, customer_id, pro["id"])
    body = {"name": "G", "scope": "SUBSCRIPTION", "subscription_id": subscription["id"], "credits": "5",
            "cadence": "ONETIME", "expiration_type": "NEVER", "start_date": "2025-12-01T00:00:00Z"}
    api.refused("POST", "creditgrants", body, "start_date")
    api.ok("POST", f"subscriptions/{subscription['id']}/cancel", {"cancellation_type": "immediate"})
    api.refused("POST", "creditgrants", {**body, "start_date": "2026-01-02T00:00:00Z"}, "subscription_id")
    assert api("POST", "creditgrants", {**body, "subscription_id": "subs_missing"}).status_code == 404
