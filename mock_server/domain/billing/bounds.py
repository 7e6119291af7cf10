"""Bounds: which numbers of a request go in which of the real server's columns, and what becomes
of a number that does not fit its column.

| column | holds | digits before / after the point |
| --- | --- | --- |
| `numeric(20,9)` | wallets and their transactions | 11 / 9 |
| `numeric(10,5)` | a wallet's conversion rates | 5 / 5 |
| `numeric(20,8)` | invoices, their lines, payments | 12 / 8 |
| `numeric(25,15)` | prices and their tiers | 10 / 15 |
| `Decimal(25,15)` | usage (ClickHouse's `meter_usage.qty_total`) | 10 / 15 |

A number given for a Postgres column is kept as Postgres keeps it: more decimal places than the
column's scale are rounded half away from zero (`0.1234567895` credits are `0.12345679`); more
integer digits than it holds fail the server's insert (`numeric field overflow`, a 500 there)
and are here a 400 `validation_error` naming the field, checked before anything is written. A number
the mock computes from bounded ones (a balance after a top-up, an invoice line) is held to its
column too; one that cannot be is a 400 `invalid_operation` (`money.Column.hold`).

Usage is never refused: ingest answers 202 whatever the properties hold, as the server's does.
The server parses each event's quantity (shopspring `decimal`) and clickhouse-go writes it at the
column's scale, cutting further places off (`BigInt()` truncates); a batch holding a quantity
the column cannot hold fails to insert and goes, after its retries, to the dead-letter queue, so
it never counts. `money.quantity` is that rule for one event.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from .money import INVOICE, PRICE, RATE, WALLET, Column, decimal, text

# The numbers each request puts in a column: `name` for a field, `list[].name` for each item's.
FIELDS: dict[str, dict[str, Column]] = {
    "price": {"amount": PRICE, "tiers[].unit_amount": PRICE, "tiers[].flat_amount": PRICE},
    "wallet": {"initial_credits_to_load": WALLET, "conversion_rate": RATE, "topup_conversion_rate": RATE},
    "top_up": {"credits_to_add": WALLET, "amount": WALLET},
    "invoice": {"amount_due": INVOICE, "amount_paid": INVOICE, "subtotal": INVOICE, "total": INVOICE,
                "line_items[].amount": INVOICE, "line_items[].quantity": INVOICE},
    "payment": {"amount": INVOICE},
    "invoice_payment": {"amount": INVOICE},
}


def fitted(request: str, fields: Mapping) -> dict:
    """`fields` with each number `FIELDS[request]` names as its column keeps it (one the rounding
    changed is written back as text); a 400 naming the first that does not fit."""
    fields = dict(fields)
    for path, column in FIELDS.get(request, {}).items():
        name, _, inner = path.partition("[].")
        if not inner and name in fields:
            fields[name] = _fit(fields, name, column, name)
        elif inner and isinstance(fields.get(name), list):
            fields[name] = [{**item, inner: _fit(item, inner, column, f"{name}[{i}].{inner}")}
                            if isinstance(item, dict) and inner in item else item for i, item in enumerate(fields[name])]
    return fields


def bounded(request: str, create: Callable[..., dict]) -> Callable[..., dict]:
    """A creator (`Billing.creators`) whose request numbers are fitted to their columns first."""
    def create_bounded(fields: dict, record_id: str | None = None) -> dict:
        return create(fitted(request, fields), record_id)

    return create_bounded


def _fit(fields: Mapping, name: str, column: Column, field: str) -> object:
    """One field's value as its column keeps it; absent, empty or not a number, as it was (the
    service says what it wants there)."""
    value = fields.get(name)
    if value is None or value == "" or isinstance(value, bool):
        return value
    number = decimal(value, field, column=column)
    kept = column.fit(number, field)
    return value if kept == number else text(kept)
