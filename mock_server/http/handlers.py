"""Generic handlers, one per inferred role, over the backend.

The endpoint has already authenticated and validated the request; a handler gets the
operation's parsed arguments, makes one backend call and renders the answer to the operation's
response schema. The rules (references, server fields, states, filters) are the backend's;
per-operation exceptions live in `behaviours/`; this module never names a path.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
from starlette.responses import Response

from flexprice_spec.document import Spec
from flexprice_spec.resources import (
    Model,
    Operation,
    Resource,
    list_item_schema,
    wrapped,
)

from ..core.failures import Invalid
from ..domain.backend import Backend
from ..schemas.synth import Synth
from .limits import INT64

DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
READING_ROLES = frozenset({"get", "lookup", "list", "search", "subcollection"})
# Writes the store makes atomic on its own: one record put, changed field by field, or removed.
SINGLE_WRITE_ROLES = frozenset({"create", "update", "delete"})


JSON_HEADERS = [(b"content-type", b"application/json")]


class JsonResponse(Response):
    """Starlette's `Response` with its JSON headers made without per-call work: the body is
    already bytes, its media type fixed."""

    media_type = "application/json"

    def __init__(self, content: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.body = content
        self.background = None
        self.raw_headers = [(b"content-length", str(len(content)).encode()), *JSON_HEADERS]


def json_response(body: object, status: int = 200) -> Response:
    return JsonResponse(orjson.dumps(body), status)


@dataclass(slots=True, frozen=True)
class Shape:
    """What rendering an operation's answer needs from its spec, `$ref`s resolved once."""

    kind: str | None  # the success schema's type (None: an object without `type`)
    as_record: bool  # the answer is the resource's record schema: a stored record goes out as is
    envelope: str | None  # `{costsheet: <record>}`: the one property that holds the record
    items: dict | None  # an array answer's or a page's item schema
    items_as_record: bool  # the items are the resource's records


@dataclass(slots=True)
class Call:
    """What a handler receives: the operation and its validated arguments."""

    op: Operation
    params: dict
    body: object

    def key(self) -> str:
        return str(self.params.get(self.op.key_param) or "")


