"""Exact money: decimals from the JSON decimal strings to the rounded line amount.

Rounding is half away from zero to the currency's precision (2 digits unless the currency has
another), done once per invoice line as the real server's `RoundToCurrencyPrecision` does.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ...core.failures import Invalid

PRECISION = {"jpy": 0, "krw": 0, "vnd": 0, "clp": 0, "kwd": 3, "clf": 4}  # the real server's table
ZERO = Decimal(0)
LIMIT = Decimal(10) ** 12  # the real server stores money as numeric(20,8): 12 digits before the point


def decimal(value: object, field: str, default: Decimal | None = ZERO) -> Decimal:
    """A decimal from a JSON string or number; absent is `default`; junk, or a magnitude the
    real server could not store, is a 400 naming `field`."""
    if value is None or value == "":
        if default is None:
            raise Invalid(field, f"{field} is required")
        return default
    if isinstance(value, bool):
        raise Invalid(field, f"{field} must be a decimal number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(field, f"{field} must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise Invalid(field, f"{field} must be a finite decimal number, got {value!r}")
    if abs(number) >= LIMIT:
        raise Invalid(field, f"{field} is out of range: at most 12 digits before the decimal point, got {value!r}")
    return number


def quantity(value: object) -> Decimal:
    """An event property as a quantity: numbers and numeric strings parse, anything else is 0."""
    if isinstance(value, bool) or value is None:
        return ZERO
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return ZERO
    return number if number.is_finite() else ZERO


def same_currency(a: object, b: object) -> bool:
    """Currencies are stored as given and compared case-insensitively, as the real server does."""
    return str(a or "").lower() == str(b or "").lower()


def places(currency: str) -> int:
    return PRECISION.get(str(currency or "").lower(), 2)


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places(currency)), rounding=ROUND_HALF_UP)


def text(amount: Decimal) -> str:
    """As the real server writes decimals: `10.5`, `55.86`, `0`, never an exponent."""
    return format(amount.normalize(), "f") if amount else "0"
