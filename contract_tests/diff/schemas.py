"""Schemas: the walk through one pair of schemas, and the rules of types, nullability, properties
and their visibility (readOnly, writeOnly).

`ctx` says which way data flows: in a **request**, narrowing what is accepted breaks clients and
widening breaks servers; in a **response**, the reverse. Types are sets (`type: [string, "null"]`
in OpenAPI 3.1, `nullable` in 3.0), `integer` inside `number`: a new type set that only adds is
*widened*, one that only drops is *narrowed*, anything else *changed*. A property that is
`readOnly` is not part of requests and one that is `writeOnly` not part of responses: it is
neither required nor compared there, and a property becoming one is reported as such. `allOf`
parts are merged into one set of properties; the other keywords of a schema are compared by
`values.py`, `constraints.py`, `composition.py` and `lifecycle.py`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import composition, constraints, lifecycle, values
from .documents import Documents, escape, mapping, sequence
from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Schemas: types and properties", [
    rule("request-type-changed", ERROR, "request type changed", "request-{body,property,parameter}-type-changed",
         "request-parameter-property-type-changed", servers=True),
    rule("request-type-narrowed", ERROR, "request type narrowed (a type removed from the list, number -> integer)",
         "request-{body,property,parameter,parameter-property}-list-of-types-narrowed",
         "request-parameter-property-type-specialized"),
    rule("request-type-widened", INFO, "request type widened (a type added to the list, integer -> number)",
         "request-{body,property,parameter,parameter-property}-list-of-types-widened",
         "request-{body,property,parameter,parameter-property}-type-generalized", servers=True),
    rule("response-type-changed", ERROR, "response type changed", "response-{body,property,header}-type-changed",
         servers=True),
    rule("response-type-widened", ERROR, "response type widened (a type added to the list, integer -> number)",
         "response-{body,property,header}-type-generalized", "response-{body,property}-list-of-types-widened"),
    rule("response-type-narrowed", INFO, "response type narrowed (a type removed from the list, number -> integer)",
         "response-{body,property,header}-type-specialized", "response-{body,property}-list-of-types-narrowed",
         servers=True),
    rule("request-nullable-added", INFO, "request value made nullable",
         "request-{body,property,parameter,parameter-property}-became-nullable", servers=True),
    rule("request-nullable-removed", ERROR, "request value no longer nullable",
         "request-{body,property,parameter,parameter-property}-became-not-nullable"),
    rule("response-nullable-added", ERROR, "response value made nullable",
         "response-{body,property,header}-became-nullable"),
    rule("response-nullable-removed", INFO, "response value no longer nullable",
         "response-{body,property,header}-became-not-nullable", servers=True),
    rule("request-property-removed", WARNING, "request property removed (the server ignores or refuses it)",
         "request-property-removed"),
    rule("request-property-added", INFO, "optional request property added", "new-optional-request-property",
         servers=True),
    rule("request-property-added-required", ERROR, "required request property added",
         "new-required-request-property", "new-required-request-property-with-default",
         "new-required-request-header-property"),
    rule("request-property-made-required", ERROR, "request property made required",
         "request-property-became-required", "request-property-became-required-with-default",
         "request-header-property-became-required"),
    rule("request-property-made-optional", INFO, "request property made optional", "request-property-became-optional",
         servers=True),
    rule("request-property-became-read-only", WARNING, "request property made readOnly (clients still send it)",
         "request-{optional,required}-property-became-read-only"),
    rule("request-property-became-not-read-only", INFO, "request property no longer readOnly",
         "request-{optional,required}-property-became-not-read-only"),
    rule("response-property-removed", ERROR, "required response property removed", "response-required-property-removed"),
    rule("response-optional-property-removed", WARNING, "optional response property removed",
         "response-optional-property-removed"),
    rule("response-property-added", INFO, "optional response property added",
         "response-optional-property-added", "response-optional-write-only-property-added"),
    rule("response-property-added-required", INFO, "required response property added",
         "response-required-property-added", servers=True),
    rule("response-property-made-optional", ERROR, "response property made optional",
         "response-property-became-optional"),
    rule("response-property-made-required", INFO, "response property made required",
         "response-property-became-required", servers=True),
    rule("response-property-became-write-only", WARNING, "response property made writeOnly (no longer returned)",
         "response-{optional,required}-property-became-write-only"),
    rule("response-property-became-not-write-only", INFO, "response property no longer writeOnly",
         "response-{optional,required}-property-became-not-write-only"),
])
HIDDEN = {"request": "readOnly", "response": "writeOnly"}
HIDDEN_ID = {"request": "read-only", "response": "write-only"}
COMPOSED = ("allOf", "oneOf", "anyOf", "not", "if")
JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null", list: "array"}


def compare(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str, name: str,
            skip: frozenset[str]) -> list[Change]:
    """Every finding under one pair of resolved schemas (`Comparison.schema` memoizes this)."""
    found, replaced = composition.compare(cmp, old, old_at, new, new_at, ctx, name)
    if replaced:
        return found
    old_types, old_null = _types(old)
    new_types, new_null = _types(new)
    kind = _type_change(old_types, new_types)
    if kind is not None:
        shown = (" | ".join(sorted(types)) if types is not None else "any" for types in (old_types, new_types))
        return found + [cmp.change(f"{ctx}-type-{kind}", f"{name}: type {' -> '.join(shown)}", old_at, new_at)]
    if old.get("description") != new.get("description"):
        found.append(cmp.change("doc-changed", f"{name}: description changed", old_at, new_at))
    if old_null != new_null:
        rule_id = f"{ctx}-nullable-{'added' if new_null else 'removed'}"
        found.append(cmp.change(rule_id, f"{name}: {'now' if new_null else 'no longer'} nullable", old_at, new_at))
    found += values.compare(cmp, old, old_at, new, new_at, ctx, name, skip)
    found += constraints.compare(cmp, old, old_at, new, new_at, ctx, name)
    found += lifecycle.compare(cmp, old, old_at, new, new_at, name)
    if "properties" not in skip:
        found += _compare_properties(cmp, old, old_at, new, new_at, ctx)
    for key, label in (("items", "items"), ("additionalProperties", "values")):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            found += cmp.schema(old[key], f"{old_at}/{key}", new[key], f"{new_at}/{key}", ctx, f"{name} {label}")
    return found


def _types(schema: dict) -> tuple[frozenset[str] | None, bool]:
    """(the types other than null, None for any; whether null is allowed). Without `type`, a
    schema with properties is an object, one with items an array, one with an enum or a const
    of the values' types; one built from `allOf`, `oneOf` or `anyOf` is left to its parts."""
    raw = schema.get("type")
    nullable = schema.get("nullable") is True
    if isinstance(raw, str):
        types = {raw}
    elif isinstance(raw, list):
        types = {str(item) for item in raw}
    elif "properties" in schema or "additionalProperties" in schema:
        types = {"object"}
    elif "items" in schema:
        types = {"array"}
    elif isinstance(schema.get("enum"), list) and schema["enum"] or "const" in schema:
        types = {JSON_TYPES.get(type(value), "object") for value in schema.get("enum") or [schema.get("const")]}
    else:
        return (frozenset({"composed"}) if any(key in schema for key in COMPOSED) else None), nullable
    if "null" in types:
        types.discard("null")
        nullable = True
    return frozenset(types), nullable


