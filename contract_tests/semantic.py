"""Flexprice rules no schema states, checked with plain requests.

Each check is a function registered with `@semantic(name, needs=..., writes=...)`. It runs only
when the operations it needs (by operationId) are under test, and, when it writes, not under
`--read-only`. A check reports every broken rule through `ctx.expect`; a request that times out
ends the check with a `response_time` failure. What a check creates it deletes at the end.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Operation

from . import samples
from .client import JSON, ApiClient, Exchange, GaveUp, ResponseTimeout, Unreachable
from .report import API_KEY_PLACEHOLDER, Failure, Report

CREATE, LIST, DELETE = "createApiKey", "listApiKeys", "deleteApiKey"
UNKNOWN_ID = "gate_unknown_01J00000000000000000000000"
WRONG_KEY = "sk_01J0000000000000000000WRONG"
DEFAULT_PAGE = 50
# The real server's error codes by status; the first is the one invalid input or an unknown id gets.
CODES_FOR_STATUS = {
    400: ("validation_error", "invalid_operation", "http_client_error"),
    403: ("permission_denied",),
    404: ("not_found",),
    409: ("already_exists", "version_conflict"),
}


@dataclass(slots=True)
class SemanticCheck:
    name: str
    run: Callable[[Context], None]
    needs: tuple[str, ...]
    writes: bool


CHECKS: list[SemanticCheck] = []


def semantic(name: str, needs: tuple[str, ...] = (), writes: bool = False) -> Callable:
    def register(func: Callable[[Context], None]) -> Callable[[Context], None]:
        CHECKS.append(SemanticCheck(name, func, needs, writes))
        return func
    return register


class CheckFailed(Exception):
    """Stops a check whose later steps depend on the step that just failed."""


@dataclass
class Context:
    """What a check may use: the client, the operations under test, and the report to fill.

    Every exchange a check makes is counted in the report (requests and statuses per operation,
    the operations the check ran on) and kept in `trace`, so a failure carries the requests that
    lead to it; records made earlier and reused (`use`) bring the requests that made them."""

    client: ApiClient
    operations: dict[str, Operation]
    report: Report
    seed: int
    read_only: bool
    plain_errors: set[tuple[str, int]] = field(default_factory=set)
    model: Model | None = None
    spec: Spec | None = None
    check: str = ""
    key_shown: str = API_KEY_PLACEHOLDER  # how reproduce commands write the gate's key
    settle: float = 5.0  # seconds a read of usage, invoices or payments waits for the server to catch up
    created: list[str] = field(default_factory=list)
    records: list[tuple[Operation, str]] = field(default_factory=list)  # (its delete, id) for clean-up
    samples: dict[str, Any] = field(default_factory=dict)  # one record per resource, shared by checks
    trace: list[Exchange] = field(default_factory=list)  # this check's exchanges, and those it reused
    refusals: dict[str, str] = field(default_factory=dict)  # collection -> why no record could be made
    exchanges: list[Exchange] = field(default_factory=list)  # every JSON answer of the run (unknown_fields)
    counter: int = 0
    attributing: bool = True  # whether exchanges count as the check running on their operation

    def observe(self, exchange: Exchange) -> None:
        """The client's observer: count the exchange, note the check ran on its operation."""
        self.report.count(exchange.operation, exchange.status)
        if self.check and self.check != "clean_up" and self.attributing:
            self.report.ran[self.check].add(exchange.operation)
        self.trace.append(exchange)
        if JSON in exchange.content_type:
            self.exchanges.append(exchange)

    def use(self, trace: list[Exchange]) -> None:
        """A check reuses what an earlier one built: a replay of it needs those requests too."""
        known = {id(exchange) for exchange in self.trace}
        self.trace[:0] = [exchange for exchange in trace if id(exchange) not in known]

    def expect(self, condition: bool, message: str, exchange: Exchange, operation: str = "", assertion: str = "",
               trace: list[Exchange] | None = None) -> bool:
        """Record a failure unless `condition`; `assertion` is the same expectation as a Python
        expression over the exchange's `status` and `body` (see `replay.py`), for `--write-tests`;
        `trace` the requests that reproduce it (default: this check's, up to the exchange)."""
        if not condition:
            at = next((n for n, seen in enumerate(self.trace) if seen is exchange), None)
            if trace is None:
                trace = self.trace[: at + 1] if at is not None else [*self.trace, exchange]
            self.report.add(Failure(
                self.check, operation or exchange.operation,
                f"{message}\n{exchange.describe()}", exchange.curl(self.client.api_key, self.key_shown),
                trace, assertion,
            ))
        return condition

    def require(self, condition: bool, message: str, exchange: Exchange, operation: str = "", assertion: str = "") -> None:
        if not self.expect(condition, message, exchange, operation, assertion):
            raise CheckFailed(message)

    def expect_status(self, exchange: Exchange, expected: int | tuple[int, ...], message: str, operation: str = "") -> bool:
        """The status is `expected` (one, or any of several)."""
        allowed = (expected,) if isinstance(expected, int) else expected
        return self.expect(exchange.status in allowed, message, exchange, operation, f"status in {set(allowed)!r}")

    def call(self, op: str | Operation, path_id: str = "", **kwargs: Any) -> Exchange:
        """Call an operation (by id or model) with every path parameter set to `path_id`."""
        op = self.operations[op] if isinstance(op, str) else op
        return self.client.call(op.method, fill_path(op, path_id), operation=op.method_path,
                                operation_id=op.operation_id, **kwargs)

    def curl(self, exchange: Exchange) -> str:
        return exchange.curl(self.client.api_key, self.key_shown)

    @contextmanager
    def contained(self, operation: str) -> Iterator[None]:
        """Whatever the implementation answers, end this step with a failure, never a crash:
        a timeout, a dead connection, or a body without the shape the step reads. (A spent
        time budget is not contained: it ends the whole run.)"""
        try:
            yield
        except (CheckFailed, GaveUp):
            pass
        except ResponseTimeout as error:
            self.report.add(Failure("response_time", operation, str(error), self.curl(error.exchange)))
        except Unreachable as error:
            self.report.add(Failure("transport", operation, str(error), self.curl(error.exchange)))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError, ArithmeticError) as error:
            last = self.client.last
            self.report.add(Failure(
                self.check, operation,
                f"the answer does not have the documented shape ({type(error).__name__}: {error})"
                + (f"\n{last.describe()}" if last else ""),
                self.curl(last) if last else "",
            ))

    @contextmanager
    def unattributed(self) -> Iterator[None]:
        """Requests that only prepare a check (finding what to read): they are not what it checks."""
        before, self.attributing = self.attributing, False
        try:
            yield
        finally:
            self.attributing = before

    def not_covered(self, resource: str, why: str) -> None:
        """This check could not run on `resource`, and why (the summary lists it under `not run`)."""
        self.report.not_covered[(self.check, resource)] = why

    def new_key(self, key_type: str = "private_key") -> tuple[Exchange, dict]:
        """Create an API key, require the documented 201, and remember it for clean-up."""
        self.counter += 1
        body = {"name": f"contract-gate-{self.seed}-{self.check}-{self.counter}", "type": key_type}
        exchange = self.call(CREATE, body=body)
        payload = exchange.json()
        self.require(
            exchange.status == 201 and isinstance(payload, dict) and isinstance(payload.get("secret"), dict),
            "creating an API key must answer 201 with {api_key, secret}", exchange, CREATE,
        )
        self.created.append(str(payload["secret"].get("id")))
        return exchange, {**payload, "request": body}

    def list_all(self, **params: Any) -> tuple[Exchange, list[dict], dict]:
        exchange = self.call(LIST, params={"limit": 1000, **params})
        payload = exchange.json()
        self.require(
            exchange.status == 200 and isinstance(payload, dict) and isinstance(payload.get("items"), list),
            "listing API keys must answer 200 with {items, pagination}", exchange, LIST,
        )
        return exchange, payload["items"], payload.get("pagination") or {}

    def secured_probe(self) -> Operation:
        """Where to try a key: the key list, else another secured GET without path parameters,
        else the key create itself (the checks that probe all need createApiKey)."""
        candidates = [
            op for op in self.operations.values()
            if op.secured and "{" not in op.path and (op.method == "get" or op.operation_id == CREATE)
        ]
        return min(candidates, key=lambda op: (op.operation_id != LIST, op.method != "get"))

    def probe_with(self, key: str | None) -> Exchange:
        op = self.secured_probe()
        body = {"name": f"contract-gate-{self.seed}-probe", "type": "private_key"} if op.method == "post" else None
        exchange = self.call(op, body=body, key=key)
        if exchange.status == 201 and op.operation_id == CREATE:
            self.created.append(str((exchange.json() or {}).get("secret", {}).get("id")))
        return exchange


