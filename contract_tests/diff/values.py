"""Values a schema allows or assumes: `enum`, `const` (OpenAPI 3.1), `x-extensible-enum` and
`default`.

An enum that loses a value (or appears where any value was allowed) narrows; one that gains a
value widens: an error for requests, a warning for responses (clients with an exhaustive switch
fail, others do not). `x-extensible-enum` lists values clients must accept more of, so only a
request value removed counts. A body property's `default` is info; a parameter's is compared by
`parameters.py`, which passes `default` in `skip`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Values: enum, const and default", [
    rule("request-enum-narrowed", ERROR, "request enum value removed, or an enum now limits the values",
         "request-{body,property,parameter,parameter-property}-enum-value-removed",
         "request-{body,property,parameter}-became-enum",
         "request-header-property-became-enum"),
    rule("request-enum-widened", INFO, "request enum value added, or the enum removed",
         "request-{property,parameter,parameter-property}-enum-value-added", servers=True),
    rule("response-enum-widened", WARNING, "response enum value added, or the enum removed",
         "response-property-enum-value-added"),
    rule("response-enum-narrowed", INFO, "response enum value removed", "response-property-enum-value-removed",
         "response-mediatype-enum-value-removed", servers=True),
    rule("request-extensible-enum-narrowed", ERROR, "request `x-extensible-enum` value removed",
         "request-{parameter,property}-x-extensible-enum-value-removed"),
    rule("request-const-added", ERROR, "request value fixed by a new `const`", "request-{body,property}-const-added"),
    rule("request-const-changed", ERROR, "request `const` changed", "request-{body,property}-const-changed"),
    rule("request-const-removed", INFO, "request `const` removed", "request-{body,property}-const-removed",
         servers=True),
    rule("response-const-added", INFO, "response value fixed by a new `const`", "response-{body,property}-const-added",
         servers=True),
    rule("response-const-changed", ERROR, "response `const` changed", "response-{body,property}-const-changed"),
    rule("response-const-removed", ERROR, "response `const` removed (any value may come)",
         "response-{body,property}-const-removed"),
    rule("request-default-changed", INFO, "request property default added, changed or removed",
         "request-{body,property}-default-value-{added,changed,removed}"),
    rule("response-default-changed", INFO, "response property default added, changed or removed",
         "response-{body,property}-default-value-{added,changed,removed}"),
])


def compare(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str, name: str,
            skip: frozenset[str]) -> list[Change]:
    found = _compare_enum(cmp, old, old_at, new, new_at, ctx, name)
    if ctx == "request" and isinstance(new.get("x-extensible-enum"), list):
        removed = _removed(old.get("x-extensible-enum"), new["x-extensible-enum"])
        if removed:
            found.append(cmp.change("request-extensible-enum-narrowed", f"{name}: x-extensible-enum "
                                    f"{_values(removed)} removed", f"{old_at}/x-extensible-enum",
                                    f"{new_at}/x-extensible-enum"))
    found += _compare_keyword(cmp, "const", old, old_at, new, new_at, ctx, name)
    if "default" not in skip and (old.get("default") != new.get("default") or ("default" in old) != ("default" in new)):
        found.append(cmp.change(f"{ctx}-default-changed", f"{name}: default {old.get('default')!r} -> "
                                f"{new.get('default')!r}", _at(old, old_at, "default"), _at(new, new_at, "default")))
    return found


def _compare_enum(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str, name: str) -> list[Change]:
    old_values, new_values = old.get("enum"), new.get("enum")
    if old_values == new_values or not isinstance(old_values or [], list) or not isinstance(new_values or [], list):
        return []
    old_enum, new_enum = _at(old, old_at, "enum"), _at(new, new_at, "enum")
    if old_values is None or new_values is None:
        narrowed = new_values is not None
        what = "an enum now limits the values" if narrowed else "the enum was removed (any value)"
        return [cmp.change(f"{ctx}-enum-{'narrowed' if narrowed else 'widened'}", f"{name}: {what}",
                           old_enum, new_enum)]
    found = []
    removed, added = _removed(old_values, new_values), _removed(new_values, old_values)
    if removed:
        found.append(cmp.change(f"{ctx}-enum-narrowed", f"{name}: {_values(removed)} no longer allowed",
                                old_enum, new_enum))
    if added:
        found.append(cmp.change(f"{ctx}-enum-widened", f"{name}: {_values(added)} now allowed", old_enum, new_enum))
    return found


def _compare_keyword(cmp: Comparison, key: str, old: dict, old_at: str, new: dict, new_at: str, ctx: str,
                     name: str) -> list[Change]:
    """`const`: added, changed or removed."""
    if (key in old) == (key in new) and old.get(key) == new.get(key):
        return []
    change = "added" if key not in old else "removed" if key not in new else "changed"
    return [cmp.change(f"{ctx}-{key}-{change}", f"{name}: {key} {old.get(key)!r} -> {new.get(key)!r}",
                       _at(old, old_at, key), _at(new, new_at, key))]


def _removed(before: object, after: list) -> list:
    return [value for value in before if value not in after] if isinstance(before, list) else []


def _values(values: list) -> str:
    return ", ".join(map(repr, values))


def _at(schema: dict, at: str, key: str) -> str:
    return f"{at}/{key}" if key in schema else at
