"""Rules checked on every resource the spec lets the gate create, inferred from its paths.

For each resource with a create (`POST /customers`): what the create answered is what get, list
and search return; an update persists; a delete makes get 404 and removes the record from list
and search; a lookup by alternate key finds it; a taken unique key is 409; an unknown reference
is 404; a body missing a required field, or with a value outside an enum, is 400; a search filter
returns only matching records. Every list and search pages with `limit`/`offset`/`total`.

Records come from `records.py`. A resource for which no record could be created is listed as
not covered, not failed: the gate cannot tell a strict server from a broken one there.
"""
from __future__ import annotations

import copy

from flexprice_spec.resources import PAGING_FIELDS, Operation, Resource

from . import samples
from .client import Exchange
from .records import (
    LIST_LIMIT,
    Record,
    create_record,
    each_record,
    items_of,
    listing,
    op_for,
    record_of,
    remember,
)
from .semantic import (
    UNKNOWN_ID,
    CheckFailed,
    Context,
    call_item,
    delete_body,
    error_envelope,
    semantic,
)

NOT_AN_ENUM_VALUE = "gate_not_an_enum_value"


def echoed(sent: dict, answer: dict) -> dict:
    """The scalar fields the create answered exactly as they were sent: these must persist."""
    return {k: v for k, v in sent.items() if not isinstance(v, (dict, list)) and answer.get(k) == v}


@semantic("create_read_back", writes=True)
def create_read_back(ctx: Context) -> None:
    """What a create answered is what get, list and search return."""
    for resource, record in each_record(ctx):
        fields = {"id": record.id, **echoed(record.sent, record.answer)}
        get = op_for(ctx, resource, "get")
        if get is not None:
            with ctx.contained(get.operation_id):
                exchange = call_item(ctx, get, record.id)
                ctx.require(exchange.status == 200, f"the record {record.id} just created must be found", exchange, get.operation_id,
                            "status == 200")
                got = record_of(exchange.json())
                for name, value in fields.items():
                    ctx.expect(got.get(name) == value, f"get must return {name}={value!r} as created", exchange, get.operation_id,
                               f"record(body).get({name!r}) == T({value!r})")
        with ctx.contained(resource.collection):
            found = listing(ctx, resource)
            if found is not None:
                op, exchange = found
                shown = [item for item in items_of(exchange) or [] if item.get("id") == record.id]
                if ctx.expect(len(shown) == 1, f"the record {record.id} just created must be listed once", exchange, op.operation_id,
                              f"ids(body).count(T({record.id!r})) == 1"):
                    for name, value in fields.items():
                        ctx.expect(shown[0].get(name) == value, f"the list must show {name}={value!r}", exchange, op.operation_id,
                                   f"[i.get({name!r}) for i in items(body) if i.get('id') == T({record.id!r})] == [T({value!r})]")


@semantic("update_persists", writes=True)
def update_persists(ctx: Context) -> None:
    """An update of a plain text field answers the new value and get returns it after."""
    for resource, record in each_record(ctx, "update", "get", fresh=True):
        update, get = op_for(ctx, resource, "update"), op_for(ctx, resource, "get")
        name = _updatable_field(ctx, update, record.answer)
        if name is None:
            continue
        value = f"gate-updated-{ctx.seed}-{record.id[-6:]}"
        with ctx.contained(update.operation_id):
            exchange = call_item(ctx, update, record.id, body={name: value})
            ctx.require(200 <= exchange.status < 300, f"updating {name} must succeed", exchange, update.operation_id, "200 <= status < 300")
            after = call_item(ctx, get, record.id)
            ctx.expect(record_of(after.json()).get(name) == value, f"{name} must be {value!r} after the update", after, get.operation_id,
                       f"record(body).get({name!r}) == T({value!r})")


def _updatable_field(ctx: Context, update: Operation, record: dict) -> str | None:
    """`name` or `description` when the update takes it as plain text and the record shows it."""
    props = samples.schema_of(ctx.spec, update.request_schema).get("properties", {})
    for name in ("name", "description"):
        node = samples.schema_of(ctx.spec, props.get(name)) if name in props else None
        if node is not None and node.get("type", "string") == "string" and "enum" not in node and name in record:
            return name
    return None


