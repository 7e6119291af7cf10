"""Exact money: decimals from the JSON decimal strings to the rounded line amount, held to the
columns the real server keeps them in.

Rounding is half away from zero to the currency's precision (2 digits unless the currency has
another), done once per invoice line as the real server's `RoundToCurrencyPrecision` does.

A `Column` is one of the server's fixed-point columns (`bounds.py` says which numbers go in
which, and what becomes of one that does not fit): an invoice line must fit `INVOICE`, and an
event's quantity counts as `USAGE` holds it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from ...core import failures
from ...core.failures import Invalid

PRECISION = {"jpy": 0, "krw": 0, "vnd": 0, "clp": 0, "kwd": 3, "clf": 4}  # the real server's table
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Column:
    """A `numeric(precision, scale)` column: `precision - scale` digits before the point."""

    kind: str
    precision: int
    scale: int

    @property
    def name(self) -> str:
        return f"{self.kind}({self.precision},{self.scale})"

    @property
    def digits(self) -> int:
        return self.precision - self.scale

    def kept(self, value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal | None:
        """`value` at the column's scale (half away from zero, as Postgres rounds), or None when
        its integer part is too long for the column. The default context's 28 digits hold every
        column's precision, so the rounding is exact."""
        if not value.is_finite() or (value and value.adjusted() >= self.digits):
            return None
        if value.as_tuple().exponent < -self.scale:
            value = value.quantize(Decimal(1).scaleb(-self.scale), rounding=rounding)
        return value if not value or value.adjusted() < self.digits else None

    def fit(self, value: Decimal, field: str, made: str | None = None) -> Decimal:
        """A number of the request as the column keeps it, or a 400 naming `field`; `made`: the
        number is not the field's own but what the field would make of one (a balance)."""
        kept = self.kept(value)
        if kept is None:
            what = f"{field} would make {made} {shown(value)}, which" if made else f"{field} {shown(value)}"
            raise Invalid(field, f"{what} does not fit the server's {self.name} column: "
                                 f"at most {self.digits} digits before the decimal point")
        return kept

    def hold(self, value: Decimal, what: str, details: dict | None = None) -> Decimal:
        """A number the mock computed as the column keeps it, or `InvalidOperation` (400
        `invalid_operation`): the server could not store it either."""
        kept = self.kept(value)
        if kept is None:
            raise failures.InvalidOperation(f"{what} {shown(value)} does not fit the server's {self.name} column "
                                            f"(at most {self.digits} digits before the decimal point)", details)
        return kept


WALLET = Column("numeric", 20, 9)  # wallets and their transactions: credits, balances, amounts
RATE = Column("numeric", 10, 5)  # a wallet's conversion rates
INVOICE = Column("numeric", 20, 8)  # invoices, their lines, payments: the server's money column
PRICE = Column("numeric", 25, 15)  # prices and their tiers
USAGE = Column("Decimal", 25, 15)  # ClickHouse's meter_usage.qty_total


def decimal(value: object, field: str, default: Decimal | None = ZERO, column: Column = INVOICE) -> Decimal:
    """A decimal from a JSON string or number; absent is `default`; junk, or more integer digits
    than `column` holds (the server's money column unless told), is a 400 naming `field`."""
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
    if number and number.adjusted() >= column.digits:
        raise Invalid(field, f"{field} {shown(number)} does not fit the server's {column.name} column: "
                             f"at most {column.digits} digits before the decimal point")
    return number


def quantity(value: object) -> Decimal:
    """An event property as a quantity: numbers and numeric strings parse, anything else is 0;
    then as the server's usage column holds it: cut (not rounded) to 15 decimal places, and 0
    when it has more integer digits than the column holds (`bounds.py` says why)."""
    if isinstance(value, bool) or value is None:
        return ZERO
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return ZERO
    return USAGE.kept(number, ROUND_DOWN) or ZERO


def same_currency(a: object, b: object) -> bool:
    """Currencies are stored as given and compared case-insensitively, as the real server does."""
    return str(a or "").lower() == str(b or "").lower()


def places(currency: str) -> int:
    return PRECISION.get(str(currency or "").lower(), 2)


def rounded(amount: Decimal, currency: str) -> Decimal:
    """An invoice amount: to the currency, and within the invoice column."""
    held = INVOICE.hold(amount, "an invoice amount of", {"currency": currency})
    return held.quantize(Decimal(1).scaleb(-places(currency)), rounding=ROUND_HALF_UP)


def text(amount: Decimal) -> str:
    """As the real server writes decimals: `10.5`, `55.86`, `0`, never an exponent."""
    if not amount:
        return "0"
    written = format(amount, "f")  # exact, whatever the context's precision
    return written.rstrip("0").rstrip(".") if "." in written else written


def shown(value: Decimal) -> str:
    """A number for a message: as written when short, else in six significant digits."""
    written = text(value) if value.is_finite() and abs(value.adjusted()) < 40 else ""
    return written if written and len(written) <= 40 else f"{value:.6E}"
