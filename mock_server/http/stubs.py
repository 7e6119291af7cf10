"""Scripted answers, WireMock's scenarios for retry tests: the next N requests of one operation get
a given status (and body, after an optional delay), then normal service resumes.

`Prefer` needs control of the client's headers, which an SDK does not give, and `--error-rate` is
random; a stub is neither. It is set over `POST /_mock/stubs`, `MockServer.stub(...)` or a
fixture document's `stubs:` list, and matches an operation by `operationId` or by method and
path template (`POST /customers`, with or without the base path). A stubbed answer comes after
authentication and request validation, as `Prefer` does, so it never hides a 401 or a 400, and
the handler does not run: the store is untouched and a retry is safe. A body must validate against
the operation's documented response for that status; an undocumented status of 400 or more (a
gateway's 429 or 503) answers the spec's error envelope. Stubs live until used up or a reset
(after which a fixture's stubs are set again).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.responses import Response

from flexprice_spec.document import ERROR_SCHEMA, Spec
from flexprice_spec.resources import Model, Operation

from ..core.failures import Invalid
from ..schemas.synth import Synth
from . import errors
from .faults import parse_duration, wait
from .handlers import json_response

FIELDS = ("operation", "method", "path", "status", "body", "times", "delay")
ABSENT = object()


class StubError(Invalid, ValueError):
    """Why a stub is refused, and the field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(field, message)


@dataclass(slots=True)
class Stub:
    id: str
    operation_id: str
    method_path: str
    status: int
    body: object
    times: int
    delay: float
    served: int = 0

    def public(self) -> dict:
        """What `GET /_mock/stubs` lists."""
        return {"id": self.id, "operation": self.operation_id, "request": self.method_path, "status": self.status,
                **({} if self.body is ABSENT else {"body": self.body}), "times": self.times,
                "remaining": self.times - self.served, "delay_ms": round(self.delay * 1000, 3)}

    def response(self) -> Response:
        return Response(status_code=self.status) if self.body is ABSENT else json_response(self.body, self.status)


class Stubs:
    """The stubs set on one mock, in the order they were set; the first live one for an operation
    answers."""

    def __init__(self, spec: Spec, model: Model, fake: Synth) -> None:
        self.spec, self.fake = spec, fake  # the fake data a stubbed 2xx without a body answers with
        self.operations = model.by_operation_id()
        self.by_method_path = {(op.method.upper(), op.path): op for op in model.operations}
        self._stubs: list[Stub] = []
        self._lock = threading.Lock()
        self._count = 0

    def add(self, fields: object) -> Stub:
        """Check `fields` (`operation` or `method`+`path`, `status`, `body`?, `times`?, `delay`?)
        and set the stub; a `StubError` says what is wrong."""
        if not isinstance(fields, dict):
            raise StubError("a stub is a JSON object: operation (or method and path), status, body?, times?, delay?")
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise StubError(f"unknown field(s) {', '.join(unknown)}; a stub has {', '.join(FIELDS)}", unknown[0])
        op = self._operation(fields)
        status = fields.get("status")
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise StubError(f"status must be an HTTP status code (100-599), got {status!r}", "status")
        times = fields.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise StubError(f"times must be a whole number of at least 1, got {times!r}", "times")
        try:
            delay = parse_duration(fields["delay"]) if fields.get("delay") is not None else 0.0
        except (ValueError, TypeError):
            raise StubError(f"delay must be a duration such as 200ms or 2s, got {fields['delay']!r}", "delay") from None
        body = self._body(op, status, fields.get("body", ABSENT))
        with self._lock:
            self._count += 1
            stub = Stub(f"stub_{self._count}", op.operation_id, f"{op.method.upper()} {op.path}", status, body,
                        times, delay)
            self._stubs.append(stub)
        return stub

    def entries(self) -> list[dict]:
        with self._lock:
            return [stub.public() for stub in self._stubs]

    def clear(self) -> None:
        with self._lock:
            self._stubs.clear()

    async def answer(self, op: Operation) -> Response | None:
        """The stubbed response for this request of `op`, if a live stub matches (it is used up by one)."""
        if not self._stubs:
            return None
        with self._lock:
            stub = next((s for s in self._stubs if s.operation_id == op.operation_id), None)
            if stub is None:
                return None
            stub.served += 1
            if stub.served == stub.times:
                self._stubs.remove(stub)
        await wait(stub.delay)
        return stub.response()

    # -- checks ---------------------------------------------------------------------------------
    def _operation(self, fields: dict) -> Operation:
        name, method, path = fields.get("operation"), fields.get("method"), fields.get("path")
        if name is not None:
            if method is not None or path is not None:
                raise StubError("give operation, or method and path, not both", "operation")
            if name not in self.operations:
                raise StubError(f"the served spec has no operation {name!r} (flexprice-mock routes lists them)",
                                "operation")
            return self.operations[name]
        if not isinstance(method, str) or not isinstance(path, str):
            raise StubError("a stub needs operation (an operationId), or method and path", "operation")
        base = self.spec.base_path
        template = path[len(base):] if base and path.startswith(base + "/") else path
        op = self.by_method_path.get((method.upper(), template))
        if op is None:
            raise StubError(f"the served spec has no operation {method.upper()} {path} (give the path template, "
                            "e.g. /customers/{id}; flexprice-mock routes lists them)", "path")
        return op

    def _body(self, op: Operation, status: int, body: object) -> object:
        """The body to answer with: the one given, checked against the documented response for
        `status`, or a default (the error envelope, or fake data for the documented schema)."""
        spec, schemas = self.spec, self.fake.schemas
        raw = spec.document["paths"][op.path][op.method].get("responses", {})
        documented = raw.get(str(status), raw.get("default"))
        if documented is None:
            if status < 400:
                raise StubError(f"{op.operation_id} documents no {status} response; documented: "
                                f"{', '.join(sorted(raw))} (any status of 400 or more may be stubbed)", "status")
            schema = spec.schemas.get(ERROR_SCHEMA) and {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
        else:
            media = spec.resolve(documented).get("content", {}).get("application/json")
            schema = media.get("schema") if media else None
        if body is ABSENT:
            return self._default_body(op, status, schema, documented is None)
        if schema is None:
            raise StubError(f"{op.operation_id}'s {status} response has no JSON body; leave body out", "body")
        if not schemas.is_valid(body, schema):
            name = spec.schema_name(schema) or "the documented schema"
            raise StubError(f"body does not match {name}, the {status} response of {op.operation_id}: "
                            f"{schemas.errors(body, schema)[0]}", "body")
        return body

    def _default_body(self, op: Operation, status: int, schema: dict | None, undocumented: bool) -> object:
        if schema is None and not undocumented:
            return ABSENT
        if status >= 400:
            message = f"{op.operation_id}: status {status} stubbed with POST /_mock/stubs"
            envelope = errors.envelope(status, message, "service_unavailable" if status == 503 else None)
            if schema is None or self.fake.schemas.is_valid(envelope, schema):
                return envelope
        return self.fake.value(schema)
