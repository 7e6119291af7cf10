"""`Billing`: the billing services wired together over one store and one clock.

Built from the generic record rules (`domain.records.Records`), never from the HTTP layer; the
backend dispatches creates to `creators`, so a fixture subscription gets its line items and
opening invoice like one made by `POST /subscriptions`.
When the clock moves, the subscription period job runs for every period that ended.
"""
from __future__ import annotations

from collections.abc import Callable

from ..records import Records
from .catalogue import Catalogue
from .entitlements import Entitlements
from .invoices import Invoices
from .payments import Payments
from .subscriptions import Subscriptions
from .usage import Usage
from .wallets import Wallets

# The domain events the real server emits for plain creates, updates and deletes.
CHANGE_EVENTS = {
    "customer": {"create": "customer.created", "update": "customer.updated", "delete": "customer.deleted"},
    "feature": {"update": "feature.updated", "delete": "feature.deleted"},
    "entitlement": {"update": "entitlement.updated", "delete": "entitlement.deleted"},
    "subscription": {"update": "subscription.updated"},
    "wallet": {"update": "wallet.updated"},
    "invoice": {"update": "invoice.update"},
}


class Billing:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store, self.clock = records.store, records.clock
        self.usage = Usage(records)
        self.catalogue = Catalogue(records, self.usage)
        self.entitlements = Entitlements(records, self.usage)
        self.invoices = Invoices(records, self.usage, self.entitlements.allowance)
        self.subscriptions = Subscriptions(records, self.catalogue, self.invoices)
        self.wallets = Wallets(records, self.invoices)
        self.payments = Payments(records, self.wallets)
        self.clock.on_move(self.subscriptions.catch_up)
        creators: dict[str, Callable[..., dict]] = {
            "feature": self.catalogue.create_feature, "price": self.catalogue.create_price,
            "entitlement": self.catalogue.create_entitlement, "subscription": self.subscriptions.create,
            "wallet": self.wallets.create, "invoice": self.invoices.create, "payment": self.payments.create,
        }
        self.creators = {entity: create for entity, create in creators.items() if records.has(entity)}

    def tick(self) -> None:
        """Run the period job for periods a running clock has passed (O(1) when none has)."""
        if self.records.has("subscription"):
            self.subscriptions.catch_up(self.clock.now())

    def changed(self, entity: str, verb: str, record: dict) -> None:
        """Record the domain event of a plain create, update, delete or state change; a
        subscription changed outside its service may have a new period end to watch."""
        event_type = CHANGE_EVENTS.get(entity, {}).get(verb)
        if event_type:
            self.records.changed(event_type, entity, record)
        if entity == "subscription":
            self.subscriptions.forget_due()
