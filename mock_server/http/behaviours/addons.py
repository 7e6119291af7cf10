"""Add-ons on subscriptions over HTTP: attach, remove, and the active associations
(`billing.addons`)."""
from __future__ import annotations

from starlette.responses import Response

from flexprice_spec.resources import list_item_schema

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("addSubscriptionAddon")
def add_subscription_addon(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.addons.attach(api.fields(call.body)))


@behaviour("removeSubscriptionAddon")
def remove_subscription_addon(api: Api, call: Call) -> Response:
    api.billing.addons.detach(api.fields(call.body))
    return json_response({"message": "addon removed from subscription successfully"}, call.op.status)


@behaviour("getSubscriptionAddonAssociations", exclusive=False)
def get_subscription_addon_associations(api: Api, call: Call) -> Response:
    """An array, as the spec documents it (the server wraps it in `{items, pagination}`)."""
    item = list_item_schema(api.spec, call.op.response_schema)
    return json_response([api.schemas.conform(a, item) for a in api.billing.addons.listed(call.key())], call.op.status)
