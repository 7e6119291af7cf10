"""Schema-driven values: fake data for fields no request provides, and pruning to the schema.

Two jobs, both driven by the served spec only:
- `Synth.value` makes a deterministic, schema-valid value (seeded, depth-bounded so the recursive
  Plan/Price/Addon and Invoice/Subscription schemas terminate). A property whose schema cannot be
  satisfied (the spec's `types.Duration` is `type: object` with a string enum) is left out when it
  is optional; `defects()` lists such schemas for `flexprice-mock lint`.
- `Schemas.conform` keeps only the fields of a record that validate against a response schema, so
  what a client sent under the same name never makes a response invalid.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone

import jsonschema_rs
from connexion.json_schema import Draft4RequestValidator
from jsonschema import Draft4Validator, ValidationError

from flexprice_spec.document import Spec

MAX_DEPTH = 3
SPEC_URI = "urn:flexprice-mock:spec"
# Words of string field names that hold decimals in Flexprice (`amount`, `conversion_rate`).
NUMERIC_WORDS = {"amount", "balance", "rate", "credits", "quantity", "total", "subtotal", "price",
                 "threshold", "multiplier", "factor", "usage", "cost", "due", "paid", "remaining"}
FIXED_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


class Schemas:
    """Compiled validators for the spec's schemas, cached by schema object.

    `is_valid` asks jsonschema-rs first (compiled, ~100x faster; it is on the hot path of every
    write) and only on a "no" asks Connexion's OpenAPI 3.0 flavour of Draft 4 (`nullable`), the
    validator Connexion checks requests with; so the answer is always the OpenAPI one.
    `first_error` and `errors` use that validator for their messages. (openapi-schema-validator
    would do as well, but it loads pydantic: 9 MiB of a 60 MiB process.)
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._components = spec.document.get("components", {})
        # Draft 4 for the referenced schemas too: the registry would read them as 2020-12, where 1.0 is an integer
        self._registry = jsonschema_rs.Registry([(SPEC_URI, {"components": self._components})], draft=jsonschema_rs.Draft4)
        # id(schema) -> (schema, validator): the schema is kept so its id is never reused
        self._validators: dict[int, tuple[dict, Draft4RequestValidator]] = {}
        self._fast: dict[int, tuple[dict, jsonschema_rs.Draft4Validator]] = {}

    def validator(self, schema: dict) -> Draft4RequestValidator:
        entry = self._validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            # relative `#/components/...` refs resolve against the root of the validated schema
            entry = (schema, Draft4RequestValidator({**schema, "components": self._components},
                                                    format_checker=Draft4Validator.FORMAT_CHECKER))
            self._validators[id(schema)] = entry
        return entry[1]

    def _compiled(self, schema: dict) -> jsonschema_rs.Draft4Validator:
        entry = self._fast.get(id(schema))
        if entry is None or entry[0] is not schema:
            compiled = jsonschema_rs.Draft4Validator(_absolute(schema), validate_formats=True, registry=self._registry)
            entry = (schema, compiled)
            self._fast[id(schema)] = entry
        return entry[1]

    def is_valid(self, value: object, schema: dict) -> bool:
        return self._compiled(schema).is_valid(value) or self.validator(schema).is_valid(value)

    def first_error(self, value: object, schema: dict) -> ValidationError | None:
        """The error a request reports: the validator's first, as Connexion reported it."""
        return next(iter(self.validator(schema).iter_errors(value)), None)

    def errors(self, value: object, schema: dict) -> list[str]:
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in self.validator(schema).iter_errors(value)]

    def conform(self, record: dict, schema: dict | None) -> dict:
        """The fields of `record` that `schema` accepts, each checked on its own; an object that
        does not fit as a whole keeps the fields that do."""
        if schema is None:
            return record
        node = self.spec.resolve(schema)
        props = self.spec.properties(node)
        extra = node.get("additionalProperties", not props)
        if (extra is not False or record.keys() <= props.keys()) and self._compiled(schema).is_valid(record):
            return dict(record)  # the common case: one compiled check of the whole record
        kept = {}
        for key, value in record.items():
            sub = props.get(key)
            if sub is not None:
                if self.is_valid(value, sub):
                    kept[key] = value
                elif isinstance(value, dict) and self.spec.properties(sub):
                    inner = self.conform(value, sub)  # keep what fits: `auto_topup` less `cooldown`
                    if self.is_valid(inner, sub):
                        kept[key] = inner
                elif isinstance(value, list) and self.spec.properties(items := self.spec.resolve(sub).get("items")):
                    inner = [self.conform(v, items) if isinstance(v, dict) else v for v in value]  # line items
                    if self.is_valid(inner, sub):
                        kept[key] = inner
            elif extra is True or (isinstance(extra, dict) and self.is_valid(value, extra)):
                kept[key] = value
        return kept


def _absolute(node: object) -> object:
    """A copy of an inline schema whose `#/components/...` refs point into the registry."""
    if isinstance(node, dict):
        return {k: SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#/") else _absolute(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute(v) for v in node]
    return node


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
