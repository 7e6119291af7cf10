"""`flexprice-contract parity`: the gate's billing scenario against a target and against a mock,
answer by answer, and every field where the two answers differ.

The scenario is the chain the billing checks build (`chain.py`: two metered features with their
meters, a plan with a price of every billing model, an entitlement, a customer, a monthly
subscription, events on both meters, its opening invoice), then what a client does with it: the
subscription and the invoice read back, the subscription's usage and invoice preview, an offline
payment of part of the invoice, a wallet topped up, an end-of-period cancel. Each answer is a step
named for what it is (`price volume`, `invoice after payment`); a step that polls (usage, the
preview, a payment landing) keeps its last answer, so an asynchronous server is read until it
settles (`--settle`), as the checks read it.

Both runs have the same seed, so they send the same bodies, and what differs is in the answers.
What differs by nature is masked before comparing, as LocalStack's snapshot transformers mask it:
ids (`id`, `*_id`, `*_ids`), times (any RFC 3339 string), invoice numbers and who made a record.
Amounts in strings are compared as numbers (`"10"` and `"10.00"` are the same), a null and a
missing field are the same, lists item by item. A difference is the step, its operation, the
field's path (`$.line_items[0].amount`) and both values; a step one side could not reach is one
difference saying why.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flexprice_spec.document import Spec
from flexprice_spec.resources import infer

from . import gate
from .billing import settled
from .chain import ALLOWANCE, PRICES, Chain, chain, tag
from .client import JSON, Exchange
from .config import GateConfig
from .expectations import preview_errors, usage_errors
from .records import Record, create_record, record_of
from .report import Report
from .semantic import Context, clean_up

GET_INVOICE, GET_SUBSCRIPTION, USAGE, PREVIEW = "getInvoice", "getSubscription", "getSubscriptionUsage", "getInvoicePreview"
PAY, CANCEL, CREATE_WALLET, GET_WALLET, TOP_UP = "createPayment", "cancelSubscription", "createWallet", "getWallet", "topUpWallet"
PAID = Decimal("4")
TOP_UP_CREDITS = "100"
ID_KEY = re.compile(r"(^|_)ids?$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
VOLATILE = frozenset({"invoice_number", "idempotency_key", "created_by", "updated_by"})
MISSING = object()
SHOWN_CHARS = 120


@dataclass(slots=True)
class Answer:
    """What one side answered at one step: its status and body, or why it sent nothing."""

    step: str
    operation: str
    status: int = 0
    body: Any = None
    absent: str = ""  # why the step was not taken on this side

    def describe(self) -> str:
        if self.absent:
            return f"nothing ({self.absent})"
        return f"{self.status}" if self.status else "no answer (the request failed)"


@dataclass(slots=True)
class Difference:
    step: str
    operation: str
    path: str  # `status`, `$.line_items[0].amount`, or empty when one side has no answer
    target: str
    mock: str

    def line(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.step} ({self.operation}){where}: target {self.target}, mock {self.mock}"


@dataclass
class Run:
    """One side's answers by step, in the order they came, and what kept it from answering."""

    answers: dict[str, Answer] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # the target unreachable, a timeout


