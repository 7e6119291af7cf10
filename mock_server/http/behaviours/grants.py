"""Credit grants over HTTP: a plan's and an add-on's templates, update and end, and the scheduled
applications still to come (`billing.grants`, `billing.grant_applications`). Creation goes
through the generic create, which hands it to the billing service."""
from __future__ import annotations

from starlette.responses import Response

from flexprice_spec.resources import list_item_schema

from ...core.failures import NotFound
from ...core.times import parse_instant
from ..handlers import Api, Call, json_response
from .registry import behaviour


def _listed(api: Api, call: Call, items: list[dict]) -> Response:
    return json_response(api.schemas.conform(whole_page(items), call.op.response_schema), call.op.status)


def whole_page(items: list[dict]) -> dict:
    """The whole list in one page, `limit` 0, as the server's unlimited lists answer."""
    return {"items": items, "pagination": {"total": len(items), "limit": 0, "offset": 0}}


def _applications(api: Api, call: Call, subscription_ids: list[str]) -> Response:
    """`credits` is kept as exact text and written as the served spec types it: a JSON number in
    the public spec, the server's decimal string under an overlay that says so."""
    item = api.spec.resolve(list_item_schema(api.spec, call.op.response_schema))
    as_number = api.spec.resolve(api.spec.properties(item).get("credits")).get("type") == "number"
    items = [{**a, "credits": float(a["credits"]) if as_number else a["credits"]}
             for a in api.billing.grant_applications.upcoming(subscription_ids)]
    return _listed(api, call, items)


@behaviour("getSubscriptionUpcomingGrants", exclusive=False)
def get_subscription_upcoming_grants(api: Api, call: Call) -> Response:
    """Only an active or trialing subscription has grants to come (404 otherwise, as the server)."""
    subscription = api.billing.records.get("subscription", call.key())
    if subscription is None or subscription.get("subscription_status") not in ("active", "trialing"):
        raise NotFound("subscription", call.key(), "id")
    return _applications(api, call, [subscription["id"]])


@behaviour("getCustomerUpcomingGrants", exclusive=False)
def get_customer_upcoming_grants(api: Api, call: Call) -> Response:
    customer = api.billing.records.require("customer", call.key(), named="id")
    live = [s["id"] for s in api.billing.records.where("subscription", customer_id=customer["id"])
            if s.get("subscription_status") in ("active", "trialing")]
    return _applications(api, call, live)


@behaviour("getPlanCreditGrants", exclusive=False)
def get_plan_credit_grants(api: Api, call: Call) -> Response:
    plan = api.billing.records.require("plan", call.key(), named="id")
    return _listed(api, call, api.billing.grants.templates("plan", plan["id"]))


@behaviour("getAddonCreditGrants", exclusive=False)
def get_addon_credit_grants(api: Api, call: Call) -> Response:
    addon = api.billing.records.require("addon", call.key(), named="id")
    return _listed(api, call, api.billing.grants.templates("addon", addon["id"]))


@behaviour("updateCreditGrant")
def update_credit_grant(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.grants.update(call.key(), api.fields(call.body)))


@behaviour("deleteCreditGrant")
def delete_credit_grant(api: Api, call: Call) -> Response:
    body = api.fields(call.body)
    at = parse_instant(body["effective_date"], "effective_date") if body.get("effective_date") else None
    api.billing.grants.end(api.billing.records.require("creditgrant", call.key(), named="id"), at)
    return json_response({"message": "credit grant deleted successfully"}, call.op.status)
