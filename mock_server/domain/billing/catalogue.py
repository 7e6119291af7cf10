"""The catalogue: features with their meters, prices checked as the real server checks them,
and entitlements, each created the way the real server creates it.

A metered feature creates its meter first and carries `meter_id` and `meter`; a USAGE price
must name a meter; metered, static and config entitlements are always enabled.
"""
from __future__ import annotations

from ...core.failures import Invalid
from ...core.times import parse_instant, stamp
from ..records import Records
from . import pricing
from .usage import Usage

ALWAYS_ENABLED = frozenset({"metered", "static", "config"})


class Catalogue:
    def __init__(self, records: Records, usage: Usage) -> None:
        self.records = records
        self.usage = usage

    def create_feature(self, fields: dict, record_id: str | None = None) -> dict:
        fields = dict(fields)
        if bool(fields.get("unit_singular")) != bool(fields.get("unit_plural")):
            missing = "unit_plural" if fields.get("unit_singular") else "unit_singular"
            raise Invalid(missing, "unit_singular and unit_plural must be set together")
        if fields.get("type") == "metered":
            meter = self._meter_of(fields)
            fields.update(meter_id=meter["id"], meter=meter)
        feature = self.records.new("feature", fields, record_id)
        self.records.changed("feature.created", "feature", feature)
        return feature

    def _meter_of(self, fields: dict) -> dict:
        """The feature's inline meter, created (keeping a given `meter_id` as its id), or the
        stored meter `meter_id` names."""
        if isinstance(fields.get("meter"), dict) and fields["meter"]:
            wanted = fields.get("meter_id") or None
            if wanted and self.records.get("meter", wanted) is not None:
                raise Invalid("meter_id", f"meter {wanted} already exists; send it without an inline meter")
            return self.usage.create_meter(fields["meter"], record_id=wanted)
        meter = self.records.get("meter", fields.get("meter_id"))
        if meter is None:
            field = "meter_id" if fields.get("meter_id") else "meter"
            raise Invalid(field, "a metered feature needs a meter: send `meter` (or the meter_id of an existing one)")
        return meter

    def create_price(self, fields: dict, record_id: str | None = None) -> dict:
        """A price starts now unless told otherwise (`dto/price.go` ToPrice), so a later delete
        can tell an end date before its start."""
        pricing.validate(fields)
        start = parse_instant(fields["start_date"], "start_date") if fields.get("start_date") else self.records.clock.now()
        if fields.get("end_date") and start > parse_instant(fields["end_date"], "end_date"):
            raise Invalid("start_date", "start date must be before end date")
        fields = {**fields, "billing_cadence": "RECURRING", "start_date": stamp(start)}
        if fields.get("type") == "USAGE":
            meter = self.usage.meter(fields["meter_id"])
            fields["meter"] = meter
            fields.setdefault("display_name", meter.get("name"))
        elif not fields.get("display_name") and fields.get("entity_type") in ("PLAN", "ADDON"):
            owner = self.records.get(fields["entity_type"].lower(), fields.get("entity_id"))
            if owner is not None:  # a fixed price is named after its plan or add-on
                fields["display_name"] = owner.get("name")
        return self.records.new("price", fields, record_id)

    def create_entitlement(self, fields: dict, record_id: str | None = None) -> dict:
        fields = dict(fields)
        if fields.get("plan_id") and not fields.get("entity_id"):
            fields.update(entity_type=fields.get("entity_type") or "PLAN", entity_id=fields["plan_id"])
        if fields.get("entity_type") == "PLAN" and fields.get("entity_id") and not fields.get("plan_id"):
            fields["plan_id"] = fields["entity_id"]
        kind = fields.get("feature_type")
        feature = self.records.get("feature", fields.get("feature_id"))
        if feature is not None and kind and feature.get("type") and feature["type"] != kind:
            raise Invalid("feature_type", f"feature_type {kind!r} does not match the feature's type {feature['type']!r}")
        if kind == "static" and not fields.get("static_value"):
            raise Invalid("static_value", "a static entitlement needs a static_value")
        if kind in ALWAYS_ENABLED:
            fields["is_enabled"] = True
        if kind == "metered":
            fields.setdefault("usage_reset_period", "MONTHLY")
        entitlement = self.records.new("entitlement", fields, record_id)
        self.records.changed("entitlement.created", "entitlement", entitlement)
        return entitlement

    def plan_prices(self, plan_id: str) -> list[dict]:
        return self.records.where("price", entity_type="PLAN", entity_id=plan_id)

    def feature_of_meter(self, meter_id: str) -> dict | None:
        return next(iter(self.records.where("feature", meter_id=meter_id)), None)
