"""Small valid request bodies built from the spec, for the checks that create records.

Only required fields are filled, each with the plainest value its schema allows; a required
reference (`customer_id`) is filled by the caller from a record it created first. What no schema
says (a currency is an ISO code, a rate is a positive decimal string) is in `KNOWN_VALUES`, the
one table of real-server input rules this module holds.
"""
from __future__ import annotations

from typing import Any

from flexprice_spec.document import Spec

# Values the real server requires beyond the schema, by property name.
KNOWN_VALUES: dict[str, Any] = {
    "currency": "usd", "base_currency": "usd", "conversion_rate": "1", "topup_conversion_rate": "1",
    "symbol": "$", "email": "gate@example.com", "percentage_value": "7", "fixed_value": "1",
}
DECIMAL_WORDS = ("amount", "credits", "rate", "price", "quantity", "balance", "total", "due")
DATE_TIME = "2026-01-01T00:00:00Z"


class Unbuildable(Exception):
    """A required field the gate cannot fill from the schema alone (an unresolved reference)."""


def body(spec: Spec, schema: dict | None, tag: str, refs: dict[str, Any], references: frozenset[str] = frozenset()) -> dict:
    """Required fields only; `refs` fills references (a name in `references` but not in `refs`
    cannot be filled); `tag` makes unique strings unique."""
    value = _value(spec, schema, "", tag, refs, references)
    return value if isinstance(value, dict) else {}


def value(spec: Spec, schema: dict | None, name: str, tag: str) -> Any:
    """A plain valid value for one property, with the required fields of an object."""
    return _value(spec, schema, name, tag, {}, frozenset())


def schema_of(spec: Spec, schema: dict | None) -> dict:
    """The schema with `$ref`s resolved and an `allOf` merged into one object schema."""
    node = spec.resolve(schema) if schema else {}
    if "allOf" in node:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in node["allOf"]:
            sub = schema_of(spec, part)
            merged["properties"].update(sub.get("properties", {}))
            merged["required"] += sub.get("required", [])
        return merged
    return node


def _value(spec: Spec, schema: dict | None, name: str, tag: str, refs: dict[str, Any], references: frozenset[str]) -> Any:
    if name in refs:
        return refs[name]
    if name in references:
        raise Unbuildable(name)
    if name in KNOWN_VALUES:
        return KNOWN_VALUES[name]
    node = schema_of(spec, schema)
    if node.get("enum"):
        return node["enum"][0]
    kind = node.get("type") or ("object" if "properties" in node else "string")
    if kind == "object":
        return {
            prop: _value(spec, sub, prop, tag, refs, references)
            for prop, sub in node.get("properties", {}).items() if prop in node.get("required", [])
        }
    if kind == "array":
        return [_value(spec, node.get("items"), name, tag, refs, references)] if node.get("minItems") else []
    if kind in ("integer", "number"):
        return max(node.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    return _string(node, name, tag)


def _string(node: dict, name: str, tag: str) -> str:
    if node.get("format") == "date-time" or name.endswith(("_at", "_date", "_utc")):
        return DATE_TIME
    if any(word in name for word in DECIMAL_WORDS):
        return "10"
    return f"gate-{tag}-{name}"[: node.get("maxLength", 64)]