class Recorder:
    """The client's observer: an exchange made inside `step(name)` is that step's answer (the last
    one, when the step polls); exchanges outside any step (building the chain) are not compared."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.current = ""

    def observe(self, exchange: Exchange) -> None:
        if self.current:
            body = exchange.json() if JSON in exchange.content_type else exchange.text
            self.run.answers[self.current] = Answer(self.current, exchange.operation, exchange.status, body)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current = name
        try:
            yield
        finally:
            self.current = ""

    def absent(self, name: str, operation: str, why: str) -> None:
        self.run.answers[name] = Answer(name, operation, absent=why)


def scenario(config: GateConfig) -> Run:
    """Run the billing scenario against `config.base_url`; what it made is deleted afterwards."""
    spec = Spec.load(config.spec, config.overlays)
    model = infer(spec)
    ctx = gate.context(config, {op.operation_id: op for op in model.operations}, Report(), model, spec, None)
    run = Run()
    recorder = Recorder(run)
    ctx.client.observers.append(recorder.observe)
    ctx.check = "parity"
    try:
        with ctx.contained("parity"):
            built = chain(ctx)
            _parts(ctx, built, recorder)
            _actions(ctx, built, recorder)
        ctx.check = "clean_up"
        clean_up(ctx)
    finally:
        ctx.client.close()
    run.problems = [f"{failure.check}: {failure.message.splitlines()[0]}" for failure in ctx.report.failures
                    if failure.check in ("transport", "response_time")]
    return run


def _parts(ctx: Context, built: Chain, recorder: Recorder) -> None:
    """The chain's parts as their creates answered them; a part one side could not make, with why."""
    parts: list[tuple[str, str, Record | None]] = [
        *((f"feature {name}", name, built.features.get(name)) for name in ("tokens", "requests")),
        ("plan", "plan", built.plan),
        *((f"price {name}", f"{name} price", built.prices.get(name)) for name in PRICES),
        ("entitlement", "entitlement", built.entitlement),
        ("customer", "customer", built.customer),
        ("subscription", "subscription", built.subscription),
    ]
    for step, part, record in parts:
        if record is None:
            recorder.absent(step, "create", built.missing.get(part, "not built"))
            continue
        created = next((e for e in reversed(record.trace) if e.method == "POST" and 200 <= e.status < 300
                        and record.id in e.text), None)
        body = created.json() if created is not None else record.answer
        recorder.run.answers[step] = Answer(step, created.operation if created else "create",
                                            created.status if created else 0, body)


def _actions(ctx: Context, built: Chain, recorder: Recorder) -> None:
    """Reads and actions on the chain, each a step; one a side cannot take is absent, with why."""
    subscription = built.subscription.id if built.subscription else ""
    invoice = str(built.invoice["id"]) if built.invoice else ""
    usage = {feature.answer.get("meter_id"): str(built.usage[name])
             for name, feature in built.features.items() if name in built.usage}
    allowances = {built.features["requests"].answer.get("meter_id"): ALLOWANCE} if built.entitlement else {}
    prices = [{**record.sent, "id": record.id} for record in built.prices.values()]
    no_subscription = built.missing.get("subscription", "no subscription")
    no_invoice = built.missing.get("invoice") or no_subscription
    no_usage = built.missing.get("usage") or no_subscription
    wallet: dict[str, str] = {}

    def read(op: str, key: str) -> Callable[[], Exchange]:
        return lambda: ctx.call(op, key)

    def pay() -> None:
        ctx.call(PAY, body={"destination_type": "INVOICE", "destination_id": invoice, "payment_method_type": "OFFLINE",
                            "amount": str(PAID), "currency": "usd", "idempotency_key": tag(ctx, "payment")})

    def make_wallet() -> None:
        made = create_record(ctx, ctx.model.resources["/wallets"], body={"customer_id": built.customer.id, "currency": "usd"})
        if made is not None:
            wallet["id"] = made.id

    def unless(present: Callable[[], Any], why: str) -> Callable[[], str]:
        return lambda: "" if present() else why

    with_subscription = unless(lambda: subscription, no_subscription)
    with_invoice = unless(lambda: invoice, no_invoice)
    with_usage = unless(lambda: subscription and usage, no_usage)
    with_wallet = unless(lambda: wallet, "no wallet was made")
    steps: list[tuple[str, str, Callable[[], str], Callable[[], Any]]] = [  # (step, operation, why not, action)
        ("subscription read back", GET_SUBSCRIPTION, with_subscription, read(GET_SUBSCRIPTION, subscription)),
        ("opening invoice", GET_INVOICE, with_invoice, read(GET_INVOICE, invoice)),
        ("subscription usage", USAGE, with_usage, lambda: settled(
            ctx, lambda: ctx.call(USAGE, body={"subscription_id": subscription}),
            lambda e: usage_errors(e.json(), usage, prices), [])),
        ("invoice preview", PREVIEW, with_usage, lambda: settled(
            ctx, lambda: ctx.call(PREVIEW, body={"subscription_id": subscription}),
            lambda e: preview_errors(e.json(), prices, usage, allowances), [])),
        ("payment", PAY, with_invoice, pay),
        ("invoice after payment", GET_INVOICE, with_invoice, lambda: settled(
            ctx, read(GET_INVOICE, invoice), lambda e: _money(record_of(e.json()).get("amount_paid")), PAID)),
        ("wallet", CREATE_WALLET, unless(lambda: built.customer, built.missing.get("customer", "no customer")),
         make_wallet),
        ("wallet top-up", TOP_UP, with_wallet, lambda: ctx.call(TOP_UP, wallet["id"], body={
            "credits_to_add": TOP_UP_CREDITS, "transaction_reason": "FREE_CREDIT_GRANT"})),
        ("wallet after top-up", GET_WALLET, with_wallet, lambda: ctx.call(GET_WALLET, wallet["id"])),
        ("cancel", CANCEL, with_subscription, lambda: ctx.call(
            CANCEL, subscription, body={"cancellation_type": "end_of_period", "reason": "contract gate parity"})),
        ("subscription after cancel", GET_SUBSCRIPTION, with_subscription, read(GET_SUBSCRIPTION, subscription)),
    ]
    for step, operation, why_not, action in steps:
        if operation not in ctx.operations:
            continue  # not in the spec: neither side is asked
        if why := why_not():
            recorder.absent(step, operation, why)
            continue
        with recorder.step(step), ctx.contained(step):
            action()


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@dataclass(slots=True)
class Comparison:
    differences: list[Difference]
    compared: int  # steps both sides answered

    @property
    def steps(self) -> set[str]:
        """The steps whose answers differ."""
        return {difference.step for difference in self.differences}


