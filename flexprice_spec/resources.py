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

from .document import RawOperation, Spec

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
    "subscription_schedule": "sched", "meter": "meter", "creditgrant_application": "cga",
    "addon_association": "addon_assoc",
}
# Unique keys the real server enforces that no lookup path reveals.
# invoice: a subscription invoice is keyed by its period, so billing one twice finds the first
EXTRA_UNIQUE_KEYS = {"plan": ("lookup_key",), "feature": ("lookup_key",), "invoice": ("idempotency_key",)}
# Literal path words that introduce an alternate key: `/customers/external/{external_id}`.
LOOKUP_WORDS = {"external", "lookup", "code"}
# Reference fields that name a record by its external id: `external_customer_id`.
EXTERNAL_KEY_PATTERNS = (re.compile(r"external_(\w+)_id"), re.compile(r"(\w+)_external_id"))
# Request fields of a search/list that shape the page rather than filter it.
PAGING_FIELDS = {"limit", "offset", "sort", "order", "expand", "filters", "start_time", "end_time"}

ROLES = (
    "create", "get", "update", "delete", "list", "search", "lookup", "subcollection",
    "subcreate", "action", "bulk", "singleton", "computed",
)


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _parts(path: str) -> list[str]:
    """Path segments, less a leading `v1` that repeats the server's base path
    (`/v1/subscriptions/{subscription_id}/schedules` is under `/subscriptions`)."""
    parts = path.strip("/").split("/")
    return parts[1:] if parts[0] == "v1" and len(parts) > 1 else parts