@semantic("delete_removes", writes=True)
def delete_removes(ctx: Context) -> None:
    """A delete makes get 404 (or, for a record the server archives or ends, such as a plan's
    credit grant or a price, whose delete takes an `end_date`, answer it `archived` or ended) and
    takes the record out of list and search."""
    for resource, record in each_record(ctx, "delete", fresh=True):
        delete = op_for(ctx, resource, "delete")
        with ctx.contained(delete.operation_id):
            exchange = call_item(ctx, delete, record.id, body=delete_body(ctx, delete))
            ctx.require(200 <= exchange.status < 300, "deleting a record just created must succeed", exchange,
                        delete.operation_id, "200 <= status < 300")
            ctx.records.remove((delete, record.id))
            get = op_for(ctx, resource, "get")
            if get is not None:
                read = call_item(ctx, get, record.id)
                if not (read.status == 200 and not _is_active(record_of(read.json()))):
                    error_envelope(ctx, read, 404, get.operation_id)
            found = listing(ctx, resource)
            if found is not None:
                op, page = found
                gone = all(item.get("id") != record.id for item in items_of(page) or [] if _is_active(item))
                ctx.expect(gone, f"the deleted record {record.id} must leave the list", page, op.operation_id,
                           f"T({record.id!r}) not in [i.get('id') for i in items(body) if is_active(i)]")


def _is_active(item: dict) -> bool:
    """A soft-deleted record may stay visible with `status: deleted`/`archived`, a terminated one
    with its `end_date`."""
    return str(item.get("status", "published")).lower() not in ("deleted", "archived") and not item.get("end_date")


@semantic("lookup_finds", writes=True)
def lookup_finds(ctx: Context) -> None:
    """A lookup by alternate key (`/customers/external/{external_id}`) finds the record."""
    for resource, record in each_record(ctx, "lookup"):
        lookup = op_for(ctx, resource, "lookup")
        key = record.answer.get(lookup.key_field, record.sent.get(lookup.key_field))
        if not isinstance(key, str) or not key:
            continue
        with ctx.contained(lookup.operation_id):
            exchange = ctx.call(lookup, key)
            ctx.require(exchange.status == 200, f"looking up {lookup.key_field}={key!r} must find the record", exchange,
                        lookup.operation_id, "status == 200")
            ctx.expect(record_of(exchange.json()).get("id") == record.id, f"the lookup must return {record.id}", exchange,
                       lookup.operation_id, f"record(body).get('id') == T({record.id!r})")


@semantic("duplicate_key_is_409", writes=True)
def duplicate_key_is_409(ctx: Context) -> None:
    """A second create with a taken unique key (`external_id`, `lookup_key`, `code`) is 409."""
    for resource, record in each_record(ctx):
        taken = [key for key in resource.unique_keys if isinstance(record.sent.get(key), str)]
        if not taken:
            continue
        create = op_for(ctx, resource, "create")
        with ctx.contained(create.operation_id):
            again = ctx.call(create, body=record.sent)
            if 200 <= again.status < 300:
                remember(ctx, resource, str(record_of(again.json()).get("id")))
            error_envelope(ctx, again, 409, create.operation_id)


@semantic("invalid_create_is_400", writes=True)
def invalid_create_is_400(ctx: Context) -> None:
    """A create body missing any required field, or with a value outside an enum, is 400."""
    for resource, record in each_record(ctx):
        create = op_for(ctx, resource, "create")
        schema = samples.schema_of(ctx.spec, create.request_schema)
        for body, why in broken_bodies(ctx, schema, fresh_keys(ctx, resource, record.sent)):
            with ctx.contained(create.operation_id):
                exchange = ctx.call(create, body=body)
                if 200 <= exchange.status < 300:
                    remember(ctx, resource, str(record_of(exchange.json()).get("id")))
                if exchange.status != 404:
                    ctx.expect(exchange.status == 400, f"a create {why} must be refused with 400", exchange, create.operation_id, "status == 400")


def broken_bodies(ctx: Context, schema: dict, valid: dict) -> list[tuple[dict, str]]:
    broken = []
    for name in schema.get("required", []):
        if name in valid:
            broken.append(({k: v for k, v in valid.items() if k != name}, f"missing the required {name}"))
    for name, sub in schema.get("properties", {}).items():
        if name in valid and samples.schema_of(ctx.spec, sub).get("enum"):
            body = copy.deepcopy(valid)
            body[name] = NOT_AN_ENUM_VALUE
            broken.append((body, f"with {name}={NOT_AN_ENUM_VALUE!r}, outside its enum"))
    return broken


@semantic("unknown_reference_is_404", writes=True)
def unknown_reference_is_404(ctx: Context) -> None:
    """A create that would succeed but names a record that does not exist (`customer_id`) is 404."""
    for resource, record in each_record(ctx):
        create = op_for(ctx, resource, "create")
        for name, parent in record.parents.items():
            if name.endswith("_ids") or parent.answer.get("id") != record.sent.get(name):
                continue
            unknown = f"{parent.resource.prefix}_{UNKNOWN_ID.split('_')[-1]}"
            with ctx.contained(create.operation_id):
                exchange = ctx.call(create, body={**fresh_keys(ctx, resource, record.sent), name: unknown})
                if 200 <= exchange.status < 300:
                    remember(ctx, resource, str(record_of(exchange.json()).get("id")))
                error_envelope(ctx, exchange, 404, create.operation_id)


