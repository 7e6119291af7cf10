"""`Billing`: the billing services wired together over one store and one clock.

Built from the generic record rules (`domain.records.Records`), never from the HTTP layer; the
backend dispatches creates to `creators`, so a fixture subscription gets its line items and
opening invoice like one made by `POST /subscriptions`; the numbers of a price, wallet, invoice or
payment create are fitted to the real server's columns first (`bounds.py`).
When the clock moves, the subscription period job runs for every period that ended, then the
credit grant applications that came due.
"""
from __future__ import annotations

from collections.abc import Callable

from ..records import Records
from .addons import Addons
from .bounds import bounded
from .cancellations import Cancellations
from .catalogue import Catalogue
from .coupons import Coupons
from .credit_notes import CreditNotes
from .credits import PrepaidCredits
from .deletions import Deletions
from .entitlements import Entitlements
from .grant_applications import GrantApplications
from .grants import Grants
from .invoices import Invoices
from .payments import Payments
from .plan_changes import PlanChanges
from .proration import Prorations
from .subscription_views import SubscriptionViews
from .subscriptions import Subscriptions
from .taxes import Taxes
from .usage import Usage
from .wallets import Wallets

# The domain events the real server emits for plain creates, updates and deletes.
CHANGE_EVENTS = {
    "customer": {"update": "customer.updated", "delete": "customer.deleted"},
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
        self.coupons = Coupons(records)
        self.taxes = Taxes(records)
        # Wallets read invoice lines for their real-time balance, and finalizing an invoice draws
        # on wallets: the credits reach the wallets through this call, made once both exist.
        self.credits = PrepaidCredits(records, lambda wallet, amount, fields: self.wallets.debit(wallet, amount, fields))
        self.invoices = Invoices(records, self.usage, self.entitlements.allowance, self.coupons, self.taxes, self.credits)
        self.subscriptions = Subscriptions(records, self.catalogue, self.invoices, self.coupons, self.taxes)
        self.wallets = Wallets(records, self.invoices)
        self.payments = Payments(records, self.wallets)
        self.credit_notes = CreditNotes(records, self.wallets, self.invoices)
        self.prorations = Prorations(records)
        self.grant_applications = GrantApplications(records, self.wallets)
        self.grants = Grants(records, self.grant_applications)
        self.addons = Addons(records, self.grants, self.prorations, self.invoices, self.wallets,
                             self.entitlements.granted_by)
        self.cancellations = Cancellations(records, self.subscriptions, self.invoices, self.prorations, self.wallets)
        self.plan_changes = PlanChanges(records, self.subscriptions, self.cancellations, self.prorations)
        self.subscription_views = SubscriptionViews(records, self.subscriptions, self.grants)
        self.subscriptions.on_start(self.addons.starting)  # the server attaches add-ons before copying grants
        self.subscriptions.on_start(self.grants.starting)
        self.subscriptions.on_end(self.addons.end_all)
        self.subscriptions.on_end(lambda subscription, at, reason: self.grants.end_for(subscription, at))
        self.clock.on_move(self.subscriptions.catch_up)
        self.clock.on_move(lambda now: self.grant_applications.catch_up(now, retry=True))
        creators: dict[str, Callable[..., dict]] = {
            "feature": self.catalogue.create_feature, "price": bounded("price", self.catalogue.create_price),
            "entitlement": self.catalogue.create_entitlement, "subscription": self.subscriptions.create,
            "wallet": bounded("wallet", self.wallets.create), "invoice": bounded("invoice", self.invoices.create),
            "payment": bounded("payment", self.payments.create),
            "customer": self.taxes.create_customer, "coupon": self.coupons.create, "tax_rate": self.taxes.create_rate,
            "tax_association": self.taxes.create_association, "creditnote": self.credit_notes.create,
            "creditgrant": self.grants.create,
        }
        self.creators = {entity: create for entity, create in creators.items() if records.has(entity)}
        self.delete_rules = {entity: rule for entity, rule in Deletions(records).rules().items() if records.has(entity)}
        # Creates that read what they write against (a subscription its plan's prices, a credit
        # note its invoice's limit); a customer's tax links are copies no other write disturbs.
        self.exclusive = frozenset(self.creators) - {"customer"}

    def tick(self) -> None:
        """Run the period job for periods a running clock has passed (O(1) when none has)."""
        now = self.clock.now()
        if self.records.has("subscription"):
            self.subscriptions.catch_up(now)
            self.grant_applications.catch_up(now)

    def changed(self, entity: str, verb: str, record: dict) -> None:
        """Record the domain event of a plain create, update, delete or state change; a
        subscription changed outside its service may have a new period end to watch."""
        event_type = CHANGE_EVENTS.get(entity, {}).get(verb)
        if event_type:
            self.records.changed(event_type, entity, record)
        if entity == "subscription":
            self.subscriptions.forget_due()
