"""RESTler's checkers the gate lacked, on the resources the spec infers.

* `leakage`: a create the server refuses (a required field left out, a value outside its enum,
  an unknown reference) leaves nothing behind: no record with the refused body's unique values
  in the list (or search), and no id in the refusal that reads back.
* `resource_hierarchy`: a child listed under its parent (`/customers/{id}/wallets`,
  `/plans/{id}/entitlements`) is not listed under another parent of the same kind.
* `unknown_fields`: no answer the gate got carries a property its schema closes out
  (`additionalProperties: false`); the full Flexprice spec closes none, an overlay may.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from flexprice_spec.resources import Operation, Resource

from . import samples
from .chain import chain, tag
from .client import Exchange
from .lifecycle import broken_bodies, fresh_keys
from .records import (
    Record,
    create_record,
    creatable,
    items_of,
    joined,
    listing,
    op_for,
    record_of,
    remember,
    sample_body,
    shared_record,
)
from .semantic import Context, call_item, semantic

PER_OPERATION = 20  # answers of one operation looked at by unknown_fields
PER_RESOURCE = 2  # refused creates tried per resource by leakage


@semantic("leakage", writes=True)
def leakage(ctx: Context) -> None:
    """A refused create leaves no record behind."""
    for resource in creatable(ctx):
        if not (op_for(ctx, resource, "list") or op_for(ctx, resource, "search")):
            continue
        record = shared_record(ctx, resource)
        if record is None:
            continue
        create = op_for(ctx, resource, "create")
        schema = samples.schema_of(ctx.spec, create.request_schema)
        tried = 0
        for body, why in broken_bodies(ctx, schema, fresh_keys(ctx, resource, _marked(ctx, record.sent))):
            marks = {k: v for k, v in body.items() if isinstance(v, str) and v.startswith("gate-") and k in _keys(resource)}
            if not marks or tried >= PER_RESOURCE:
                continue
            tried += 1
            with ctx.contained(create.operation_id):
                refused = ctx.call(create, body=body)
                if 200 <= refused.status < 300:  # accepted: invalid_create_is_400's to report; cleaned up
                    remember(ctx, resource, str(record_of(refused.json()).get("id")))
                if not 400 <= refused.status < 500:
                    continue
                _expect_nothing_left(ctx, resource, refused, marks, why)


def _keys(resource: Resource) -> tuple[str, ...]:
    return (*resource.unique_keys, "name")


def _marked(ctx: Context, sent: dict) -> dict:
    """The body with a new gate value in its name (when it has one), to find it by."""
    return {**sent, "name": tag(ctx, "leak")} if "name" in sent else sent


def _expect_nothing_left(ctx: Context, resource: Resource, refused: Exchange, marks: dict, why: str) -> None:
    op, page = listing(ctx, resource)
    left = [item.get("id") for item in items_of(page) or [] if any(item.get(k) == v for k, v in marks.items())]
    conditions = " or ".join(f"item.get({k!r}) == T({v!r})" for k, v in marks.items())
    ctx.expect(not left, f"a create {why} was refused ({refused.status}), yet {left} with its {marks} is listed",
               page, op.operation_id, f"not [item for item in items(body) if {conditions}]")
    leaked = refused.json()
    get = op_for(ctx, resource, "get")
    if isinstance(leaked, dict) and isinstance(leaked.get("id"), str) and get is not None:
        exchange = call_item(ctx, get, leaked["id"])
        ctx.expect(exchange.status == 404, f"the refused create's id {leaked['id']} must not read back", exchange,
                   get.operation_id, "status == 404")


@semantic("resource_hierarchy", writes=True)
def resource_hierarchy(ctx: Context) -> None:
    """A child is listed under its own parent and under no other."""
    for op in ctx.operations.values():
        if op.role != "subcollection" or op.parent is None or op.resource is None:
            continue
        child = _child_with_parent(ctx, op.resource, op.parent)
        if child is None:
            ctx.report.not_covered.setdefault((ctx.check, op.resource.collection),
                                              f"no {op.resource.entity} made under a {op.parent.entity} to list by {op.operation_id}")
            continue
        own, record = child
        other = create_record(ctx, op.parent)
        if other is None:
            ctx.not_covered(op.parent.collection, f"no second {op.parent.entity}: {ctx.refusals.get(op.parent.collection)}")
            continue
        ctx.use(record.trace)
        with ctx.contained(op.operation_id):
            mine = call_item(ctx, op, _key(op, own))
            ctx.expect(record.id in _ids(mine), f"{record.id} must be listed under its {op.parent.entity} {own.id}", mine,
                       op.operation_id, f"T({record.id!r}) in ids(body)")
            theirs = call_item(ctx, op, _key(op, other))
            ctx.expect(record.id not in _ids(theirs), f"{record.id} of {op.parent.entity} {own.id} must not be listed "
                       f"under another {op.parent.entity} {other.id}", theirs, op.operation_id, f"T({record.id!r}) not in ids(body)")


def _child_with_parent(ctx: Context, resource: Resource, parent: Resource) -> tuple[Record, Record] | None:
    """A record of `resource` the gate made under a record of `parent`: a shared one, a part of
    the chain, else a fresh one."""
    built = chain(ctx)
    candidates = [ctx.samples.get(resource.collection), built.entitlement, built.subscription, *built.prices.values()]
    for record in (r for r in candidates if r is not None and r.resource is resource):
        if (owner := _owner(record, parent)) is not None:
            return owner, record
    return _made_under(ctx, resource, parent)


def _made_under(ctx: Context, resource: Resource, parent: Resource) -> tuple[Record, Record] | None:
    """A new record of `resource` whose body names a record of `parent` the way the create's
    schema offers: `<parent>_id`, or `entity_type`/`entity_id` (and `scope`) where the enum has it;
    the rest of the body is the one the shared record was made with (its optional references
    left out). A server may refuse such a body for reasons of its own: that is noted, not failed."""
    create = op_for(ctx, resource, "create")
    owner = shared_record(ctx, parent) if create is not None else None
    if owner is None:
        return None
    props = samples.schema_of(ctx.spec, create.request_schema).get("properties", {})
    kind = parent.entity.upper()
    if parent.foreign_key in props:
        naming = {parent.foreign_key: owner.id}
    elif {"entity_type", "entity_id"} <= props.keys() and kind in samples.schema_of(ctx.spec, props["entity_type"]).get("enum", []):
        naming = {"entity_type": kind, "entity_id": owner.id}
    else:
        return None
    if kind in samples.schema_of(ctx.spec, props.get("scope")).get("enum", []):
        naming["scope"] = kind
    shared = ctx.samples.get(resource.collection)
    try:
        body, parents = (dict(shared.sent), {}) if shared is not None else sample_body(ctx, resource)
    except samples.Unbuildable:
        return None
    required = samples.schema_of(ctx.spec, create.request_schema).get("required", [])
    body = {k: v for k, v in fresh_keys(ctx, resource, body).items() if k in required or not ctx.model.reference_target(body, k)}
    exchange = ctx.call(create, body={**body, **naming})
    if not 200 <= exchange.status < 300:
        ctx.not_covered(resource.collection, f"a {resource.entity} under a {parent.entity} was refused: {exchange.text[:200]}")
        return None
    made = record_of(exchange.json())
    remember(ctx, resource, str(made["id"]))
    return owner, Record(resource, str(made["id"]), {**body, **naming}, made, {**parents, "owner": owner}, joined(owner.trace, [exchange]))


def _owner(record: Record, parent: Resource) -> Record | None:
    return next((owner for owner in record.parents.values() if owner.resource is parent), None)


def _key(op: Operation, owner: Record) -> str:
    return str(owner.answer.get(op.key_field, owner.sent.get(op.key_field, owner.id)))


def _ids(exchange: Exchange) -> list[Any]:
    return [item.get("id") for item in items_of(exchange) or [] if isinstance(item, dict)]


@semantic("unknown_fields")
def unknown_fields(ctx: Context) -> None:
    """Every answer the gate got so far (up to `PER_OPERATION` per operation) against the closed
    parts of its schema."""
    if not _closes_any(ctx.spec.document):
        ctx.report.skipped["unknown_fields"] = "the spec closes no schema (additionalProperties: false); an overlay can"
        return
    looked: Counter = Counter()
    for exchange in list(ctx.exchanges):
        op = ctx.operations.get(exchange.operation)
        if op is None or exchange.status != op.status or looked[op.operation_id] >= PER_OPERATION:
            continue
        looked[op.operation_id] += 1
        ctx.report.ran[ctx.check].add(op.operation_id)
        for pointer, name in extra_properties(ctx, op.response_schema, exchange.json(), ""):
            ctx.expect(False, f"`{name}` at {pointer or '/'} is not a property of its schema, which allows no others",
                       exchange, op.operation_id, f"{name!r} not in at(body, {pointer!r})", [exchange])


def _closes_any(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("additionalProperties") is False or any(_closes_any(v) for v in node.values())
    return isinstance(node, list) and any(_closes_any(v) for v in node)


def extra_properties(ctx: Context, schema: Any, value: Any, pointer: str) -> list[tuple[str, str]]:
    """(where, name) of each property of `value` that a closed object schema does not list."""
    if not isinstance(schema, dict):
        return []
    node = samples.schema_of(ctx.spec, schema)
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        props = node.get("properties", {})
        if node.get("additionalProperties") is False:
            found += [(pointer, name) for name in value if name not in props]
        for name, sub in props.items():
            if name in value:
                found += extra_properties(ctx, sub, value[name], f"{pointer}/{name}")
        if isinstance(node.get("additionalProperties"), dict):
            for name in (n for n in value if n not in props):
                found += extra_properties(ctx, node["additionalProperties"], value[name], f"{pointer}/{name}")
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value[:50]):
            found += extra_properties(ctx, node["items"], item, f"{pointer}/{index}")
    return found