def entity_name(collection: str) -> str:
    """`/customers` -> customer, `/prices/units` -> price_unit, `/secrets/api/keys` -> secret_api_key."""
    words = _parts(collection)
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
    error_schemas: dict[int, dict] = field(default_factory=dict)  # 4xx bodies other than the envelope

    @property
    def method_path(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(slots=True)
class Model:
    """Every operation with its role, and every resource, keyed by collection path."""

    operations: list[Operation]
    resources: dict[str, Resource]
    _by_foreign_key: dict[str, Resource] | None = field(default=None, repr=False, compare=False)

    def by_operation_id(self) -> dict[str, Operation]:
        return {op.operation_id: op for op in self.operations}

    def resource_for_key(self, field_name: str) -> Resource | None:
        """The resource a reference field such as `customer_id` points at (the first whose
        foreign key it is; the index is built on first use)."""
        if self._by_foreign_key is None:
            index: dict[str, Resource] = {}
            for resource in self.resources.values():
                index.setdefault(resource.foreign_key, resource)
            self._by_foreign_key = index
        return self._by_foreign_key.get(field_name)

    def reference_target(self, fields: dict, name: str) -> tuple[Resource, str] | None:
        """What field `name` of `fields` references, as (resource, record field):
        `customer_id` and `plan_ids` -> customers' `id`; `external_customer_id` and
        `customer_external_id` -> customers' `external_id`; `entity_id` beside
        `entity_type: PLAN` -> plans' `id`."""
        for pattern in EXTERNAL_KEY_PATTERNS if "external_" in name else ():
            match = pattern.fullmatch(name)
            if match and (target := self.resource_for_key(f"{match[1]}_id")) is not None:
                return target, "external_id"
        base = name[:-1] if name.endswith("_ids") else name
        if not base.endswith("_id"):
            return None
        kind = fields.get(base[:-3] + "_type")
        if isinstance(kind, str) and kind:
            target = self.resource_for_key(f"{inflection.underscore(kind)}_id")
            if target is not None:
                return target, "id"
        # `feature_type: metered` beside `feature_id` is the feature's kind, not another entity
        target = self.resource_for_key(base)
        return (target, "id") if target is not None else None


def generated_operation_id(method: str, path: str) -> str:
    """A stable id for operations the spec leaves unnamed (`/webhook-events/*`)."""
    words = re.sub(r"[^0-9a-zA-Z]+", "_", path).strip("_")
    return f"{method}_{words}"


def infer(spec: Spec) -> Model:
    raws = list(spec.operations())
    collections = _collections(raws)
    resources = {c: _resource(spec, c, raws) for c in collections}
    for raw in raws:
        parts = _parts(raw.path)
        for i in range(1, len(parts)):
            if parts[i - 1] in LOOKUP_WORDS and _is_param(parts[i]):
                resource = resources.get("/" + "/".join(parts[: i - 1]))
                key = key_field(spec, resource, parts[i][1:-1]) if resource else ""
                if resource and key not in resource.unique_keys:
                    resource.unique_keys += (key,)
    operations = [_operation(spec, raw, resources) for raw in raws]
    return Model(operations, resources)


def _collections(raws: list[RawOperation]) -> list[str]:
    """Paths with an item path below them (`/customers` for `/customers/{id}`), paths a POST
    answers 201 Created on (`/secrets/api/keys` in a spec that has only the create), and paths
    with a search but no create (`/wallets/transactions`: records only the server writes)."""
    found: dict[str, None] = {}
    for raw in raws:
        parts = _parts(raw.path)
        if any(_is_param(p) for p in parts[:-1]):
            continue
        if len(parts) >= 2 and _is_param(parts[-1]) and parts[-2] not in LOOKUP_WORDS:
            found["/" + "/".join(parts[:-1])] = None
        elif raw.method == "post" and parts[-1] == "search" and len(parts) >= 2:
            found["/" + "/".join(parts[:-1])] = None
        elif raw.method == "post" and not _is_param(parts[-1]) and parts[-1] not in ("search", "bulk"):
            if "201" in raw.operation.get("responses", {}):
                found["/" + "/".join(parts)] = None
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
    by_key = {(raw.method, "/" + "/".join(_parts(raw.path))): raw for raw in raws}
    item = by_key.get(("get", collection + "/{id}"))
    if item is not None and spec.success_response(item)[1] is not None:
        schema = spec.success_response(item)[1]
        envelope = wrapped(spec, schema)
        return envelope[1] if envelope else schema
    for key in (("get", collection), ("post", collection + "/search")):
        if key in by_key:
            items = list_item_schema(spec, spec.success_response(by_key[key])[1])
            if items is not None:
                return items
    word = collection.rsplit("/", 1)[1]
    for (method, path), raw in by_key.items():
        if method == "post" and (path == collection or path.endswith("}/" + word)):
            return spec.success_response(raw)[1]
    return None


def list_item_schema(spec: Spec, schema: dict | None) -> dict | None:
    """The item schema of an array answer or of a `{items: [...]}` page."""
    node = spec.resolve(schema) if schema else {}
    if node.get("type") == "array":
        return node.get("items")
    items = spec.properties(node).get("items")
    return spec.resolve(items).get("items") if items else None


def key_field(spec: Spec, resource: Resource, key: str) -> str:
    """The record field an alternate key names: `code` of a coupon is its `coupon_code`."""
    props = spec.properties(resource.record_schema)
    return f"{resource.entity}_{key}" if key not in props and f"{resource.entity}_{key}" in props else key


def wrapped(spec: Spec, schema: dict | None) -> tuple[str, dict] | None:
    """(`costsheet`, its schema) for a `{costsheet: CostsheetResponse}` envelope schema."""
    props = spec.properties(schema) if schema else {}
    if len(props) == 1:
        (name, sub), = props.items()
        if spec.schema_name(sub) and spec.properties(sub):
            return name, sub
    return None


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
        error_schemas=spec.error_schemas(raw),
    )
    _assign_role(spec, op, resources)
    return op


