"""Taxes: tax rates, their associations with the tenant, customers and subscriptions, and the
tax an invoice owes, as the real server's tax service computes it (`internal/ee/service/tax.go`).

A rate is `percentage` (0-100) or `fixed` (a flat amount per invoice), created ACTIVE with a
unique `code` (`internal/api/dto/taxrate.go`). An association names a rate by code and an
entity; `external_customer_id` makes it the customer's; `auto_apply` is false unless sent true
(`internal/api/dto/taxassociation.go`). A new customer without `tax_rate_overrides` copies the
tenant's auto-apply associations (`customer.go`), a new subscription its customer's
(`subscription.go` handleTaxRateLinking); with overrides, those are made instead (and an empty
list makes none). A subscription invoice is taxed at the subscription's auto-apply rates; a
one-off invoice at its `tax_rate_overrides` (by code) or `tax_rates` (by id), or when those name
none, at its subscription's auto-apply rates if it has a subscription. The taxable base
is `subtotal - total_discount` (never below 0: prepaid credits do not reduce it); each rate's
tax is rounded on its own, and a stored invoice keeps one `taxes` record per rate.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal

from ...core.failures import Conflict, Invalid, NotFound, Refused
from ...core.times import parse_instant, stamp
from ..records import Records
from . import money
from .money import ZERO, rounded, text

RATE_TYPES = ("percentage", "fixed")
RATE_UPDATES = ("name", "code", "description", "metadata", "tax_rate_status")


class Taxes:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.clock = records.clock

    # -- rates ----------------------------------------------------------------------------------
    def create_rate(self, fields: dict, record_id: str | None = None) -> dict:
        """`POST /taxes/rates`, refused as `CreateTaxRateRequest.Validate` refuses; ACTIVE."""
        kind = fields.get("tax_rate_type")
        if kind not in RATE_TYPES:
            raise Invalid("tax_rate_type", "tax_rate_type must be either percentage or fixed")
        percentage, fixed = (_optional(fields, name) for name in ("percentage_value", "fixed_value"))
        if kind == "percentage" and (percentage is None or not 0 <= percentage <= 100):
            raise Invalid("percentage_value", "percentage_value is required and must be in the range 0-100")
        if kind == "fixed" and (fixed is None or fixed < 0):
            raise Invalid("fixed_value", "fixed_value is required and cannot be negative")
        if percentage is not None and fixed is not None:
            raise Invalid("fixed_value", "percentage_value and fixed_value cannot be provided together")
        self._code_free(fields.get("code"))
        rate = {**fields, "scope": fields.get("scope") or "INTERNAL", "tax_rate_status": "ACTIVE",
                "percentage_value": text(percentage) if percentage is not None else None,
                "fixed_value": text(fixed) if fixed is not None else None}
        return self.records.new("tax_rate", {k: v for k, v in rate.items() if v is not None}, record_id)

    def _code_free(self, code: object, rate_id: str | None = None) -> None:
        found = self.records.find("tax_rate", "code", code)
        if found is not None and found["id"] != rate_id:
            raise Conflict("code", code, "a tax rate")

    def update_rate(self, rate_id: str, changes: dict) -> dict:
        """`PUT /taxes/rates/{id}`: refused once the rate is associated or was applied to an
        invoice; only non-empty fields change."""
        rate = self.records.require("tax_rate", rate_id, named="id")
        if self.records.where("tax_association", tax_rate_id=rate_id):
            raise Refused("tax rate is being used in tax assignments, cannot update", {"tax_rate_id": rate_id})
        if any(t.get("tax_rate_id") == rate_id for i in self.records.where("invoice") for t in i.get("taxes") or []):
            raise Refused("tax rate is being used in tax applied records, cannot update", {"tax_rate_id": rate_id})
        wanted = {k: v for k, v in changes.items() if k in RATE_UPDATES and v not in (None, "", {})}
        if "code" in wanted:
            self._code_free(wanted["code"], rate["id"])
        return self.records.update("tax_rate", rate["id"], wanted)

    def delete_rate(self, rate_id: str) -> dict:
        """`DELETE /taxes/rates/{id}`: refused while any association names the rate."""
        rate = self.records.require("tax_rate", rate_id, named="id")
        if self.records.where("tax_association", tax_rate_id=rate_id):
            raise Refused("tax rate has active associations, cannot delete", {"tax_rate_id": rate_id})
        return self.records.store.delete(self.records.resource("tax_rate").collection, rate["id"])

    def _active_rate(self, code: object, field: str) -> dict:
        rate = self.records.find("tax_rate", "code", code)
        if rate is None:
            raise NotFound("tax_rate", str(code or ""), field)
        if rate.get("tax_rate_status") != "ACTIVE":
            raise Invalid(field, f"tax rate {code} is not active")
        return rate

    # -- associations ---------------------------------------------------------------------------
    def create_association(self, fields: dict, record_id: str | None = None) -> dict:
        """`POST /taxes/associations` (`CreateTaxAssociation`): the rate by code, active; an
        `external_customer_id` names the customer; starts now unless told."""
        if not fields.get("tax_rate_code"):
            raise Invalid("tax_rate_code", "tax_rate_code is required")
        if (fields.get("priority") or 0) < 0:
            raise Invalid("priority", "priority cannot be less than 0")
        start = parse_instant(fields["start_date"], "start_date") if fields.get("start_date") else self.clock.now()
        end = parse_instant(fields["end_date"], "end_date") if fields.get("end_date") else None
        if fields.get("start_date") and end is not None and end <= start:
            raise Invalid("end_date", "end_date must be after start_date")
        entity_type, entity_id = fields.get("entity_type") or "", fields.get("entity_id") or ""
        if fields.get("external_customer_id"):
            customer = self.records.require("customer", fields["external_customer_id"], "external_id", "external_customer_id")
            if entity_id and entity_id != customer["id"]:
                raise Invalid("entity_id", "entity_id and external_customer_id point to different customers")
            entity_type, entity_id = "customer", customer["id"]
        rate = self._active_rate(fields["tax_rate_code"], "tax_rate_code")
        return self.records.new("tax_association", {
            "tax_rate_id": rate["id"], "entity_type": entity_type, "entity_id": entity_id,
            "priority": fields.get("priority") or 0, "auto_apply": fields.get("auto_apply") is True,
            "currency": fields.get("currency") or "", "metadata": fields.get("metadata"),
            "start_date": stamp(start), **({"end_date": stamp(end)} if end else {}),
        }, record_id)

    def planned(self, overrides: list | None, parent_type: str, parent_id: str,
                field: str = "tax_rate_overrides") -> list[dict]:
        """The associations a new customer or subscription is to get, checked before it is
        stored: its `overrides`, or (when there are none at all) copies of its parent's
        published auto-apply ones; each rate must exist and be active."""
        if overrides is None:
            planned = []
            for association in self.records.where("tax_association", entity_type=parent_type, entity_id=parent_id):
                if association.get("auto_apply") is True and association.get("status", "published") == "published":
                    rate = self.records.require("tax_rate", association.get("tax_rate_id"), named="tax_rate_id")
                    planned.append({"tax_rate_code": rate["code"], "priority": association.get("priority") or 0,
                                    "auto_apply": True, "currency": association.get("currency"),
                                    "metadata": association.get("metadata")})
        else:
            planned = []
            for index, override in enumerate(overrides):
                for name in ("tax_rate_code", "currency"):
                    if not override.get(name):
                        raise Invalid(f"{field}[{index}].{name}", f"{name} is required")
                if (override.get("priority") or 0) < 0:
                    raise Invalid(f"{field}[{index}].priority", "priority cannot be less than 0")
                planned.append({k: override.get(k) for k in ("tax_rate_code", "priority", "auto_apply", "currency",
                                                              "metadata")})
        for index, plan in enumerate(planned):
            self._active_rate(plan["tax_rate_code"], f"{field}[{index}].tax_rate_code")
        return planned

    def link(self, entity_type: str, entity_id: str, planned: list[dict]) -> list[dict]:
        """The planned associations, made for the entity (`LinkTaxRatesToEntity`)."""
        return [self.create_association({**plan, "entity_type": entity_type, "entity_id": entity_id})
                for plan in planned]

    def create_customer(self, fields: dict, record_id: str | None = None) -> dict:
        """`POST /customers`: the customer with its tax links (`tax_rate_overrides`, else the
        tenant's auto-apply associations), then `customer.created`."""
        tenant_id = self.records.lifecycle.tenant.tenant_id
        planned = self.planned(fields.get("tax_rate_overrides"), "tenant", tenant_id)
        customer = self.records.new("customer", fields, record_id)
        self.link("customer", customer["id"], planned)
        self.records.changed("customer.created", "customer", customer)
        return customer

    # -- what an invoice owes -------------------------------------------------------------------
    def subscription_rates(self, subscription_id: str) -> list[dict]:
        """The rates of the subscription's auto-apply associations, each once."""
        rates: dict[str, dict] = {}
        for association in self.records.where("tax_association", entity_type="subscription", entity_id=subscription_id):
            rate = self.records.get("tax_rate", association.get("tax_rate_id")) if association.get("auto_apply") is True else None
            if rate is not None:
                rates.setdefault(rate["id"], rate)
        return list(rates.values())

    def one_off_rates(self, fields: dict) -> list[dict]:
        """A one-off invoice's rates: those whose code its `tax_rate_overrides` name (unknown
        codes are passed over), else each of its `tax_rates` ids (404 for an unknown one); when
        that names none and the invoice has a `subscription_id`, the subscription's auto-apply
        rates, as `applyTaxesToInvoice` falls back to them (an add-on's proration charge is
        taxed so)."""
        overrides = fields.get("tax_rate_overrides") or []
        if overrides:
            codes = {o.get("tax_rate_code") for o in overrides}
            rates = [rate for rate in self.records.where("tax_rate") if rate.get("code") in codes]
        else:
            rates = [self.records.require("tax_rate", rate_id, named="tax_rates")
                     for rate_id in fields.get("tax_rates") or []]
        if not rates and fields.get("subscription_id"):
            return self.subscription_rates(str(fields["subscription_id"]))
        return rates

    def apply(self, invoice: dict, rates: list[dict], stored: bool) -> None:
        """Set `total_tax` and `taxes` on `invoice` (nothing when there are no rates, as the
        server leaves an invoice without rates alone): each rate's tax on `subtotal -
        total_discount`, rounded on its own. A `stored` invoice's records keep their ids when it
        is taxed again; a preview's carry their rate instead."""
        if not rates:
            return
        currency = invoice["currency"]
        base = max(money.decimal(invoice.get("subtotal"), "subtotal")
                   - money.decimal(invoice.get("total_discount"), "total_discount"), ZERO)
        known = {t.get("tax_rate_id"): t for t in invoice.get("taxes") or []}
        records, total = [], ZERO
        for rate in rates:
            amount = _tax(rate, base)
            if amount is None:
                continue
            amount = rounded(amount, currency)
            total += amount
            records.append(self._applied(invoice, rate, base, amount, known.get(rate["id"]), stored))
        invoice["total_tax"] = text(total)
        invoice["taxes"] = records

    def _applied(self, invoice: dict, rate: dict, base: Decimal, amount: Decimal, known: dict | None,
                 stored: bool) -> dict:
        """A `tax_applied` record (`processTaxApplication`; `BuildPreviewTaxes` for previews)."""
        now, tenant = self.clock.stamp(), self.records.lifecycle.tenant
        record = {"tax_rate_id": rate["id"], "entity_type": "invoice", "entity_id": invoice["id"],
                  "taxable_amount": text(base), "tax_amount": text(amount), "currency": invoice["currency"],
                  "applied_at": now, "status": "published", "tenant_id": tenant.tenant_id,
                  "environment_id": tenant.environment_id}
        if not stored:
            return {**record, "tax_rate": rate}
        key = hashlib.sha256(f"tax_application:{rate['id']}:{invoice['id']}:invoice".encode()).hexdigest()
        return {**record, "id": (known or {}).get("id") or self.records.ids.new("taxapp"), "idempotency_key": key,
                "created_at": (known or {}).get("created_at") or now, "updated_at": now, "created_by": tenant.user_id,
                "updated_by": tenant.user_id}


def _optional(fields: dict, name: str) -> Decimal | None:
    return None if fields.get(name) in (None, "") else money.decimal(fields[name], name)


def _tax(rate: dict, base: Decimal) -> Decimal | None:
    """`calculateTaxAmount`: a percentage of the base, or the fixed value; None without one."""
    if rate.get("tax_rate_type") == "percentage" and rate.get("percentage_value") not in (None, ""):
        return base * money.decimal(rate["percentage_value"], "percentage_value") / 100
    if rate.get("tax_rate_type") == "fixed" and rate.get("fixed_value") not in (None, ""):
        return money.decimal(rate["fixed_value"], "fixed_value")
    return None
