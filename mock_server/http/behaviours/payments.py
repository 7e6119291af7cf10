"""Payments over HTTP: read, update, process and delete (`billing.payments`). Creation goes
through the generic create, which hands it to the billing service."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("getPayment", exclusive=False)
def get_payment(api: Api, call: Call) -> Response:
    payments = api.billing.payments
    return api.render(call.op, payments.view(payments.records.require("payment", call.key())))


@behaviour("updatePayment")
def update_payment(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.payments.update(call.key(), api.fields(call.body)))


@behaviour("processPayment")
def process_payment(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.payments.process(call.key()))


@behaviour("deletePayment")
def delete_payment(api: Api, call: Call) -> Response:
    api.billing.payments.delete(call.key())
    return json_response({"message": "payment deleted successfully"}, call.op.status)