def _assign_role(spec: Spec, op: Operation, resources: dict[str, Resource]) -> None:
    parts = _parts(op.path)
    params = [i for i, p in enumerate(parts) if _is_param(p)]
    if not params:
        _assign_flat(spec, op, parts, resources)
        return
    first = params[0]
    keyed_by_alternate = first >= 1 and parts[first - 1] in LOOKUP_WORDS
    base = "/" + "/".join(parts[: first - 1 if keyed_by_alternate else first])
    resource = resources.get(base) or _alias(base, parts[first][1:-1], resources)
    op.key_param = parts[first][1:-1]
    if resource is None:
        return
    if keyed_by_alternate:
        op.key_field = key_field(spec, resource, op.key_param)
    if first == len(parts) - 1:
        op.resource = resource
        if keyed_by_alternate:
            op.role = "lookup" if op.method == "get" else "computed"
        else:
            op.role = {"get": "get", "put": "update", "patch": "update", "delete": "delete"}.get(op.method, "computed")
        return
    op.parent = resource
    _assign_nested(spec, op, resource, parts[first + 1:], resources)


def _alias(base: str, param: str, resources: dict[str, Resource]) -> Resource | None:
    """`/subscriptions/schedules/{schedule_id}` names the `/subscription-schedules` resource."""
    words = base.strip("/").split("/")
    if len(words) == 2 and param == f"{inflection.singularize(words[1])}_id":
        return resources.get(f"/{inflection.singularize(words[0])}-{words[1]}")
    return None


def _assign_nested(spec: Spec, op: Operation, parent: Resource, tail: list[str],
                   resources: dict[str, Resource]) -> None:
    """Below an item: a sub-collection (`/customers/{id}/wallets`), a create into one
    (`POST /subscriptions/{id}/lineitems`), or an action (`POST /subscriptions/{id}/cancel`)."""
    if len(tail) == 1 and not _is_param(tail[0]):
        child = _child_resource(parent, tail[0], resources)
        if child is not None and op.method == "get" and _lists(spec, op, child):
            op.role, op.resource = "subcollection", child
            return
        if child is not None and op.method == "post":
            op.role, op.resource = "subcreate", child
            return
    if op.method in ("post", "put") and op.key_field == "id":
        op.role, op.resource, op.action = "action", parent, "/".join(tail)


def _lists(spec: Spec, op: Operation, resource: Resource) -> bool:
    """Whether `op` answers with records of `resource` (an array or a page of them)."""
    items = list_item_schema(spec, op.response_schema)
    return items is not None and resource.record_schema is not None and (
        spec.resolve(items) is spec.resolve(resource.record_schema)
    )


def _child_resource(parent: Resource, word: str, resources: dict[str, Resource]) -> Resource | None:
    """`/customers/{id}/wallets` -> `/wallets`; `/subscriptions/{id}/lineitems` ->
    `/subscriptions/lineitems`; `/subscriptions/{id}/schedules` -> `/subscription-schedules`."""
    for candidate in (f"{parent.collection}/{word}", f"/{word}", f"/{parent.entity}-{word}"):
        if candidate in resources:
            return resources[candidate]
    return None


def _assign_flat(spec: Spec, op: Operation, parts: list[str], resources: dict[str, Resource]) -> None:
    path = "/" + "/".join(parts)
    parent_path = "/" + "/".join(parts[:-1])
    method, last = op.method, parts[-1]
    parent = resources.get(parent_path)
    child = _child_resource(parent, last, resources) if parent else None
    if method == "post" and last in ("search", "bulk") and parent is not None:
        op.role, op.resource = last, parent
    elif method == "post" and last == "search":
        op.role = "search"  # a searchable collection nobody can create into: always empty
    elif path in resources and method == "post":
        op.role, op.resource = "create", resources[path]
    elif path in resources and method in ("put", "patch") and _has_query(op, "id"):
        op.role, op.resource = "update", resources[path]
    elif method == "get" and path in resources and _lists(spec, op, resources[path]):
        op.role, op.resource = "list", resources[path]
    elif method == "get" and child is not None and _has_query(op, "id") and _lists(spec, op, child):
        op.role, op.resource, op.parent = "subcollection", child, parent  # `/customers/wallets?id=`
    elif parts[-1] == "me" and method in ("get", "put"):
        op.role = "singleton"


def _has_query(op: Operation, name: str) -> bool:
    return any(p.get("in") == "query" and p.get("name") == name for p in op.parameters)
