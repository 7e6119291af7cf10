"""Request-body validation where the real server and Connexion disagree.

Connexion's JSON body validator answers an absent body with 400 "Request body must not be empty"
even where the spec says the body is optional (`requestBody.required: false`); the real server
accepts the request. `BODY_VALIDATORS` is Connexion's own table with that one rule changed.
"""
from __future__ import annotations

from connexion.datastructures import MediaTypeDict
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator


class OptionalJSONBodyValidator(JSONRequestBodyValidator):
    def _validate(self, body: object) -> dict | None:
        if body is None and not self._required:
            return None
        return super()._validate(body)


BODY_VALIDATORS = MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": OptionalJSONBodyValidator})