def compare(target: Run, mock: Run) -> Comparison:
    """Every field where the target's answers differ from the mock's, step by step."""
    found: list[Difference] = []
    compared = 0
    for step in [*target.answers, *(name for name in mock.answers if name not in target.answers)]:
        ours, theirs = target.answers.get(step), mock.answers.get(step)
        operation = (ours or theirs).operation
        if not (_answered(ours) and _answered(theirs)):
            if _answered(ours) or _answered(theirs):
                found.append(Difference(step, operation, "", _said(ours), _said(theirs)))
            continue
        compared += 1
        if ours.status != theirs.status:
            found.append(Difference(step, operation, "status", str(ours.status), str(theirs.status)))
        found += [Difference(step, operation, *difference) for difference in fields(ours.body, theirs.body)]
    return Comparison(found, compared)


def _answered(answer: Answer | None) -> bool:
    return answer is not None and not answer.absent and bool(answer.status)


def _said(answer: Answer | None) -> str:
    return answer.describe() if answer is not None else "nothing (the step was not reached)"


def fields(target: Any, mock: Any, path: str = "$", key: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, the target's value, the mock's) for each field that differs once masked."""
    if isinstance(target, dict) and isinstance(mock, dict):
        for name in [*target, *(name for name in mock if name not in target)]:
            yield from fields(target.get(name, MISSING), mock.get(name, MISSING), f"{path}.{name}", name)
        return
    if isinstance(target, list) and isinstance(mock, list):
        if len(target) != len(mock):
            yield path, f"{len(target)} items", f"{len(mock)} items"
        for index, (ours, theirs) in enumerate(zip(target, mock)):
            yield from fields(ours, theirs, f"{path}[{index}]", key)
        return
    if canonical(target, key) != canonical(mock, key):
        yield path, _shown(target), _shown(mock)


def canonical(value: Any, key: str) -> Any:
    """What is compared of a value: volatile ones masked, amounts as numbers, kinds kept apart
    (`"5"` is not `5`, `true` is not `1`)."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, (dict, list)):
        return ("structure", json.dumps(value, sort_keys=True, default=str))
    if ID_KEY.search(key) or key in VOLATILE:
        return ("masked",)
    if isinstance(value, str):
        if TIME.match(value):
            return ("time",)
        return ("amount", Decimal(value)) if NUMBER.match(value) else ("text", value)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", Decimal(str(value)))
    return ("other", repr(value))


def _shown(value: Any) -> str:
    if value is MISSING:
        return "(no field)"
    text = json.dumps(value, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
