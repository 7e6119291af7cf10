"""Invoices over HTTP: preview, finalize, void and manual payments (`billing.invoices`).
One-off creation goes through the generic create, which hands it to the billing service."""
from __future__ import annotations

from starlette.responses import Response

from ...core.times import parse_instant
from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("getInvoicePreview", exclusive=False)
def get_invoice_preview(api: Api, call: Call) -> Response:
    request = api.fields(call.body)
    subscription = api.billing.records.require("subscription", request.get("subscription_id"))
    start = parse_instant(request["period_start"], "period_start") if request.get("period_start") else None
    end = parse_instant(request["period_end"], "period_end") if request.get("period_end") else None
    preview = api.billing.invoices.preview(subscription, start, end, bool(request.get("hide_zero_charges_line_items")))
    return api.render(call.op, preview)


@behaviour("finalizeInvoice")
def finalize_invoice(api: Api, call: Call) -> Response:
    api.billing.invoices.finalize(call.key())
    return json_response({"message": "invoice finalized successfully"}, call.op.status)


@behaviour("voidInvoice")
def void_invoice(api: Api, call: Call) -> Response:
    body = api.fields(call.body)
    api.billing.invoices.void(call.key(), body.get("metadata"), api.billing.wallets.refund)
    return json_response({"message": "invoice voided successfully"}, call.op.status)


@behaviour("updateInvoicePaymentStatus")
def update_invoice_payment_status(api: Api, call: Call) -> Response:
    body = api.fields(call.body)
    return api.render(call.op, api.billing.invoices.record_payment(call.key(), body.get("payment_status"), body.get("amount")))
