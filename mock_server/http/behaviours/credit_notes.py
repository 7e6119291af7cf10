"""Credit notes over HTTP: read with their invoice, subscription and customer, finalize and
void (`billing.credit_notes`). Creation goes through the generic create, which hands it to the
billing service. Finalize and void answer a message, as the real server's handlers do."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("getCreditNote", exclusive=False)
def get_credit_note(api: Api, call: Call) -> Response:
    return json_response(api.schemas.conform(api.billing.credit_notes.view(call.key()), call.op.response_schema),
                         call.op.status)


@behaviour("processCreditNote")
def process_credit_note(api: Api, call: Call) -> Response:
    api.billing.credit_notes.finalize(call.key())
    return json_response({"message": "Adjustment credit note processed successfully"}, call.op.status)


@behaviour("voidCreditNote")
def void_credit_note(api: Api, call: Call) -> Response:
    api.billing.credit_notes.void(call.key())
    return json_response({"message": "Credit note voided successfully"}, call.op.status)