def fill_path(op: Operation, value: str) -> str:
    """The path with every parameter set to `value` (an unknown id unless told otherwise)."""
    path = op.path
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + (value or UNKNOWN_ID) + path[end + 1 :]
    return path


def error_envelope(ctx: Context, exchange: Exchange, status: int, operation: str) -> bool:
    """A documented error: the status, JSON, and `errors.ErrorResponse` whose fields fit it
    (unless the spec documents another body for it, which Schemathesis then validates)."""
    body = exchange.json()
    ok = ctx.expect(exchange.status == status, f"expected {status}", exchange, operation, f"status == {status}")
    ok = ctx.expect(JSON in exchange.content_type, "errors must be application/json", exchange, operation,
                    "isinstance(body, (dict, list))") and ok
    if (operation, status) in ctx.plain_errors:
        return ok
    if not isinstance(body, dict):
        return ctx.expect(False, "errors must be an errors.ErrorResponse object", exchange, operation, "isinstance(body, dict)")
    ok = ctx.expect(
        body.get("http_status_code") == exchange.status,
        "errors.ErrorResponse.http_status_code must equal the HTTP status", exchange, operation,
        "body.get('http_status_code') == status",
    ) and ok
    expected_code = CODES_FOR_STATUS.get(exchange.status, ("",))[0]
    if expected_code:
        ok = ctx.expect(body.get("code") == expected_code, f"code must be {expected_code!r}", exchange, operation,
                        f"body.get('code') == {expected_code!r}") and ok
    return ctx.expect(isinstance(body.get("message"), str), "message must be a string", exchange, operation,
                      "isinstance(body.get('message'), str)") and ok


