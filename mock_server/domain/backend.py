"""The backend: the one domain object under the HTTP layer, as moto's backends are.

Built from a spec model and a replica (the store with this process's clock, ids, lifecycle,
outbox and API keys), it holds every rule the mock applies: the generic record rules
(`records.Records`), the billing services (`billing.engine.Billing`) and API keys. Handlers, fixtures, the admin endpoints and the in-process runner all act
through it; it knows nothing of HTTP and raises `core.failures` only.
"""
from __future__ import annotations

from collections.abc import Sequence

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Resource

from ..schemas.checks import Schemas
from . import snapshots
from .billing.engine import Billing
from .keys import checked_kind, expiry
from .lifecycle import Tenant
from .records import Records
from .replica import Replica

# Verbs whose target state the spec's own enums hold: `cancel` -> `subscription_status: cancelled`.
ACTION_TARGETS = {
    "cancel": ("cancelled", "canceled"),
    "activate": ("active",),
    "void": ("voided",),
    "finalize": ("finalized",),
    "terminate": ("closed", "terminated"),
    "process": ("succeeded",),
}
DEV_EMAIL = "dev@flexprice-mock.local"


class Backend:
    def __init__(self, spec: Spec, model: Model, replica: Replica, schemas: Schemas | None = None) -> None:
        self.spec, self.model, self.replica = spec, model, replica
        self.store, self.clock, self.ids = replica.store, replica.clock, replica.ids
        self.lifecycle, self.outbox, self.keys = replica.lifecycle, replica.outbox, replica.keys
        self.schemas = schemas or Schemas(spec)
        self.records = Records(spec, model, self.schemas, replica.store, replica.lifecycle, replica.outbox)
        self.billing = Billing(self.records)
        self.lifecycle.on_reset(self.bootstrap)

    @property
    def tenant(self) -> Tenant:
        return self.lifecycle.tenant

    def bootstrap(self) -> None:
        """The tenant and the user that every API key acts as, readable like any record."""
        now, tenant = self.clock.stamp(), self.tenant
        known = {"tenant": {"id": tenant.tenant_id, "name": "flexprice-mock"},
                 "user": {"id": tenant.user_id, "email": DEV_EMAIL, "type": "user", "tenant_id": tenant.tenant_id}}
        for resource in self.model.resources.values():
            if resource.entity in known:
                record = {**known[resource.entity], "status": "published", "created_at": now, "updated_at": now}
                self.store.insert(resource.collection,
                                  self.schemas.conform(record, resource.record_schema) | {"id": record["id"]})

    # -- the request's frame --------------------------------------------------------------------
    def catch_up(self) -> None:
        """At the start of a request: what other processes did, then the period job for periods
        a running clock has passed (O(1) when none has)."""
        self.lifecycle.sync()
        self.billing.tick()

    def reset(self) -> None:
        self.lifecycle.reset()

    def snapshot(self) -> dict:
        """The whole state as one versioned JSON document (`snapshots.py`)."""
        return snapshots.take(self.lifecycle)

    def restore(self, snapshot: object) -> dict[str, int]:
        """Back to a `snapshot()`, as a reset would go back to the start-up state; the records
        restored by resource. `Invalid` names what is wrong with a snapshot this mock refuses."""
        collections = {resource.collection for resource in self.records.resources.values()}
        return snapshots.restore(self.lifecycle, snapshot, collections)

    def writes_after_reading(self, entity: str | None) -> bool:
        """Whether creating `entity` reads what it writes against (a subscription reads its plan's
        prices, a wallet the customer's other wallets): such creates run one at a time across
        every process sharing the store."""
        return entity in self.billing.exclusive

    # -- records --------------------------------------------------------------------------------
    def existing(self, resource: Resource, key: object, field: str = "id") -> dict:
        return self.records.existing(resource, key, field)

    def query(self, resource: Resource, filters: dict, exclude: tuple = (), under: dict | None = None) -> Sequence[dict]:
        return self.records.query(resource, filters, exclude, under)

    def create(self, resource: Resource, fields: dict, record_id: str | None = None) -> dict:
        """A new record the way the real server makes one: through its billing service where
        the domain has rules for it (features, prices, subscriptions, ...), else plainly."""
        create = self.billing.creators.get(resource.entity)
        if create is not None:
            return create(fields, record_id)
        record = self.records.create_record(resource, fields, record_id)
        self.billing.changed(resource.entity, "create", record)
        return record

    def update(self, resource: Resource, record_id: str, changes: dict) -> dict:
        """A plain update: references checked, then merged, stamped and shaped."""
        self.records.check_references(changes)
        record = self.records.change(resource, record_id, changes)
        self.billing.changed(resource.entity, "update", record)
        return record

    def delete(self, resource: Resource, key: str, body: dict | None = None) -> dict:
        """The record removed, unless a billing rule refuses the delete or keeps the record
        another way (`billing.deletions`: a price is terminated and read back ended)."""
        rule = self.billing.delete_rules.get(resource.entity)
        if rule is not None:
            kept = rule(self.records.existing(resource, key), body or {})
            if kept is not None:
                return kept
        record = self.store.delete(resource.collection, key)
        if record is None:
            self.records.existing(resource, key)  # raises the one NotFound
        self.billing.changed(resource.entity, "delete", record)
        return record

    def act(self, resource: Resource, key: str, action: str, body: dict) -> tuple[dict, dict]:
        """Apply the state change the verb names: the record after it, and the changes made."""
        record = self.records.existing(resource, key)
        changes = self.transition(resource, action, body)
        if changes:
            record = self.store.update(resource.collection, record["id"], changes)
            self.billing.changed(resource.entity, "update", record)
        return record, changes

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

    def me(self, changes: dict | None = None) -> dict:
        """The caller's own user record, with its tenant; `changes` merged into it."""
        users = self.model.resource_for_key("user_id")
        tenants = self.model.resource_for_key("tenant_id")
        tenant = self.tenant
        me = self.store.get(users.collection, tenant.user_id) if users else None
        if me is None:
            me = {"id": tenant.user_id, "email": DEV_EMAIL}
        elif changes is not None:
            shaped = self.schemas.conform(changes, users.record_schema)
            me = self.store.update(users.collection, me["id"], {**shaped, "updated_at": self.clock.stamp()})
        found = self.store.get(tenants.collection, tenant.tenant_id) if tenants else None
        return {**me, "tenant": found} if found else me

    # -- API keys -------------------------------------------------------------------------------
    def authenticate(self, raw: str | None) -> bool:
        """Whether `raw` is a live key. On a shared store a refused key is tried once more after
        catching up with the other processes: a state found lost (a flushed or restarted Redis)
        is set up again first, bootstrap keys included, so they never stay refused."""
        if self.keys.authenticate(raw):
            return True
        if not raw or not self.store.shared:
            return False
        self.lifecycle.sync()
        return self.keys.authenticate(raw)

    def create_api_key(self, resource: Resource, fields: dict, schema: dict | None) -> tuple[str, dict]:
        """A secret and its raw key (`sk_<ULID>`/`pk_<ULID>`), the one time the key is seen;
        the store keeps its hash only."""
        kind = checked_kind(fields.get("type"))
        expires = expiry(fields.get("expires_at"))
        secret_id = self.ids.new("secret")
        raw = self.keys.issue(kind, secret_id, expires)
        now = self.clock.stamp()
        secret = {
            "id": secret_id,
            "name": fields.get("name"),
            "type": kind,
            "display_id": f"{raw[:5]}***{raw[-2:]}",
            "provider": "flexprice",
            "status": "published",
            "created_at": now,
            "updated_at": now,
            "user_type": "service_account" if fields.get("service_account_id") else "user",
            "roles": [],
            **({"expires_at": fields["expires_at"]} if fields.get("expires_at") else {}),
        }
        return raw, self.store.insert(resource.collection, self.schemas.conform(secret, schema))

    def delete_api_key(self, resource: Resource, key: str) -> None:
        self.delete(resource, key)
        self.keys.revoke(key)
