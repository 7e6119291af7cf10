"""What a delete does where the real server does more than remove the record: it refuses to
delete a plan or a customer that live subscriptions (or a customer's active wallets) still
depend on, and it ends a price rather than removing it.

Each rule takes the record and the request's body; it raises to refuse the delete, or returns
the record as it stays (a terminated price reads back with its `end_date`); None lets the
delete remove the record.
"""
from __future__ import annotations

from collections.abc import Callable

from ...core.failures import Invalid, InvalidOperation
from ...core.times import parse_instant, stamp, when
from ..records import Records

Rule = Callable[[dict, dict], "dict | None"]


class Deletions:
    def __init__(self, records: Records) -> None:
        self.records = records

    def rules(self) -> dict[str, Rule]:
        return {"plan": self.plan, "customer": self.customer, "price": self.price}

    def plan(self, plan: dict, _body: dict) -> None:
        """A plan any subscription not cancelled is on stays (`plan.go` DeletePlan)."""
        if self._live_subscriptions(plan_id=plan["id"]):
            raise InvalidOperation("plan is still associated with subscriptions", {"plan_id": plan["id"]})

    def customer(self, customer: dict, _body: dict) -> None:
        """A customer with a subscription not cancelled, or an active wallet, stays
        (`customer.go` DeleteCustomer)."""
        if self._live_subscriptions(customer_id=customer["id"]):
            raise InvalidOperation("customer cannot be deleted due to active subscriptions",
                                   {"customer_id": customer["id"]})
        if self.records.where("wallet", customer_id=customer["id"], wallet_status="active"):
            raise InvalidOperation("customer cannot be deleted due to associated wallets",
                                   {"customer_id": customer["id"]})

    def price(self, price: dict, body: dict) -> dict:
        """A price is terminated, not removed: its `end_date` is the request's, or now
        (`price.go` DeletePrice)."""
        if price.get("end_date"):
            raise Invalid("end_date", "price is already terminated")
        end = parse_instant(body["end_date"], "end_date") if body.get("end_date") else self.records.clock.now()
        if price.get("start_date") and when(price["start_date"]) > end:
            raise Invalid("end_date", "end date must be on or after start date")
        return self.records.update("price", price["id"], {"end_date": stamp(end)})

    def _live_subscriptions(self, **equal: object) -> list[dict]:
        return [s for s in self.records.where("subscription", **equal) if s.get("subscription_status") != "cancelled"]
