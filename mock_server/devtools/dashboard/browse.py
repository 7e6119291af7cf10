"""Browsing what the store holds, resource by resource: counts, pages newest first, search by id
and external id, one record with the records it points at and those that point at it.

Every resource the billing services know is listed (`Records.resources`: the served spec's and
the internal ones, such as meters, line items and wallet transactions). Relations follow the
naming the records use: a field `customer_id` points at a customer, `entity_id` at the record
its `entity_type` names (a plan price's plan). A page reads its slice only; a text search that is
neither an id nor an external id scans the newest `SCAN_LIMIT` records of the resource.
"""
from __future__ import annotations

from dataclasses import dataclass

from flexprice_spec.resources import Resource

from ...domain.records import Records
from ...storage.store import Filter

PAGE = 25
SCAN_LIMIT = 10_000
RELATED_SHOWN = 20
LABELS = ("name", "display_name", "invoice_number", "lookup_key", "event_name", "email", "type")
STATUSES = ("subscription_status", "invoice_status", "wallet_status", "transaction_status", "payment_status", "status")
SEARCHED = ("id", "external_id", "name", "lookup_key", "email", "invoice_number")


@dataclass(slots=True)
class Row:
    """A record as a list shows it."""

    id: str
    label: str
    status: str
    created_at: str


@dataclass(slots=True)
class Related:
    entity: str
    field: str
    rows: list[Row]
    count: int


class Browser:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store
        self.resources: dict[str, Resource] = dict(sorted(records.resources.items()))
        self.pointing = {resource.foreign_key: entity for entity, resource in self.resources.items()}

    def counts(self) -> list[tuple[str, Resource, int]]:
        return [(entity, resource, len(self.store.select(resource.collection)))
                for entity, resource in self.resources.items()]

    def page(self, entity: str, query: str = "", number: int = 1) -> tuple[list[Row], int]:
        """One page of `entity`'s records, newest first, matching `query` if given, and how
        many match in all."""
        collection = self.resources[entity].collection
        if query:
            found = self.search_in(entity, query)
            return [row(r) for r in found[(number - 1) * PAGE:number * PAGE]], len(found)
        stored = self.store.select(collection)
        return [row(r) for r in stored[(number - 1) * PAGE:number * PAGE]], len(stored)

    def search_in(self, entity: str, query: str) -> list[dict]:
        """By id, then external id, then text in the usual naming fields."""
        collection = self.resources[entity].collection
        exact = self.store.get(collection, query) or self.store.find(collection, "external_id", query)
        if exact is not None:
            return [exact]
        needle = query.lower()
        return [r for r in self.store.select(collection)[:SCAN_LIMIT]
                if any(needle in str(r.get(name) or "").lower() for name in SEARCHED)]

    def find_anywhere(self, query: str) -> list[tuple[str, dict]]:
        """Records of any resource whose id or external id is `query`."""
        found = []
        for entity, resource in self.resources.items():
            record = self.store.get(resource.collection, query) or self.store.find(resource.collection, "external_id", query)
            if record is not None:
                found.append((entity, record))
        return found

    def record(self, entity: str, record_id: str) -> dict | None:
        return self.records.get(entity, record_id) if entity in self.resources else None

    def references(self, record: dict) -> list[tuple[str, str, str, bool]]:
        """(field, entity, id, whether it exists) for each field naming another record."""
        found = []
        for name, value in record.items():
            if not isinstance(value, str) or not value or not name.endswith("_id"):
                continue
            entity = self.pointing.get(name)
            if name == "entity_id":
                entity = str(record.get("entity_type") or "").lower()
            if entity in self.resources:
                found.append((name, entity, value, self.records.get(entity, value) is not None))
        return found

    def referenced_by(self, entity: str, record: dict) -> list[Related]:
        """Every resource's records that point at this one, by the field they use."""
        own = self.resources[entity].foreign_key
        related = []
        for other, resource in self.resources.items():
            for name in (own, "entity_id"):
                found = self.store.select(resource.collection, Filter([(name, record["id"])]))
                if name == "entity_id":
                    found = [r for r in found if str(r.get("entity_type") or "").lower() == entity]
                if found:
                    related.append(Related(other, name, [row(r) for r in found[:RELATED_SHOWN]], len(found)))
        return related

    def periods(self, subscription: dict) -> list[dict]:
        """A subscription's billing periods so far: the invoices that bill each, oldest first."""
        invoices = self.records.where("invoice", subscription_id=subscription["id"])
        return sorted(invoices, key=lambda i: (i.get("period_start") or "", i.get("created_at") or ""))


def row(record: dict) -> Row:
    label = next((str(record[name]) for name in LABELS if record.get(name)), str(record.get("external_id") or ""))
    status = next((str(record[name]) for name in STATUSES if record.get(name)), "")
    return Row(str(record.get("id", "")), label, status, str(record.get("created_at") or ""))
