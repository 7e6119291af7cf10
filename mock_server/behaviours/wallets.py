"""Wallet balances: created at zero (or the initial credits), raised by top-ups, read back by the
real-time balance; every credit is a wallet transaction (`/wallets/{id}/transactions`).

Credits and money differ by the wallet's conversion rate (`balance = credit_balance *
conversion_rate`); a top-up gives credits (`credits_to_add`) or money (`amount`, divided by the
top-up conversion rate). No debits: usage never consumes credits in the mock.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from starlette.responses import Response

from ..errors import ApiError, validation
from ..handlers import Api, Call, json_response
from ..store import utc_now
from .registry import behaviour

TRANSACTIONS = "/wallets/transactions"


def _decimal(value: object, name: str) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise validation(f"{name} must be a decimal number, got {value!r}", name) from None


def _text(value: Decimal) -> str:
    """Decimals as the real server writes them: `100`, `12.5`."""
    return format(value.normalize(), "f") if value else "0"


@behaviour("createWallet")
def create_wallet(api: Api, call: Call) -> Response:
    body = api.fields(call.body)
    rate = _text(_decimal(body.get("conversion_rate") or 1, "conversion_rate"))
    zero = {"balance": "0", "credit_balance": "0", "conversion_rate": rate,
            "topup_conversion_rate": body.get("topup_conversion_rate") or rate}
    wallet = api.create_record(call.op.resource, {**body, **zero})
    initial = _decimal(body.get("initial_credits_to_load"), "initial_credits_to_load")
    if initial > 0:
        wallet = credit(api, wallet, initial, {"transaction_reason": "FREE_CREDIT_GRANT"})[0]
    return api.render(call.op, wallet)


@behaviour("topUpWallet")
def top_up_wallet(api: Api, call: Call) -> Response:
    wallet = api.existing(call.op.resource, call.key())
    if wallet.get("wallet_status") == "closed":
        raise ApiError(400, "wallet is closed", {"wallet_id": wallet["id"]}, code="invalid_operation")
    body = api.fields(call.body)
    credits = _decimal(body.get("credits_to_add"), "credits_to_add")
    if not credits and body.get("amount") not in (None, ""):
        rate = _decimal(wallet.get("topup_conversion_rate") or wallet.get("conversion_rate") or 1, "rate")
        credits = _decimal(body["amount"], "amount") / rate
    if credits <= 0:
        raise validation("credits_to_add or amount must be greater than 0", "credits_to_add")
    wallet, transaction = credit(api, wallet, credits, body)
    return json_response(api.schemas.conform({"wallet": wallet, "wallet_transaction": transaction},
                                             call.op.response_schema), call.op.status)


def credit(api: Api, wallet: dict, credits: Decimal, body: dict) -> tuple[dict, dict]:
    """Add `credits`, record the transaction, and return both."""
    rate = _decimal(wallet.get("conversion_rate") or 1, "conversion_rate")
    before = _decimal(wallet.get("credit_balance"), "credit_balance")
    after = before + credits
    now = utc_now()
    resource = api.model.resources[TRANSACTIONS]
    transaction = api.create_record(resource, {
        "wallet_id": wallet["id"],
        "customer_id": wallet.get("customer_id", ""),
        "type": "credit",
        "transaction_status": "completed",
        "transaction_reason": body.get("transaction_reason") or "PURCHASED_CREDIT_DIRECT",
        "amount": _text(credits * rate),
        "credit_amount": _text(credits),
        "credits_available": _text(credits),
        "credit_balance_before": _text(before),
        "credit_balance_after": _text(after),
        "currency": wallet.get("currency", ""),
        "conversion_rate": _text(rate),
        **{k: body[k] for k in ("description", "idempotency_key", "metadata", "priority") if k in body},
    })
    changes = {"credit_balance": _text(after), "balance": _text(after * rate), "updated_at": now}
    return api.store.update("/wallets", wallet["id"], changes), transaction


@behaviour("getWalletBalance")
def get_wallet_balance(api: Api, call: Call) -> Response:
    wallet = api.existing(call.op.parent, call.key())
    live = {"real_time_balance": wallet.get("balance", "0"),
            "real_time_credit_balance": wallet.get("credit_balance", "0"),
            "balance_updated_at": wallet.get("updated_at"), "is_cached_fallback": False,
            "current_period_usage": "0", "unpaid_invoices_amount": "0"}
    return json_response(api.schemas.conform({**wallet, **live}, call.op.response_schema), call.op.status)
