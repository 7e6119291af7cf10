"""The records the invariants read, found by reading only: what a `--read-only` run checks.

Every list without path parameters is read (and, when writes are allowed, every search: a search
is a POST that changes nothing), then the records their items reference (`subscription_id`,
`destination_id` beside `destination_type: INVOICE`) are read one by one, two references deep, at
most `PER_RESOURCE` of each. A record a check reads whole (an invoice with its lines) is read by
its item GET. Each record comes with the exchange that returned it, for the failure's replay.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from flexprice_spec.resources import Resource

from .client import Exchange
from .records import items_of, op_for, record_of
from .semantic import Context

PER_RESOURCE = 10
DEPTH = 2
Found = dict[str, dict[str, tuple[dict, Exchange]]]  # collection -> id -> (record, where it was read)


def readable(ctx: Context, collection: str, whole: bool = False) -> list[tuple[dict, Exchange]]:
    """The records of `collection` the gate can read; `whole`: each as its item GET answers it."""
    found = _found(ctx)
    resource = ctx.model.resources.get(collection) if ctx.model else None
    records = found.get(collection, {})
    get = op_for(ctx, resource, "get") if resource is not None else None
    if whole and get is not None:
        for record_id, (record, exchange) in list(records.items()):
            if exchange.method != "GET" or exchange.operation != get.operation_id:
                with ctx.contained(get.operation_id):
                    read = ctx.call(get, record_id)
                    if read.status == 200:
                        records[record_id] = (record_of(read.json()), read)
    for _, exchange in records.values():  # the check holds these answers to its rule
        ctx.report.ran[ctx.check].add(exchange.operation)
    return list(records.values())


def remember_read(ctx: Context, resource: Resource, record: Any, exchange: Exchange) -> None:
    """A record some check read anyway: the invariants look at it too."""
    if isinstance(record, dict) and record.get("id"):
        _found(ctx)[resource.collection].setdefault(str(record["id"]), (record, exchange))


def _found(ctx: Context) -> Found:
    if "__read__" not in ctx.samples:
        found: Found = defaultdict(dict)
        ctx.samples["__read__"] = found
        with ctx.unattributed():
            for op in ctx.operations.values():
                with ctx.contained(op.operation_id):
                    _read_list(ctx, op, found)
            for _ in range(DEPTH):
                _follow(ctx, found)
    return ctx.samples["__read__"]


def _read_list(ctx: Context, op, found: Found) -> None:
    if op.resource is None:
        return
    if op.role == "list" and "{" not in op.path:
        exchange = ctx.call(op, params={"limit": PER_RESOURCE})
    elif op.role == "search" and not ctx.read_only:
        exchange = ctx.call(op, body={"limit": PER_RESOURCE})
    else:
        return
    for item in (items_of(exchange) or [])[:PER_RESOURCE]:
        if isinstance(item, dict) and item.get("id"):
            found[op.resource.collection].setdefault(str(item["id"]), (item, exchange))


def _follow(ctx: Context, found: Found) -> None:
    """Read the records the found ones reference, by id, where the spec has their item GET."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for records in list(found.values()):
        for record, _ in records.values():
            for name, value in record.items():
                target = ctx.model.reference_target(record, name) if isinstance(value, str) and value else None
                if target is not None and target[1] == "id" and value not in found[target[0].collection]:
                    wanted[target[0].collection].add(value)
    for collection, ids in wanted.items():
        resource = ctx.model.resources[collection]
        get = op_for(ctx, resource, "get")
        if get is None:
            continue
        for record_id in sorted(ids)[: max(PER_RESOURCE - len(found[collection]), 0)]:
            with ctx.contained(get.operation_id):
                exchange = ctx.call(get, record_id)
                if exchange.status == 200:
                    found[collection][record_id] = (record_of(exchange.json()), exchange)
