"""Reading a fault rule from what a client sent: the operations it matches and the answer it
gives, checked against the served spec before it is set.

A rule names its operations by `operation` (an operationId), or by `method` and `path`: the
spec's path template (`/customers/{id}`, with or without the base path) or, for `/_mock/faults`,
a glob over templates (`/customers*` matches `/customers`, `/customers/{id}` and
`/customers/search`; no `method`, or `*`, is every method). A status's body must validate
against the operation's documented response for that status (for every operation a pattern
matches); without one the answer is the error envelope for 400 and up, fake data for a
documented 2xx, no body where the spec documents none. A status the operation does not
document is refused below 400 and answers the error envelope from 400 up (a gateway's 429 or
503). `RuleError` names the field at fault.
"""
from __future__ import annotations

import fnmatch
import random
import time

from starlette.responses import Response

from flexprice_spec.document import ERROR_SCHEMA, Spec
from flexprice_spec.resources import Model, Operation

from ..core.failures import Invalid
from ..schemas.synth import Synth
from . import errors
from .faults import FaultRules, Rule, draw, parse_duration, parse_latency
from .handlers import json_response

FAULT_FIELDS = ("operation", "method", "path", "probability", "status", "body", "latency", "count", "after", "for",
                "seed")
ABSENT = object()


