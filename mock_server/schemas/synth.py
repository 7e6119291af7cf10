"""Schema-driven fake data for fields no request provides.

`Synth.value` makes a deterministic, schema-valid value (seeded, depth-bounded so the recursive
Plan/Price/Addon and Invoice/Subscription schemas terminate). A property whose schema cannot be
satisfied (the spec's `types.Duration` is `type: object` with a string enum) is left out when it
is optional; `defects()` lists such schemas for `flexprice-mock lint`.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone

from flexprice_spec.document import Spec

from .checks import Schemas

MAX_DEPTH = 3
# Words of string field names that hold decimals in Flexprice (`amount`, `conversion_rate`).
NUMERIC_WORDS = {"amount", "balance", "rate", "credits", "quantity", "total", "subtotal", "price",
                 "threshold", "multiplier", "factor", "usage", "cost", "due", "paid", "remaining"}
FIXED_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


class Synth:
    """Deterministic fake values for a schema. `empty=True` makes the well-formed empty answer a
    computed endpoint gives when nothing stored backs it: numbers at their minimum (counts and
    totals 0 beside empty lists), decimal strings `"0"`."""

    def __init__(self, spec: Spec, schemas: Schemas, seed: int = 0, empty: bool = False) -> None:
        self.spec = spec
        self.schemas = schemas
        self.random = random.Random(seed)
        self.empty = empty

    def value(self, schema: dict | None, depth: int = 0, name: str = "") -> object:
        node = self.spec.resolve(schema) if schema else {}
        if "allOf" in node:
            node = {"type": "object", "properties": self.spec.properties(node)}
        if "enum" in node and node.get("type", "string") != "object":
            return node["enum"][0]
        kind = node.get("type") or ("object" if "properties" in node else "string")
        maker = getattr(self, f"_{kind}", self._string)
        return maker(node, depth, name)

    def _object(self, node: dict, depth: int, name: str) -> dict:
        out: dict = {}
        required = set(node.get("required", []))
        for key, sub in self.spec.properties(node).items():
            if key not in required and (depth >= MAX_DEPTH or not self.satisfiable(sub)):
                continue
            candidate = self.value(sub, depth + 1, key)
            if key in required or self.schemas.is_valid(candidate, sub):
                out[key] = candidate
        return out

    def _array(self, node: dict, depth: int, name: str) -> list:
        count = node.get("minItems", 0)  # nothing stored backs a computed list: keep it empty
        return [self.value(node.get("items"), depth + 1, name) for _ in range(count)]

    def _string(self, node: dict, depth: int, name: str) -> str:
        if node.get("format") == "date-time":
            return FIXED_TIME
        if NUMERIC_WORDS & set(name.split("_")):
            return "0" if self.empty else str(1 + self.random.randrange(99))  # decimals travel as strings: `"amount": "42"`
        text = f"{name or 'value'}_{self.random.randrange(16**6):06x}"
        low, high = node.get("minLength", 0), node.get("maxLength")
        text = text.ljust(low, "x")
        return text[:high] if high else text

    def _integer(self, node: dict, depth: int, name: str) -> int:
        return int(node.get("minimum", 0)) + (0 if self.empty else self.random.randrange(100))

    def _number(self, node: dict, depth: int, name: str) -> float:
        return float(node.get("minimum", 0)) + (0 if self.empty else self.random.randrange(10000) / 100)

    def _boolean(self, node: dict, depth: int, name: str) -> bool:
        return False

    def satisfiable(self, schema: dict | None) -> bool:
        """False for schemas no value can meet, such as an object typed enum of strings."""
        node = self.spec.resolve(schema) if schema else {}
        if "enum" in node and node.get("type") == "object":
            return any(isinstance(v, dict) for v in node["enum"])
        return True

    def defects(self) -> list[str]:
        """Named schemas the spec declares but no value can satisfy."""
        return [
            f"{name}: type object with enum {schema['enum']!r}: no value satisfies it"
            for name, schema in self.spec.schemas.items()
            if not self.satisfiable(schema)
        ]
