"""The records the checks create: valid bodies from the spec, references filled, clean-up noted.

A create body comes from a recipe when the real server needs more than any schema says (a price
on a plan, a subscription to a plan that has a price: `recipes.py`), else from the create's
schema (`samples.py`), each required reference filled with a record created first (at most
`MAX_DEPTH` deep). When the server refuses the body with a 400 that names a field, the field is
filled and the create tried again: the server's own errors say what its schema does not. A create
a correct server would accept but this one refused is a `record_created` failure naming the
server's answer, once per resource. Everything created is remembered for `semantic.clean_up`,
with the exchanges that made it (a replay of a later failure needs them).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flexprice_spec.resources import Operation, Resource

from . import samples
from .client import Exchange
from .overlay import id_pointer
from .report import Failure
from .semantic import ENDINGS, Context

LIST_LIMIT = 1000
MAX_DEPTH = 2  # how many records deep the gate goes to fill a reference
CREATED = "record_created"
Recipe = Callable[[Context, int], "tuple[dict, dict[str, Record]]"]
RECIPES: dict[str, Recipe] = {}  # collection -> the body (and parents) the real server accepts


def recipe(collection: str) -> Callable[[Recipe], Recipe]:
    def register(func: Recipe) -> Recipe:
        RECIPES[collection] = func
        return func
    return register


@dataclass(slots=True)
class Record:
    """A record the gate created: where, what it sent, what came back."""

    resource: Resource
    id: str
    sent: dict
    answer: dict
    parents: dict[str, Record]  # reference field -> the record created to fill it
    trace: list[Exchange] = field(default_factory=list)  # the exchanges that made it and its parents


def op_for(ctx: Context, resource: Resource, role: str) -> Operation | None:
    """The operation of `role` on `resource` under test: item operations take one key only."""
    for op in ctx.operations.values():
        if op.resource is resource and op.role == role and (role not in ("get", "update", "delete") or op.path.count("{") <= 1):
            return op
    return None


def creatable(ctx: Context, *roles: str) -> list[Resource]:
    """Resources with a create that answers the new record's id, and every one of `roles`, under
    test (a create answering no id, `POST /marketplace/agreements`, makes nothing to read back)."""
    return [
        resource for resource in (ctx.model.resources.values() if ctx.model else ())
        if (create := op_for(ctx, resource, "create")) and id_pointer(ctx.spec, create.response_schema)
        and all(op_for(ctx, resource, role) for role in roles)
    ]


def record_of(payload: Any) -> dict:
    """The record in a create answer: the answer itself, or the one object in it with an id."""
    if isinstance(payload, dict) and "id" in payload:
        return payload
    if isinstance(payload, dict):
        for value in payload.values():
            if isinstance(value, dict) and "id" in value:
                return value
    raise TypeError(f"no record with an id in the answer: {str(payload)[:200]}")


def sample_body(ctx: Context, resource: Resource, depth: int = 0) -> tuple[dict, dict[str, Record]]:
    """A valid create body for `resource`, and the records created to fill its references."""
    if resource.collection in RECIPES:
        return RECIPES[resource.collection](ctx, depth)
    create = op_for(ctx, resource, "create")
    schema = samples.schema_of(ctx.spec, create.request_schema)
    refs: dict[str, Any] = {}
    parents: dict[str, Record] = {}
    references = frozenset(name for name in schema.get("properties", {}) if ctx.model.reference_target({}, name))
    for name in schema.get("required", []):
        if name in references:
            refs[name], parents[name] = _reference(ctx, name, depth)
    ctx.counter += 1
    return samples.body(ctx.spec, create.request_schema, f"{ctx.seed}-{ctx.counter}", refs, references), parents


def _reference(ctx: Context, name: str, depth: int) -> tuple[Any, Record]:
    """A value for reference `name` (`customer_id`, `external_customer_id`, `plan_ids`): a new record's key."""
    target, field_name = ctx.model.reference_target({}, name)
    parent = create_record(ctx, target, depth + 1) if depth < MAX_DEPTH and op_for(ctx, target, "create") else None
    if parent is None:
        raise samples.Unbuildable(f"`{name}` needs a {target.entity}, and none could be created"
                                  + (f" ({ctx.refusals[target.collection]})" if target.collection in ctx.refusals else ""))
    key = parent.id if field_name == "id" else parent.answer.get(field_name, parent.sent.get(field_name))
    return ([key] if name.endswith("_ids") else key), parent


def create_record(ctx: Context, resource: Resource, depth: int = 0, body: dict | None = None,
                  parents: dict[str, Record] | None = None) -> Record | None:
    """Create one record (None when no valid body could be built or the server refused it, which
    is then a `record_created` failure naming the server's answer).

    A 400 that names a field (`details.field`, or the message's first word) the body left out,
    or an enum value it refused, gets one more try with that field filled: the server's own
    errors say what its schema does not (a wallet needs `customer_id` or `external_customer_id`)."""
    create = op_for(ctx, resource, "create")
    before = {id(exchange) for exchange in ctx.trace}
    try:
        sent, parents = (body, dict(parents or {})) if body is not None else sample_body(ctx, resource, depth)
    except samples.Unbuildable as error:
        refused(ctx, resource, f"no body could be built: {error}")
        return None
    tried: set[str] = set()
    while True:
        exchange = ctx.call(create, body=sent)
        if 200 <= exchange.status < 300:
            break
        named = _named_field(exchange, create, ctx)
        if exchange.status != 400 or named is None or named in tried or body is not None:
            refused(ctx, resource, f"{exchange.status} {exchange.text[:300].strip()}", exchange)
            return None
        tried.add(named)
        try:
            sent = {**sent, named: _fill(ctx, create, named, sent, parents, depth)}
        except samples.Unbuildable as error:
            refused(ctx, resource, f"the server asked for `{named}`: {error}", exchange)
            return None
    record = record_of(exchange.json())
    remember(ctx, resource, str(record["id"]))
    ctx.report.ran[CREATED].add(create.operation_id)
    made = [e for e in ctx.trace if id(e) not in before]
    return Record(resource, str(record["id"]), sent, record, parents, joined(*(p.trace for p in parents.values()), made))