@semantic("auth_required")
def auth_required(ctx: Context) -> None:
    """Missing and wrong keys get 401 on every secured operation under test."""
    for op in (op for op in ctx.operations.values() if op.secured):
        if ctx.read_only and op.method != "get":
            continue
        body = {} if op.request_schema is not None else None
        for key, label in ((None, "no x-api-key"), (WRONG_KEY, "a wrong x-api-key")):
            with ctx.contained(op.operation_id):
                expect_unauthorized(ctx, ctx.call(op, body=body, key=key), op.operation_id, label)


def expect_unauthorized(ctx: Context, exchange: Exchange, operation: str, label: str) -> None:
    body = exchange.json()
    if ctx.expect(exchange.status == 401, f"a request with {label} must be rejected with 401", exchange, operation, "status == 401"):
        ctx.expect(
            JSON in exchange.content_type and isinstance(body, dict)
            and isinstance(body.get("error") or body.get("message"), str),
            "a 401 must carry a JSON error body (the real server: {\"error\": \"Invalid API key\"})",
            exchange, operation,
        )


@semantic("new_key_authenticates", needs=(CREATE,), writes=True)
def new_key_authenticates(ctx: Context) -> None:
    _, created = ctx.new_key()
    exchange = ctx.probe_with(created["api_key"])
    ctx.expect(exchange.status < 300, "a newly created API key must authenticate", exchange, CREATE, "status < 300")


