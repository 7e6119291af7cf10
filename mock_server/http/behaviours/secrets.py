"""API keys over HTTP: a key you create authenticates, a key you delete no longer does
(`domain.keys`, through the backend)."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("createApiKey", exclusive=False)
def create_api_key(api: Api, call: Call) -> Response:
    """The raw key is in this answer and nowhere else."""
    schema = api.spec.properties(call.op.response_schema).get("secret")
    raw, secret = api.backend.create_api_key(call.op.resource, api.fields(call.body), schema)
    return json_response({"api_key": raw, "secret": secret}, call.op.status)


@behaviour("deleteApiKey", exclusive=False)
def delete_api_key(api: Api, call: Call) -> Response:
    api.backend.delete_api_key(call.op.resource, call.key())
    return api.render(call.op, {"message": f"{call.op.resource.entity} deleted", "success": True})
