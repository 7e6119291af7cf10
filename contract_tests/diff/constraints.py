"""Constraints a schema puts on a value: bounds (`maxLength`, `minimum`, `minItems`, ...), value
keywords (`pattern`, `format`, `multipleOf`, `uniqueItems`, `contentEncoding`,
`contentMediaType`) and the JSON Schema 2020-12 applicators OpenAPI 3.1 allows (`contains`,
`if`/`then`/`else`, `prefixItems`, `unevaluatedProperties`, `patternProperties`, ...).

The rules are generated from the three tables below, one id per keyword and direction, so their
levels follow one reasoning: a request that accepts less (a lower `maxLength`, a new `pattern`, a
new `contains`) breaks clients, and a response that may carry more (a higher `maximum`, a removed
`minItems`) does too. A limit set where there was none is a warning on requests (it often writes
down what the server already enforced). Applicators present on both sides are compared as
schemas; `not` and `if` turn a schema around, so a change to them is a warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

REQ, RESP = "request-{body,property,parameter}", "response-{body,property}"


@dataclass(frozen=True, slots=True)
class Bound:
    """A numeric limit; `upper` for maximums. `oasdiff` names, per rule: request tightened,
    request set, request loosened, response loosened, response tightened."""

    keyword: str
    id: str
    upper: bool
    oasdiff: tuple[str, str, str, str, str]


BOUNDS = (
    Bound("maxLength", "max-length", True, (f"{REQ}-max-length-decreased", f"{REQ}-max-length-set",
          f"{REQ}-max-length-increased", f"{RESP}-max-length-{{increased,unset}}", "")),
    Bound("minLength", "min-length", False, (f"{REQ}-min-length-increased", "", f"{REQ}-min-length-decreased",
          f"{RESP}-min-length-decreased", "")),
    Bound("maximum", "max", True, (f"{REQ}-max-decreased", f"{REQ}-max-set", f"{REQ}-max-increased",
          f"{RESP}-max-increased", "")),
    Bound("minimum", "min", False, (f"{REQ}-min-increased", f"{REQ}-min-set", f"{REQ}-min-decreased",
          f"{RESP}-min-decreased", "")),
    Bound("exclusiveMaximum", "exclusive-max", True, (f"{REQ}-exclusive-max-decreased", f"{REQ}-exclusive-max-set",
          f"{REQ}-exclusive-max-increased", f"{RESP}-exclusive-max-increased", "")),
    Bound("exclusiveMinimum", "exclusive-min", False, (f"{REQ}-exclusive-min-increased", f"{REQ}-exclusive-min-set",
          f"{REQ}-exclusive-min-decreased", f"{RESP}-exclusive-min-decreased", "")),
    Bound("maxItems", "max-items", True, ("request-parameter-max-items-decreased", "",
          "request-parameter-max-items-increased", "", "")),
    Bound("minItems", "min-items", False, (f"{REQ}-min-items-increased", f"{REQ}-min-items-set",
          "request-parameter-min-items-decreased", f"{RESP}-min-items-{{decreased,unset}}", "")),
    Bound("maxProperties", "max-properties", True, ("", "", "", "", "")),
    Bound("minProperties", "min-properties", False, ("", "", "", "", "")),
    Bound("maxContains", "max-contains", True, ("request-{body,property}-max-contains-decreased", "",
          "request-{body,property}-max-contains-increased", f"{RESP}-max-contains-increased",
          f"{RESP}-max-contains-decreased")),
    Bound("minContains", "min-contains", False, ("request-{body,property}-min-contains-increased", "",
          "request-{body,property}-min-contains-decreased", f"{RESP}-min-contains-decreased",
          f"{RESP}-min-contains-increased")),
)

# keyword, id, levels for request added/changed/removed, then response added/changed/removed
# (None: not a finding), oasdiff names for the same six
VALUES = (
    ("pattern", "pattern", (ERROR, WARNING, INFO, INFO, INFO, INFO),
     ("request-{property,parameter}-pattern-added", "request-{property,parameter}-pattern-{changed,generalized}",
      "request-{property,parameter}-pattern-removed", "response-property-pattern-added",
      "response-property-pattern-changed", "response-property-pattern-removed")),
    ("format", "format", (ERROR, ERROR, INFO, INFO, ERROR, ERROR), ("",) * 6),
    ("multipleOf", "multiple-of", (ERROR, ERROR, INFO, INFO, ERROR, ERROR), ("",) * 6),
    ("uniqueItems", "unique-items", (ERROR, None, INFO, INFO, None, ERROR), ("",) * 6),
    ("contentEncoding", "content-encoding", (ERROR,) * 6,
     ("", "request-{body,property}-content-encoding-changed", "", "", f"{RESP}-content-encoding-changed", "")),
    ("contentMediaType", "content-media-type", (ERROR,) * 6,
     ("", "request-{body,property}-content-media-type-changed", "", "", f"{RESP}-content-media-type-changed", "")),
    ("dependentRequired", "dependent-required", (ERROR, ERROR, INFO, INFO, ERROR, ERROR),
     ("request-{body,property}-dependent-required-added", "request-{body,property}-dependent-required-changed",
      "request-{body,property}-dependent-required-removed", f"{RESP}-dependent-required-added",
      f"{RESP}-dependent-required-changed", f"{RESP}-dependent-required-removed")),
)

# keyword, id, what its value holds (schema, map of schemas, list of schemas, or turned: a change
# is a warning), whether adding it narrows (prefixItems widens: the items it names no longer
# have to match `items`), oasdiff id fragment
APPLICATORS = (
    ("contains", "contains", "schema", True, "contains"),
    ("propertyNames", "property-names", "schema", True, "property-names"),
    ("then", "then", "schema", True, "then"),
    ("else", "else", "schema", True, "else"),
    ("if", "if", "turned", True, "if"),
    ("not", "not", "turned", True, ""),
    ("unevaluatedItems", "unevaluated-items", "schema", True, "unevaluated-items"),
    ("unevaluatedProperties", "unevaluated-properties", "schema", True, "unevaluated-properties"),
    ("contentSchema", "content-schema", "schema", True, "content-schema"),
    ("patternProperties", "pattern-properties", "map", True, "pattern-property"),
    ("dependentSchemas", "dependent-schemas", "map", True, "dependent-schema"),
    ("prefixItems", "prefix-items", "list", False, "prefix-items"),
)


_SLOTS = [(ctx, change) for ctx in ("request", "response") for change in ("added", "changed", "removed")]


def _rules() -> list[tuple]:
    found = []
    for bound in BOUNDS:
        tight, loose = ("decreased", "increased") if bound.upper else ("increased", "decreased")
        names = [(name,) if name else () for name in bound.oasdiff]
        found += [
            rule(f"request-{bound.id}-{tight}", ERROR, f"request `{bound.keyword}` tightened", *names[0]),
            rule(f"request-{bound.id}-set", WARNING, f"request `{bound.keyword}` set where there was none", *names[1]),
            rule(f"request-{bound.id}-{loose}", INFO, f"request `{bound.keyword}` loosened or removed", *names[2],
                 servers=True),
            rule(f"response-{bound.id}-{loose}", ERROR, f"response `{bound.keyword}` loosened or removed", *names[3]),
            rule(f"response-{bound.id}-{tight}", INFO, f"response `{bound.keyword}` tightened or set", *names[4],
                 servers=True),
        ]
    for keyword, id, levels, oasdiff in VALUES:
        for index, (ctx, change) in enumerate(_SLOTS):
            if levels[index] is not None:
                found.append(rule(f"{ctx}-{id}-{change}", levels[index], f"{ctx} `{keyword}` {change}",
                                  *((oasdiff[index],) if oasdiff[index] else ()), servers=_servers(ctx, change)))
    for keyword, id, holds, narrows, oasdiff in APPLICATORS:
        for ctx in ("request", "response"):
            for change in ("added", "removed"):
                narrowing = (change == "added") == narrows
                breaks = narrowing == (ctx == "request")
                names = (f"{ctx}-{{body,property}}-{oasdiff}-{change}",) if oasdiff else ()
                found.append(rule(f"{ctx}-{id}-{change}", ERROR if breaks else INFO, f"{ctx} `{keyword}` {change}",
                                  *names, servers=not breaks))
            if holds == "turned":
                found.append(rule(f"{ctx}-{id}-changed", WARNING, f"{ctx} `{keyword}` changed (it turns a schema "
                                  "around, so the direction is not judged)"))
    return found


def _servers(ctx: str, change: str) -> bool:
    """A request accepting more, or a response promising less, breaks servers built to the old spec."""
    return change == "removed" if ctx == "request" else change == "added"


RULES = family("Constraints", _rules())


KEYWORDS = frozenset(bound.keyword for bound in BOUNDS) | {row[0] for row in VALUES} | {row[0] for row in APPLICATORS}


def compare(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str, name: str) -> list[Change]:
    present = (old.keys() | new.keys()) & KEYWORDS
    if not present:
        return []
    found = []
    for bound in BOUNDS:
        if bound.keyword in present:
            found += _compare_bound(cmp, bound, old, old_at, new, new_at, ctx, name)
    for keyword, id, _, _ in VALUES:
        if keyword not in present:
            continue
        was, now = _value(old, keyword), _value(new, keyword)
        if was != now:
            change = "added" if was is None else "removed" if now is None else "changed"
            if f"{ctx}-{id}-{change}" in RULES:
                found.append(cmp.change(f"{ctx}-{id}-{change}", f"{name}: {keyword} {_show(was)} -> {_show(now)}",
                                        _at(old, old_at, keyword), _at(new, new_at, keyword)))
    for keyword, id, holds, _, _ in APPLICATORS:
        if keyword in present:
            found += _compare_applicator(cmp, keyword, id, holds, old, old_at, new, new_at, ctx, name)
    return found


def _compare_bound(cmp: Comparison, bound: Bound, old: dict, old_at: str, new: dict, new_at: str, ctx: str,
                   name: str) -> list[Change]:
    was, now = _limit(old, bound.keyword), _limit(new, bound.keyword)
    if was == now:
        return []
    tighter = now is not None and (was is None or _beyond(was, now, bound.upper))
    looser = was is not None and (now is None or _beyond(now, was, bound.upper))
    if not tighter and not looser:
        return []
    tight, loose = ("decreased", "increased") if bound.upper else ("increased", "decreased")
    if ctx == "request":
        change = "set" if was is None else tight if tighter else loose
    else:
        change = tight if tighter else loose
    return [cmp.change(f"{ctx}-{bound.id}-{change}", f"{name}: {bound.keyword} {_show_limit(was)} -> "
                       f"{_show_limit(now)}", _at(old, old_at, bound.keyword), _at(new, new_at, bound.keyword))]


def _compare_applicator(cmp: Comparison, keyword: str, id: str, holds: str, old: dict, old_at: str, new: dict,
                        new_at: str, ctx: str, name: str) -> list[Change]:
    was, now = old.get(keyword), new.get(keyword)
    at_old, at_new = _at(old, old_at, keyword), _at(new, new_at, keyword)
    if was is None or now is None:
        change = "added" if was is None else "removed"
        return [cmp.change(f"{ctx}-{id}-{change}", f"{name}: {keyword} {change}", at_old, at_new)]
    if holds == "turned":
        return [cmp.change(f"{ctx}-{id}-changed", f"{name}: {keyword} changed", at_old, at_new)] if was != now else []
    if holds == "schema":
        return cmp.schema(was, at_old, now, at_new, ctx, f"{name} {keyword}")
    pairs = (((key, was[key], now[key]) for key in was if key in now) if holds == "map" and
             isinstance(was, dict) and isinstance(now, dict) else
             ((str(index), a, b) for index, (a, b) in enumerate(zip(was, now, strict=False)))
             if isinstance(was, list) and isinstance(now, list) else ())
    found = []
    for key, a, b in pairs:
        found += cmp.schema(a, f"{at_old}/{key}", b, f"{at_new}/{key}", ctx, f"{name} {keyword} {key}")
    return found


def _limit(schema: dict, keyword: str) -> tuple[float, bool] | None:
    """A bound as (value, exclusive); OpenAPI 3.0's boolean `exclusiveMaximum` makes `maximum`
    exclusive and is no bound of its own."""
    value = schema.get(keyword)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    flag = {"maximum": "exclusiveMaximum", "minimum": "exclusiveMinimum"}.get(keyword)
    return value, bool(flag and schema.get(flag) is True)


def _beyond(inner: tuple[float, bool], outer: tuple[float, bool], upper: bool) -> bool:
    """Whether `outer` is strictly tighter than `inner` (a lower maximum, a higher minimum, or
    the same value made exclusive)."""
    if inner[0] != outer[0]:
        return outer[0] < inner[0] if upper else outer[0] > inner[0]
    return outer[1] and not inner[1]


def _value(schema: dict, keyword: str) -> object:
    value = schema.get(keyword)
    return None if value is False and keyword == "uniqueItems" else value


def _show(value: object) -> str:
    return "none" if value is None else repr(value)


def _show_limit(limit: tuple[float, bool] | None) -> str:
    return "none" if limit is None else f"{limit[0]}{' (exclusive)' if limit[1] else ''}"


def _at(schema: dict, at: str, key: str) -> str:
    return f"{at}/{key}" if key in schema else at
