"""Billing invariants over money, in the spec's own field names (the rules: BILLING.md and
BILLING-2.md of the real server).

* Every invoice the gate can read keeps its totals: `amount_remaining = amount_due - amount_paid`
  (0 when OVERPAID, never below 0); a SUBSCRIPTION invoice, which the server computes, has
  `subtotal` = the sum of its line amounts, `total = subtotal - total_discount -
  total_prepaid_credits_applied + total_tax` (never below 0) and `amount_due = total -
  adjustment_amount`; a one-off invoice keeps the amounts and lines it was created with.
* A wallet top-up of N credits moves `credit_balance` by N and `balance` by N x `conversion_rate`.
* A fresh customer's usage (`POST /events/usage`) is the SUM and COUNT of the events just sent.
* A payment of an invoice moves its `amount_paid` up and `amount_remaining` down by the amount,
  and paying the rest leaves nothing remaining and the invoice SUCCEEDED.

Read-only runs check the invoice invariants on the invoices they can reach (`reads.py`).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .billing_rules import ZERO, money
from .chain import chain, subscribe, tag
from .client import Exchange
from .reads import readable
from .records import create_record, op_for, record_of, remember
from .semantic import CheckFailed, Context, call_item, semantic

INGEST, USAGE, PAY, GET_INVOICE = "ingestEvent", "getUsageStatistics", "createPayment", "getInvoice"
USAGE_TOKENS = (40, 70, 60)
LINE_AMOUNTS = ("4.50", "5.50")
TOP_UP_CREDITS = Decimal("100")
FIRST_PAYMENT = Decimal("4")
REMAINING = ("D(body['amount_remaining']) == (D(0) if body.get('payment_status') == 'OVERPAID' "
             "else max(D(body['amount_due']) - D(body['amount_paid']), D(0)))")
SUBTOTAL = "D(body['subtotal']) == sum((D(line['amount']) for line in body['line_items']), D(0))"
TOTAL = ("D(body['total']) == max(D(body['subtotal']) - D(body.get('total_discount') or 0) "
         "- D(body.get('total_prepaid_credits_applied') or 0) + D(body.get('total_tax') or 0), D(0))")
DUE = "D(body['amount_due']) == D(body['total']) - D(body.get('adjustment_amount') or 0)"


def resource_named(ctx: Context, collection: str):
    return ctx.model.resources.get(collection) if ctx.model else None


def expect_invoice_totals(ctx: Context, invoice: dict, exchange: Exchange, operation: str,
                          trace: list[Exchange] | None = None) -> None:
    """The invariants on one invoice as the server answered it."""
    name = f"invoice {invoice.get('id')}"
    due, paid, remaining = (money(invoice.get(k)) for k in ("amount_due", "amount_paid", "amount_remaining"))
    if None not in (due, paid, remaining) and invoice.get("invoice_status") != "VOIDED":
        expected = ZERO if invoice.get("payment_status") == "OVERPAID" else max(due - paid, ZERO)
        ctx.expect(remaining == expected, f"{name}: amount_remaining {remaining} must be amount_due {due} - amount_paid "
                   f"{paid} = {expected}", exchange, operation, REMAINING, trace)
    if invoice.get("invoice_type") != "SUBSCRIPTION":
        return
    lines = [money(line.get("amount")) for line in invoice.get("line_items") or [] if isinstance(line, dict)]
    subtotal, total = money(invoice.get("subtotal")), money(invoice.get("total"))
    if isinstance(invoice.get("line_items"), list) and None not in lines and subtotal is not None:
        ctx.expect(subtotal == sum(lines, ZERO), f"{name}: subtotal {subtotal} must be the sum of its lines "
                   f"{sum(lines, ZERO)}", exchange, operation, SUBTOTAL, trace)
    parts = [money(invoice.get(k) or 0) for k in ("total_discount", "total_prepaid_credits_applied", "total_tax", "adjustment_amount")]
    if subtotal is None or total is None or None in parts:
        return
    discount, credits, tax, adjusted = parts
    expected_total = max(subtotal - discount - credits + tax, ZERO)
    ctx.expect(total == expected_total, f"{name}: total {total} must be subtotal {subtotal} - discount {discount} - "
               f"prepaid credits {credits} + tax {tax} = {expected_total}", exchange, operation, TOTAL, trace)
    if due is not None:
        ctx.expect(due == total - adjusted, f"{name}: amount_due {due} must be total {total} - adjustments {adjusted}",
                   exchange, operation, DUE, trace)


@semantic("invoice_totals")
def invoice_totals(ctx: Context) -> None:
    """The subscription invoice the gate made, a one-off invoice it makes, and every invoice it
    can read keep their totals."""
    invoices = resource_named(ctx, "/invoices")
    if invoices is None:
        return
    checked: set[str] = set()
    get = op_for(ctx, invoices, "get")
    if not ctx.read_only and get is not None:
        built = chain(ctx)
        if built.need(ctx, "invoice"):
            exchange = call_item(ctx, get, str(built.invoice["id"]))
            expect_invoice_totals(ctx, record_of(exchange.json()), exchange, get.operation_id)
            checked.add(str(built.invoice["id"]))
        if op_for(ctx, invoices, "create"):
            checked.add(_one_off_invoice(ctx, invoices))
    for invoice, exchange in readable(ctx, "/invoices", whole=True):
        if str(invoice.get("id")) not in checked:
            expect_invoice_totals(ctx, invoice, exchange, exchange.operation, [exchange])
    if not checked and not readable(ctx, "/invoices"):
        ctx.not_covered("/invoices", "no invoice could be read")


def _one_off_invoice(ctx: Context, invoices) -> str:
    customer = resource_named(ctx, "/customers")
    parent = create_record(ctx, customer) if customer is not None and op_for(ctx, customer, "create") else None
    if parent is None:
        ctx.not_covered("/invoices", f"no one-off invoice: no customer ({ctx.refusals.get('/customers')})")
        return ""
    total = str(sum(Decimal(a) for a in LINE_AMOUNTS))
    body = {
        "customer_id": parent.id, "currency": "usd", "invoice_type": "ONE_OFF",
        "subtotal": total, "total": total, "amount_due": total, "amount_paid": "0",
        "line_items": [{"amount": amount, "quantity": "1", "display_name": f"gate line {n}"} for n, amount in enumerate(LINE_AMOUNTS)],
    }
    create = op_for(ctx, invoices, "create")
    exchange = ctx.call(create, body=body)
    ctx.require(200 <= exchange.status < 300, "a one-off invoice with consistent totals must be created", exchange,
                create.operation_id, "200 <= status < 300")
    invoice = record_of(exchange.json())
    remember(ctx, invoices, str(invoice["id"]))
    expect_invoice_totals(ctx, invoice, exchange, create.operation_id)
    lines = [money(line.get("amount")) for line in invoice.get("line_items") or [] if isinstance(line, dict)]
    ctx.expect(sum((line for line in lines if line is not None), ZERO) == money(total),
               f"the invoice's lines must sum to the {total} sent, got {lines}", exchange, create.operation_id,
               f"sum((D(line['amount']) for line in body['line_items']), D(0)) == D({total!r})")
    for name in ("subtotal", "total", "amount_due"):
        ctx.expect(money(invoice.get(name)) == money(total), f"{name} must be the {total} sent", exchange,
                   create.operation_id, f"D(body[{name!r}]) == D({total!r})")
    return str(invoice["id"])


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
        ctx.not_covered("/wallets", f"no wallet: {ctx.refusals.get('/wallets')}")
        return
    before = record_of(call_item(ctx, get, wallet.id).json())
    body = {"credits_to_add": str(TOP_UP_CREDITS), "transaction_reason": "FREE_CREDIT_GRANT"}
    exchange = ctx.call(top_up, wallet.id, body=body)
    ctx.require(200 <= exchange.status < 300, "a free credit top-up must succeed", exchange, top_up.operation_id,
                "200 <= status < 300")
    after_exchange = call_item(ctx, get, wallet.id)
    after = record_of(after_exchange.json())
    rate = money(after.get("conversion_rate")) or Decimal(1)
    for name, moved in (("credit_balance", TOP_UP_CREDITS), ("balance", TOP_UP_CREDITS * rate)):
        old, new = money(before.get(name)) or ZERO, money(after.get(name))
        ctx.expect(new == old + moved, f"{name} must move from {old} by {moved} to {old + moved}, got {new}",
                   after_exchange, get.operation_id, f"D(body[{name!r}]) == D({str(old + moved)!r})")


@semantic("usage_aggregates_events", needs=(INGEST, USAGE), writes=True)
def usage_aggregates_events(ctx: Context) -> None:
    """A fresh customer's usage is the aggregation of the events just sent to it: SUM and COUNT,
    an event re-sent with the same id counted once. Ingest is asynchronous on the real server,
    so the usage is read until it settles (`--settle` seconds)."""
    customer, event_name = tag(ctx, "usage"), tag(ctx, "usage", "_")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    events = [
        {"event_id": f"{event_name}_{n}", "event_name": event_name, "external_customer_id": customer,
         "timestamp": _iso(now - timedelta(hours=1, minutes=n)), "properties": {"tokens": str(tokens)}}
        for n, tokens in enumerate(USAGE_TOKENS)
    ]
    for event in [*events, events[0]]:
        exchange = ctx.call(INGEST, body=event)
        ctx.require(200 <= exchange.status < 300, "an event must be accepted", exchange, INGEST, "200 <= status < 300")
    window = {"start_time": _iso(now - timedelta(days=1)), "end_time": _iso(now + timedelta(hours=1))}
    for aggregation, expected in (("SUM", Decimal(sum(USAGE_TOKENS))), ("COUNT", Decimal(len(USAGE_TOKENS)))):
        body = {"event_name": event_name, "aggregation_type": aggregation, "property_name": "tokens",
                "external_customer_id": customer, **window}
        exchange, value = settled(ctx, lambda: ctx.call(USAGE, body=body), lambda e: money((e.json() or {}).get("value", 0)), expected)
        ctx.expect(value == expected, f"{aggregation} of tokens over the events sent must be {expected}, got {value}",
                   exchange, USAGE, f"D(body.get('value', 0)) == D({str(expected)!r})")


def settled(ctx: Context, read, value_of, expected: Any) -> tuple[Exchange, Any]:
    """Read until the value is what is expected or `ctx.settle` seconds pass: the real server ingests
    and invoices asynchronously, and a late write only ever moves the value towards it."""
    deadline = time.monotonic() + ctx.settle
    while True:
        exchange = read()
        if exchange.status != 200:
            ctx.expect(False, "the read must answer 200", exchange, assertion="status == 200")
            raise CheckFailed(exchange.operation)
        value = value_of(exchange) if isinstance(exchange.json(), dict) else None
        if value == expected or time.monotonic() > deadline:
            return exchange, value
        time.sleep(0.5)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@semantic("payment_moves_invoice", needs=(PAY, GET_INVOICE), writes=True)
def payment_moves_invoice(ctx: Context) -> None:
    """An offline payment of part of a subscription's opening invoice moves `amount_paid` up and
    `amount_remaining` down by exactly that much; paying the rest leaves 0 remaining, SUCCEEDED."""
    built = chain(ctx)
    if not built.need(ctx, "plan"):
        return
    _, _, invoice = subscribe(ctx, built)
    if invoice is None:
        ctx.not_covered("/payments", f"no invoice to pay: {built.missing.get('invoice') or built.missing.get('subscription')}")
        return
    due = money(invoice.get("amount_due")) or ZERO
    paid = money(invoice.get("amount_paid")) or ZERO
    first = min(FIRST_PAYMENT, due - paid)
    if first <= 0:
        ctx.not_covered("/payments", f"the opening invoice {invoice.get('id')} has nothing to pay")
        return
    for amount, status in ((first, None), (due - paid - first, "SUCCEEDED")):
        if amount <= 0:
            continue
        pay = ctx.call(PAY, body={"destination_type": "INVOICE", "destination_id": invoice["id"], "payment_method_type": "OFFLINE",
                                  "amount": str(amount), "currency": invoice.get("currency", "usd"),
                                  "idempotency_key": tag(ctx, "payment")})
        ctx.require(200 <= pay.status < 300, f"an offline payment of {amount} must be accepted", pay, PAY, "200 <= status < 300")
        paid += amount
        exchange, got = settled(ctx, lambda: ctx.call(GET_INVOICE, str(invoice["id"])),
                                lambda e: money(record_of(e.json()).get("amount_paid")), paid)
        after = record_of(exchange.json())
        ctx.expect(got == paid, f"after paying {amount}, amount_paid must be {paid}, got {got}", exchange, GET_INVOICE,
                   f"D(body['amount_paid']) == D({str(paid)!r})")
        remaining = money(after.get("amount_remaining"))
        ctx.expect(remaining == due - paid, f"after paying {amount}, amount_remaining must be {due - paid}, got {remaining}",
                   exchange, GET_INVOICE, f"D(body['amount_remaining']) == D({str(due - paid)!r})")
        if status:
            ctx.expect(after.get("payment_status") == status, f"an invoice paid in full is {status}", exchange, GET_INVOICE,
                       f"body['payment_status'] == {status!r}")
