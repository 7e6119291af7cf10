"""API keys: a key you create authenticates, a key you delete no longer does."""
from __future__ import annotations

from datetime import datetime

from starlette.responses import Response
from ulid import ULID

from ..errors import validation
from ..handlers import Api, Call, json_response
from .registry import behaviour

KEY_PREFIXES = {"private_key": "sk", "publishable_key": "pk"}


@behaviour("createApiKey", exclusive=False)
def create_api_key(api: Api, call: Call) -> Response:
    """Issue `sk_<ULID>`/`pk_<ULID>`; the store keeps its hash only, so this is the one time the
    raw key is seen. `integration` is in the enum, but the real server refuses it."""
    body = api.fields(call.body)
    kind = body.get("type")
    if kind not in KEY_PREFIXES:
        raise validation(f"type must be one of {sorted(KEY_PREFIXES)}, got {kind!r}", "type")
    expires = _expiry(body.get("expires_at"))
    raw = f"{KEY_PREFIXES[kind]}_{ULID()}"
    now = api.clock.stamp()
    secret = {
        "id": api.store.ids.new("secret"),
        "name": body.get("name"),
        "type": kind,
        "display_id": f"{raw[:5]}***{raw[-2:]}",
        "provider": "flexprice",
        "status": "published",
        "created_at": now,
        "updated_at": now,
        "user_type": "service_account" if body.get("service_account_id") else "user",
        "roles": [],
    }
    if body.get("expires_at"):
        secret["expires_at"] = body["expires_at"]
    schema = api.spec.properties(call.op.response_schema).get("secret")
    record = api.store.insert(call.op.resource.collection, api.schemas.conform(secret, schema))
    api.store.add_key(raw, record["id"], expires)
    return json_response({"api_key": raw, "secret": record}, call.op.status)


@behaviour("deleteApiKey", exclusive=False)
def delete_api_key(api: Api, call: Call) -> Response:
    response = api.do_delete(call)
    api.store.revoke_keys_of(call.key())
    return response


def _expiry(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise validation(f"expires_at must be an RFC 3339 date-time, got {value!r}", "expires_at") from None
    if parsed.tzinfo is None:
        raise validation("expires_at must carry a time zone (RFC 3339)", "expires_at")
    return parsed
