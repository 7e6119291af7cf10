"""An operation's request body: media type, presence, JSON syntax and schema, checked in that order.

The rules and messages are the ones Connexion applied when it validated requests for the mock,
with one change where the real server and Connexion disagree: an absent body is accepted where
the spec says the body is optional (`requestBody.required: false`), while a body that is present,
even the literal `null`, is validated.
"""
from __future__ import annotations

from connexion.datastructures import MediaTypeDict
from connexion.utils import is_nullable

from flexprice_spec.document import Spec

from ..schemas.checks import Schemas
from .asgi import header
from .errors import ApiError, problem_message
from .limits import parse_json


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class RequestBody:
    """One operation's body. `read` returns the value the handler gets: the parsed JSON, the raw
    bytes of another declared media type, or None for an absent optional body."""

    def __init__(self, spec: Spec, schemas: Schemas, request_body: dict | None) -> None:
        self.schemas = schemas
        body = spec.resolve(request_body)
        content = body.get("content", {})
        self.declared = bool(request_body)
        self.consumes = list(content)
        self.exact = {media.lower() for media in self.consumes}
        self.ranges = MediaTypeDict([(media, None) for media in self.exact])  # `application/*`
        self.required = bool(body.get("required"))
        media = next((content[m] for m in self.consumes if is_json(m.lower().split(";")[0])), None)
        self.schema = media.get("schema") if media else None
        node = spec.resolve(self.schema)
        self.nullable = bool(is_nullable(node))
        self.default = node.get("default")

    def read(self, headers: list[tuple[bytes, bytes]], raw: bytes) -> object:
        if not self.declared:
            return None  # the real server ignores a body the operation does not take
        media_type = self.media_type(headers)
        if not is_json(media_type):
            return raw or None
        if not raw:
            if self.default is not None:
                return self.default
            if self.required:
                raise ApiError(400, "RequestBody is required")
            return None
        value = parse_json(raw)  # a `BodyRejected` is answered by the endpoint, as a read's 413 is
        if self.schema is not None:
            self.check(value)
        return value

    def media_type(self, headers: list[tuple[bytes, bytes]]) -> str:
        """The request's media type; 415 unless the operation declares it. No `Content-Type` at
        all counts as the first declared one."""
        given = header(headers, b"content-type")
        if given is None:
            return self.consumes[0].lower() if self.consumes else "application/octet-stream"
        media_type = given.split(";", 1)[0].strip().lower()
        if media_type not in self.exact and media_type not in self.ranges:
            hint = next((f"; send the header 'Content-Type: {m}'" for m in self.consumes if is_json(m.lower())), "")
            raise ApiError(415, f"Invalid Content-type ({media_type}), expected {self.consumes}{hint}")
        return media_type

    def check(self, value: object) -> None:
        if value is None and not self.nullable:
            raise ApiError(400, "Request body must not be empty")
        if value is None or self.schemas.is_valid(value, self.schema):
            return
        error = self.schemas.first_error(value, self.schema)
        path = ".".join(str(part) for part in error.path)
        raise ApiError(400, problem_message(f"{error.message} - '{path}'" if path else error.message))
