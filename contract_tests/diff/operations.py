"""Paths, operations and webhooks: what exists, what was removed, and the walk into each operation.

Operations are matched by method and normalized path template, so `/customers/{id}` and
`/customers/{customer_id}` are one path. Removing an operation that was deprecated is judged by
`lifecycle.removal`; one whose old stability was `draft` or `alpha` is marked unstable.
Webhooks (OpenAPI 3.1) are compared by name only: what the API sends is not checked here.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flexprice_spec.document import HTTP_METHODS

from . import bodies, lifecycle, parameters, responses, security
from .documents import escape, mapping, ptr
from .rules import ERROR, INFO, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Paths and operations", [
    rule("path-removed", ERROR, "path removed (with operations that were not deprecated)",
         "api-path-removed-without-deprecation"),
    rule("operation-removed", ERROR, "operation removed without deprecation", "api-removed-without-deprecation"),
    rule("operation-added", INFO, "operation added", "endpoint-added", servers=True),
    rule("operation-id-changed", INFO, "operationId added, removed or changed (generated SDKs rename a method)",
         "api-operation-id-{added,removed}"),
    rule("webhook-removed", ERROR, "webhook removed (OpenAPI 3.1)", "webhook-removed"),
    rule("webhook-added", INFO, "webhook added (OpenAPI 3.1)", "webhook-added"),
    rule("doc-changed", INFO, "description or summary changed"),
])


def compare(cmp: Comparison) -> None:
    old_paths, new_paths = _templates(cmp.old.root), _templates(cmp.new.root)
    for template, old_path in old_paths.items():
        if template in new_paths:
            _compare_path(cmp, old_path, new_paths[template])
        else:
            _path_removed(cmp, old_path)
    for template, new_path in new_paths.items():
        if template not in old_paths:
            for method in _methods(cmp.new.root["paths"][new_path]):
                _operation_added(cmp, method, new_path)
    _compare_webhooks(cmp)


def _path_removed(cmp: Comparison, old_path: str) -> None:
    """One `path-removed` listing the operations removed without deprecation; each deprecated one
    is judged on its own."""
    item = cmp.old.root["paths"][old_path]
    plain = []
    for method in _methods(item):
        label = f"{method.upper()} {old_path}"
        if lifecycle.unstable(item[method]):
            cmp.unstable_operations.add(label)
        if item[method].get("deprecated"):
            lifecycle.removal(cmp, item[method], ptr("paths", old_path, method), "/paths",
                              "operation-removed", f"{label} removed").reaches(label)
        else:
            plain.append(label)
    if plain:
        cmp.report("path-removed", f"path {old_path} removed", ptr("paths", old_path), "/paths", plain)


def _compare_path(cmp: Comparison, old_path: str, new_path: str) -> None:
    old_item, new_item = cmp.old.root["paths"][old_path], cmp.new.root["paths"][new_path]
    old_methods, new_methods = list(_methods(old_item)), list(_methods(new_item))
    for method in old_methods:
        label = f"{method.upper()} {new_path}"
        if lifecycle.unstable(old_item[method]) or lifecycle.unstable(mapping(new_item.get(method))):
            cmp.unstable_operations.add(label)
        if method in new_methods:
            _compare_operation(cmp, label, old_path, new_path, method)
            continue
        lifecycle.removal(cmp, old_item[method], ptr("paths", old_path, method), ptr("paths", new_path),
                          "operation-removed", f"{label} removed").reaches(label)
    for method in new_methods:
        if method not in old_methods:
            _operation_added(cmp, method, new_path)


def _operation_added(cmp: Comparison, method: str, path: str) -> None:
    label = f"{method.upper()} {path}"
    cmp.report("operation-added", f"{label} added", None, ptr("paths", path, method), [label])


def _compare_operation(cmp: Comparison, label: str, old_path: str, new_path: str, method: str) -> None:
    old_op, new_op = cmp.old.root["paths"][old_path][method], cmp.new.root["paths"][new_path][method]
    op_old, op_new = ptr("paths", old_path, method), ptr("paths", new_path, method)
    found: list[Change] = []
    for key in ("summary", "description"):
        if old_op.get(key) != new_op.get(key):
            found.append(cmp.change("doc-changed", f"{label}: {key} changed", f"{op_old}/{escape(key)}",
                                    f"{op_new}/{escape(key)}"))
    if old_op.get("operationId") != new_op.get("operationId"):
        found.append(cmp.change("operation-id-changed", f"{label}: operationId {old_op.get('operationId')} -> "
                                f"{new_op.get('operationId')}", f"{op_old}/operationId", f"{op_new}/operationId"))
    found += lifecycle.compare(cmp, old_op, op_old, new_op, op_new, label)
    found += security.compare(cmp, label, op_old, op_new, old_op, new_op)
    found += parameters.compare(cmp, old_path, new_path, method)
    found += bodies.compare(cmp, op_old, op_new, old_op, new_op)
    found += responses.compare(cmp, op_old, op_new, old_op, new_op)
    for change in found:
        change.reaches(label)


def _compare_webhooks(cmp: Comparison) -> None:
    old_hooks, new_hooks = mapping(cmp.old.root.get("webhooks")), mapping(cmp.new.root.get("webhooks"))
    for name in old_hooks:
        if name not in new_hooks:
            cmp.change("webhook-removed", f"webhook {name} removed", ptr("webhooks", name), "/webhooks")
    for name in new_hooks:
        if name not in old_hooks:
            cmp.change("webhook-added", f"webhook {name} added", "/webhooks", ptr("webhooks", name))


def _methods(item: dict) -> Iterator[str]:
    return (method for method in HTTP_METHODS if isinstance(item.get(method), dict))


def _templates(document: dict) -> dict[str, str]:
    """Normalized path template (`/customers/{}`) -> the path as the document spells it."""
    return {re.sub(r"\{[^}]*\}", "{}", path): path for path, item in mapping(document.get("paths")).items()
            if isinstance(path, str) and isinstance(item, dict)}
