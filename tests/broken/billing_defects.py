"""Broken billing servers: the correct mock behind the proxy with one realistic billing bug each,
and three that break what RESTler's checkers look for (a refused create that is stored anyway,
a child listed under any parent, a field the schema closes out).

Served on `CHAIN_PATHS` (the part of the spec the gate's billing chain needs). Each names the
gate checks meant to catch it; the tests also prove none of those checks fires on the correct
mock on the same spec.
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from contract_tests.billing_rules import iso, parse_time

from .proxy import Defect, Forward, Request, Response
from .resource_defects import BILLING_PATHS, with_json

CHAIN_PATHS = (
    *BILLING_PATHS, "/features", "/features/search", "/plans", "/plans/{id}", "/plans/search", "/plans/{id}/entitlements",
    "/prices", "/prices/{id}", "/prices/search", "/entitlements", "/entitlements/{id}", "/entitlements/search",
    "/subscriptions", "/subscriptions/{id}", "/subscriptions/search", "/subscriptions/{id}/cancel",
    "/subscriptions/{id}/entitlements", "/subscriptions/usage", "/invoices/preview", "/customers/{id}/entitlements",
    "/customers/{id}/wallets", "/payments", "/payments/{id}",
)
SUBSCRIPTION = re.compile(r"^/v1/subscriptions(/[^/]+)?$")
INVOICE_READ = re.compile(r"^/v1/invoices(/[^/]+|/search)?$")
ENTITLEMENTS = re.compile(r"^/v1/(customers|subscriptions)/[^/]+/entitlements$")
CENT = Decimal("0.01")


def is_post(request: Request, path: str) -> bool:
    return request.method == "POST" and request.path == path


class InvoiceTotalsCentAbove(Defect):
    """Invoices read back with subtotal, total and amount due a cent above their lines."""

    name, caught_by = "invoice_totals_cent_above", frozenset({"invoice_totals"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if INVOICE_READ.match(request.path) and response.status < 300 and isinstance(payload, dict):
            for invoice in payload.get("items", [payload]):
                for name in ("subtotal", "total", "amount_due", "amount_remaining"):
                    if invoice.get(name) is not None:
                        invoice[name] = str(Decimal(invoice[name]) + CENT)
            response.set_json(payload)
        return response


class TaxLeftOutOfTotal(Defect):
    """Invoices carry a tax that their total and amount due leave out."""

    name, caught_by = "tax_left_out_of_total", frozenset({"invoice_totals"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if INVOICE_READ.match(request.path) and response.status < 300 and isinstance(payload, dict):
            for invoice in payload.get("items", [payload]):
                invoice["total_tax"] = "0.70"
            response.set_json(payload)
        return response


class SecondEventLost(Defect):
    """Ingest loses the second event of each customer: usage is one event short."""

    name, caught_by = "second_event_lost", frozenset({"usage_aggregates_events", "subscription_usage", "preview_usage_lines"})

    def __init__(self, bootstrap_key: str) -> None:
        super().__init__(bootstrap_key)
        self.seen: dict[str, list[str]] = {}

    async def handle(self, request: Request, forward: Forward) -> Response:
        sent = request.json()
        if is_post(request, "/v1/events") and isinstance(sent, dict):
            ids = self.seen.setdefault(f"{sent.get('external_customer_id')}:{sent.get('event_name')}", [])
            if sent.get("event_id") not in ids:
                ids.append(sent.get("event_id"))
            if ids.index(sent.get("event_id")) == 1:
                return Response(202).set_json({"message": "Event accepted for processing", "event_id": sent.get("event_id")})
        return await forward(request)


class PriceAmountDiffers(Defect):
    """A price reads back with another amount than it was created with."""

    name, caught_by = "price_amount_differs", frozenset({"price_read_back"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if request.method == "GET" and request.path.startswith("/v1/prices/") and isinstance(payload, dict) and payload.get("amount"):
            response.set_json({**payload, "amount": str(Decimal(payload["amount"]) + 1)})
        return response


class LineItemsLostOnRead(Defect):
    """A subscription read back has lost its line items."""

    name, caught_by = "line_items_lost_on_read", frozenset({"subscription_line_items"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if request.method == "GET" and SUBSCRIPTION.match(request.path) and isinstance(payload, dict):
            response.set_json({k: v for k, v in payload.items() if k != "line_items"})
        return response


class ThirtyDayPeriod(Defect):
    """A monthly subscription's period is 30 days, not a calendar month."""

    name, caught_by = "thirty_day_period", frozenset({"subscription_period"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if SUBSCRIPTION.match(request.path) and isinstance(payload, dict) and payload.get("current_period_start"):
            start = parse_time(payload["current_period_start"])
            response.set_json({**payload, "current_period_end": iso(start + timedelta(days=30))})
        return response


class PreviewWithoutUsage(Defect):
    """The invoice preview leaves out its usage lines (its totals add up without them)."""

    name, caught_by = "preview_without_usage", frozenset({"preview_usage_lines"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if is_post(request, "/v1/invoices/preview") and isinstance(payload, dict):
            lines = [line for line in payload.get("line_items", []) if line.get("price_type") != "USAGE"]
            total = str(sum((Decimal(line["amount"]) for line in lines), Decimal(0)))
            response.set_json({**payload, "line_items": lines, "subtotal": total, "total": total, "amount_due": total,
                               "amount_remaining": total})
        return response


class PaymentChangesNothing(Defect):
    """A payment is accepted and recorded, but never applied to its invoice."""

    name, caught_by = "payment_changes_nothing", frozenset({"payment_moves_invoice"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        sent = request.json()
        if is_post(request, "/v1/payments") and isinstance(sent, dict):
            answer = await forward(with_json(request, {**sent, "process_payment": False}))
            payload = answer.json()
            return answer.set_json({**payload, "payment_status": "SUCCEEDED"}) if isinstance(payload, dict) else answer
        return await forward(request)


class EndOfPeriodCancelsAtOnce(Defect):
    """An `end_of_period` cancel cancels the subscription at once."""

    name, caught_by = "end_of_period_cancels_at_once", frozenset({"end_of_period_cancel"})

    def on_request(self, request: Request) -> Request:
        sent = request.json()
        if request.method == "POST" and request.path.endswith("/cancel") and isinstance(sent, dict):
            if sent.get("cancellation_type") == "end_of_period":
                return with_json(request, {**sent, "cancellation_type": "immediate"})
        return request


class EntitlementLimitDropped(Defect):
    """A customer's and a subscription's entitlements lose the plan's usage limit (unlimited)."""

    name, caught_by = "entitlement_limit_dropped", frozenset({"entitlements_carry_limits"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if request.method == "GET" and ENTITLEMENTS.match(request.path) and isinstance(payload, dict):
            for feature in payload.get("features") or []:
                if isinstance(feature.get("entitlement"), dict):
                    feature["entitlement"]["usage_limit"] = None
            response.set_json(payload)
        return response


class RefusedCreateStored(Defect):
    """A customer create refused for a missing name (400) is stored all the same."""

    name, caught_by = "refused_create_stored", frozenset({"leakage"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        sent = request.json()
        if is_post(request, "/v1/customers") and isinstance(sent, dict) and "name" not in sent:
            await forward(with_json(request, {**sent, "name": "stored anyway"}))
            return Response(400).set_json({"code": "validation_error", "message": "'name' is a required property",
                                           "http_status_code": 400})
        return await forward(request)


class WalletsOfEveryCustomer(Defect):
    """`/customers/{id}/wallets` lists every customer's wallets."""

    name, caught_by = "wallets_of_every_customer", frozenset({"resource_hierarchy"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if request.method == "GET" and re.match(r"^/v1/customers/[^/]+/wallets$", request.path):
            every = await forward(Request("POST", "/v1/wallets/search", {}, request.headers, b'{"limit": 1000}'))
            return Response(200).set_json(every.json().get("items", []))
        return await forward(request)


class CustomerNickname(Defect):
    """Customers read back with a `nickname` their (closed) schema does not have."""

    name, caught_by = "customer_nickname", frozenset({"unknown_fields"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if request.method == "GET" and request.path.startswith("/v1/customers/") and isinstance(payload, dict) and "id" in payload:
            response.set_json({**payload, "nickname": "Al"})
        return response


BILLING_DEFECTS: tuple[type[Defect], ...] = (
    InvoiceTotalsCentAbove, TaxLeftOutOfTotal, SecondEventLost, PriceAmountDiffers, LineItemsLostOnRead, ThirtyDayPeriod,
    PreviewWithoutUsage, PaymentChangesNothing, EndOfPeriodCancelsAtOnce, EntitlementLimitDropped,
    RefusedCreateStored, WalletsOfEveryCustomer, CustomerNickname,
)
