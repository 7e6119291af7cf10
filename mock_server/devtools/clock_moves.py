"""Moving the billing clock for the admin API and the dashboard, and what the move did.

A move runs the period job before it returns (`Subscriptions.catch_up`), and every change the job
makes is a domain event in this process's outbox. What the move did is read from there, in the
domain's own terms: the renewals (`subscription.updated` of a subscription still live), the
invoices issued (`invoice.update.finalized`; an invoice that came to nothing is SKIPPED and makes
no event), the cancellations (`subscription.cancelled`) and the credits granted to wallets (a
credit `wallet.transaction.created`). The move holds the store's lock and runs on the server's
one event loop, so nothing else records a change in this process meanwhile; the outbox keeps the
last 10,000 changes, and a move that makes more reports those (`complete: false`).
"""
from __future__ import annotations

from collections.abc import Sequence

from ..core.times import parse_instant
from ..domain.backend import Backend
from ..domain.billing.subscriptions import LIVE


def move_clock(backend: Backend, how: str, value: object) -> dict:
    """Forward by a duration (`how` "advance", ISO 8601) or to an instant ("to", RFC 3339): the
    clock as `GET /_mock/clock` describes it, and `happened`, what the move did. A bad value is
    `Invalid` naming `how`."""
    clock, outbox = backend.clock, backend.outbox
    with backend.store.atomic():  # one move at a time, from where the last one left the clock
        before = outbox.entries()
        mark = before[-1] if before else None
        clock.advance(value) if how == "advance" else clock.to(parse_instant(value, "to"))
        changes, complete = since(outbox.entries(), mark)
    return {**clock.describe(), "happened": {**summary(changes), "complete": complete}}


def since(outbox: Sequence[dict], mark: dict | None) -> tuple[list[dict], bool]:
    """The changes after `mark`, oldest first, and whether `mark` was still there to tell."""
    for index in range(len(outbox) - 1, -1, -1):
        if outbox[index] is mark:
            return list(outbox[index + 1:]), True
    return list(outbox), mark is None


def summary(changes: list[dict]) -> dict[str, list[dict]]:
    """Renewals, invoices, cancellations and grants among `changes`, each in the order made."""
    found: dict[str, list[dict]] = {"renewals": [], "invoices": [], "cancellations": [], "grants": []}
    for change in changes:
        kind, record = change["event_type"], change["payload"]
        if kind == "subscription.updated" and record.get("subscription_status") in LIVE:
            found["renewals"].append({
                "subscription_id": record.get("id"), "customer_id": record.get("customer_id"),
                "period_start": record.get("current_period_start"), "period_end": record.get("current_period_end")})
        elif kind == "invoice.update.finalized":
            found["invoices"].append({key: record.get(key) for key in (
                "id", "invoice_number", "customer_id", "subscription_id", "billing_reason", "period_start",
                "period_end", "currency", "total")})
        elif kind == "subscription.cancelled":
            found["cancellations"].append({"subscription_id": record.get("id"), "customer_id": record.get("customer_id"),
                                           "cancelled_at": record.get("cancelled_at")})
        elif kind == "wallet.transaction.created" and record.get("type") == "credit":
            found["grants"].append({"wallet_id": record.get("wallet_id"), "customer_id": record.get("customer_id"),
                                    "credits": record.get("credit_amount"), "reason": record.get("transaction_reason")})
    return found
