"""Request-body validation where the real server and Connexion disagree.

Connexion's JSON body validator answers an absent body with 400 "Request body must not be empty"
even where the spec says the body is optional (`requestBody.required: false`); the real server
accepts the request. A body that is present, even the literal `null`, is still validated.
`BODY_VALIDATORS` is Connexion's own table with that one rule changed.
"""
from __future__ import annotations

from connexion.datastructures import MediaTypeDict
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from starlette.datastructures import Headers
from starlette.types import Receive, Scope


class OptionalJSONBodyValidator(JSONRequestBodyValidator):
    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        """`limits.BodyGuard` has set `Content-Length` on every routed request, chunked or not."""
        absent = not int(Headers(scope=scope).get("content-length", 0))
        if absent and not self._required and self._schema.get("default") is None:
            return receive, scope
        return await super().wrap_receive(receive, scope=scope)


BODY_VALIDATORS = MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": OptionalJSONBodyValidator})
