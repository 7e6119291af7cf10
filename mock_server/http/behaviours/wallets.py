"""Wallets over HTTP: top-up, termination and the real-time balance (`billing.wallets`)."""
from __future__ import annotations

from starlette.responses import Response

from ..handlers import Api, Call, json_response
from .registry import behaviour


@behaviour("topUpWallet")
def top_up_wallet(api: Api, call: Call) -> Response:
    wallet, transaction = api.billing.wallets.top_up(call.key(), api.fields(call.body))
    return json_response(api.schemas.conform({"wallet": wallet, "wallet_transaction": transaction},
                                             call.op.response_schema), call.op.status)


@behaviour("terminateWallet")
def terminate_wallet(api: Api, call: Call) -> Response:
    return api.render(call.op, api.billing.wallets.terminate(call.key()))


@behaviour("getWalletBalance")
def get_wallet_balance(api: Api, call: Call) -> Response:
    return json_response(api.schemas.conform(api.billing.wallets.real_time(call.key()), call.op.response_schema),
                         call.op.status)