class RuleError(Invalid, ValueError):
    """Why a rule is refused, and the field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(field, message)


class RuleReader:
    def __init__(self, spec: Spec, model: Model, fake: Synth, rules: FaultRules, seed: int = 0) -> None:
        self.spec, self.fake, self.rules, self.seed = spec, fake, rules, seed  # fake: a stubbed 2xx's data
        self.operations = model.by_operation_id()
        self.by_method_path = {(op.method.upper(), op.path): op for op in model.operations}

    def fault(self, fields: object) -> Rule:
        """A rule sent to `POST /_mock/faults`: operation (or method and path pattern),
        probability?, status?, body?, latency?, count?, after?, for?, seed? (status or latency)."""
        if not isinstance(fields, dict):
            raise RuleError("a fault rule is a JSON object: operation (or method and path), probability, status, "
                            "body, latency, count, after, for, seed")
        unknown = sorted(set(fields) - set(FAULT_FIELDS))
        if unknown:
            raise RuleError(f"unknown field(s) {', '.join(unknown)}; a fault rule has {', '.join(FAULT_FIELDS)}",
                            unknown[0])
        request, ops = self.matched(fields, patterns=True)
        probability = fields.get("probability", 1)
        if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 < probability <= 1:
            raise RuleError(f"probability must be a number above 0 and at most 1, got {probability!r}", "probability")
        if fields.get("status") is None and fields.get("latency") is None:
            raise RuleError("a fault rule needs a status to answer, a latency to add, or both", "status")
        count = fields.get("count")
        if count is not None:
            count = whole(count, "count")
        seed = whole(fields["seed"], "seed", 0) if fields.get("seed") is not None else self.seed
        latency = self.latency(fields.get("latency"), "latency")
        after, lasting = (self.duration(fields.get(name), name) for name in ("after", "for"))
        generator = random.Random(seed)
        described = {"probability": float(probability), "latency_ms": _ms(latency), "after_ms": _ms(after),
                     "for_ms": _ms(lasting), "seed": seed}
        answer = None
        if fields.get("status") is not None:
            status = self.status(fields["status"])
            answer, body = self.answer(ops, status, fields.get("body", ABSENT), "injected with POST /_mock/faults",
                                       "injected")
            described.update({"status": status, **({} if body is ABSENT else {"body": body})})
        starts = time.monotonic() + (after or 0.0)
        return self.rules.add(Rule(
            self.rules.next_id("faults", "fault"), "faults", request,
            None if len(ops) == len(self.operations) else frozenset(op.operation_id for op in ops),
            (lambda: True) if probability >= 1 else (lambda: generator.random() < probability),
            (lambda: 0.0) if latency is None else (lambda: draw(generator, latency)),
            answer, described, count, starts if after else None, starts + lasting if lasting is not None else None))

    # -- the parts ------------------------------------------------------------------------------
    def matched(self, fields: dict, patterns: bool) -> tuple[str, list[Operation]]:
        """What the rule matches, as the client said it, and the operations that is."""
        name, method, path = fields.get("operation"), fields.get("method"), fields.get("path")
        if name is not None:
            if method is not None or path is not None:
                raise RuleError("give operation, or method and path, not both", "operation")
            if name not in self.operations:
                raise RuleError(f"the served spec has no operation {name!r} (flexprice-mock routes lists them)",
                                "operation")
            return name, [self.operations[name]]
        if not isinstance(path, str) or not (isinstance(method, str) or (patterns and method is None)):
            needs = "method and path" if not patterns else "a path (and a method)"
            raise RuleError(f"a rule needs operation (an operationId), or {needs}", "operation")
        base = self.spec.base_path
        template = path[len(base):] if base and path.startswith(base + "/") else path
        wanted = (method or "*").upper()
        if not patterns:
            op = self.by_method_path.get((wanted, template))
            if op is None:
                raise RuleError(f"the served spec has no operation {wanted} {path} (give the path template, "
                                "e.g. /customers/{id}; flexprice-mock routes lists them)", "path")
            return f"{wanted} {template}", [op]
        ops = [op for (verb, route), op in self.by_method_path.items()
               if wanted in ("*", verb) and fnmatch.fnmatchcase(route, template)]
        if not ops:
            raise RuleError(f"no operation of the served spec matches {wanted} {path} (a path template, or a glob "
                            "such as /customers*; flexprice-mock routes lists them)", "path")
        return f"{wanted} {template}", ops

    @staticmethod
    def status(value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 100 <= value <= 599:
            raise RuleError(f"status must be an HTTP status code (100-599), got {value!r}", "status")
        return value

    @staticmethod
    def latency(value: object, field: str) -> tuple[float, float] | None:
        if value is None:
            return None
        try:
            return parse_latency(value)
        except (ValueError, TypeError, AttributeError):
            raise RuleError(f"{field} must be a duration such as 200ms or 2s, or a range 20ms-80ms, got {value!r}",
                            field) from None

    @staticmethod
    def duration(value: object, field: str) -> float | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except (ValueError, TypeError):
            raise RuleError(f"{field} must be a duration such as 200ms or 2s, got {value!r}", field) from None

    def answer(self, ops: list[Operation], status: int, body: object, how: str, verb: str) -> tuple[object, object]:
        """The rule's answer for each operation it matches, every body checked now; and the body
        to show (the one given, or the default of a rule on one operation)."""
        bodies = {op.operation_id: self.body(op, status, body, how, verb) for op in ops}

        def respond(op: Operation, _responses: dict) -> Response:
            found = bodies[op.operation_id]
            return Response(status_code=status) if found is ABSENT else json_response(found, status)

        shown = body if body is not ABSENT else (bodies[ops[0].operation_id] if len(ops) == 1 else ABSENT)
        return respond, shown

    def body(self, op: Operation, status: int, body: object, how: str, verb: str) -> object:
        """The body to answer with: the one given, checked against the documented response for
        `status`, or a default (the error envelope, or fake data for the documented schema)."""
        spec, schemas = self.spec, self.fake.schemas
        raw = spec.document["paths"][op.path][op.method].get("responses", {})
        documented = raw.get(str(status), raw.get("default"))
        if documented is None:
            if status < 400:
                raise RuleError(f"{op.operation_id} documents no {status} response; documented: "
                                f"{', '.join(sorted(raw))} (any status of 400 or more may be {verb})", "status")
            schema = spec.schemas.get(ERROR_SCHEMA) and {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
        else:
            media = spec.resolve(documented).get("content", {}).get("application/json")
            schema = media.get("schema") if media else None
        if body is ABSENT:
            return self.default_body(op, status, schema, documented is None, how)
        if schema is None:
            raise RuleError(f"{op.operation_id}'s {status} response has no JSON body; leave body out", "body")
        if not schemas.is_valid(body, schema):
            name = spec.schema_name(schema) or "the documented schema"
            raise RuleError(f"body does not match {name}, the {status} response of {op.operation_id}: "
                            f"{schemas.errors(body, schema)[0]}", "body")
        return body

    def default_body(self, op: Operation, status: int, schema: dict | None, undocumented: bool, how: str) -> object:
        if schema is None and not undocumented:
            return ABSENT
        if status >= 400:
            message = f"{op.operation_id}: status {status} {how}"
            envelope = errors.envelope(status, message, "service_unavailable" if status == 503 else None)
            if schema is None or self.fake.schemas.is_valid(envelope, schema):
                return envelope
        return self.fake.value(schema)


def whole(value: object, field: str, least: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise RuleError(f"{field} must be a whole number of at least {least}, got {value!r}", field)
    return value


def _ms(seconds: float | tuple[float, float] | None) -> float | list[float] | None:
    if seconds is None:
        return None
    if isinstance(seconds, tuple):
        return [round(s * 1000, 3) for s in seconds]
    return round(seconds * 1000, 3)
