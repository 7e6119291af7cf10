"""Composition: `allOf` parts, `oneOf` and `anyOf` variants, and the `discriminator` that picks one.

Parts and variants are matched by what they are: the schema a `$ref` names, else a `title`, else
their position among the unnamed ones. A part that only annotates (a description beside a
`$ref`, the usual way to document a shared schema in OpenAPI 3.0) is no part at all, so
wrapping `$ref: X` as `allOf: [$ref: X]` with a description is harmless. A matched pair is
compared as schemas (for `allOf`, without properties: `schemas.py` compares them merged). A new
`oneOf` whose variants include the old schema itself is `wrapped-in-one-of`: generated SDKs
change shape. Unlike oasdiff (info), a response `anyOf` variant added is an error like a `oneOf`
one; discriminator mapping changes are judged by direction instead of all being info.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .documents import Documents, mapping, sequence
from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Composition: allOf, oneOf, anyOf and discriminator", [
    rule("request-all-of-added", ERROR, "request `allOf` part added (its constraints now apply)",
         "request-{body,property}-all-of-added"),
    rule("request-all-of-removed", WARNING, "request `allOf` part removed", "request-{body,property}-all-of-removed"),
    rule("response-all-of-added", INFO, "response `allOf` part added", "response-{body,property}-all-of-added"),
    rule("response-all-of-removed", INFO, "response `allOf` part removed", "response-{body,property}-all-of-removed"),
    rule("request-one-of-added", INFO, "request `oneOf` variant added", "request-{body,property}-one-of-added",
         servers=True),
    rule("request-one-of-removed", ERROR, "request `oneOf` variant removed", "request-{body,property}-one-of-removed"),
    rule("response-one-of-added", ERROR, "response `oneOf` variant added", "response-{body,property}-one-of-added"),
    rule("response-one-of-removed", INFO, "response `oneOf` variant removed", "response-{body,property}-one-of-removed",
         servers=True),
    rule("request-any-of-added", INFO, "request `anyOf` variant added", "request-{body,property}-any-of-added",
         servers=True),
    rule("request-any-of-removed", ERROR, "request `anyOf` variant removed", "request-{body,property}-any-of-removed"),
    rule("response-any-of-added", ERROR, "response `anyOf` variant added", "response-{body,property}-any-of-added"),
    rule("response-any-of-removed", INFO, "response `anyOf` variant removed", "response-{body,property}-any-of-removed",
         servers=True),
    rule("request-wrapped-in-one-of", ERROR, "request schema turned into a `oneOf` of itself and others",
         "request-body-wrapped-in-one-of"),
    rule("response-wrapped-in-one-of", ERROR, "response schema turned into a `oneOf` of itself and others",
         "response-body-wrapped-in-one-of"),
    rule("request-discriminator-added", INFO, "request discriminator added", "request-{body,property}-discriminator-added"),
    rule("request-discriminator-removed", INFO, "request discriminator removed",
         "request-{body,property}-discriminator-removed"),
    rule("response-discriminator-added", INFO, "response discriminator added",
         "response-{body,property}-discriminator-added"),
    rule("response-discriminator-removed", INFO, "response discriminator removed",
         "response-{body,property}-discriminator-removed"),
    rule("request-discriminator-property-changed", ERROR, "request discriminator property renamed",
         "request-{body,property}-discriminator-property-name-changed"),
    rule("response-discriminator-property-changed", ERROR, "response discriminator property renamed",
         "response-{body,property}-discriminator-property-name-changed"),
    rule("request-discriminator-mapping-added", INFO, "request discriminator value added",
         "request-{body,property}-discriminator-mapping-added", servers=True),
    rule("request-discriminator-mapping-removed", ERROR, "request discriminator value removed",
         "request-{body,property}-discriminator-mapping-deleted"),
    rule("response-discriminator-mapping-added", WARNING, "response discriminator value added",
         "response-{body,property}-discriminator-mapping-added"),
    rule("response-discriminator-mapping-removed", INFO, "response discriminator value removed",
         "response-{body,property}-discriminator-mapping-deleted", servers=True),
    rule("request-discriminator-mapping-changed", ERROR, "request discriminator value maps to another schema",
         "request-{body,property}-discriminator-mapping-changed"),
    rule("response-discriminator-mapping-changed", ERROR, "response discriminator value maps to another schema",
         "response-{body,property}-discriminator-mapping-changed"),
])
ANNOTATIONS = frozenset({"description", "title", "example", "examples", "deprecated", "externalDocs", "$comment",
                         "xml", "readOnly", "writeOnly", "default"})
KEYS = {"allOf": "all-of", "oneOf": "one-of", "anyOf": "any-of"}

Parts = dict[str, tuple[object, str]]


def compare(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str,
            name: str) -> tuple[list[Change], bool]:
    """The findings, and whether one side is a `oneOf` or `anyOf` of the other (the rest of the
    two schemas is then not comparable: the variant that is the other side was compared)."""
    if not any(key in old or key in new for key in ("allOf", "oneOf", "anyOf", "discriminator")):
        return [], False
    found, replaced = [], False
    for key in KEYS:
        if key in old or key in new:
            changes, wrapped = _compare_parts(cmp, key, old, old_at, new, new_at, ctx, name)
            found += changes
            replaced = replaced or wrapped and key != "allOf"
    if "discriminator" in old or "discriminator" in new:
        found += _compare_discriminator(cmp, old, old_at, new, new_at, ctx, name)
    return found, replaced


def _compare_parts(cmp: Comparison, key: str, old: dict, old_at: str, new: dict, new_at: str, ctx: str,
                   name: str) -> tuple[list[Change], bool]:
    """Parts matched by identity; the schema itself stands for a part on the side that has none
    (a schema wrapped in, or unwrapped from, `allOf`, `oneOf` or `anyOf`): then True."""
    old_parts, new_parts = _parts(cmp.old, old, old_at, key), _parts(cmp.new, new, new_at, key)
    skip = frozenset({"properties"}) if key == "allOf" else frozenset()
    found, wrapped = [], False
    if not old_parts and old_at in new_parts:
        wrapped = True
        if key == "oneOf" and len(new_parts) > 1:
            found.append(cmp.change(f"{ctx}-wrapped-in-one-of", f"{name}: now a oneOf of itself and "
                                    f"{len(new_parts) - 1} other(s)", old_at, _at(new, new_at, key)))
        found += cmp.schema(old, old_at, *new_parts.pop(old_at), ctx, name, skip)
    elif not new_parts and new_at in old_parts:
        wrapped = True
        found += cmp.schema(*old_parts.pop(new_at), new, new_at, ctx, name, skip)
    renamed = _renamed(cmp, old_parts, new_parts)
    for identity, (raw, at) in old_parts.items():
        if identity in new_parts or identity in renamed:
            found += cmp.schema(raw, at, *new_parts[renamed.get(identity, identity)], ctx, name, skip)
        else:
            found.append(cmp.change(f"{ctx}-{KEYS[key]}-removed", f"{name}: {key} part {_named(identity)} removed",
                                    at, _at(new, new_at, key)))
    if wrapped and key == "oneOf":
        return found, wrapped
    for identity, (_, at) in new_parts.items():
        if identity not in old_parts and identity not in renamed.values():
            found.append(cmp.change(f"{ctx}-{KEYS[key]}-added", f"{name}: {key} part {_named(identity)} added",
                                    _at(old, old_at, key), at))
    return found, wrapped


def _renamed(cmp: Comparison, old_parts: Parts, new_parts: Parts) -> dict[str, str]:
    """Old identity -> new identity for unmatched parts that are the same schema under another
    name (a component renamed)."""
    unmatched = {identity: cmp.new.resolve(raw, at)[0] for identity, (raw, at) in new_parts.items()
                 if identity not in old_parts}
    renamed = {}
    for identity, (raw, at) in old_parts.items():
        if identity in new_parts:
            continue
        schema = cmp.old.resolve(raw, at)[0]
        match = next((other for other, candidate in unmatched.items() if candidate == schema), None)
        if match is not None:
            renamed[identity] = match
            del unmatched[match]
    return renamed


def _parts(documents: Documents, schema: dict, at: str, key: str) -> Parts:
    """identity -> (the part as written, its place), parts that only annotate left out of `allOf`."""
    parts: Parts = {}
    unnamed = 0
    for index, raw in enumerate(sequence(schema.get(key))):
        part_at = f"{at}/{key}/{index}"
        resolved, target = documents.resolve(raw, part_at)
        if key == "allOf" and all(word in ANNOTATIONS or word.startswith("x-") for word in resolved):
            continue
        if isinstance(raw, dict) and "$ref" in raw:
            identity = target
        elif resolved.get("title"):
            identity = f"title {resolved['title']}"
        else:
            identity, unnamed = f"#{unnamed}", unnamed + 1
        parts[identity] = (raw, part_at)
    return parts


def _compare_discriminator(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str,
                           name: str) -> list[Change]:
    was, now = old.get("discriminator"), new.get("discriminator")
    at_old, at_new = _at(old, old_at, "discriminator"), _at(new, new_at, "discriminator")
    if not isinstance(was, dict) or not isinstance(now, dict):
        if isinstance(was, dict) == isinstance(now, dict):
            return []
        change = "added" if isinstance(now, dict) else "removed"
        return [cmp.change(f"{ctx}-discriminator-{change}", f"{name}: discriminator {change}", at_old, at_new)]
    found = []
    if was.get("propertyName") != now.get("propertyName"):
        found.append(cmp.change(f"{ctx}-discriminator-property-changed", f"{name}: discriminator property "
                                f"{was.get('propertyName')} -> {now.get('propertyName')}", at_old, at_new))
    old_map, new_map = mapping(was.get("mapping")), mapping(now.get("mapping"))
    for value, target in old_map.items():
        if value not in new_map:
            found.append(cmp.change(f"{ctx}-discriminator-mapping-removed", f"{name}: discriminator value "
                                    f"{value!r} removed", f"{at_old}/mapping", f"{at_new}/mapping"))
        elif not _same_target(cmp, old_at, target, new_at, new_map[value]):
            found.append(cmp.change(f"{ctx}-discriminator-mapping-changed", f"{name}: discriminator value {value!r} "
                                    f"now maps to {new_map[value]}", f"{at_old}/mapping", f"{at_new}/mapping"))
    for value in new_map:
        if value not in old_map:
            found.append(cmp.change(f"{ctx}-discriminator-mapping-added", f"{name}: discriminator value {value!r} "
                                    "added", f"{at_old}/mapping", f"{at_new}/mapping"))
    return found


def _same_target(cmp: Comparison, old_at: str, old: object, new_at: str, new: object) -> bool:
    """Whether two mapping values name the same schema, or schemas alike (one renamed)."""
    old_target, new_target = cmp.old.target(old_at, str(old)), cmp.new.target(new_at, str(new))
    return old_target == new_target or cmp.old.lookup(old_target) == cmp.new.lookup(new_target) is not None


def _named(identity: str) -> str:
    return identity if not identity.startswith("#") else f"{identity} (unnamed)"


def _at(schema: dict, at: str, key: str) -> str:
    return f"{at}/{key}" if key in schema else at
