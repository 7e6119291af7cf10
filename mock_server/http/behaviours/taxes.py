"""Taxes over HTTP: updating and deleting a rate as the real server allows it, and listing
associations by `external_customer_id` (`billing.taxes`). Rates and associations are created
through the generic create, which hands them to the billing service."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call
from .registry import behaviour


@behaviour("updateTaxRate")
def update_tax_rate(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.taxes.update_rate(call.key(), api.fields(call.body)))


@behaviour("deleteTaxRate")
def delete_tax_rate(api: Api, call: Call) -> Response:
    api.billing.taxes.delete_rate(call.key())
    return api.render(call.op, {"message": "tax_rate deleted", "success": True})


@behaviour("listTaxAssociations", exclusive=False)
def list_tax_associations(api: Api, call: Call) -> Response:
    """An `external_customer_id` filter means that customer's associations."""
    filters = dict(call.params)
    external = filters.pop("external_customer_id", None)
    if external:
        customer = api.billing.records.require("customer", external, "external_id", "external_customer_id")
        filters.update(entity_type="customer", entity_id=customer["id"])
    return api.page(call.op, call.op.resource, filters)
