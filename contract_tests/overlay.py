"""The in-memory view of the spec the gate tests against; the spec file itself is never changed.

Four things are laid over a copy of the document:

* operations outside `--include-operation`/`--exclude-operation`/`--read-only` are dropped;
* error answers the real server gives everywhere but the spec does not document (401 on secured
  operations, 404 for an unknown id in the path or the body, 400 where input can be invalid,
  409 on creates and updates of resources with unique keys) are added with the spec's own
  `errors.ErrorResponse` schema, so a correct server raises no status-code false alarm while the
  body is still validated;
* OpenAPI links, derived from the same resource inference the mock uses, so Schemathesis's
  stateful phase chains create -> get -> update -> delete;
* values the real server rejects although the schema allows them (`type: integration` on API
  keys) are removed from what may be sent, so Schemathesis only sends them as negative data and
  `negative_data_rejection` requires the 400. They are an Overlay 1.0 file shipped with the gate
  (`overlays/real-server.yaml`, `flexprice-contract overlay --show`).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

from flexprice_spec.document import HTTP_METHODS, Spec
from flexprice_spec.overlays import Overlay
from flexprice_spec.resources import Operation, infer

ERROR_REF = {"$ref": "#/components/schemas/errors.ErrorResponse"}
SAFE_METHODS = frozenset({"get", "head", "options"})
# The real server's input rules beyond the spec, applied to what Schemathesis may send.
REAL_SERVER_OVERLAY = Path(__file__).resolve().parent / "overlays" / "real-server.yaml"
ITEM_ROLES = frozenset({"get", "update", "delete"})


def selected(op_id: str, method: str, include: Iterable[str], exclude: Iterable[str], read_only: bool) -> bool:
    """Whether the gate tests an operation under the filters given on the command line."""
    include, exclude = set(include), set(exclude)
    if include and op_id not in include:
        return False
    if op_id in exclude:
        return False
    return not read_only or method in SAFE_METHODS


def build(spec: Spec, include: Iterable[str] = (), exclude: Iterable[str] = (), read_only: bool = False) -> dict:
    """The document Schemathesis loads: filtered, with undocumented errors, links and input rules."""
    model = infer(spec)
    document = copy.deepcopy(spec.document)
    by_key = {(op.method, op.path): op for op in model.operations}
    for path, item in list(document["paths"].items()):
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            op = by_key[(method, path)]
            if not selected(op.operation_id, method, include, exclude, read_only):
                del item[method]
                continue
            operation.setdefault("operationId", op.operation_id)
            if spec.has_error_schema:
                _add_real_errors(operation, op)
        if not any(method in item for method in HTTP_METHODS):
            del document["paths"][path]
    _add_links(spec, document, model.operations)
    Overlay.load(REAL_SERVER_OVERLAY).apply(document)
    return document


def _add_real_errors(operation: dict, op: Operation) -> None:
    """Document the errors the real server answers with on every operation of this kind."""
    responses = operation.setdefault("responses", {})
    statuses = []
    if op.secured:
        statuses.append("401")
    statuses.append("404")  # an unknown id in the path, the body or the query
    if op.parameters or op.request_schema is not None:
        statuses.append("400")
    if op.role in ("create", "update") and op.resource is not None and op.resource.unique_keys:
        statuses.append("409")  # a taken `lookup_key`, `external_id`, ...
    for status in statuses:
        responses.setdefault(status, {
            "description": "Added by the contract gate: the real server answers this on any such operation",
            "content": {"application/json": {"schema": ERROR_REF}},
        })


def id_pointer(spec: Spec, schema: dict | None) -> str | None:
    """Where a create answer carries the new record's id: `/id`, or `/secret/id` one level down."""
    props = spec.properties(schema)
    if "id" in props:
        return "/id"
    for name, sub in props.items():
        if "id" in spec.properties(sub):
            return f"/{name}/id"
    return None


def _add_links(spec: Spec, document: dict, operations: list[Operation]) -> None:
    """create -> get/update/delete on the new id, and update -> get, delete -> get on the same id."""
    present = [op for op in operations if op.method in document["paths"].get(op.path, {})]
    for create in (op for op in present if op.role == "create"):
        pointer = id_pointer(spec, create.response_schema)
        if pointer is None:
            continue
        items = [op for op in present if op.role in ITEM_ROLES and op.resource is create.resource]
        for target in items:
            _link(document, create, target, f"$response.body#{pointer}")
        for source in (op for op in items if op.role != "get"):
            for target in (op for op in items if op.role == "get"):
                _link(document, source, target, f"$request.{location(source)}.{source.key_param}")


def location(op: Operation) -> str:
    """Where an operation takes its key: `path` (`/customers/{id}`) or `query` (`PUT /customers?id=`)."""
    return "path" if "{" + op.key_param + "}" in op.path else "query"


def _link(document: dict, source: Operation, target: Operation, expression: str) -> None:
    operation = document["paths"][source.path][source.method]
    response = operation["responses"].get(str(source.status))
    if response is None or "$ref" in response:
        return
    response.setdefault("links", {})[f"{target.role}_{target.operation_id}"] = {
        "operationId": target.operation_id,
        "parameters": {f"{location(target)}.{target.key_param}": expression},
    }
