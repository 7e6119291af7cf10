"""The resource model, inferred once from the spec's paths.

Every operation gets a role (create, get, list, search, lookup, action, ...) and, where it has one,
the resource it acts on. Handlers are chosen from the role; nothing here knows a path by name
except the few facts no spec can state (the real server's id prefixes and extra unique keys),
which live in the tables at the top.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import inflection

from .spec import RawOperation, Spec

# Id prefixes of the real server (`<prefix>_<ULID>`), by entity name.
ID_PREFIXES = {
    "customer": "cust", "plan": "plan", "price": "price", "feature": "feat",
    "subscription": "subs", "subscription_lineitem": "subs_line", "invoice": "inv",
    "wallet": "wallet", "wallet_transaction": "wtxn", "entitlement": "ent", "creditgrant": "cg",
    "creditnote": "cn", "payment": "pay", "addon": "addon", "coupon": "coupon",
    "price_unit": "price_unit", "tax_rate": "taxrate", "tax_association": "ta", "task": "task",
    "task_scheduled": "task", "group": "group", "cost": "cost", "checkout_session": "cs",
    "alert_setting": "alert_set", "user": "user", "tenant": "tenant", "environment": "env",
    "event": "event", "secret_api_key": "secret", "coupon_association": "coupon_assoc",
    "subscription_schedule": "sched", "meter": "meter",
}
# Unique keys the real server enforces that no lookup path reveals.
EXTRA_UNIQUE_KEYS = {"plan": ("lookup_key",), "feature": ("lookup_key",)}
# Literal path words that introduce an alternate key: `/customers/external/{external_id}`.
LOOKUP_WORDS = {"external", "lookup", "code"}
# Request fields of a search/list that shape the page rather than filter it.
PAGING_FIELDS = {"limit", "offset", "sort", "order", "expand", "filters", "start_time", "end_time"}

ROLES = (
    "create", "get", "update", "delete", "list", "search", "lookup", "subcollection",
    "subcreate", "action", "bulk", "singleton", "computed",
)


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def entity_name(collection: str) -> str:
    """`/customers` -> customer, `/prices/units` -> price_unit, `/secrets/api/keys` -> secret_api_key."""
    words = [w for w in collection.strip("/").split("/") if w != "v1"]
    return "_".join(inflection.singularize(w.replace("-", "_")) for w in words)


@dataclass(slots=True)
class Resource:
    """A stored collection: `/customers`, with the schema its records follow."""

    collection: str
    entity: str
    prefix: str
    record_schema: dict | None = None
    unique_keys: tuple[str, ...] = ()

    @property
    def foreign_key(self) -> str:
        """The field other records use to point at this one: `customer_id`."""
        return f"{self.entity}_id"


@dataclass(slots=True)
class Operation:
    """One operation of the spec with its inferred role."""

    method: str
    path: str
    operation_id: str
    role: str
    resource: Resource | None
    secured: bool
    status: int
    response_schema: dict | None
    request_schema: dict | None
    parameters: list[dict] = field(default_factory=list)
    key_field: str = "id"  # lookups: the record field the path parameter matches
    key_param: str = "id"  # the path or query parameter carrying the key
    parent: Resource | None = None  # sub-collections and actions: the resource in the path
    action: str = ""  # actions: the verb (`cancel`, `top-up`, ...)

    @property
    def method_path(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(slots=True)
class Model:
    """Every operation with its role, and every resource, keyed by collection path."""

    operations: list[Operation]
    resources: dict[str, Resource]

    def by_operation_id(self) -> dict[str, Operation]:
        return {op.operation_id: op for op in self.operations}

    def resource_for_key(self, field_name: str) -> Resource | None:
        """The resource a reference field such as `customer_id` points at."""
        for resource in self.resources.values():
            if resource.foreign_key == field_name:
                return resource
        return None


def generated_operation_id(method: str, path: str) -> str:
    """A stable id for operations the spec leaves unnamed (`/webhook-events/*`)."""
    words = re.sub(r"[^0-9a-zA-Z]+", "_", path).strip("_")
    return f"{method}_{words}"


def infer(spec: Spec) -> Model:
    raws = list(spec.operations())
    collections = _collections(raws)
    resources = {c: _resource(spec, c, raws) for c in collections}
    for raw in raws:
        parts = raw.path.strip("/").split("/")
        if len(parts) >= 2 and parts[-2] in LOOKUP_WORDS and _is_param(parts[-1]):
            base = "/" + "/".join(parts[:-2])
            if base in resources:
                key = parts[-1][1:-1]
                if key not in resources[base].unique_keys:
                    resources[base].unique_keys += (key,)
    operations = [_operation(spec, raw, resources) for raw in raws]
    return Model(operations, resources)


def _collections(raws: list[RawOperation]) -> list[str]:
    """Paths with an item path below them (`/customers` for `/customers/{id}`), and paths a POST
    answers 201 Created on (`/secrets/api/keys` in a spec that has only the create)."""
    found: dict[str, None] = {}
    for raw in raws:
        parts = raw.path.strip("/").split("/")
        if any(_is_param(p) for p in parts[:-1]):
            continue
        if len(parts) >= 2 and _is_param(parts[-1]) and parts[-2] not in LOOKUP_WORDS:
            found["/" + "/".join(parts[:-1])] = None
        elif raw.method == "post" and not _is_param(parts[-1]) and parts[-1] not in ("search", "bulk"):
            if "201" in raw.operation.get("responses", {}):
                found[raw.path] = None
    return list(found)


def _resource(spec: Spec, collection: str, raws: list[RawOperation]) -> Resource:
    entity = entity_name(collection)
    return Resource(
        collection=collection,
        entity=entity,
        prefix=ID_PREFIXES.get(entity, entity),
        record_schema=_record_schema(spec, collection, raws),
        unique_keys=EXTRA_UNIQUE_KEYS.get(entity, ()),
    )


def _record_schema(spec: Spec, collection: str, raws: list[RawOperation]) -> dict | None:
    """What a stored record looks like: the item GET's answer, else a list's or search's items,
    else what a create (also one under a parent, `POST /subscriptions/{id}/lineitems`) answers."""
    by_key = {(raw.method, raw.path): raw for raw in raws}
    item = by_key.get(("get", collection + "/{id}"))
    if item is not None:
        return spec.success_response(item)[1]
    for key in (("get", collection), ("post", collection + "/search")):
        if key in by_key:
            items = list_item_schema(spec, spec.success_response(by_key[key])[1])
            if items is not None:
                return items
    word = collection.rsplit("/", 1)[1]
    for raw in raws:
        if raw.method == "post" and (raw.path == collection or raw.path.endswith("}/" + word)):
            return spec.success_response(raw)[1]
    return None


def list_item_schema(spec: Spec, schema: dict | None) -> dict | None:
    """The item schema of an array answer or of a `{items: [...]}` page."""
    node = spec.resolve(schema) if schema else {}
    if node.get("type") == "array":
        return node.get("items")
    items = spec.properties(node).get("items")
    return spec.resolve(items).get("items") if items else None


def _operation(spec: Spec, raw: RawOperation, resources: dict[str, Resource]) -> Operation:
    status, response_schema = spec.success_response(raw)
    security = raw.operation.get("security", spec.document.get("security", []))
    op = Operation(
        method=raw.method,
        path=raw.path,
        operation_id=raw.operation.get("operationId") or generated_operation_id(raw.method, raw.path),
        role="computed",
        resource=None,
        secured=bool(security),
        status=status,
        response_schema=response_schema,
        request_schema=spec.request_schema(raw),
        parameters=spec.parameters(raw),
    )
    _assign_role(spec, op, resources)
    return op


def _assign_role(spec: Spec, op: Operation, resources: dict[str, Resource]) -> None:
    parts = op.path.strip("/").split("/")
    params = [i for i, p in enumerate(parts) if _is_param(p)]
    method = op.method
    if not params:
        _assign_flat(spec, op, parts, resources)
        return
    first = params[0]
    base = "/" + "/".join(parts[:first])
    if first >= 1 and parts[first - 1] in LOOKUP_WORDS and first == len(parts) - 1:
        owner = resources.get("/" + "/".join(parts[: first - 1]))
        if owner and method == "get":
            op.role, op.resource = "lookup", owner
            op.key_field = op.key_param = parts[first][1:-1]
            return
    resource = resources.get(base)
    op.key_param = parts[first][1:-1]
    if resource is None:
        return
    if first == len(parts) - 1:
        op.resource = resource
        op.role = {"get": "get", "put": "update", "patch": "update", "delete": "delete"}.get(method, "computed")
        return
    tail = parts[first + 1 :]
    op.parent = resource
    if len(tail) == 1 and not _is_param(tail[0]):
        child = _child_resource(resource, tail[0], resources)
        if child is not None and method == "get" and _lists(spec, op, child):
            op.role, op.resource = "subcollection", child
            return
        if child is not None and method == "post":
            op.role, op.resource = "subcreate", child
            return
    if method in ("post", "put"):
        op.role, op.resource, op.action = "action", resource, "/".join(tail)


def _lists(spec: Spec, op: Operation, resource: Resource) -> bool:
    """Whether `op` answers with records of `resource` (an array or a page of them)."""
    items = list_item_schema(spec, op.response_schema)
    return items is not None and resource.record_schema is not None and (
        spec.resolve(items) is spec.resolve(resource.record_schema)
    )


def _child_resource(parent: Resource, word: str, resources: dict[str, Resource]) -> Resource | None:
    """`/customers/{id}/wallets` -> `/wallets`; `/subscriptions/{id}/lineitems` -> `/subscriptions/lineitems`."""
    for candidate in (f"{parent.collection}/{word}", f"/{word}"):
        if candidate in resources:
            return resources[candidate]
    return None


def _assign_flat(spec: Spec, op: Operation, parts: list[str], resources: dict[str, Resource]) -> None:
    path = "/" + "/".join(parts)
    parent_path = "/" + "/".join(parts[:-1])
    method, last = op.method, parts[-1]
    if method == "post" and last in ("search", "bulk") and parent_path in resources:
        op.role, op.resource = last, resources[parent_path]
    elif method == "post" and last == "search":
        op.role = "search"  # a searchable collection nobody can create into: always empty
    elif path in resources and method == "post":
        op.role, op.resource = "create", resources[path]
    elif path in resources and method in ("put", "patch") and _has_query(op, "id"):
        op.role, op.resource = "update", resources[path]
    elif method == "get" and path in resources and _lists(spec, op, resources[path]):
        op.role, op.resource = "list", resources[path]
    elif parts[-1] == "me" and method in ("get", "put"):
        op.role = "singleton"


def _has_query(op: Operation, name: str) -> bool:
    return any(p.get("in") == "query" and p.get("name") == name for p in op.parameters)
