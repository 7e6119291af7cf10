"""A customer's computed views over HTTP: entitlements, usage against them, invoice summary
(`billing.entitlements`, `billing.invoices`)."""
from __future__ import annotations

from starlette.responses import Response

from ...core.failures import Invalid
from ..handlers import Api, Call, json_response
from .registry import behaviour


def _answer(api: Api, call: Call, body: dict) -> Response:
    return json_response(api.schemas.conform(body, call.op.response_schema), call.op.status)


@behaviour("getCustomerEntitlements")
def get_customer_entitlements(api: Api, call: Call) -> Response:
    customer = api.billing.records.require("customer", call.key())
    return _answer(api, call, api.billing.entitlements.of_customer(
        customer, api.id_list(call.params.get("feature_ids")), api.id_list(call.params.get("subscription_ids"))))


@behaviour("getCustomerEntitlementsByExternalID")
def get_customer_entitlements_by_external_id(api: Api, call: Call) -> Response:
    customer = api.billing.records.require("customer", call.params.get("external_id"), "external_id")
    return _answer(api, call, api.billing.entitlements.of_customer(customer))


@behaviour("getCustomerUsageSummary", exclusive=False)
def get_customer_usage_summary(api: Api, call: Call) -> Response:
    """By `customer_id` or `customer_lookup_key` (the customer's external id)."""
    records = api.billing.records
    if call.params.get("customer_id"):
        customer = records.require("customer", call.params["customer_id"])
    elif call.params.get("customer_lookup_key"):
        customer = records.require("customer", call.params["customer_lookup_key"], "external_id")
    else:
        raise Invalid("customer_id", "customer_id or customer_lookup_key is required")
    features = api.id_list(call.params.get("feature_ids"))
    for key in api.id_list(call.params.get("feature_lookup_keys")) or []:
        feature = records.require("feature", key, "lookup_key")
        features = [*(features or []), feature["id"]]
    return _answer(api, call, api.billing.entitlements.usage_summary(
        customer, features, api.id_list(call.params.get("subscription_ids"))))


@behaviour("getCustomerInvoiceSummary", exclusive=False)
def get_customer_invoice_summary(api: Api, call: Call) -> Response:
    customer = api.billing.records.require("customer", call.key())
    return _answer(api, call, api.billing.invoices.customer_summary(customer))
