"""Subscriptions over HTTP: reads with their line items, cancellation, plan changes, usage and
entitlements (`billing.subscription_views`, `billing.cancellations`, `billing.plan_changes`,
`billing.invoices`, `billing.entitlements`). Creation goes through the generic create, which
hands it to the billing service."""
from __future__ import annotations

from starlette.responses import Response

from ...domain.billing import money
from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("getSubscription", exclusive=False)
def get_subscription(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.subscription_views.full(call.key()))


@behaviour("getSubscriptionV2", exclusive=False)
def get_subscription_v2(api: Api, call: Call) -> Response:
    expand = call.params.get("expand")
    view = api.billing.subscription_views.expanded(call.key(), ",".join(expand) if isinstance(expand, list) else expand)
    return api.render(call.op, view)


@behaviour("cancelSubscription")
def cancel_subscription(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.cancellations.cancel(call.key(), api.fields(call.body)))


@behaviour("previewSubscriptionChange")
def preview_subscription_change(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.plan_changes.preview(call.key(), api.fields(call.body)))


@behaviour("executeSubscriptionChange")
def execute_subscription_change(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.plan_changes.execute(call.key(), api.fields(call.body)))


@behaviour("getSubscriptionUsage", exclusive=False)
def get_subscription_usage(api: Api, call: Call) -> Response:
    """Charges are JSON numbers in this answer (the real server's floats); money elsewhere is text."""
    request = api.fields(call.body)
    usage = api.billing.invoices.usage_charges(request.get("subscription_id"), request.get("start_time"),
                                               request.get("end_time"), bool(request.get("lifetime_usage")))
    charges = [{**charge, "quantity": float(charge["quantity"]), "amount": float(charge["amount"]),
                "display_amount": money.text(charge["amount"])} for charge in usage["charges"]]
    return json_response(api.schemas.conform({
        **usage, "charges": charges, "amount": float(usage["amount"]), "display_amount": money.text(usage["amount"]),
        "commitment_amount": 0, "commitment_utilized": 0, "overage_amount": 0, "has_overage": False,
    }, call.op.response_schema), call.op.status)


@behaviour("getSubscriptionEntitlements")
def get_subscription_entitlements(api: Api, call: Call) -> Response:
    subscription = api.billing.records.require("subscription", call.key())
    found = api.billing.entitlements.of_subscription(subscription, api.id_list(call.params.get("feature_ids")))
    return json_response(api.schemas.conform(found, call.op.response_schema), call.op.status)
