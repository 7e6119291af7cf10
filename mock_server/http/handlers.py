"""Generic handlers, one per inferred role, over the store.

Connexion has already routed, authenticated and validated the request; a handler gets the
operation's parsed arguments and turns them into store calls. Per-operation exceptions live in
`behaviours/`; this module never names a path.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import orjson
from starlette.responses import Response

from flexprice_spec.document import Spec
from flexprice_spec.resources import (
    PAGING_FIELDS,
    Model,
    Operation,
    Resource,
    list_item_schema,
    wrapped,
)

from ..core.failures import DomainError, NotFound
from ..domain.billing.engine import Billing
from ..spec.synth import Schemas, Synth
from ..storage.store import Filter, Store
from .errors import ApiError, envelope, from_domain, not_found, validation
from .limits import INT64

DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
READING_ROLES = frozenset({"get", "lookup", "list", "search", "subcollection"})
# Writes the store makes atomic on its own: one record put, changed field by field, or removed.
SINGLE_WRITE_ROLES = frozenset({"create", "update", "delete"})
# Verbs whose target state the spec's own enums hold: `cancel` -> `subscription_status: cancelled`.
ACTION_TARGETS = {
    "cancel": ("cancelled", "canceled"),
    "activate": ("active",),
    "void": ("voided",),
    "finalize": ("finalized",),
    "terminate": ("closed", "terminated"),
    "process": ("succeeded",),
}


def json_response(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@dataclass(slots=True)
class Call:
    """What a handler receives: the operation and its validated arguments."""

    op: Operation
    params: dict
    body: object

    def key(self) -> str:
        return str(self.params.get(self.op.key_param) or "")


class Api:
    """The mock's behaviour: generic role handlers plus named behaviours, over one store."""

    def __init__(self, spec: Spec, model: Model, store: Store, seed: int = 0) -> None:
        self.spec = spec
        self.model = model
        self.store = store
        self.schemas = Schemas(spec)
        self.synth = Synth(spec, self.schemas, seed, empty=True)  # computed answers
        self.fake = Synth(spec, self.schemas, seed)  # `Prefer: dynamic=true`
        self.behaviours: dict[str, Callable[[Api, Call], Response]] = {}
        self.clock = store.clock
        self.billing = Billing(self)
        store.on_reset(self.bootstrap)

    def bootstrap(self, store: Store) -> None:
        """The tenant and the user that every API key acts as, readable like any record."""
        now = self.clock.stamp()
        known = {"tenant": {"id": store.tenant_id, "name": "flexprice-mock"},
                 "user": {"id": store.user_id, "email": "dev@flexprice-mock.local", "type": "user",
                          "tenant_id": store.tenant_id}}
        for resource in self.model.resources.values():
            if resource.entity in known:
                record = {**known[resource.entity], "status": "published", "created_at": now, "updated_at": now}
                store.insert(resource.collection, self.schemas.conform(record, resource.record_schema) | {"id": record["id"]})

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, call: Call) -> Response:
        behaviour = self.behaviours.get(call.op.operation_id)
        try:
            self.store.sync()
            self.billing.tick()
            with self.store.atomic() if self.exclusive(call, behaviour) else nullcontext():
                return behaviour(self, call) if behaviour else getattr(self, f"do_{call.op.role}")(call)
        except (ApiError, DomainError) as raised:
            exc = from_domain(raised) if isinstance(raised, DomainError) else raised
            declared = call.op.error_schemas.get(exc.status)
            if declared is None:
                raise exc from None
            # the operation documents its own error body: the envelope's fields that fit it
            body = envelope(exc.status, exc.message, exc.code, exc.details)
            return json_response(self.schemas.conform({**body, "error": exc.message}, declared), exc.status)

    def exclusive(self, call: Call, behaviour: Callable | None) -> bool:
        """Whether the call writes what it read (a top-up adds to the balance it read, a wallet
        is created if the customer has no active one): those run one at a time across every
        process sharing the store. Reads, and plain writes of one record, do not wait."""
        op = call.op
        if op.method == "get" or op.role in READING_ROLES:
            return False
        if behaviour is not None:
            return getattr(behaviour, "exclusive", True)
        return op.role not in SINGLE_WRITE_ROLES or (op.role == "create" and op.resource is not None
                                                      and op.resource.entity in self.billing.creators)

    # -- roles ----------------------------------------------------------------------------------
    def do_create(self, call: Call, extra: dict | None = None) -> Response:
        record = self.create(call.op.resource, {**self.fields(call.body), **(extra or {})})
        return self.render(call.op, record)

    def do_subcreate(self, call: Call) -> Response:
        parent = self.parent_of(call)
        return self.do_create(call, {call.op.parent.foreign_key: parent["id"]})

    def do_get(self, call: Call) -> Response:
        return self.render(call.op, self.existing(call.op.resource, call.key()))

    def do_lookup(self, call: Call) -> Response:
        return self.render(call.op, self.existing(call.op.resource, call.key(), call.op.key_field))

    def do_update(self, call: Call) -> Response:
        resource = call.op.resource
        current = self.parent_of(call)
        changes = self.fields(call.body)
        self.check_references(changes)
        changes["updated_at"] = self.clock.stamp()
        record = self.store.update(resource.collection, current["id"], self.schemas.conform(changes, resource.record_schema))
        self.billing.changed(resource.entity, "update", record)
        return self.render(call.op, record)

    def do_delete(self, call: Call) -> Response:
        resource = call.op.resource
        record = self.store.delete(resource.collection, call.key())
        if record is None:
            raise not_found(resource.entity, call.key())
        self.billing.changed(resource.entity, "delete", record)
        return self.render(call.op, {"message": f"{resource.entity} deleted", "success": True})

    def do_list(self, call: Call) -> Response:
        return self.page(call.op, call.op.resource, call.params)

    def do_search(self, call: Call) -> Response:
        return self.page(call.op, call.op.resource, self.fields(call.body))

    def do_subcollection(self, call: Call) -> Response:
        parent = self.parent_of(call)
        link = {call.op.parent.foreign_key: parent["id"]}
        return self.page(call.op, call.op.resource, {**call.params, **link}, exclude=(call.op.key_param,))

    def do_bulk(self, call: Call) -> Response:
        body = self.fields(call.body)
        lists = [v for v in body.values() if isinstance(v, list)]
        records = [self.create(call.op.resource, self.fields(item)) for item in (lists[0] if lists else [])]
        return self.render(call.op, {"items": records, **{k: records for k, v in body.items() if isinstance(v, list)}})

    def do_action(self, call: Call) -> Response:
        """Apply the state change the verb names; the answer is the record, or (for a result
        schema such as `CancelSubscriptionResponse`) the record's fields plus `<entity>_id`,
        the new state as `status` and the request's own fields."""
        resource = call.op.resource
        record = self.existing(resource, call.key())
        body = self.fields(call.body)
        changes = self.transition(resource, call.op.action, body)
        if changes:
            record = self.store.update(resource.collection, record["id"], changes)
            self.billing.changed(resource.entity, "update", record)
        if self.same_schema(call.op.response_schema, resource.record_schema):
            return self.render(call.op, record)
        state = next((v for k, v in changes.items() if k.endswith("_status")), None)
        result = {**body, **record, resource.foreign_key: record["id"],
                  "message": f"{resource.entity} {call.op.action} done"}
        return self.render(call.op, result, prefer={"status": state} if state is not None else None)

    def do_singleton(self, call: Call) -> Response:
        """`/users/me`: the caller's own user record, with its tenant; PUT merges into it."""
        users = self.model.resource_for_key("user_id")
        tenants = self.model.resource_for_key("tenant_id")
        me = self.store.get(users.collection, self.store.user_id) if users else None
        if me is None:
            me = {"id": self.store.user_id, "email": "dev@flexprice-mock.local"}
        elif call.body is not None:
            changes = self.schemas.conform(self.fields(call.body), users.record_schema)
            me = self.store.update(users.collection, me["id"], {**changes, "updated_at": self.clock.stamp()})
        tenant = self.store.get(tenants.collection, self.store.tenant_id) if tenants else None
        return self.render(call.op, {**me, "tenant": tenant} if tenant else me)

    def do_computed(self, call: Call) -> Response:
        """A synthesized answer; under an item (`/subscriptions/{id}/v2`) the item must exist,
        and an answer that is a view of it (`SubscriptionResponseV2`) carries its fields."""
        self.paging(call.params)  # a query `limit`/`offset` follows the real server's list rules
        owner = call.op.parent or call.op.resource
        if owner is None:
            return self.render(call.op, None)
        record = self.parent_of(call)
        body = self.synth.value(call.op.response_schema)
        if not isinstance(body, dict):
            return json_response(body, call.op.status)
        view = record if self.is_view(call.op.response_schema, owner) else {}
        link = {owner.foreign_key: record["id"]}
        return json_response({**body, **self.schemas.conform({**view, **link}, call.op.response_schema)},
                             call.op.status)

    # -- shared steps ---------------------------------------------------------------------------
    @staticmethod
    def id_list(value: object) -> list[str] | None:
        """A query list of ids (`feature_ids`), parsed or comma-separated; None when absent."""
        if not value:
            return None
        return [str(v) for v in value] if isinstance(value, list) else [v for v in str(value).split(",") if v]

    @staticmethod
    def fields(body: object) -> dict:
        """A JSON object body as a dict; Connexion has already rejected other shapes."""
        return dict(body) if isinstance(body, dict) else {}

    def existing(self, resource: Resource, key: str, field: str = "id") -> dict:
        record = self.store.get(resource.collection, key) if field == "id" else (
            self.store.find(resource.collection, field, key) if key else None)
        if record is None:
            raise not_found(resource.entity, key)
        return record

    def parent_of(self, call: Call) -> dict:
        """The item an operation targets or is nested under, by id or alternate key. Without an id,
        a query `lookup_key` (`GET /customers/wallets?lookup_key=`) names the owner's alternate
        key, and `external_customer_id` (`PUT /customers?external_customer_id=`) its external id."""
        owner = call.op.parent or call.op.resource
        key, field = call.key(), call.op.key_field
        if not key and call.params.get("lookup_key") and owner.unique_keys:
            key, field = str(call.params["lookup_key"]), owner.unique_keys[0]
        for name, value in call.params.items() if not key else ():
            target = self.model.reference_target(call.params, name)
            if value and target is not None and target[0] is owner:
                key, field = str(value), target[1]
        if not key:
            raise validation(f"{call.op.key_param} is required", call.op.key_param)
        return self.existing(owner, key, field)

    def is_view(self, schema: dict | None, resource: Resource) -> bool:
        """`SubscriptionResponseV2` is another view of the `SubscriptionResponse` records."""
        name, record = self.spec.schema_name(schema), self.spec.schema_name(resource.record_schema)
        return bool(name and record and name != record and name.startswith(record))

    def check_references(self, fields: dict) -> dict:
        """`customer_id`, `plan_ids`, `external_customer_id`, `entity_type`+`entity_id` must name
        stored records: 404 otherwise (the real server answers 404 not_found for these). Returns
        the ids that external keys resolve to: `{customer_id: ...}` for `external_customer_id`."""
        resolved = {}
        for name, value in fields.items():
            target = self.model.reference_target(fields, name)
            if target is None:
                continue
            resource, field = target
            for one in value if isinstance(value, list) else [value]:
                found = self.lookup(resource, field, one) if isinstance(one, str) and one else None
                if isinstance(one, str) and one and found is None:
                    raise NotFound(resource.entity, one, name)
                if found is not None and field != "id" and not fields.get(resource.foreign_key):
                    resolved[resource.foreign_key] = found["id"]
        return resolved

    def lookup(self, resource: Resource, field: str, value: str) -> dict | None:
        if field == "id":
            return self.store.get(resource.collection, value)
        return self.store.find(resource.collection, field, value)

    def create(self, resource: Resource, fields: dict, record_id: str | None = None) -> dict:
        """A new record the way the real server makes one: through its billing service where
        the domain has rules for it (features, prices, subscriptions, ...), else plainly."""
        create = self.billing.creators.get(resource.entity)
        if create is not None:
            return create(fields, record_id)
        record = self.create_record(resource, fields, record_id)
        self.billing.changed(resource.entity, "create", record)
        return record

    def create_record(self, resource: Resource, fields: dict, record_id: str | None = None) -> dict:
        """References checked, server fields set, shaped to the record schema, stored."""
        fields = {**fields, **self.check_references(fields)}
        now = self.clock.stamp()
        server = {
            "id": record_id or self.store.ids.new(resource.prefix),
            "created_at": now,
            "updated_at": now,
            "status": "published",
            "tenant_id": self.store.tenant_id,
            "environment_id": self.store.environment_id,
            "created_by": self.store.user_id,
            "updated_by": self.store.user_id,
        }
        record = {**self.initial_states(resource), **fields, **server}
        shaped = {**self.schemas.conform(record, resource.record_schema), "id": server["id"]}
        return self.store.insert(resource.collection, shaped)

    def initial_states(self, resource: Resource) -> dict:
        """Every `*_status` enum of the record starts at the spec's first value."""
        states = {}
        for name, sub in self.spec.properties(resource.record_schema).items():
            enum = self.spec.resolve(sub).get("enum")
            if name.endswith("_status") and enum:
                states[name] = enum[0]
        return states

    def transition(self, resource: Resource, action: str, body: dict) -> dict:
        """The state change an action makes, found in the record's status enums: the entity's own
        `<entity>_status` first, then any other `*_status`. The value's `<state>_at` stamp is
        set, and request fields named after the verb (`cancel_at` for cancel) are kept."""
        verb = action.split("/")[0]
        targets = ACTION_TARGETS.get(verb, ())
        props = self.spec.properties(resource.record_schema)
        own = f"{resource.entity}_status"
        for name in sorted((n for n in props if n.endswith("status")), key=lambda n: n != own):
            for value in self.spec.resolve(props[name]).get("enum", []):
                if str(value).lower() in targets:
                    now = self.clock.stamp()
                    changes = {k: v for k, v in body.items() if k.startswith(verb + "_") and k in props}
                    changes.update({name: value, "updated_at": now})
                    stamp = f"{str(value).lower()}_at"
                    if stamp in props:
                        changes[stamp] = now
                    return self.schemas.conform(changes, resource.record_schema)
        return {}

    @staticmethod
    def paging(filters: dict) -> tuple[int, int]:
        """`limit` 1..1000 (default 50) and `offset` >= 0, as the real server checks them."""
        limit = _bounded_int(filters.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT, "limit")
        return limit, _bounded_int(filters.get("offset"), 0, 0, None, "offset")

    def page(self, op: Operation, resource: Resource | None, filters: dict, exclude: tuple = ()) -> Response:
        limit, offset = self.paging(filters)
        records = [] if resource is None else self.matching(resource, filters, exclude)
        node = self.spec.resolve(op.response_schema)
        if node.get("type") == "array":
            return json_response(self.project(records, list_item_schema(self.spec, op.response_schema), resource), op.status)
        body = {
            "items": self.project(records[offset: offset + limit], list_item_schema(self.spec, op.response_schema), resource),
            "pagination": {"limit": limit, "offset": offset, "total": len(records)},
        }
        return json_response(body, op.status)

    def matching(self, resource: Resource, filters: dict, exclude: tuple) -> Sequence[dict]:
        """Records the filters select, newest first: through a unique-key index when a filter
        names one (`external_id`), else in one pass over the resource."""
        predicate = self.predicate(resource, filters, exclude)
        for key in resource.unique_keys:
            value = filters.get(key)
            if key not in exclude and isinstance(value, str) and value:
                found = self.store.find(resource.collection, key, value)
                return [found] if found is not None and (predicate is None or predicate(found)) else []
        return self.store.select(resource.collection, predicate)

    def predicate(self, resource: Resource, filters: dict, exclude: tuple) -> Filter | None:
        """Equality for fields the record has, membership for id lists (`plan_ids`); an
        `external_customer_id` filter matches the `customer_id` of that customer."""
        props = self.spec.properties(resource.record_schema)
        tests = []
        for name, wanted in filters.items():
            if name in PAGING_FIELDS or name in exclude or wanted in (None, "", []):
                continue
            field = name
            target = self.model.reference_target(filters, name)
            if name not in props and target is not None and target[1] != "id":
                found = self.lookup(target[0], target[1], str(wanted))
                name, wanted = target[0].foreign_key, found["id"] if found else ""
                field = name
            if name == f"{resource.entity}_ids" or name == "ids":
                field = "id"
            elif name.endswith("s") and name[:-1] in props and isinstance(wanted, list):
                field = name[:-1]
            elif name not in props:
                continue
            tests.append((field, set(map(str, wanted)) if isinstance(wanted, list) else wanted))
        return Filter(tests) if tests else None

    def project(self, records: Sequence[dict], schema: dict | None, resource: Resource | None = None) -> list[dict]:
        if resource is not None and self.same_schema(schema, resource.record_schema):
            return list(records)  # stored records were shaped to this schema when written
        return [self.schemas.conform(r, schema) for r in records]

    def same_schema(self, a: dict | None, b: dict | None) -> bool:
        return a is not None and b is not None and self.spec.resolve(a) is self.spec.resolve(b)

    def render(self, op: Operation, data: dict | None, prefer: dict | None = None) -> Response:
        """The operation's documented success: the record shaped to its schema, or a synthesized
        body where there is no record, or no body at all (204). `prefer` values win where the
        schema accepts them."""
        if op.response_schema is None:
            return Response(status_code=op.status)
        node = self.spec.resolve(op.response_schema)
        if data is None or node.get("type") not in (None, "object"):
            return json_response(self.synth.value(op.response_schema), op.status)
        if op.resource is not None and self.same_schema(op.response_schema, op.resource.record_schema):
            return json_response(data, op.status)
        envelope_of = wrapped(self.spec, op.response_schema)
        if op.resource is not None and envelope_of and self.same_schema(envelope_of[1], op.resource.record_schema):
            return json_response({envelope_of[0]: data}, op.status)  # `{costsheet: {...}}`
        shaped = self.schemas.conform(data, op.response_schema)
        shaped.update(self.schemas.conform(prefer or {}, op.response_schema))
        return json_response(shaped, op.status)


def _bounded_int(value: object, default: int, low: int, high: int | None, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise validation(f"{name} must be an integer", name) from None
    if number != value and not isinstance(value, str):  # 2.5
        raise validation(f"{name} must be an integer", name)
    if number > INT64[1]:  # what the real server's int64 holds, and what the answer can carry
        raise validation(f"{name} must fit in 64 bits", name)
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise validation(f"{name} must be {bounds}", name)
    return number