def joined(*traces: list[Exchange]) -> list[Exchange]:
    """The exchanges of several traces in order, each once."""
    seen: dict[int, Exchange] = {}
    for trace in traces:
        for exchange in trace:
            seen.setdefault(id(exchange), exchange)
    return list(seen.values())


def refused(ctx: Context, resource: Resource, why: str, exchange: Exchange | None = None) -> None:
    """The server refused (or the gate could not build) a create a correct server accepts: one
    `record_created` failure per resource, and the reason every check that needed it cites."""
    if resource.collection in ctx.refusals:
        return
    ctx.refusals[resource.collection] = why
    create = op_for(ctx, resource, "create")
    ctx.report.add(Failure(
        CREATED, create.operation_id,
        f"no {resource.entity} could be created, so the checks that need one did not run on {resource.collection}: "
        f"{why}. A correct server accepts this body; if this server does not offer {create.operation_id}, "
        f"leave it out with --exclude-operation {create.operation_id} (or an overlay)",
        ctx.curl(exchange) if exchange else "", [*ctx.trace] if exchange else [],
        "200 <= status < 300" if exchange else "",
    ))


def _named_field(exchange: Exchange, create: Operation, ctx: Context) -> str | None:
    payload = exchange.json()
    if not isinstance(payload, dict):
        return None
    details = payload.get("details") if isinstance(payload.get("details"), dict) else {}
    named = details.get("field")
    named = named.get("value") if isinstance(named, dict) else named
    props = samples.schema_of(ctx.spec, create.request_schema).get("properties", {})
    if isinstance(named, str) and named in props:
        return named
    words = str(payload.get("message", "")).replace("`", " ").split()
    return next((word for word in words if word in props), None)


def _fill(ctx: Context, create: Operation, name: str, sent: dict, parents: dict[str, Record], depth: int) -> Any:
    """A value for a field the server asked for: a reference to a new record, the next enum
    value, or a plain valid value."""
    if ctx.model.reference_target({}, name):
        key, parents[name] = _reference(ctx, name, depth)
        return key
    schema = samples.schema_of(ctx.spec, samples.schema_of(ctx.spec, create.request_schema)["properties"][name])
    if name in sent and schema.get("enum"):
        values = schema["enum"]
        return values[(values.index(sent[name]) + 1) % len(values)] if sent[name] in values else values[0]
    ctx.counter += 1
    return samples.value(ctx.spec, schema, name, f"{ctx.seed}-{ctx.counter}")


def remember(ctx: Context, resource: Resource, record_id: str) -> None:
    """Note a record made for the clean-up, with the operation that removes or ends it."""
    end = op_for(ctx, resource, "delete") or ending(ctx, resource)
    if end is not None:
        ctx.records.append((end, record_id))


def ending(ctx: Context, resource: Resource) -> Operation | None:
    """The action that ends a record of `resource` (`POST /subscriptions/{id}/cancel`)."""
    for op in ctx.operations.values():
        if op.parent is resource and op.role == "action" and op.action in ENDINGS and op.path.count("{") == 1:
            return op
    return None


def shared_record(ctx: Context, resource: Resource) -> Record | None:
    """One record per resource for the checks that only read it."""
    if resource.collection not in ctx.samples:
        ctx.samples[resource.collection] = create_record(ctx, resource)
    return ctx.samples[resource.collection]


def each_record(ctx: Context, *roles: str, fresh: bool = False) -> list[tuple[Resource, Record]]:
    """A record of every creatable resource with `roles`; a resource none could be made for is
    noted as not covered by this check, with the server's reason (its `record_created` failure
    counts it)."""
    found = []
    for resource in creatable(ctx, *roles):
        with ctx.contained(op_for(ctx, resource, "create").operation_id):
            record = create_record(ctx, resource) if fresh else shared_record(ctx, resource)
            if record is None:
                ctx.not_covered(resource.collection, f"no record: {ctx.refusals.get(resource.collection, 'refused')}")
            else:
                ctx.use(record.trace)
                found.append((resource, record))
    return found


def items_of(exchange: Exchange) -> list[dict] | None:
    payload = exchange.json()
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("items"), list):
        return payload["items"]
    return None


def listing(ctx: Context, resource: Resource, **filters: Any) -> tuple[Operation, Exchange] | None:
    """Every record the list (else the search) returns, up to 1000; None if there is neither."""
    op = op_for(ctx, resource, "list")
    if op is not None and not filters:
        return op, ctx.call(op, params={"limit": LIST_LIMIT})
    op = op_for(ctx, resource, "search")
    if op is None or ctx.read_only:
        return None
    return op, ctx.call(op, body={"limit": LIST_LIMIT, **filters})