def _type_change(old: frozenset[str] | None, new: frozenset[str] | None) -> str | None:
    """None when the types are the same (or one side is built from parts), else how they changed."""
    if old == new or "composed" in (old or ()) or "composed" in (new or ()):
        return None
    wider, narrower = _covers(new, old), _covers(old, new)
    if wider and narrower:
        return None
    return "widened" if wider else "narrowed" if narrower else "changed"


def _covers(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(kind in wide or kind == "integer" and "number" in wide for kind in narrow)


def _compare_properties(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str) -> list[Change]:
    old_props, old_required = flatten(cmp.old, old, old_at)
    new_props, new_required = flatten(cmp.new, new, new_at)
    hidden = HIDDEN[ctx]
    found = []
    for prop, (pointer, schema) in old_props.items():
        what = f"{ctx} property `{prop}`"
        old_hidden = _flag(cmp.old, schema, pointer, hidden)
        if prop not in new_props:
            if not old_hidden:
                rule_id = f"{ctx}-property-removed" if ctx == "request" or prop in old_required \
                    else "response-optional-property-removed"
                found.append(cmp.change(rule_id, f"{what} removed", pointer, f"{new_at}/properties"))
            continue
        new_pointer, new_schema = new_props[prop]
        new_hidden = _flag(cmp.new, new_schema, new_pointer, hidden)
        if old_hidden != new_hidden:
            rule_id = f"{ctx}-property-became-{'' if new_hidden else 'not-'}{HIDDEN_ID[ctx]}"
            found.append(cmp.change(rule_id, f"{what} {'now' if new_hidden else 'no longer'} {hidden}", pointer,
                                    new_pointer))
        was = prop in old_required and not old_hidden
        now = prop in new_required and not new_hidden
        if was != now:
            found.append(cmp.change(f"{ctx}-property-made-{'required' if now else 'optional'}",
                                    f"{what} made {'required' if now else 'optional'}", pointer, new_pointer))
        if not new_hidden:
            found += cmp.schema(schema, pointer, new_schema, new_pointer, ctx, what)
    for prop, (pointer, schema) in new_props.items():
        if prop not in old_props and not _flag(cmp.new, schema, pointer, hidden):
            rule_id = f"{ctx}-property-added-required" if prop in new_required else f"{ctx}-property-added"
            found.append(cmp.change(rule_id, f"{RULES[rule_id].summary}: `{prop}`", f"{old_at}/properties", pointer))
    return found


def flatten(documents: Documents, schema: dict, at: str,
            seen: frozenset[str] = frozenset()) -> tuple[dict[str, tuple[str, object]], set[str]]:
    """Properties (name -> (pointer, schema)) and required names, `allOf` parts merged in (a part
    that includes itself, once)."""
    props = {name: (f"{at}/properties/{escape(name)}", sub) for name, sub in mapping(schema.get("properties")).items()}
    required = {name for name in sequence(schema.get("required")) if isinstance(name, str)}
    for index, part in enumerate(sequence(schema.get("allOf"))):
        part, part_at = documents.resolve(part, f"{at}/allOf/{index}")
        if part_at in seen:
            continue
        part_props, part_required = flatten(documents, part, part_at, seen | {at})
        props.update(part_props)
        required |= part_required
    return props, required


def _flag(documents: Documents, schema: object, at: str, key: str) -> bool:
    """`readOnly` or `writeOnly` on a property, beside its `$ref` (OpenAPI 3.1) or on its target."""
    if isinstance(schema, dict) and schema.get(key) is True:
        return True
    return documents.resolve(schema, at)[0].get(key) is True
