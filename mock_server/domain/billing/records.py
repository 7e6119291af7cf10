"""The stored records the billing services read and write, by entity name (`customer`,
`subscription_lineitem`), over the one store.

It knows the resource model (which collection holds an entity, its id prefix, the schema its
records follow) and nothing of HTTP. Entities the served spec lacks (the seed spec has no
customers) are absent: `has()` says so and services skip what needs them; those the services
themselves make (`INTERNAL`: meters, line items, invoices, wallet transactions) are always there.
"""
from __future__ import annotations

from flexprice_spec.resources import ID_PREFIXES, Resource

from ...core.failures import NotFound
from ...storage.store import Filter

# What the services store whatever paths the served spec has: meters (the public spec has no
# /meters), and the records a subscription, an invoice or a top-up makes, which a spec may leave
# without paths of their own. Kept like any record, under the real server's prefixes.
INTERNAL = {
    "meter": ("/meters", "MeterResponse"),
    "subscription_lineitem": ("/subscriptions/lineitems", "subscription.SubscriptionLineItem"),
    "invoice": ("/invoices", "InvoiceResponse"),
    "wallet_transaction": ("/wallets/transactions", "WalletTransactionResponse"),
}


class Records:
    def __init__(self, api) -> None:
        self._api = api
        self.spec = api.spec
        self.resources = {r.entity: r for r in api.model.resources.values()}
        for entity, (collection, schema) in INTERNAL.items():
            self.resources.setdefault(entity, Resource(collection, entity, ID_PREFIXES[entity], self.schema(schema)))
        self.clock = api.store.clock
        self.store = api.store

    def has(self, entity: str) -> bool:
        return entity in self.resources

    def resource(self, entity: str) -> Resource:
        return self.resources[entity]

    def new(self, entity: str, fields: dict, record_id: str | None = None) -> dict:
        """A record created as `POST` creates one: references checked, server fields set,
        shaped to the record schema; `record_id` keeps a fixture's own id."""
        return self._api.create_record(self.resources[entity], fields, record_id)

    def get(self, entity: str, record_id: object) -> dict | None:
        if entity not in self.resources or not isinstance(record_id, str) or not record_id:
            return None
        return self.store.get(self.resources[entity].collection, record_id)

    def require(self, entity: str, key: object, field: str = "id", named: str | None = None) -> dict:
        """The record whose `field` is `key`, or a 404 naming the request field `named`
        (`customer_id` by default for a customer's id)."""
        record = self.get(entity, key) if field == "id" else self.find(entity, field, key)
        if record is None:
            raise NotFound(entity, str(key or ""), named or (f"{entity}_id" if field == "id" else field))
        return record

    def find(self, entity: str, field: str, value: object) -> dict | None:
        if entity not in self.resources or value in (None, ""):
            return None
        return self.store.find(self.resources[entity].collection, field, value)

    def update(self, entity: str, record_id: str, changes: dict) -> dict:
        resource = self.resources[entity]
        shaped = self._api.schemas.conform({**changes, "updated_at": self.clock.stamp()}, resource.record_schema)
        return self.store.update(resource.collection, record_id, shaped)

    def where(self, entity: str, **equal: object) -> list[dict]:
        """Records whose fields equal the given values, oldest first (filters as data)."""
        if entity not in self.resources:
            return []
        return list(reversed(self.store.select(self.resources[entity].collection, Filter(list(equal.items())))))

    def shaped(self, value: dict, schema: dict | None) -> dict:
        return self._api.schemas.conform(value, schema)

    def schema(self, name: str) -> dict | None:
        return {"$ref": f"#/components/schemas/{name}"} if name in self.spec.schemas else None