@semantic("read_after_write", needs=(CREATE,), writes=True)
def read_after_write(ctx: Context) -> None:
    """What was created is what the create answered and what the list shows."""
    for key_type, prefix in (("private_key", "sk_"), ("publishable_key", "pk_")):
        exchange, created = ctx.new_key(key_type)
        secret, sent = created["secret"], created["request"]
        ctx.expect(str(created.get("api_key", "")).startswith(prefix), f"a {key_type} starts with {prefix}", exchange, CREATE)
        ctx.expect(str(secret.get("id", "")).startswith("secret_"), "secret ids start with secret_", exchange, CREATE)
        for name in ("name", "type"):
            ctx.expect(secret.get(name) == sent[name], f"secret.{name} must echo the request", exchange, CREATE)
        ctx.expect(secret.get("status") == "published", "a new key is published", exchange, CREATE)
        if LIST not in ctx.operations:
            continue
        listing, items, _ = ctx.list_all()
        shown = [item for item in items if item.get("id") == secret.get("id")]
        if ctx.expect(len(shown) == 1, f"the created key {secret.get('id')} must appear once in the list", listing, LIST):
            for name in ("name", "type", "display_id", "status"):
                ctx.expect(shown[0].get(name) == secret.get(name), f"the list must show the created {name}", listing, LIST)


@semantic("delete_means_gone", needs=(CREATE, DELETE), writes=True)
def delete_means_gone(ctx: Context) -> None:
    """204 with no body, then 404 on a second delete, absent from the list, and the key is dead."""
    _, created = ctx.new_key()
    secret_id = created["secret"]["id"]
    exchange = ctx.call(DELETE, secret_id)
    ctx.require(exchange.status == 204, "deleting an existing key must answer 204", exchange, DELETE, "status == 204")
    ctx.expect(exchange.text == "", "a 204 has an empty body", exchange, DELETE)
    ctx.created.remove(secret_id)
    again = ctx.call(DELETE, secret_id)
    error_envelope(ctx, again, 404, DELETE)
    expect_unauthorized(ctx, ctx.probe_with(created["api_key"]), DELETE, "a deleted (revoked) key")
    if LIST in ctx.operations:
        listing, items, _ = ctx.list_all()
        gone = all(item.get("id") != secret_id for item in items)
        ctx.expect(gone, f"deleted key {secret_id} must leave the list", listing, LIST, f"T({secret_id!r}) not in ids(body)")


@semantic("unknown_id_is_404")
def unknown_id_is_404(ctx: Context) -> None:
    """Reading or deleting an id nobody created is 404 `not_found` on every item operation
    (but for deletes that take a body, which the server may validate first)."""
    for op in ctx.operations.values():
        if op.role not in ("get", "delete") or (ctx.read_only and op.method != "get") or op.request_schema:
            continue
        with ctx.contained(op.operation_id):
            error_envelope(ctx, ctx.call(op), 404, op.operation_id)


@semantic("invalid_input_is_400")
def invalid_input_is_400(ctx: Context) -> None:
    """Documented 400s: a body of the wrong JSON type, or a non-integer integer parameter."""
    for op in ctx.operations.values():
        if ctx.read_only and op.method != "get":
            continue
        with ctx.contained(op.operation_id):
            if op.request_schema is not None and not ctx.read_only:
                exchange = ctx.call(op, raw_body=b"[]")
                if exchange.status != 404:
                    error_envelope(ctx, exchange, 400, op.operation_id)
            for param in _integer_query_params(op):
                exchange = ctx.call(op, params={param: "abc"})
                if exchange.status != 404:
                    error_envelope(ctx, exchange, 400, op.operation_id)


def _integer_query_params(op: Operation) -> Iterator[str]:
    for param in op.parameters:
        if param.get("in") == "query" and (param.get("schema") or {}).get("type") == "integer":
            yield param["name"]


@semantic("integration_key_rejected", needs=(CREATE,), writes=True)
def integration_key_rejected(ctx: Context) -> None:
    """`type: integration` is in the enum, but the real server refuses it with 400."""
    exchange = ctx.call(CREATE, body={"name": f"contract-gate-{ctx.seed}-integration", "type": "integration"})
    if exchange.status == 201:
        ctx.created.append(str((exchange.json() or {}).get("secret", {}).get("id")))
    error_envelope(ctx, exchange, 400, CREATE)


