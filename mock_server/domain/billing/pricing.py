"""Prices: the real server's validation of a new price, and the amount a price charges for a
quantity, one small function per billing model.

Amounts are exact decimals at full precision; rounding to the currency happens where a charge
is put on a line (`money.rounded`). Tiers' `up_to` is inclusive in both tier modes, and never
negative.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ...core.failures import Invalid
from .money import ZERO, decimal

INFINITE = Decimal("Infinity")


def validate(price: dict) -> None:
    """What `CreatePriceRequest.Validate` refuses, each a 400 naming the field."""
    kind, model = price.get("type"), price.get("billing_model")
    if kind == "USAGE" and not price.get("meter_id"):
        raise Invalid("meter_id", "meter_id is required for a USAGE price")
    if kind == "USAGE" and price.get("min_quantity") not in (None, 0):
        raise Invalid("min_quantity", "min_quantity is not allowed for a USAGE price")
    if kind == "USAGE" and price.get("invoice_cadence") == "ADVANCE":
        raise Invalid("invoice_cadence", "a USAGE price cannot be invoiced in ADVANCE; use ARREAR")
    if price.get("billing_period") == "ONETIME" and price.get("invoice_cadence") == "ARREAR":
        raise Invalid("invoice_cadence", "a ONETIME price is invoiced in ADVANCE")
    if model == "TIERED":
        if not price.get("tiers"):
            raise Invalid("tiers", "tiers are required for a TIERED price")
        if not price.get("tier_mode"):
            raise Invalid("tier_mode", "tier_mode (VOLUME or SLAB) is required for a TIERED price")
        for i, tier in enumerate(price["tiers"]):
            for name in ("unit_amount", "flat_amount"):
                if decimal(tier.get(name), f"tiers[{i}].{name}") < 0:
                    raise Invalid(f"tiers[{i}].{name}", f"{name} must not be negative")
            if tier.get("up_to") is not None and not (type(tier["up_to"]) is int and tier["up_to"] >= 0):
                raise Invalid(f"tiers[{i}].up_to", "up_to must be a whole number of units, 0 or more (the "
                                                   f"server's is unsigned), got {tier['up_to']!r}")
    if model == "PACKAGE":
        transform = price.get("transform_quantity")
        if not transform:
            raise Invalid("transform_quantity", "transform_quantity is required when billing model is PACKAGE")
        if not transform.get("divide_by") or int(transform["divide_by"]) <= 0:
            raise Invalid("transform_quantity.divide_by", "a PACKAGE price needs transform_quantity.divide_by > 0")
    if model in ("PACKAGE", "FLAT_FEE"):
        if price.get("amount") in (None, ""):
            raise Invalid("amount", f"amount is required for a {model} price")
    if decimal(price.get("amount"), "amount") < 0:
        raise Invalid("amount", "amount must not be negative")
    if price.get("trial_period_days") and not (kind == "FIXED" and price.get("billing_period") != "ONETIME"):
        raise Invalid("trial_period_days", "trial_period_days is only for recurring FIXED prices")


def _flat_fee(price: dict, units: Decimal) -> Decimal:
    return decimal(price.get("amount"), "amount") * units


def _package(price: dict, units: Decimal) -> Decimal:
    transform = price.get("transform_quantity") or {}
    size = Decimal(int(transform.get("divide_by") or 0))
    if size <= 0:
        return ZERO
    rounding = ROUND_FLOOR if transform.get("round") == "down" else ROUND_CEILING
    packages = (units / size).to_integral_value(rounding=rounding)
    return decimal(price.get("amount"), "amount") * packages


def _tiers(price: dict) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(up_to, unit_amount, flat_amount), sorted by `up_to` as the server sorts them before
    pricing (tiers given out of order are accepted), the open-ended tier last; tiers with the
    same `up_to` keep their order (Go's sort is an insertion sort on a dozen tiers or fewer)."""
    tiers = [(INFINITE if t.get("up_to") is None else Decimal(int(t["up_to"])),
              decimal(t.get("unit_amount"), "unit_amount"), decimal(t.get("flat_amount"), "flat_amount"))
             for t in price.get("tiers") or []]
    return sorted(tiers, key=lambda t: t[0])


def _volume(price: dict, units: Decimal) -> Decimal:
    tiers = _tiers(price)
    _, unit, flat = next((tier for tier in tiers if units <= tier[0]), tiers[-1])
    return units * unit + flat


def _slab(price: dict, units: Decimal) -> Decimal:
    """Each tier in turn takes what is left up to its `up_to`, and adds its flat amount even when
    it takes nothing (a tier whose `up_to` repeats the one before), until nothing is left: the
    server's loop, step for step."""
    cost, remaining, floor = ZERO, units, ZERO
    for up_to, unit, flat in _tiers(price):
        taken = min(remaining, up_to - floor)
        cost += taken * unit + flat
        remaining -= taken
        floor = up_to
        if remaining <= 0:
            break
    return cost


MODELS = {"FLAT_FEE": _flat_fee, "PACKAGE": _package}
TIER_MODES = {"VOLUME": _volume, "SLAB": _slab}


def cost(price: dict, units: Decimal) -> Decimal:
    """What `price` charges for `units`, unrounded; nothing for no units."""
    if units <= 0:
        return ZERO
    if price.get("billing_model") == "TIERED":
        if not price.get("tiers"):
            return ZERO
        mode = TIER_MODES.get(price.get("tier_mode") or "")
        return mode(price, units) if mode else ZERO
    return MODELS.get(price.get("billing_model") or "FLAT_FEE", _flat_fee)(price, units)