class Api:
    """The HTTP side of the mock: a generic handler per inferred role plus named behaviours, each
    turning a validated request into one backend call and rendering its answer."""

    def __init__(self, spec: Spec, model: Model, backend: Backend, seed: int = 0) -> None:
        self.spec = spec
        self.model = model
        self.backend = backend
        self.billing = backend.billing
        self.schemas = backend.schemas
        self.synth = Synth(spec, self.schemas, seed, empty=True)  # computed answers
        self.fake = Synth(spec, self.schemas, seed)  # `Prefer: dynamic=true`
        self.behaviours: dict[str, Callable[[Api, Call], Response]] = {}
        self._shapes: dict[tuple[str, str | None], Shape] = {}

    # -- dispatch -------------------------------------------------------------------------------
    def handler(self, op: Operation) -> Callable[[dict, object], Response]:
        """What an endpoint calls with the operation's validated arguments: the operation's
        behaviour, or its role's generic handler, looked up once, as is whether it runs alone."""
        behaviour = self.behaviours.get(op.operation_id)
        act = behaviour or getattr(Api, f"do_{op.role}")
        catch_up, atomic = self.backend.catch_up, self.backend.store.atomic
        exclusive = self.exclusive(op, behaviour)

        def handle(params: dict, body: object) -> Response:
            call = Call(op, params, body)
            catch_up()
            if exclusive:
                with atomic():
                    return act(self, call)
            return act(self, call)

        handle.__name__ = op.operation_id
        return handle

    def exclusive(self, op: Operation, behaviour: Callable | None) -> bool:
        """Whether the operation writes what it read (a top-up adds to the balance it read, a
        wallet is created if the customer has no active one): those run one at a time across
        every process sharing the store. Reads, and plain writes of one record, do not wait."""
        if op.method == "get" or op.role in READING_ROLES:
            return False
        if behaviour is not None:
            return getattr(behaviour, "exclusive", True)
        return op.role not in SINGLE_WRITE_ROLES or (
            op.role == "create" and op.resource is not None and self.backend.writes_after_reading(op.resource.entity))

    # -- roles ----------------------------------------------------------------------------------
    def do_create(self, call: Call, extra: dict | None = None) -> Response:
        record = self.backend.create(call.op.resource, {**self.fields(call.body), **(extra or {})})
        return self.render(call.op, record)

    def do_subcreate(self, call: Call) -> Response:
        parent = self.parent_of(call)
        return self.do_create(call, self.backend.records.link(call.op.parent, parent["id"], call.op.resource))

    def do_get(self, call: Call) -> Response:
        return self.render(call.op, self.backend.existing(call.op.resource, call.key()))

    def do_lookup(self, call: Call) -> Response:
        return self.render(call.op, self.backend.existing(call.op.resource, call.key(), call.op.key_field))

    def do_update(self, call: Call) -> Response:
        current = self.parent_of(call)
        return self.render(call.op, self.backend.update(call.op.resource, current["id"], self.fields(call.body)))

    def do_delete(self, call: Call) -> Response:
        resource = call.op.resource
        self.backend.delete(resource, call.key(), self.fields(call.body))
        return self.render(call.op, {"message": f"{resource.entity} deleted", "success": True})

    def do_list(self, call: Call) -> Response:
        return self.page(call.op, call.op.resource, call.params)

    def do_search(self, call: Call) -> Response:
        return self.page(call.op, call.op.resource, self.fields(call.body))

    def do_subcollection(self, call: Call) -> Response:
        parent = self.parent_of(call)
        link = self.backend.records.link(call.op.parent, parent["id"], call.op.resource)
        return self.page(call.op, call.op.resource, call.params, exclude=(call.op.key_param,), under=link)

    def do_bulk(self, call: Call) -> Response:
        body = self.fields(call.body)
        lists = [v for v in body.values() if isinstance(v, list)]
        records = [self.backend.create(call.op.resource, self.fields(item)) for item in (lists[0] if lists else [])]
        return self.render(call.op, {"items": records, **{k: records for k, v in body.items() if isinstance(v, list)}})

    def do_action(self, call: Call) -> Response:
        """The state change the verb names; the answer is the record, or (for a result schema
        such as `CancelSubscriptionResponse`) the record's fields plus `<entity>_id`, the new
        state as `status` and the request's own fields."""
        resource = call.op.resource
        body = self.fields(call.body)
        record, changes = self.backend.act(resource, call.key(), call.op.action, body)
        if self.same_schema(call.op.response_schema, resource.record_schema):
            return self.render(call.op, record)
        state = next((v for k, v in changes.items() if k.endswith("_status")), None)
        result = {**body, **record, resource.foreign_key: record["id"],
                  "message": f"{resource.entity} {call.op.action} done"}
        return self.render(call.op, result, prefer={"status": state} if state is not None else None)

    def do_singleton(self, call: Call) -> Response:
        """`/users/me`: the caller's own user record, with its tenant; PUT merges into it."""
        return self.render(call.op, self.backend.me(self.fields(call.body) if call.body is not None else None))

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
        """A JSON object body as a dict; the endpoint has already rejected other shapes."""
        return dict(body) if isinstance(body, dict) else {}

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
            raise Invalid(call.op.key_param, f"{call.op.key_param} is required")
        return self.backend.existing(owner, key, field)

    def is_view(self, schema: dict | None, resource: Resource) -> bool:
        """`SubscriptionResponseV2` is another view of the `SubscriptionResponse` records."""
        name, record = self.spec.schema_name(schema), self.spec.schema_name(resource.record_schema)
        return bool(name and record and name != record and name.startswith(record))

    @staticmethod
    def paging(filters: dict) -> tuple[int, int]:
        """`limit` 1..1000 (default 50) and `offset` >= 0, as the real server checks them."""
        limit = _bounded_int(filters.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT, "limit")
        return limit, _bounded_int(filters.get("offset"), 0, 0, None, "offset")

    def page(self, op: Operation, resource: Resource | None, filters: dict, exclude: tuple = (),
             under: dict | None = None) -> Response:
        limit, offset = self.paging(filters)
        records = [] if resource is None else self.backend.query(resource, filters, exclude, under)
        shape = self.shape(op, resource)
        if shape.kind == "array":
            return json_response(self.project(records, shape), op.status)
        body = {
            "items": self.project(records[offset: offset + limit], shape),
            "pagination": {"limit": limit, "offset": offset, "total": len(records)},
        }
        return json_response(body, op.status)

    def project(self, records: Sequence[dict], shape: Shape) -> list[dict]:
        if shape.items_as_record:
            return list(records)  # stored records were shaped to this schema when written
        return [self.schemas.conform(r, shape.items) for r in records]

    def same_schema(self, a: dict | None, b: dict | None) -> bool:
        return a is not None and b is not None and self.spec.resolve(a) is self.spec.resolve(b)

    def shape(self, op: Operation, resource: Resource | None = None) -> Shape:
        """The operation's `Shape` against `resource` (its own by default), resolved on first use."""
        resource = resource or op.resource
        key = (op.operation_id, resource.collection if resource is not None else None)
        found = self._shapes.get(key)
        if found is None:
            record = resource.record_schema if resource is not None else None
            schema = op.response_schema
            items = list_item_schema(self.spec, schema) if schema is not None else None
            envelope_of = wrapped(self.spec, schema)
            found = self._shapes[key] = Shape(
                kind=self.spec.resolve(schema).get("type") if schema is not None else None,
                as_record=self.same_schema(schema, record),
                envelope=envelope_of[0] if envelope_of and self.same_schema(envelope_of[1], record) else None,
                items=items,
                items_as_record=self.same_schema(items, record),
            )
        return found

    def render(self, op: Operation, data: dict | None, prefer: dict | None = None) -> Response:
        """The operation's documented success: the record shaped to its schema, or a synthesized
        body where there is no record, or no body at all (204). `prefer` values win where the
        schema accepts them."""
        if op.response_schema is None:
            return Response(status_code=op.status)
        shape = self.shape(op)
        if data is None or shape.kind not in (None, "object"):
            return json_response(self.synth.value(op.response_schema), op.status)
        if shape.as_record:
            return json_response(data, op.status)
        if shape.envelope is not None:
            return json_response({shape.envelope: data}, op.status)  # `{costsheet: {...}}`
        shaped = self.schemas.conform(data, op.response_schema)
        shaped.update(self.schemas.conform(prefer or {}, op.response_schema))
        return json_response(shaped, op.status)


def _bounded_int(value: object, default: int, low: int, high: int | None, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid(name, f"{name} must be an integer") from None
    if number != value and not isinstance(value, str):  # 2.5
        raise Invalid(name, f"{name} must be an integer")
    if number > INT64[1]:  # what the real server's int64 holds, and what the answer can carry
        raise Invalid(name, f"{name} must fit in 64 bits")
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Invalid(name, f"{name} must be {bounds}")
    return number
