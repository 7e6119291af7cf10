"""Add-ons on subscriptions over HTTP: attach, remove, and the active associations
(`billing.addons`)."""
from __future__ import annotations

from starlette.responses import Response

from flexprice_spec.resources import list_item_schema

from ..handlers import Api, Call, json_response
from .grants import whole_page
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
    """An array where the served spec documents one (the public spec), else the server's own
    `{items, pagination}` page (under an overlay that documents it)."""
    item = list_item_schema(api.spec, call.op.response_schema)
    found = [api.schemas.conform(a, item) for a in api.billing.addons.listed(call.key())]
    if api.spec.resolve(call.op.response_schema).get("type") == "array":
        return json_response(found, call.op.status)
    return json_response(api.schemas.conform(whole_page(found), call.op.response_schema), call.op.status)
