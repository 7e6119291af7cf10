"""The generic record rules: what every stored record obeys, whatever its resource.

A record is found by id or by an alternate key, and a missing one is `NotFound` worded the one
way; references in a body (`customer_id`, `plan_ids`, `external_customer_id`,
`entity_type`+`entity_id`) must name stored records; a new record gets the fields only the
server sets (id, stamps, tenant) and the first value of each of its `*_status` enums, and is
shaped to its record schema; queries take filters as data. Entities the served spec lacks (the
seed spec has no customers) are absent: `has()` says so and services skip what needs them;
those the services themselves make (`INTERNAL`: meters, line items, invoices, wallet
transactions) are always there.
"""
from __future__ import annotations

from collections.abc import Sequence

from flexprice_spec.document import Spec
from flexprice_spec.resources import ID_PREFIXES, PAGING_FIELDS, Model, Resource

from ..core.failures import NotFound
from ..schemas.checks import Schemas
from ..storage.store import Filter, Store
from .clock import Clock
from .events import Outbox
from .ids import IdFactory
from .lifecycle import Lifecycle

# What the services store whatever paths the served spec has: meters (the public spec has no
# /meters), and the records a subscription, an invoice, a top-up, a credit grant or an add-on
# makes, which a spec may leave without paths of their own. Kept like any record, under the real
# server's prefixes. A credit grant application has no schema here: the spec types its `credits`
# as a JSON number, so it is kept as exact decimal text and written as a number when answered.
INTERNAL = {
    "meter": ("/meters", "MeterResponse"),
    "subscription_lineitem": ("/subscriptions/lineitems", "subscription.SubscriptionLineItem"),
    "invoice": ("/invoices", "InvoiceResponse"),
    "wallet_transaction": ("/wallets/transactions", "WalletTransactionResponse"),
    "creditgrant_application": ("/creditgrants/applications", None),
    "addon_association": ("/addons/associations", "AddonAssociationResponse"),
}


