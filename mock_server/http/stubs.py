"""Scripted answers, WireMock's scenarios for retry tests: the next N requests of one operation get
a given status (and body, after an optional delay), then normal service resumes.

`Prefer` needs control of the client's headers, which an SDK does not give, and `--error-rate` is
random; a stub is neither. It is set over `POST /_mock/stubs`, `MockServer.stub(...)` or a
fixture document's `stubs:` list, and matches an operation by `operationId` or by method and
path template (`POST /customers`, with or without the base path). A stub is a fault rule
(`faults.py`) that always fires, `times` times, and then disappears: it comes after
authentication and request validation, so it never hides a 401 or a 400, and the handler does
not run: the store is untouched and a retry is safe. Its body is checked as every rule's
(`rule_fields.py`). Stubs live until used up or a reset (after which a fixture's stubs are set
again).
"""
from __future__ import annotations

from .faults import FaultRules, Rule
from .rule_fields import ABSENT, RuleError, RuleReader, whole

FIELDS = ("operation", "method", "path", "status", "body", "times", "delay")
SOURCE = "stubs"


class StubError(RuleError):
    """Why a stub is refused, and the field at fault."""


class Stubs:
    """The stubs set on one mock: the rules of source `stubs`, in the order they were set; the
    first live one for an operation answers."""

    def __init__(self, reader: RuleReader) -> None:
        self.reader = reader
        self.rules: FaultRules = reader.rules

    def add(self, fields: object) -> dict:
        """Check `fields` (`operation` or `method`+`path`, `status`, `body`?, `times`?, `delay`?)
        and set the stub, as `GET /_mock/stubs` lists it; a `StubError` says what is wrong."""
        try:
            return public(self._add(fields))
        except RuleError as exc:
            raise StubError(exc.message, exc.field) from None

    def _add(self, fields: object) -> Rule:
        if not isinstance(fields, dict):
            raise RuleError("a stub is a JSON object: operation (or method and path), status, body?, times?, delay?")
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise RuleError(f"unknown field(s) {', '.join(unknown)}; a stub has {', '.join(FIELDS)}", unknown[0])
        reader = self.reader
        request, ops = reader.matched(fields, patterns=False)
        status = reader.status(fields.get("status"))
        times = whole(fields.get("times", 1), "times")
        delay = reader.duration(fields.get("delay"), "delay") or 0.0
        answer, body = reader.answer(ops, status, fields.get("body", ABSENT), "stubbed with POST /_mock/stubs",
                                     "stubbed")
        op = ops[0]
        described = {"status": status, **({} if body is ABSENT else {"body": body}), "delay_ms": round(delay * 1000, 3)}
        return self.rules.add(Rule(self.rules.next_id(SOURCE, "stub"), SOURCE, op.method_path,
                                   frozenset({op.operation_id}), lambda: True, lambda: delay, answer, described, times))

    def entries(self) -> list[dict]:
        return [public(rule) for rule in self.rules.entries(SOURCE)]

    def clear(self) -> None:
        self.rules.clear(SOURCE)


def public(rule: Rule) -> dict:
    """What `GET /_mock/stubs` lists of a stub."""
    described = rule.described
    op = next(iter(rule.operations))
    return {"id": rule.id, "operation": op, "request": rule.request, "status": described["status"],
            **({"body": described["body"]} if "body" in described else {}), "times": rule.count,
            "remaining": rule.count - rule.hits, "delay_ms": described["delay_ms"]}
