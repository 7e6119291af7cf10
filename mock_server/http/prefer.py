"""The `Prefer` header, compatible with Prism.

`Prefer: code=404` answers with that documented response; `example=NAME` with that named spec
example; `dynamic=true` with fresh fake data for the schema; `latency=200ms` delays this request.
Clients that cannot set headers use `__code`, `__example`, `__dynamic` query parameters, which
never reach the handler. `Prefer` runs after authentication and request validation
(`endpoint.py`), so a request that fails either gets that error whatever it prefers. A preferred
response bypasses the handler (the store is untouched), except a preferred code equal to the
operation's own success status without `example` or `dynamic`: that is just the normal answer.
`latency=` replaces, for this request, the latency the fault rules added (`faults.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import Scope

from flexprice_spec.resources import Operation

from ..core.failures import Invalid
from ..schemas.synth import Synth
from . import errors
from .asgi import header
from .errors import ApiError
from .faults import parse_duration, wait
from .handlers import json_response

QUERY_PREFIX = b"__"  # `params.py` leaves these out of the arguments handlers get


@dataclass(slots=True)
class Preferences:
    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    latency: float | None = None

    @property
    def shapes_response(self) -> bool:
        return self.code is not None or self.example is not None or self.dynamic


def parse(header: str | None, query: list[tuple[str, str]]) -> Preferences:
    """`Prefer: code=400, example=ok` and `?__code=400`; tokens this mock does not know (RFC 7240's
    `return=minimal`, ...) are ignored, as Prism ignores them."""
    found: dict[str, str] = {}
    for token in (header or "").split(","):
        name, _, value = token.partition("=")
        found[name.strip().lower()] = value.strip().strip('"')
    for name, value in query:
        found[name[2:].lower()] = value
    prefs = Preferences(example=found.get("example") or None, dynamic=found.get("dynamic", "").lower() == "true")
    if "code" in found:
        if not found["code"].isdigit() or not 100 <= int(found["code"]) <= 599:
            raise Invalid("code", f"Prefer code must be an HTTP status, got {found['code']!r}")
        prefs.code = int(found["code"])
    if "latency" in found:
        try:
            prefs.latency = parse_duration(found["latency"])
        except ValueError as exc:
            raise Invalid("latency", f"Prefer {exc}") from None
    return prefs


class Prefer:
    """Applies `Prefer` to a request routed to an operation."""

    def __init__(self, fake: Synth) -> None:
        self.fake = fake  # the fake data `dynamic=true` answers with

    async def response(self, scope: Scope, op: Operation, responses: dict, latency: float = 0.0) -> Response | None:
        """The response that replaces the handler's, if any, after the preferred delay or else
        `latency` (what the fault rules added)."""
        prefer = header(scope["headers"], b"prefer")
        if prefer is None and QUERY_PREFIX not in scope["query_string"]:
            await wait(latency)
            return None
        ours = [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                if k.startswith("__")]
        prefs = parse(prefer, ours)
        await wait(latency if prefs.latency is None else prefs.latency)
        if not prefs.shapes_response:
            return None
        return self.preferred(op, responses, prefs)

    def preferred(self, op: Operation, responses: dict, prefs: Preferences) -> Response | None:
        code = prefs.code or op.status
        documented = sorted(responses)
        if str(code) not in responses and "default" not in responses:
            raise ApiError(400, f"Prefer code={code} is not documented for {op.operation_id}; "
                                f"documented: {', '.join(documented)}", {"code": code})
        media = self.fake.spec.resolve(responses.get(str(code), responses.get("default"))).get("content", {}).get(
            "application/json") or {}
        if prefs.example is not None:
            return json_response(self.example(op, code, media, prefs.example), code)
        if code == op.status and not prefs.dynamic:
            return None
        schema = media.get("schema")
        if schema is None:
            return Response(status_code=code)
        if code >= 400:
            message = f"{op.operation_id}: status {code} requested with Prefer"
            if self.fake.schemas.is_valid(errors.envelope(code, message), schema):
                return errors.error_response(code, message)
        return json_response(self.fake.value(schema), code)

    def example(self, op: Operation, code: int, media: dict, name: str) -> object:
        examples = {key: self.fake.spec.resolve(value).get("value") for key, value in media.get("examples", {}).items()}
        if "example" in media:
            examples.setdefault("default", media["example"])
        if name not in examples:
            known = f"examples: {', '.join(examples)}" if examples else "the spec documents no examples for it"
            raise ApiError(400, f"no example named {name!r} for {op.operation_id} {code}; {known}", {"example": name})
        return examples[name]
