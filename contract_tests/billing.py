"""Billing invariants any correct Flexprice server keeps, in the spec's own field names.

* An invoice's `amount_remaining` is `amount_due - amount_paid` (OVERPAID aside), and the
  `subtotal` of a computed (subscription) invoice is the sum of its line amounts; a one-off
  invoice created with consistent totals keeps them, its lines included.
* A wallet top-up of N credits moves `credit_balance` by N and `balance` by N x `conversion_rate`.
* A fresh customer's usage (`POST /events/usage`) is the SUM and COUNT of the events just sent.

Each check runs only when the operations it needs are under test, and says what it skipped when
the server offers less (no invoices to read, a wallet it would not create).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from .client import Exchange
from .records import create_record, items_of, listing, op_for, record_of, remember
from .semantic import Context, call_item, semantic

INGEST, USAGE = "ingestEvent", "getUsageStatistics"
USAGE_TOKENS = (40, 70, 60)
USAGE_SETTLE_SECONDS = 5.0
LINE_AMOUNTS = ("4.50", "5.50")
TOP_UP_CREDITS = Decimal("100")


def money(value: Any) -> Decimal | None:
    """A decimal string (or number) as a Decimal; None for anything else."""
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        return None


def resource_named(ctx: Context, collection: str):
    return (ctx.model.resources.get(collection) if ctx.model else None)


def expect_invoice_totals(ctx: Context, invoice: dict, exchange, operation: str) -> None:
    """The invariants on one invoice as the server answered it."""
    due, paid, remaining = (money(invoice.get(k)) for k in ("amount_due", "amount_paid", "amount_remaining"))
    if None not in (due, paid, remaining) and invoice.get("payment_status") != "OVERPAID":
        ctx.expect(remaining == due - paid, f"invoice {invoice.get('id')}: amount_remaining {remaining} must be "
                   f"amount_due {due} - amount_paid {paid}", exchange, operation)
    lines = [money(line.get("amount")) for line in invoice.get("line_items") or [] if isinstance(line, dict)]
    subtotal = money(invoice.get("subtotal"))
    if invoice.get("invoice_type") == "SUBSCRIPTION" and lines and None not in lines and subtotal is not None:
        ctx.expect(subtotal == sum(lines), f"invoice {invoice.get('id')}: subtotal {subtotal} must be the sum of its "
                   f"lines {sum(lines)}", exchange, operation)


@semantic("invoice_totals")
def invoice_totals(ctx: Context) -> None:
    """Every invoice the server lists keeps its totals; a one-off invoice keeps what it was sent."""
    invoices = resource_named(ctx, "/invoices")
    if invoices is None:
        return
    found = listing(ctx, invoices)
    if found is not None:
        op, exchange = found
        for invoice in items_of(exchange) or []:
            expect_invoice_totals(ctx, invoice, exchange, op.operation_id)
    if not ctx.read_only and op_for(ctx, invoices, "create"):
        _one_off_invoice(ctx, invoices)


def _one_off_invoice(ctx: Context, invoices) -> None:
    customer = resource_named(ctx, "/customers")
    parent = create_record(ctx, customer) if customer is not None and op_for(ctx, customer, "create") else None
    if parent is None:
        ctx.report.skipped["invoice_totals"] = "no customer could be created, so no one-off invoice was made"
        return
    total = str(sum(Decimal(a) for a in LINE_AMOUNTS))
    body = {
        "customer_id": parent.id, "currency": "usd", "invoice_type": "ONE_OFF",
        "subtotal": total, "total": total, "amount_due": total, "amount_paid": "0",
        "line_items": [{"amount": amount, "quantity": "1", "display_name": f"gate line {n}"} for n, amount in enumerate(LINE_AMOUNTS)],
    }
    create = op_for(ctx, invoices, "create")
    exchange = ctx.call(create, body=body)
    ctx.require(200 <= exchange.status < 300, "a one-off invoice with consistent totals must be created", exchange, create.operation_id)
    invoice = record_of(exchange.json())
    remember(ctx, invoices, str(invoice["id"]))
    expect_invoice_totals(ctx, invoice, exchange, create.operation_id)
    lines = [money(line.get("amount")) for line in invoice.get("line_items") or [] if isinstance(line, dict)]
    ctx.expect(sum(line for line in lines if line is not None) == money(total),
               f"the invoice's lines must sum to the {total} sent, got {lines}", exchange, create.operation_id)
    for name in ("subtotal", "total", "amount_due"):
        ctx.expect(money(invoice.get(name)) == money(total), f"{name} must be the {total} sent", exchange, create.operation_id)
    ctx.expect(money(invoice.get("amount_remaining")) == money(total), "amount_remaining of an unpaid invoice is amount_due",
               exchange, create.operation_id)


@semantic("wallet_top_up", writes=True)
def wallet_top_up(ctx: Context) -> None:
    """A top-up of N credits moves credit_balance by N and balance by N x conversion_rate."""
    wallets = resource_named(ctx, "/wallets")
    top_up = next((op for op in ctx.operations.values() if op.role == "action" and op.action == "top-up"
                   and op.parent is wallets), None) if wallets else None
    get = op_for(ctx, wallets, "get") if wallets else None
    if top_up is None or get is None or op_for(ctx, wallets, "create") is None:
        return
    wallet = create_record(ctx, wallets)
    if wallet is None:
        ctx.report.skipped["wallet_top_up"] = "no wallet could be created"
        return
    before = record_of(call_item(ctx, get, wallet.id).json())
    body = {"credits_to_add": str(TOP_UP_CREDITS), "transaction_reason": "FREE_CREDIT_GRANT"}
    exchange = ctx.call(top_up, wallet.id, body=body)
    ctx.require(200 <= exchange.status < 300, "a free credit top-up must succeed", exchange, top_up.operation_id)
    after_exchange = call_item(ctx, get, wallet.id)
    after = record_of(after_exchange.json())
    rate = money(after.get("conversion_rate")) or Decimal(1)
    for name, moved in (("credit_balance", TOP_UP_CREDITS), ("balance", TOP_UP_CREDITS * rate)):
        old, new = money(before.get(name)) or Decimal(0), money(after.get(name))
        ctx.expect(new == old + moved, f"{name} must move from {old} by {moved} to {old + moved}, got {new}",
                   after_exchange, get.operation_id)


@semantic("usage_aggregates_events", needs=(INGEST, USAGE), writes=True)
def usage_aggregates_events(ctx: Context) -> None:
    """A fresh customer's usage is the aggregation of the events just sent to it: SUM and COUNT,
    an event re-sent with the same id counted once. Ingest is asynchronous on the real server,
    so the usage is read until it settles (`USAGE_SETTLE_SECONDS`)."""
    ctx.counter += 1
    customer, event_name = f"gate-usage-{ctx.seed}-{ctx.counter}", f"gate_usage_{ctx.seed}_{ctx.counter}"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    events = [
        {"event_id": f"{event_name}_{n}", "event_name": event_name, "external_customer_id": customer,
         "timestamp": _iso(now - timedelta(hours=1, minutes=n)), "properties": {"tokens": str(tokens)}}
        for n, tokens in enumerate(USAGE_TOKENS)
    ]
    for event in [*events, events[0]]:
        exchange = ctx.call(INGEST, body=event)
        ctx.require(200 <= exchange.status < 300, "an event must be accepted", exchange, INGEST)
    window = {"start_time": _iso(now - timedelta(days=1)), "end_time": _iso(now + timedelta(hours=1))}
    for aggregation, expected in (("SUM", Decimal(sum(USAGE_TOKENS))), ("COUNT", Decimal(len(USAGE_TOKENS)))):
        body = {"event_name": event_name, "aggregation_type": aggregation, "property_name": "tokens",
                "external_customer_id": customer, **window}
        exchange, value = _settled_usage(ctx, body, expected)
        ctx.expect(value == expected, f"{aggregation} of tokens over the events sent must be {expected}, got {value}",
                   exchange, USAGE)


def _settled_usage(ctx: Context, body: dict, expected: Decimal) -> tuple[Exchange, Decimal | None]:
    deadline = time.monotonic() + USAGE_SETTLE_SECONDS
    while True:
        exchange = ctx.call(USAGE, body=body)
        ctx.require(exchange.status == 200, "usage must be answered", exchange, USAGE)
        payload = exchange.json() if isinstance(exchange.json(), dict) else {}
        value = money(payload.get("value", 0))  # a zero total is left out of the body
        if value is None or value >= expected or time.monotonic() > deadline:  # late events only lower it
            return exchange, value
        time.sleep(0.5)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