class Records:
    def __init__(self, spec: Spec, model: Model, schemas: Schemas, store: Store, lifecycle: Lifecycle,
                 outbox: Outbox) -> None:
        self.spec, self.model, self.schemas, self.store = spec, model, schemas, store
        self.lifecycle = lifecycle
        self.clock: Clock = lifecycle.clock
        self.ids: IdFactory = lifecycle.ids
        self.outbox = outbox
        self.resources = {r.entity: r for r in model.resources.values()}
        for entity, (collection, schema) in INTERNAL.items():
            self.resources.setdefault(entity, Resource(collection, entity, ID_PREFIXES[entity], self.schema(schema)))

    def has(self, entity: str) -> bool:
        return entity in self.resources

    def resource(self, entity: str) -> Resource:
        return self.resources[entity]

    # -- reading --------------------------------------------------------------------------------
    def lookup(self, resource: Resource, field: str, value: object) -> dict | None:
        """The record of `resource` whose `field` is `value` (by id in O(1))."""
        if not isinstance(value, str) or not value:
            return None
        if field == "id":
            return self.store.get(resource.collection, value)
        return self.store.find(resource.collection, field, value)

    def existing(self, resource: Resource, key: object, field: str = "id", named: str | None = None) -> dict:
        """The record, or `NotFound` naming where the key came from (`named`: the request field;
        `field` itself by default)."""
        record = self.lookup(resource, field, key)
        if record is None:
            raise NotFound(resource.entity, str(key or ""), named or field)
        return record

    def get(self, entity: str, record_id: object) -> dict | None:
        return self.lookup(self.resources[entity], "id", record_id) if entity in self.resources else None

    def find(self, entity: str, field: str, value: object) -> dict | None:
        return self.lookup(self.resources[entity], field, value) if entity in self.resources else None

    def require(self, entity: str, key: object, field: str = "id", named: str | None = None) -> dict:
        """The record whose `field` is `key`, or `NotFound` naming the request field `named`
        (`customer_id` by default for a customer's id)."""
        if entity not in self.resources:
            raise NotFound(entity, str(key or ""), named or field)
        return self.existing(self.resources[entity], key, field, named or (f"{entity}_id" if field == "id" else field))

    def where(self, entity: str, **equal: object) -> list[dict]:
        """Records whose fields equal the given values, oldest first (filters as data)."""
        if entity not in self.resources:
            return []
        return list(reversed(self.store.select(self.resources[entity].collection, Filter(list(equal.items())))))

    def query(self, resource: Resource, filters: dict, exclude: tuple = (), under: dict | None = None) -> Sequence[dict]:
        """Records the filters select, newest first: through a unique-key index when a filter
        names one (`external_id`), else in one pass over the resource. `under` (a `link`) keeps
        a sub-collection's records to its parent's, whatever the filters say."""
        predicate = self.predicate(resource, filters, exclude, under)
        for key in resource.unique_keys:
            value = filters.get(key)
            if key not in exclude and isinstance(value, str) and value:
                found = self.store.find(resource.collection, key, value)
                return [found] if found is not None and (predicate is None or predicate(found)) else []
        return self.store.select(resource.collection, predicate)

    def predicate(self, resource: Resource, filters: dict, exclude: tuple, under: dict | None = None) -> Filter | None:
        """Equality for fields the record has, membership for id lists (`plan_ids`); an
        `external_customer_id` filter matches the `customer_id` of that customer."""
        props = self.spec.properties(resource.record_schema)
        tests = list((under or {}).items())
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

    def link(self, parent: Resource, parent_id: str, child: Resource) -> dict:
        """The fields that tie a child record to its parent: the parent's foreign key
        (`plan_id`) where the child's schema has it, else the `entity_type` and `entity_id` pair
        the real server uses (an add-on's entitlements: `ADDON`, the add-on's id). A child with
        neither is tied by the foreign key anyway, so it never lists under another parent."""
        props = self.spec.properties(child.record_schema)
        if parent.foreign_key not in props and {"entity_type", "entity_id"} <= props.keys():
            return {"entity_type": parent.entity.upper(), "entity_id": parent_id}
        return {parent.foreign_key: parent_id}

    # -- writing --------------------------------------------------------------------------------
    def check_references(self, fields: dict) -> dict:
        """The records `fields` name must exist: `NotFound` naming the field otherwise (the real
        server answers 404 for these). Returns the ids that external keys resolve to:
        `{customer_id: ...}` for `external_customer_id`."""
        resolved = {}
        for name, value in fields.items():
            target = self.model.reference_target(fields, name)
            if target is None:
                continue
            resource, field = target
            for one in value if isinstance(value, list) else [value]:
                found = self.lookup(resource, field, one)
                if isinstance(one, str) and one and found is None:
                    raise NotFound(resource.entity, one, name)
                if found is not None and field != "id" and not fields.get(resource.foreign_key):
                    resolved[resource.foreign_key] = found["id"]
        return resolved

    def new(self, entity: str, fields: dict, record_id: str | None = None) -> dict:
        """A record created as `POST` creates one; `record_id` keeps a fixture's own id."""
        return self.create_record(self.resources[entity], fields, record_id)

    def create_record(self, resource: Resource, fields: dict, record_id: str | None = None) -> dict:
        """References checked, server fields set, shaped to the record schema, stored."""
        fields = {**fields, **self.check_references(fields)}
        now = self.clock.stamp()
        tenant = self.lifecycle.tenant
        server = {
            "id": record_id or self.ids.new(resource.prefix),
            "created_at": now,
            "updated_at": now,
            "status": "published",
            "tenant_id": tenant.tenant_id,
            "environment_id": tenant.environment_id,
            "created_by": tenant.user_id,
            "updated_by": tenant.user_id,
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

    def update(self, entity: str, record_id: str, changes: dict) -> dict:
        return self.change(self.resources[entity], record_id, changes)

    def change(self, resource: Resource, record_id: str, changes: dict) -> dict:
        """`changes` shaped to the record schema and stamped, merged into the stored record."""
        shaped = self.schemas.conform({**changes, "updated_at": self.clock.stamp()}, resource.record_schema)
        return self.store.update(resource.collection, record_id, shaped)

    def changed(self, event_type: str, entity: str, payload: dict) -> dict:
        """The domain event of a change, in the outbox."""
        return self.outbox.record(event_type, entity, payload)

    # -- schemas --------------------------------------------------------------------------------
    def shaped(self, value: dict, schema: dict | None) -> dict:
        return self.schemas.conform(value, schema)

    def schema(self, name: str | None) -> dict | None:
        return {"$ref": f"#/components/schemas/{name}"} if name in self.spec.schemas else None
