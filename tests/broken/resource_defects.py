"""Broken servers beyond the Secrets API: customers, search, wallets and invoices, one rule each.

Served on the billing subset of the spec (`BILLING_PATHS`); each is the correct mock behind the
proxy with one rule of `contract_tests/lifecycle.py` or `billing.py` broken.
"""
from __future__ import annotations

import json
import re

from .proxy import Defect, Forward, Request, Response

BILLING_PATHS = (
    "/customers", "/customers/{id}", "/customers/external/{external_id}", "/customers/search",
    "/wallets", "/wallets/{id}", "/wallets/{id}/top-up", "/wallets/{id}/terminate", "/wallets/search", "/wallets/transactions/search",
    "/invoices", "/invoices/{id}", "/invoices/search", "/events", "/events/usage",
)
CUSTOMERS = "/v1/customers"
CUSTOMER_ITEM = re.compile(r"^/v1/customers/(?!external/|search$)[^/]+$")


def with_json(request: Request, payload: dict) -> Request:
    request.body = json.dumps(payload).encode()
    return request


class CustomerReadBackDiffers(Defect):
    """Reading a customer back shows another name than the one stored."""

    name, caught_by = "customer_read_back_differs", frozenset({"create_read_back"})

    def on_response(self, request: Request, response: Response) -> Response:
        if request.method == "GET" and CUSTOMER_ITEM.match(request.path) and response.status == 200:
            response.set_json({**response.json(), "name": "someone else"})
        return response


class CustomerUpdateLost(Defect):
    """An update answers the new values but is never stored."""

    name, caught_by = "customer_update_lost", frozenset({"update_persists"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if request.method == "PUT" and request.path == CUSTOMERS:
            changes = request.json() or {}
            stored = await forward(Request("GET", f"{CUSTOMERS}/{request.query.get('id', '')}", {}, request.headers, b""))
            return stored.set_json({**stored.json(), **changes}) if stored.status == 200 else stored
        return await forward(request)


class CustomerDeleteIgnored(Defect):
    """A delete answers 204 but the customer stays."""

    name, caught_by = "customer_delete_ignored", frozenset({"delete_removes"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if request.method == "DELETE" and CUSTOMER_ITEM.match(request.path):
            return Response(204)
        return await forward(request)


class LookupByExternalIdMisses(Defect):
    """Looking a customer up by its external id never finds it."""

    name, caught_by = "lookup_by_external_id_misses", frozenset({"lookup_finds"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        if request.method == "GET" and request.path.startswith(CUSTOMERS + "/external/"):
            body = {"code": "not_found", "message": "customer not found", "http_status_code": 404}
            return Response(404).set_json(body)
        return await forward(request)


class DuplicateExternalIdAccepted(Defect):
    """A second customer with a taken external id is created instead of refused with 409."""

    name, caught_by = "duplicate_external_id_accepted", frozenset({"duplicate_key_is_409"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        response = await forward(request)
        if request.method == "POST" and request.path == CUSTOMERS and response.status == 409:
            sent = request.json()
            response = await forward(with_json(request, {**sent, "external_id": sent["external_id"] + "-dup"}))
            if response.status == 201:
                response.set_json({**response.json(), "external_id": sent["external_id"]})
        return response


class MissingNameAccepted(Defect):
    """A customer create without its required `name` is accepted (the server makes one up)."""

    name, caught_by = "missing_name_accepted", frozenset({"invalid_create_is_400"})

    def on_request(self, request: Request) -> Request:
        sent = request.json()
        if request.method == "POST" and request.path == CUSTOMERS and isinstance(sent, dict) and "name" not in sent:
            return with_json(request, {**sent, "name": str(sent.get("external_id", "unnamed"))})
        return request


class UnknownCustomerWalletAccepted(Defect):
    """A wallet for a customer that does not exist is answered as created."""

    name, caught_by = "unknown_customer_wallet_accepted", frozenset({"unknown_reference_is_404"})

    async def handle(self, request: Request, forward: Forward) -> Response:
        response = await forward(request)
        if request.method == "POST" and request.path == "/v1/wallets" and response.status == 404:
            return Response(200).set_json({**request.json(), "id": "wallet_01J0000000000000000000FAKE"})
        return response


class SearchIgnoresFilters(Defect):
    """A customer search drops every filter and returns all customers."""

    name, caught_by = "search_ignores_filters", frozenset({"search_filters"})

    def on_request(self, request: Request) -> Request:
        sent = request.json()
        if request.method == "POST" and request.path == CUSTOMERS + "/search" and isinstance(sent, dict):
            return with_json(request, {k: v for k, v in sent.items() if k in ("limit", "offset")})
        return request


class SearchLimitIgnored(Defect):
    """A customer search ignores `limit` and returns every customer on one page."""

    name, caught_by = "search_limit_ignored", frozenset({"pagination_everywhere"})

    def on_request(self, request: Request) -> Request:
        sent = request.json()
        if request.method == "POST" and request.path == CUSTOMERS + "/search" and isinstance(sent, dict):
            return with_json(request, {k: v for k, v in sent.items() if k != "limit"})
        return request


class InvoiceLineLost(Defect):
    """Invoices come back without their last line item, so the lines no longer sum to the totals."""

    name, caught_by = "invoice_line_lost", frozenset({"invoice_totals"})

    def on_response(self, request: Request, response: Response) -> Response:
        payload = response.json()
        if request.path.startswith("/v1/invoices") and isinstance(payload, dict) and payload.get("line_items"):
            response.set_json({**payload, "line_items": payload["line_items"][:-1]})
        return response


class TopUpHalved(Defect):
    """A wallet top-up credits half of what was asked."""

    name, caught_by = "top_up_halved", frozenset({"wallet_top_up"})

    def on_request(self, request: Request) -> Request:
        sent = request.json()
        if request.path.endswith("/top-up") and isinstance(sent, dict) and sent.get("credits_to_add"):
            return with_json(request, {**sent, "credits_to_add": str(float(sent["credits_to_add"]) / 2)})
        return request


class ResentEventsCountedAgain(Defect):
    """An event re-sent with the same id is stored again, so usage counts it twice."""

    name, caught_by = "resent_events_counted_again", frozenset({"usage_aggregates_events"})

    def __init__(self, bootstrap_key: str) -> None:
        super().__init__(bootstrap_key)
        self.seen: set[str] = set()

    def on_request(self, request: Request) -> Request:
        sent = request.json()
        if request.method == "POST" and request.path == "/v1/events" and isinstance(sent, dict) and sent.get("event_id"):
            if sent["event_id"] in self.seen:
                return with_json(request, {**sent, "event_id": sent["event_id"] + "-again"})
            self.seen.add(sent["event_id"])
        return request


RESOURCE_DEFECTS: tuple[type[Defect], ...] = (
    CustomerReadBackDiffers, CustomerUpdateLost, CustomerDeleteIgnored, LookupByExternalIdMisses,
    DuplicateExternalIdAccepted, MissingNameAccepted, UnknownCustomerWalletAccepted, SearchIgnoresFilters,
    SearchLimitIgnored, InvoiceLineLost, TopUpHalved, ResentEventsCountedAgain,
)