@semantic("pagination", needs=(LIST,))
def pagination(ctx: Context) -> None:
    """`limit` bounds the page, `offset` moves the window, `total` counts everything, newest first."""
    newest: list[str] = []
    if not ctx.read_only and CREATE in ctx.operations:
        newest = [ctx.new_key()[1]["secret"]["id"] for _ in range(3)][::-1]
    listing, items, page = ctx.list_all()
    total = page.get("total")
    ctx.expect(total == len(items) or (total or 0) > 1000, "pagination.total must count every key", listing, LIST,
               "body['pagination']['total'] == len(items(body)) or body['pagination']['total'] > 1000")
    if newest:
        order = [item.get("id") for item in items if item.get("id") in newest]
        ctx.expect(order == newest, f"keys must be listed newest first: {newest}, got {order}", listing, LIST)
    default = ctx.call(LIST)
    default_limit = (default.json() or {}).get("pagination", {}).get("limit")
    ctx.expect(default_limit == DEFAULT_PAGE, f"the default limit is {DEFAULT_PAGE}", default, LIST,
               f"body['pagination']['limit'] == {DEFAULT_PAGE}")
    for offset in range(min(len(items), 3)):
        _expect_window(ctx, items, total, limit=1, offset=offset)
    if items:
        _expect_window(ctx, items, total, limit=2, offset=len(items) - 1)
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        error_envelope(ctx, ctx.call(LIST, params=params), 400, LIST)


def _expect_window(ctx: Context, items: list[dict], total: int, limit: int, offset: int) -> None:
    exchange = ctx.call(LIST, params={"limit": limit, "offset": offset})
    payload = exchange.json() or {}
    window = [item.get("id") for item in payload.get("items", [])]
    expected = [item.get("id") for item in items[offset : offset + limit]]
    ctx.expect(window == expected, f"limit={limit}&offset={offset} must return {expected}, got {window}", exchange, LIST)
    page = payload.get("pagination", {})
    ctx.expect(
        (page.get("limit"), page.get("offset"), page.get("total")) == (limit, offset, total),
        f"pagination must echo limit={limit}, offset={offset} and total={total}", exchange, LIST,
    )


# How a record the API has no delete for is ended, and the body that ends it at once: a clean-up
# must end a subscription or a wallet before the customer they belong to can go (the real server
# refuses to delete a customer with a subscription not cancelled or an active wallet).
ENDINGS = {"cancel": {"cancellation_type": "immediate", "reason": "contract gate clean-up"}, "terminate": None}


def clean_up(ctx: Context) -> None:
    """Delete what the checks created, newest first, ending what the API cannot delete (a
    subscription is cancelled, a wallet terminated) before what it belongs to, so a staging run
    leaves no keys or records behind."""
    if DELETE in ctx.operations:
        for secret_id in ctx.created:
            with ctx.contained(DELETE):
                ctx.call(DELETE, secret_id)
    for end, record_id in reversed(ctx.records):
        with ctx.contained(end.operation_id):
            body = ENDINGS[end.action] if end.role == "action" else delete_body(ctx, end)
            call_item(ctx, end, record_id, body=body)
    ctx.created.clear()
    ctx.records.clear()


def delete_body(ctx: Context, op: Operation) -> dict | None:
    """What a delete that takes a body (`DELETE /prices/{id}`) is sent: its required fields."""
    if op.request_schema is None:
        return None
    ctx.counter += 1
    return samples.body(ctx.spec, op.request_schema, f"{ctx.seed}-{ctx.counter}", {})


def call_item(ctx: Context, op: Operation, key: str, **kwargs: Any) -> Exchange:
    """Call an item operation on `key`, in the path (`/customers/{id}`) or the query (`?id=`)."""
    if "{" + op.key_param + "}" in op.path:
        return ctx.call(op, key, **kwargs)
    return ctx.call(op, params={**kwargs.pop("params", {}), op.key_param: key}, **kwargs)
