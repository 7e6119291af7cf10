"""Parameters: path, query, header and cookie parameters of an operation (its own and its path's).

A parameter is identified by where it goes and its name; header names are compared without case
(HTTP headers have none), and `Accept`, `Content-Type` and `Authorization` header parameters are
left out, as OpenAPI says. Path parameters are matched by position in the template, so a renamed
`{id}` is the same parameter. A parameter's schema is compared as a request (`schemas.py`); its
`default` here, because a client that leaves the parameter out silently gets the new one.
`style` and `explode` are compared with OpenAPI's defaults filled in.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import lifecycle
from .documents import Documents, escape, mapping, ptr, sequence
from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Parameters", [
    rule("parameter-removed", WARNING, "parameter removed (clients still send it; the server ignores or refuses it)",
         "request-parameter-removed"),
    rule("parameter-moved", ERROR, "parameter moved between query, path, header and cookie", servers=True),
    rule("parameter-added-required", ERROR, "required parameter added",
         "new-required-request-parameter", "new-request-path-parameter",
         "new-required-request-default-parameter-to-existing-path"),
    rule("parameter-added", INFO, "optional parameter added",
         "new-optional-request-parameter", "new-optional-request-default-parameter-to-existing-path", servers=True),
    rule("parameter-made-required", ERROR, "parameter made required", "request-parameter-became-required"),
    rule("parameter-made-optional", INFO, "parameter made optional", "request-parameter-became-optional",
         servers=True),
    rule("parameter-default-added", ERROR, "default added to a parameter (clients leaving it out get it)",
         "request-parameter-default-value-added"),
    rule("parameter-default-changed", ERROR, "parameter default changed (clients leaving it out get another value)",
         "request-parameter-default-value-changed"),
    rule("parameter-default-removed", ERROR, "parameter default removed (the server picks what an absent one means)",
         "request-parameter-default-value-removed"),
    rule("parameter-style-changed", ERROR, "parameter `style` changed (how the value is serialized)"),
    rule("parameter-explode-changed", ERROR, "parameter `explode` changed (how arrays and objects are serialized)"),
])
IGNORED_HEADERS = ("accept", "content-type", "authorization")
DEFAULT_STYLE = {"query": "form", "cookie": "form", "path": "simple", "header": "simple"}

Parameters = dict[tuple[str, str], tuple[str, dict]]


def compare(cmp: Comparison, old_path: str, new_path: str, method: str) -> list[Change]:
    old_params = _parameters(cmp.old, old_path, method, _path_names(new_path, old_path))
    new_params = _parameters(cmp.new, new_path, method, {})
    op_old, op_new = ptr("paths", old_path, method), ptr("paths", new_path, method)
    found = []
    new_by_name = {name: where for where, name in new_params}
    for (where, name), (pointer, param) in old_params.items():
        shown = param.get("name", name)
        if (where, name) in new_params:
            new_pointer, new_param = new_params[(where, name)]
            found += _compare_parameter(cmp, f"{where} parameter `{shown}`", pointer, param, new_pointer, new_param)
        elif name in new_by_name:
            moved = new_by_name[name]
            found.append(cmp.change("parameter-moved", f"parameter `{shown}` moved from {where} to {moved}",
                                    pointer, new_params[(moved, name)][0]))
        else:
            found.append(lifecycle.removal(cmp, param, pointer, op_new, "parameter-removed",
                                           f"{where} parameter `{shown}` removed"))
    old_names = {name for _, name in old_params}
    for (where, name), (pointer, param) in new_params.items():
        if (where, name) not in old_params and name not in old_names:
            rule_id = "parameter-added-required" if param.get("required") else "parameter-added"
            found.append(cmp.change(rule_id, f"{RULES[rule_id].summary}: {where} `{param.get('name', name)}`",
                                    op_old, pointer))
    return found


def _compare_parameter(cmp: Comparison, what: str, old_at: str, old: dict, new_at: str, new: dict) -> list[Change]:
    found = []
    if bool(old.get("required")) != bool(new.get("required")):
        rule_id = "parameter-made-required" if new.get("required") else "parameter-made-optional"
        found.append(cmp.change(rule_id, f"{what} made {'required' if new.get('required') else 'optional'}",
                                old_at, new_at))
    old_style, new_style = _style(old), _style(new)
    if old_style[0] != new_style[0]:
        found.append(cmp.change("parameter-style-changed", f"{what}: style {old_style[0]} -> {new_style[0]}",
                                f"{old_at}/style", f"{new_at}/style"))
    elif old_style[1] != new_style[1]:
        found.append(cmp.change("parameter-explode-changed", f"{what}: explode {old_style[1]} -> {new_style[1]}",
                                f"{old_at}/explode", f"{new_at}/explode"))
    found += lifecycle.compare(cmp, old, old_at, new, new_at, what)
    old_schema, old_schema_at = _schema(old, old_at)
    new_schema, new_schema_at = _schema(new, new_at)
    found += _compare_default(cmp, what, *cmp.old.resolve(old_schema, old_schema_at),
                              *cmp.new.resolve(new_schema, new_schema_at))
    return found + cmp.schema(old_schema, old_schema_at, new_schema, new_schema_at, "request", what,
                              skip=frozenset({"default"}))


def _compare_default(cmp: Comparison, what: str, old: dict, old_at: str, new: dict, new_at: str) -> list[Change]:
    if old.get("default") == new.get("default") and ("default" in old) == ("default" in new):
        return []
    if "default" not in old:
        rule_id, message = "parameter-default-added", f"{what}: default {new['default']!r} added"
    elif "default" not in new:
        rule_id, message = "parameter-default-removed", f"{what}: default {old['default']!r} removed"
    else:
        rule_id, message = "parameter-default-changed", f"{what}: default {old['default']!r} -> {new['default']!r}"
    return [cmp.change(rule_id, message, f"{old_at}/default" if "default" in old else old_at,
                       f"{new_at}/default" if "default" in new else new_at)]


def _style(param: dict) -> tuple[str, bool]:
    """(style, explode) with OpenAPI's defaults: form for query and cookie, simple otherwise;
    explode true for form."""
    style = param.get("style") or DEFAULT_STYLE.get(param.get("in", ""), "simple")
    explode = param.get("explode")
    return style, bool(style == "form" if explode is None else explode)


def _schema(param: dict, at: str) -> tuple[object, str]:
    """The parameter's schema, or its one media type's (`content`)."""
    if "schema" in param or not isinstance(param.get("content"), dict) or not param["content"]:
        return param.get("schema"), f"{at}/schema"
    media_type, media = next(iter(param["content"].items()))
    return mapping(media).get("schema"), f"{at}/content/{escape(media_type)}/schema"


def _path_names(new_path: str, old_path: str) -> dict[str, str]:
    """Old path parameter name -> the new one at the same position of the template."""
    old_names, new_names = re.findall(r"\{([^}]*)\}", old_path), re.findall(r"\{([^}]*)\}", new_path)
    return dict(zip(old_names, new_names, strict=False))


def _parameters(documents: Documents, path: str, method: str, renames: dict[str, str]) -> Parameters:
    """(in, name) -> (pointer, parameter) for path-level then operation-level parameters; path
    parameters renamed to the other spec's names, header names in lower case."""
    item = documents.root["paths"][path]
    merged = {}
    for at, params in ((ptr("paths", path), sequence(item.get("parameters"))),
                       (ptr("paths", path, method), sequence(item[method].get("parameters")))):
        for index, raw in enumerate(params):
            param, pointer = documents.resolve(raw, f"{at}/parameters/{index}")
            where, name = str(param.get("in", "")), str(param.get("name", ""))
            if where == "header":
                name = name.lower()
                if name in IGNORED_HEADERS:
                    continue
            elif where == "path":
                name = renames.get(name, name)
            merged[(where, name)] = (pointer, param)
    return merged
