"""What changed between two versions of an OpenAPI document, and whom each change breaks.

Operations are matched by method and path template (`/customers/{id}` and `/customers/{customer_id}`
are one path; path parameters are matched by position). Within an operation the parameters, the
request body and every response body are compared after resolving `$ref`s, schema by schema.
Every finding is one rule of `RULES`, which says whom it breaks:

* **clients**: code written against the old spec may fail against a server built to the new one
  (a request it sends is now refused, or a response carries what it does not expect);
* **servers**: a server built to the old spec may fail the new one (it refuses requests the new
  spec allows, or sends answers the new spec forbids). The duals: narrowing a request or widening
  a response breaks clients; widening a request or narrowing a response breaks servers.

A change to a shared schema is reported once, at its place in each file, with every operation it
reaches. Each pair of referenced schemas is compared once per direction (request or response),
which keeps the full spec against itself well under a second. Known gaps: `oneOf`/`anyOf`
variants are compared by position; constraints (`maxLength`, `minimum`, `pattern`, `format`) and
header or cookie parameters' case are not compared.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flexprice_spec.document import HTTP_METHODS

from .spec_source import escape

# rule: (breaks clients, breaks servers, what it means). In schemas, narrowing a request or
# widening a response breaks clients; widening a request or narrowing a response breaks servers.
RULES: dict[str, tuple[bool, bool, str]] = {
    "path-removed": (True, False, "path removed"),
    "operation-removed": (True, False, "operation removed"),
    "operation-added": (False, True, "operation added"),
    "parameter-removed": (True, False, "parameter removed"),
    "parameter-moved": (True, True, "parameter moved between query, path, header and cookie"),
    "parameter-added-required": (True, False, "required parameter added"),
    "parameter-added": (False, True, "optional parameter added"),
    "parameter-made-required": (True, False, "parameter made required"),
    "parameter-made-optional": (False, True, "parameter made optional"),
    "request-body-required": (True, False, "request body made required"),
    "request-body-removed": (True, False, "request body removed"),
    "success-status-changed": (True, True, "success status changed"),
    "response-body-removed": (True, False, "response body removed"),
    "response-body-added": (False, True, "response body added"),
    "security-added": (True, False, "authentication now required"),
    "security-removed": (False, True, "authentication no longer required"),
    "doc-changed": (False, False, "description or summary changed"),
    "request-property-removed": (True, False, "request field removed (the server ignores or refuses it)"),
    "request-property-added": (False, True, "optional request field added"),
    "request-property-added-required": (True, False, "required request field added"),
    "request-property-made-required": (True, False, "request field made required"),
    "request-property-made-optional": (False, True, "request field made optional"),
    "request-enum-narrowed": (True, False, "request enum value removed"),
    "request-enum-widened": (False, True, "request enum value added"),
    "request-type-changed": (True, True, "request type changed"),
    "request-nullable-added": (False, True, "request value made nullable"),
    "request-nullable-removed": (True, False, "request value no longer nullable"),
    "response-property-removed": (True, False, "response field removed"),
    "response-property-added": (False, False, "optional response field added"),
    "response-property-added-required": (False, True, "required response field added"),
    "response-property-made-optional": (True, False, "response field made optional"),
    "response-property-made-required": (False, True, "response field made required"),
    "response-enum-narrowed": (False, True, "response enum value removed"),
    "response-enum-widened": (True, False, "response enum value added"),
    "response-type-changed": (True, True, "response type changed"),
    "response-nullable-added": (True, False, "response value made nullable"),
    "response-nullable-removed": (False, True, "response value no longer nullable"),
}


@dataclass(slots=True)
class Change:
    """One finding, at its place in each file (None where that file has no such place)."""

    rule: str
    message: str
    old: str | None
    new: str | None
    operations: list[str] = field(default_factory=list)

    @property
    def clients(self) -> bool:
        """Breaks existing clients: what the gate calls *breaking*."""
        return RULES[self.rule][0]

    @property
    def servers(self) -> bool:
        return RULES[self.rule][1]

    @property
    def key(self) -> tuple:
        return self.rule, self.old, self.new


class Comparison:
    """Compare `old` with `new`; `changes` holds the findings, breaking ones first."""

    def __init__(self, old: dict, new: dict) -> None:
        self.old, self.new = old, new
        self._found: dict[tuple, Change] = {}
        self._memo: dict[tuple, list[Change]] = {}
        self._compare_paths()
        self.changes = sorted(self._found.values(),
                              key=lambda c: (not c.clients, not c.servers, c.old or c.new or "", c.rule))

    @property
    def breaking(self) -> list[Change]:
        return [change for change in self.changes if change.clients]

    # -- operations ---------------------------------------------------------------------------

    def _compare_paths(self) -> None:
        old_paths, new_paths = _templates(self.old), _templates(self.new)
        for template, old_path in old_paths.items():
            if template not in new_paths:
                self._report("path-removed", f"path {old_path} removed", _ptr("paths", old_path), "/paths",
                             [f"{method.upper()} {old_path}" for method in _methods(self.old["paths"][old_path])])
                continue
            self._compare_path(old_path, new_paths[template])
        for template, new_path in new_paths.items():
            if template not in old_paths:
                for method in _methods(self.new["paths"][new_path]):
                    self._operation_added(method, new_path)

    def _compare_path(self, old_path: str, new_path: str) -> None:
        old_item, new_item = self.old["paths"][old_path], self.new["paths"][new_path]
        for method in _methods(old_item):
            label = f"{method.upper()} {new_path}"
            if method not in new_item:
                self._report("operation-removed", f"{label} removed", _ptr("paths", old_path, method),
                             _ptr("paths", new_path), [label])
                continue
            self._compare_operation(label, old_path, new_path, method)
        for method in _methods(new_item):
            if method not in old_item:
                self._operation_added(method, new_path)

    def _operation_added(self, method: str, path: str) -> None:
        label = f"{method.upper()} {path}"
        self._report("operation-added", f"{label} added", None, _ptr("paths", path, method), [label])

    def _compare_operation(self, label: str, old_path: str, new_path: str, method: str) -> None:
        old_op, new_op = self.old["paths"][old_path][method], self.new["paths"][new_path][method]
        op_old, op_new = _ptr("paths", old_path, method), _ptr("paths", new_path, method)
        found: list[Change] = []
        for key in ("summary", "description"):
            if old_op.get(key) != new_op.get(key):
                found.append(self._change("doc-changed", f"{label}: {key} changed", f"{op_old}/{escape(key)}",
                                          f"{op_new}/{escape(key)}"))
        found += self._compare_security(label, op_old, op_new, old_op, new_op)
        found += self._compare_parameters(old_path, new_path, method)
        found += self._compare_request_body(op_old, op_new, old_op, new_op)
        found += self._compare_responses(op_old, op_new, old_op, new_op)
        for change in found:
            if label not in change.operations:
                change.operations.append(label)

    def _compare_security(self, label: str, op_old: str, op_new: str, old_op: dict, new_op: dict) -> list[Change]:
        was, now = _secured(self.old, old_op), _secured(self.new, new_op)
        if was == now:
            return []
        rule = "security-added" if now else "security-removed"
        return [self._change(rule, f"{label}: {RULES[rule][2]}", f"{op_old}/security" if "security" in old_op
                             else op_old, f"{op_new}/security" if "security" in new_op else op_new)]

    def _compare_parameters(self, old_path: str, new_path: str, method: str) -> list[Change]:
        old_params = _parameters(self.old, old_path, method, _path_names(new_path, old_path))
        new_params = _parameters(self.new, new_path, method, {})
        op_old, op_new = _ptr("paths", old_path, method), _ptr("paths", new_path, method)
        found = []
        new_by_name = {name: where for where, name in new_params}
        for (where, name), (pointer, param) in old_params.items():
            if (where, name) in new_params:
                new_pointer, new_param = new_params[(where, name)]
                found += self._compare_parameter(name, pointer, param, new_pointer, new_param)
            elif name in new_by_name:
                moved = new_by_name[name]
                found.append(self._change("parameter-moved", f"parameter `{name}` moved from {where} to {moved}",
                                          pointer, new_params[(moved, name)][0]))
            else:
                found.append(self._change("parameter-removed", f"{where} parameter `{name}` removed", pointer, op_new))
        old_names = {name for _, name in old_params}
        for (where, name), (pointer, param) in new_params.items():
            if (where, name) not in old_params and name not in old_names:
                rule = "parameter-added-required" if param.get("required") else "parameter-added"
                found.append(self._change(rule, f"{RULES[rule][2]}: {where} `{name}`", op_old, pointer))
        return found

    def _compare_parameter(self, name: str, old_pointer: str, old: dict, new_pointer: str, new: dict) -> list[Change]:
        found = []
        if bool(old.get("required")) != bool(new.get("required")):
            rule = "parameter-made-required" if new.get("required") else "parameter-made-optional"
            found.append(self._change(rule, f"{RULES[rule][2]}: `{name}`", old_pointer, new_pointer))
        return found + self._compare_schema(old.get("schema"), f"{old_pointer}/schema", new.get("schema"),
                                            f"{new_pointer}/schema", "request", name)

    def _compare_request_body(self, op_old: str, op_new: str, old_op: dict, new_op: dict) -> list[Change]:
        old_body, old_at = _resolve(self.old, old_op.get("requestBody"), f"{op_old}/requestBody")
        new_body, new_at = _resolve(self.new, new_op.get("requestBody"), f"{op_new}/requestBody")
        found = []
        if new_body.get("required") and not old_body.get("required"):
            found.append(self._change("request-body-required", "request body made required", old_at, new_at))
        old_schema, old_schema_at = _media_schema(old_body, old_at)
        new_schema, new_schema_at = _media_schema(new_body, new_at)
        if old_schema is not None and new_schema is None:
            found.append(self._change("request-body-removed", "request body removed", old_schema_at, new_at))
        elif old_schema is not None:
            found += self._compare_schema(old_schema, old_schema_at, new_schema, new_schema_at, "request", "body")
        return found

    def _compare_responses(self, op_old: str, op_new: str, old_op: dict, new_op: dict) -> list[Change]:
        old_responses, new_responses = old_op.get("responses", {}), new_op.get("responses", {})
        found = []
        old_success = sorted(str(code) for code in old_responses if str(code).startswith("2"))
        new_success = sorted(str(code) for code in new_responses if str(code).startswith("2"))
        if old_success != new_success:
            was, now = ", ".join(old_success) or "none", ", ".join(new_success) or "none"
            found.append(self._change("success-status-changed", f"success status {was} -> {now}",
                                      f"{op_old}/responses", f"{op_new}/responses"))
        for code in old_responses:
            if code not in new_responses:
                continue
            old_response, old_at = _resolve(self.old, old_responses[code], f"{op_old}/responses/{code}")
            new_response, new_at = _resolve(self.new, new_responses[code], f"{op_new}/responses/{code}")
            old_schema, old_schema_at = _media_schema(old_response, old_at)
            new_schema, new_schema_at = _media_schema(new_response, new_at)
            if old_schema is not None and new_schema is None:
                found.append(self._change("response-body-removed", f"{code} response body removed", old_schema_at,
                                          new_at))
            elif old_schema is None and new_schema is not None:
                found.append(self._change("response-body-added", f"{code} response body added", old_at, new_schema_at))
            elif old_schema is not None:
                found += self._compare_schema(old_schema, old_schema_at, new_schema, new_schema_at, "response", code)
        return found

    # -- schemas ------------------------------------------------------------------------------

    def _compare_schema(self, old: object, old_at: str, new: object, new_at: str, ctx: str, name: str) -> list[Change]:
        """Findings under one pair of schemas; a pair of referenced schemas is compared once per
        `ctx`, and a pair already being compared (a recursive schema) yields nothing more."""
        old, old_at = _resolve(self.old, old, old_at)
        new, new_at = _resolve(self.new, new, new_at)
        key = (old_at, new_at, ctx)
        if key in self._memo:
            return self._memo[key]
        found: list[Change] = []
        self._memo[key] = found
        found += self._compare_node(old, old_at, new, new_at, ctx, name)
        return found

    def _compare_node(self, old: dict, old_at: str, new: dict, new_at: str, ctx: str, name: str) -> list[Change]:
        if old.get("type") != new.get("type"):
            return [self._change(f"{ctx}-type-changed",
                                 f"{ctx} `{name}`: type {old.get('type', 'any')} -> {new.get('type', 'any')}",
                                 old_at, new_at)]
        found = []
        if old.get("description") != new.get("description"):
            found.append(self._change("doc-changed", f"{ctx} `{name}`: description changed", old_at, new_at))
        if bool(old.get("nullable")) != bool(new.get("nullable")):
            rule = f"{ctx}-nullable-added" if new.get("nullable") else f"{ctx}-nullable-removed"
            found.append(self._change(rule, f"{ctx} `{name}`: {RULES[rule][2]}", old_at, new_at))
        found += self._compare_enums(old, old_at, new, new_at, ctx, name)
        found += self._compare_properties(old, old_at, new, new_at, ctx)
        for key in ("items", "additionalProperties"):
            if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
                found += self._compare_schema(old[key], f"{old_at}/{key}", new[key], f"{new_at}/{key}", ctx,
                                              f"{name}[]" if key == "items" else f"{name}{{*}}")
        for key in ("oneOf", "anyOf"):
            for index, (a, b) in enumerate(zip(old.get(key, []), new.get(key, []), strict=False)):
                found += self._compare_schema(a, f"{old_at}/{key}/{index}", b, f"{new_at}/{key}/{index}", ctx, name)
        return found

    def _compare_enums(self, old: dict, old_at: str, new: dict, new_at: str, ctx: str, name: str) -> list[Change]:
        old_values, new_values = old.get("enum"), new.get("enum")
        if old_values == new_values:
            return []
        old_enum = f"{old_at}/enum" if old_values is not None else old_at
        new_enum = f"{new_at}/enum" if new_values is not None else new_at
        if old_values is None or new_values is None:
            narrowed = new_values is not None
            what = "an enum now limits the values" if narrowed else "the enum was removed (any value)"
            return [self._change(f"{ctx}-enum-{'narrowed' if narrowed else 'widened'}", f"{ctx} `{name}`: {what}",
                                 old_enum, new_enum)]
        found = []
        removed = [value for value in old_values if value not in new_values]
        added = [value for value in new_values if value not in old_values]
        if removed:
            found.append(self._change(f"{ctx}-enum-narrowed", f"{ctx} `{name}`: "
                                      f"{', '.join(map(repr, removed))} no longer allowed", old_enum, new_enum))
        if added:
            found.append(self._change(f"{ctx}-enum-widened", f"{ctx} `{name}`: "
                                      f"{', '.join(map(repr, added))} now allowed", old_enum, new_enum))
        return found

    def _compare_properties(self, old: dict, old_at: str, new: dict, new_at: str, ctx: str) -> list[Change]:
        old_props, old_required = _flatten(self.old, old, old_at)
        new_props, new_required = _flatten(self.new, new, new_at)
        found = []
        for prop, (pointer, schema) in old_props.items():
            if prop not in new_props:
                found.append(self._change(f"{ctx}-property-removed", f"{ctx} field `{prop}` removed", pointer,
                                          f"{new_at}/properties"))
                continue
            new_pointer, new_schema = new_props[prop]
            if (prop in old_required) != (prop in new_required):
                now = "required" if prop in new_required else "optional"
                found.append(self._change(f"{ctx}-property-made-{now}", f"{ctx} field `{prop}` made {now}", pointer,
                                          new_pointer))
            found += self._compare_schema(schema, pointer, new_schema, new_pointer, ctx, prop)
        for prop, (pointer, _) in new_props.items():
            if prop not in old_props:
                rule = f"{ctx}-property-added-required" if prop in new_required else f"{ctx}-property-added"
                found.append(self._change(rule, f"{RULES[rule][2]}: `{prop}`", f"{old_at}/properties", pointer))
        return found

    # -- findings -----------------------------------------------------------------------------

    def _change(self, rule: str, message: str, old: str | None, new: str | None) -> Change:
        change = Change(rule, message, old, new)
        return self._found.setdefault(change.key, change)

    def _report(self, rule: str, message: str, old: str | None, new: str | None, operations: list[str]) -> None:
        change = self._change(rule, message, old, new)
        change.operations.extend(op for op in operations if op not in change.operations)


def _ptr(*segments: str) -> str:
    return "".join(f"/{escape(segment)}" for segment in segments)


def _methods(item: dict) -> Iterator[str]:
    return (method for method in HTTP_METHODS if isinstance(item.get(method), dict))


def _templates(document: dict) -> dict[str, str]:
    """Normalized path template (`/customers/{}`) -> the path as the document spells it."""
    return {re.sub(r"\{[^}]*\}", "{}", path): path for path in document.get("paths", {})}


def _path_names(new_path: str, old_path: str) -> dict[str, str]:
    """Old path parameter name -> the new one at the same position of the template."""
    old_names, new_names = re.findall(r"\{([^}]*)\}", old_path), re.findall(r"\{([^}]*)\}", new_path)
    return dict(zip(old_names, new_names, strict=False))


def _resolve(document: dict, node: object, at: str) -> tuple[dict, str]:
    """Follow `$ref`s to the node they name; return it with its pointer in the file."""
    seen = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"]
        if ref in seen:
            break
        seen.add(ref)
        at = ref[1:]
        node = document
        for part in at.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else {}), at


def _media_schema(body: dict, at: str) -> tuple[object | None, str]:
    """The JSON schema of a request or response body (its first media type if none is JSON)."""
    content = body.get("content") or {}
    media_type = "application/json" if "application/json" in content else next(iter(content), None)
    if media_type is None or not isinstance(content[media_type], dict) or "schema" not in content[media_type]:
        return None, at
    return content[media_type]["schema"], f"{at}/content/{escape(media_type)}/schema"


def _parameters(document: dict, path: str, method: str,
                renames: dict[str, str]) -> dict[tuple[str, str], tuple[str, dict]]:
    """(in, name) -> (pointer, parameter) for path-level then operation-level parameters; path
    parameters renamed to the other spec's names, so a renamed `{id}` is the same parameter."""
    item = document["paths"][path]
    merged = {}
    for at, params in ((_ptr("paths", path), item.get("parameters", [])),
                       (_ptr("paths", path, method), item[method].get("parameters", []))):
        for index, raw in enumerate(params):
            param, pointer = _resolve(document, raw, f"{at}/parameters/{index}")
            where, name = param.get("in", ""), param.get("name", "")
            if where == "path":
                name = renames.get(name, name)
            merged[(where, name)] = (pointer, param)
    return merged


def _flatten(document: dict, schema: dict, at: str) -> tuple[dict[str, tuple[str, object]], set[str]]:
    """Properties (name -> (pointer, schema)) and required names, `allOf` parts merged in."""
    props = {name: (f"{at}/properties/{escape(name)}", sub) for name, sub in (schema.get("properties") or {}).items()}
    required = set(schema.get("required") or [])
    for index, part in enumerate(schema.get("allOf") or []):
        part, part_at = _resolve(document, part, f"{at}/allOf/{index}")
        part_props, part_required = _flatten(document, part, part_at)
        props.update(part_props)
        required |= part_required
    return props, required


def _secured(document: dict, operation: dict) -> bool:
    """Whether an operation needs credentials: some requirement, and no empty (anonymous) one."""
    requirements = operation.get("security", document.get("security")) or []
    return bool(requirements) and all(requirements)
