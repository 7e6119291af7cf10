"""The spec's schemas as checks: is a value valid, what is wrong with it, and `conform`, which
keeps only the fields of a record that its schema accepts, so what a client sent under the same
name never makes a response invalid.

Values are checked as OpenAPI 3.0 reads a schema: Draft 4 with `nullable`, the flavour Connexion
validates requests with, built the same way on jsonschema's own extension point, so the rules
that shape records depend on no web framework.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import jsonschema_rs
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend

from flexprice_spec.document import Spec

SPEC_URI = "urn:flexprice-mock:spec"


def _nullable(check: Callable[..., Iterator[ValidationError]]) -> Callable[..., Iterator[ValidationError]]:
    """A Draft 4 keyword check that lets `null` through where the schema says `nullable`."""
    def checked(validator, expected, instance, schema) -> Iterator[ValidationError]:
        if instance is None and (schema.get("nullable") or schema.get("x-nullable") is True):
            return
        yield from check(validator, expected, instance, schema)

    return checked


OpenApi30Validator = extend(Draft4Validator, {"type": _nullable(Draft4Validator.VALIDATORS["type"]),
                                              "enum": _nullable(Draft4Validator.VALIDATORS["enum"])})


class Schemas:
    """Compiled validators for the spec's schemas, cached by schema object.

    `is_valid` asks jsonschema-rs first (compiled, ~100x faster; it is on the hot path of every
    write) and only on a "no" asks the OpenAPI 3.0 flavour of Draft 4 (`nullable`), the validator
    requests are checked with; so the answer is always the OpenAPI one.
    `first_error` and `errors` use that validator for their messages. (openapi-schema-validator
    would do as well, but it loads pydantic: 9 MiB of a 60 MiB process.)
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._components = spec.document.get("components", {})
        # Draft 4 for the referenced schemas too: the registry would read them as 2020-12, where 1.0 is an integer
        self._registry = jsonschema_rs.Registry([(SPEC_URI, {"components": self._components})], draft=jsonschema_rs.Draft4)
        # id(schema) -> (schema, validator): the schema is kept so its id is never reused
        self._validators: dict[int, tuple[dict, OpenApi30Validator]] = {}
        self._fast: dict[int, tuple[dict, jsonschema_rs.Draft4Validator]] = {}

    def validator(self, schema: dict) -> OpenApi30Validator:
        entry = self._validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            # relative `#/components/...` refs resolve against the root of the validated schema
            entry = (schema, OpenApi30Validator({**schema, "components": self._components},
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



def _absolute(node: object) -> object:
    """A copy of an inline schema whose `#/components/...` refs point into the registry."""
    if isinstance(node, dict):
        return {k: SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#/") else _absolute(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute(v) for v in node]
    return node
