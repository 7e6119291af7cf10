"""Generic handlers, one per inferred role, over the store.

Connexion has already routed, authenticated and validated the request; a handler gets the
operation's parsed arguments and turns them into store calls. Per-operation exceptions live in
`behaviours.py`; this module never names a path.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.responses import Response

from .errors import ApiError, not_found, validation
from .resources import PAGING_FIELDS, Model, Operation, Resource, list_item_schema
from .spec import Spec
from .store import Store, utc_now
from .synth import Schemas, Synth

DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
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
        self.synth = Synth(spec, self.schemas, seed)
        self.behaviours: dict[str, Callable[[Api, Call], Response]] = {}

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, call: Call) -> Response:
        behaviour = self.behaviours.get(call.op.operation_id)
        if behaviour is not None:
            return behaviour(self, call)
        return getattr(self, f"do_{call.op.role}")(call)

    # -- roles ----------------------------------------------------------------------------------
    def do_create(self, call: Call, extra: dict | None = None) -> Response:
        record = self.create_record(call.op.resource, {**self.fields(call.body), **(extra or {})})
        return self.render(call.op, record)

    def do_subcreate(self, call: Call) -> Response:
        parent = self.existing(call.op.parent, call.key())
        return self.do_create(call, {call.op.parent.foreign_key: parent["id"]})

    def do_get(self, call: Call) -> Response:
        return self.render(call.op, self.existing(call.op.resource, call.key()))

    def do_lookup(self, call: Call) -> Response:
        resource = call.op.resource
        record = self.store.find(resource.collection, call.op.key_field, call.key())
        if record is None:
            raise not_found(resource.entity, call.key())
        return self.render(call.op, record)

    def do_update(self, call: Call) -> Response:
        resource = call.op.resource
        self.existing(resource, call.key())
        changes = self.fields(call.body)
        self.check_references(changes)
        changes["updated_at"] = utc_now()
        record = self.store.update(resource.collection, call.key(), self.schemas.conform(changes, resource.record_schema))
        return self.render(call.op, record)

    def do_delete(self, call: Call) -> Response:
        resource = call.op.resource
        record = self.store.delete(resource.collection, call.key())
        if record is None:
            raise not_found(resource.entity, call.key())
        return self.render(call.op, {"message": f"{resource.entity} deleted", "success": True})

    def do_list(self, call: Call) -> Response:
        return self.page(call.op, call.op.resource, call.params)

    def do_search(self, call: Call) -> Response:
        filters = self.fields(call.body)
        if call.op.resource is None:
            return self.page(call.op, None, filters)
        return self.page(call.op, call.op.resource, filters)

    def do_subcollection(self, call: Call) -> Response:
        parent = self.existing(call.op.parent, call.key())
        link = {call.op.parent.foreign_key: parent["id"]}
        return self.page(call.op, call.op.resource, {**call.params, **link}, exclude=(call.op.key_param,))

    def do_bulk(self, call: Call) -> Response:
        body = self.fields(call.body)
        lists = [v for v in body.values() if isinstance(v, list)]
        records = [self.create_record(call.op.resource, self.fields(item)) for item in (lists[0] if lists else [])]
        return self.render(call.op, {"items": records, **{k: records for k, v in body.items() if isinstance(v, list)}})

    def do_action(self, call: Call) -> Response:
        resource = call.op.resource
        record = self.existing(resource, call.key())
        changes = self.transition(resource, call.op.action)
        if changes:
            record = self.store.update(resource.collection, record["id"], changes)
        return self.render(call.op, record)

    def do_singleton(self, call: Call) -> Response:
        me = {"id": self.store.user_id, "tenant_id": self.store.tenant_id, "email": "dev@flexprice-mock.local"}
        return self.render(call.op, {**me, **self.fields(call.body)})

    def do_computed(self, call: Call) -> Response:
        if call.op.parent is not None:
            self.existing(call.op.parent, call.key())
        return self.render(call.op, None)

    # -- shared steps ---------------------------------------------------------------------------
    @staticmethod
    def fields(body: object) -> dict:
        """A JSON object body as a dict; Connexion has already rejected other shapes."""
        return dict(body) if isinstance(body, dict) else {}

    def existing(self, resource: Resource, key: str) -> dict:
        record = self.store.get(resource.collection, key)
        if record is None:
            raise not_found(resource.entity, key)
        return record

    def check_references(self, fields: dict) -> None:
        """`customer_id` and the like must name a stored record: 404 otherwise."""
        for name, value in fields.items():
            if not name.endswith("_id") or not isinstance(value, str) or not value:
                continue
            target = self.model.resource_for_key(name)
            if target is not None and self.store.get(target.collection, value) is None:
                raise ApiError(404, f"{target.entity} {value} not found", {name: value})

    def create_record(self, resource: Resource, fields: dict) -> dict:
        self.check_references(fields)
        now = utc_now()
        server = {
            "id": self.store.ids.new(resource.prefix),
            "created_at": now,
            "updated_at": now,
            "status": "published",
            "tenant_id": self.store.tenant_id,
            "environment_id": self.store.environment_id,
            "created_by": self.store.user_id,
            "updated_by": self.store.user_id,
        }
        record = {**self.initial_states(resource), **fields, **server}
        return self.store.insert(resource.collection, self.schemas.conform(record, resource.record_schema))

    def initial_states(self, resource: Resource) -> dict:
        """Every `*_status` enum of the record starts at the spec's first value."""
        states = {}
        for name, sub in self.spec.properties(resource.record_schema).items():
            enum = self.spec.resolve(sub).get("enum")
            if name.endswith("_status") and enum:
                states[name] = enum[0]
        return states

    def transition(self, resource: Resource, action: str) -> dict:
        """The state change an action makes, found in the record's status enums: the entity's own
        `<entity>_status` first, then any other `*_status`."""
        targets = ACTION_TARGETS.get(action.split("/")[0], ())
        props = self.spec.properties(resource.record_schema)
        own = f"{resource.entity}_status"
        for name in sorted((n for n in props if n.endswith("status")), key=lambda n: n != own):
            for value in self.spec.resolve(props[name]).get("enum", []):
                if str(value).lower() in targets:
                    changes = {name: value, "updated_at": utc_now()}
                    stamp = f"{str(value).lower()}_at"
                    if stamp in props:
                        changes[stamp] = changes["updated_at"]
                    return changes
        return {}

    def page(self, op: Operation, resource: Resource | None, filters: dict, exclude: tuple = ()) -> Response:
        limit = _bounded_int(filters.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT, "limit")
        offset = _bounded_int(filters.get("offset"), 0, 0, None, "offset")
        records = [] if resource is None else self.store.select(
            resource.collection, self.predicate(resource, filters, exclude)
        )
        node = self.spec.resolve(op.response_schema)
        if node.get("type") == "array":
            return json_response(self.project(records, list_item_schema(self.spec, op.response_schema), resource), op.status)
        body = {
            "items": self.project(records[offset: offset + limit], list_item_schema(self.spec, op.response_schema), resource),
            "pagination": {"limit": limit, "offset": offset, "total": len(records)},
        }
        return json_response(body, op.status)

    def predicate(self, resource: Resource, filters: dict, exclude: tuple) -> Callable[[dict], bool] | None:
        """Equality for fields the record has, membership for id lists (`plan_ids`)."""
        props = self.spec.properties(resource.record_schema)
        tests = []
        for name, wanted in filters.items():
            if name in PAGING_FIELDS or name in exclude or wanted in (None, "", []):
                continue
            field = name
            if name == f"{resource.entity}_ids" or name == "ids":
                field = "id"
            elif name.endswith("s") and name[:-1] in props and isinstance(wanted, list):
                field = name[:-1]
            elif name not in props:
                continue
            tests.append((field, set(map(str, wanted)) if isinstance(wanted, list) else wanted))
        if not tests:
            return None
        return lambda r: all(
            (str(r.get(f)) in w) if isinstance(w, set) else r.get(f) == w for f, w in tests
        )

    def project(self, records: list[dict], schema: dict | None, resource: Resource | None = None) -> list[dict]:
        if resource is not None and self.same_schema(schema, resource.record_schema):
            return records  # stored records were shaped to this schema when written
        return [self.schemas.conform(r, schema) for r in records]

    def same_schema(self, a: dict | None, b: dict | None) -> bool:
        return a is not None and b is not None and self.spec.resolve(a) is self.spec.resolve(b)

    def render(self, op: Operation, data: dict | None) -> Response:
        """The operation's documented success: the record shaped to its schema, or a synthesized
        body where there is no record, or no body at all (204)."""
        if op.response_schema is None:
            return Response(status_code=op.status)
        node = self.spec.resolve(op.response_schema)
        if data is None or node.get("type") not in (None, "object"):
            return json_response(self.synth.value(op.response_schema), op.status)
        if op.resource is not None and self.same_schema(op.response_schema, op.resource.record_schema):
            return json_response(data, op.status)
        return json_response(self.schemas.conform(data, op.response_schema), op.status)


def _bounded_int(value: object, default: int, low: int, high: int | None, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise validation(f"{name} must be an integer", name) from None
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise validation(f"{name} must be {bounds}", name)
    return number