def fresh_keys(ctx: Context, resource: Resource, sent: dict) -> dict:
    """A copy of a body that created a record, with new values for its unique keys, so a second
    create is refused (or not) for another reason than a taken key."""
    ctx.counter += 1
    return {k: f"{v}-{ctx.counter}" if k in resource.unique_keys and isinstance(v, str) else v for k, v in sent.items()}


@semantic("search_filters", writes=True)
def search_filters(ctx: Context) -> None:
    """A search filter on a field of the record returns only matching records, `total` counting them."""
    for resource, record in each_record(ctx, "search"):
        search = op_for(ctx, resource, "search")
        filters = _filters(ctx, search, resource, record)
        if not filters:
            continue
        other = create_record(ctx, resource)
        with ctx.contained(search.operation_id):
            exchange = ctx.call(search, body={"limit": LIST_LIMIT, **filters})
            items = items_of(exchange)
            ctx.require(exchange.status == 200 and items is not None, "a search must answer a page of records", exchange,
                        search.operation_id, "status == 200")
            ids = [item.get("id") for item in items]
            ctx.expect(record.id in ids, f"searching {filters} must find {record.id}", exchange, search.operation_id,
                       f"T({record.id!r}) in ids(body)")
            if other is not None:
                ctx.expect(other.id not in ids, f"searching {filters} must not return {other.id}, which does not match", exchange,
                           search.operation_id, f"T({other.id!r}) not in ids(body)")
            total = ((exchange.json() or {}).get("pagination") or {}).get("total") if isinstance(exchange.json(), dict) else None
            if total is not None:
                ctx.expect(total == len(items), f"pagination.total must count the {len(items)} matching records", exchange,
                           search.operation_id, "body['pagination']['total'] == len(items(body))")


def _filters(ctx: Context, search: Operation, resource: Resource, record: Record) -> dict:
    """One filter the search takes that the record can be found by: its ids, or a unique key."""
    props = samples.schema_of(ctx.spec, search.request_schema).get("properties", {})
    plural = f"{resource.entity}_ids"
    if plural in props:
        return {plural: [record.id]}
    for key in resource.unique_keys:
        if key in props and key not in PAGING_FIELDS and isinstance(record.sent.get(key), str):
            return {key: record.sent[key]}
    return {}


@semantic("pagination_everywhere")
def pagination_everywhere(ctx: Context) -> None:
    """Every list (and, when writes are allowed, every search) pages: `limit=1` gives at most one
    record, `pagination` echoes limit and offset, and `total` is at least what was returned."""
    for op in ctx.operations.values():
        if op.role == "list" and "{" not in op.path and _takes_query(op, "limit"):
            with ctx.contained(op.operation_id):
                _expect_page(ctx, op, ctx.call(op, params={"limit": 1, "offset": 0}))
        elif op.role == "search" and not ctx.read_only and "limit" in samples.schema_of(ctx.spec, op.request_schema).get("properties", {}):
            with ctx.contained(op.operation_id):
                _expect_page(ctx, op, ctx.call(op, body={"limit": 1, "offset": 0}))


def _takes_query(op: Operation, name: str) -> bool:
    return any(p.get("in") == "query" and p.get("name") == name for p in op.parameters)


def _expect_page(ctx: Context, op: Operation, exchange: Exchange) -> None:
    payload = exchange.json()
    items = items_of(exchange)
    if not ctx.expect(exchange.status == 200 and items is not None, "a page of records is expected", exchange, op.operation_id,
                      "status == 200"):
        raise CheckFailed(op.operation_id)
    ctx.expect(len(items) <= 1, f"limit=1 must return at most one record, got {len(items)}", exchange, op.operation_id,
               "len(items(body)) <= 1")
    page = payload.get("pagination") if isinstance(payload, dict) else None
    if isinstance(page, dict):
        ctx.expect(page.get("limit") == 1 and page.get("offset") == 0, "pagination must echo limit=1 and offset=0", exchange,
                   op.operation_id, "(body['pagination']['limit'], body['pagination']['offset']) == (1, 0)")
        total = page.get("total")
        ctx.expect(isinstance(total, int) and total >= len(items), f"pagination.total {total!r} must count at least the "
                   f"{len(items)} returned", exchange, op.operation_id, "body['pagination']['total'] >= len(items(body))")
