"""Coupons over HTTP: updating one as the real server allows, and the coupon associations
listing (`billing.coupons`). Coupons are created through the generic create, which hands them
to the billing service."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("updateCoupon", exclusive=False)
def update_coupon(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.coupons.update(call.key(), api.fields(call.body)))


@behaviour("listCouponAssociations", exclusive=False)
def list_coupon_associations(api: Api, call: Call) -> Response:
    limit, offset = api.paging(call.params)
    found = api.billing.coupons.associations(api.id_list(call.params.get("subscription_ids")),
                                             api.id_list(call.params.get("coupon_ids")),
                                             call.params.get("active_only") is True, str(call.params.get("expand") or ""))
    body = {"items": found[offset: offset + limit], "pagination": {"limit": limit, "offset": offset, "total": len(found)}}
    return json_response(api.schemas.conform(body, call.op.response_schema), call.op.status)
