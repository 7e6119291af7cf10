"""Schemathesis's engine on the overlaid spec: examples, coverage, fuzzing and stateful phases.

The built-in checks that apply to a Flexprice server run as configured in `ENABLED_CHECKS`; one
check of this project's (`error_envelope`) runs on every response Schemathesis gets. Failures and
transport errors (a timeout included) become `report.Failure`s with Schemathesis's own curl command.
An operation that timed out twice (here or in the semantic checks) is not called again.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from typing import Any

import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import StopReason, events, from_schema

from flexprice_spec.document import HTTP_METHODS

from . import shards
from .budget import FuzzPlan, cut_message
from .client import Exchange, SlowOperations
from .config import ALL_PHASES, GateConfig
from .progress import Progress
from .report import Failure, Report, mask
from .semantic import CODES_FOR_STATUS

ENABLED_CHECKS = (
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
    "ignored_auth", "use_after_free", "ensure_resource_availability",
)
# Built-in checks that would raise false alarms on a correct Flexprice server.
DISABLED_CHECKS = (
    "positive_data_acceptance",  # the real server refuses schema-valid input (`type: integration`, unknown ids)
    "missing_required_header", "object_level_authorization", "unsupported_method",
    "allow_header_conformance",
)


# What the checks a status settles assert, as `--write-tests` writes it over the replayed answer.
STATUS_ASSERTIONS = {
    "not_a_server_error": "status < 500",
    "negative_data_rejection": "400 <= status < 500",
    "status_code_conformance": "str(status) in {documented} or f'{{str(status)[0]}}XX' in {documented}",
    "error_envelope": "status < 400 or (isinstance(body, dict) and body.get('http_status_code') == status)",
}
# Schemathesis runs, by id of the schema they test, and the operations each has given up on.
SLOW_BY_SCHEMA: dict[int, SlowOperations] = {}


class GivenUp(Exception):
    """Raised instead of calling an operation that already timed out twice; not reported again."""


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict) -> None:
    slow = SLOW_BY_SCHEMA.get(id(case.operation.schema))
    if slow is not None and slow.given_up(case.operation.label):
        raise GivenUp(f"{case.operation.label} timed out twice; the gate no longer calls it")


@schemathesis.hook
def after_network_error(context: Any, case: Any, request: Any) -> None:
    """Called inside Schemathesis's `except`, so the error being handled is the one to count."""
    slow = SLOW_BY_SCHEMA.get(id(case.operation.schema))
    if slow is not None and isinstance(sys.exc_info()[1], requests.Timeout):
        slow.record(case.operation.label)


@schemathesis.check
def error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is JSON `errors.ErrorResponse` whose status and code fit the HTTP status."""
    if response.status_code < 400 or not _documented_as_envelope(case.operation.definition.raw, response.status_code):
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert "application/json" in content_type, f"error answered as {content_type!r}, not application/json"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError("an error body must be JSON errors.ErrorResponse; this one is not JSON") from None
    if response.status_code == 401 and isinstance(body, dict) and "error" in body:
        return None
    assert isinstance(body, dict), "an error body must be an errors.ErrorResponse object"
    assert body.get("http_status_code") == response.status_code, (
        f"http_status_code {body.get('http_status_code')!r} differs from the HTTP status {response.status_code}"
    )
    expected = CODES_FOR_STATUS.get(response.status_code)
    assert expected is None or body.get("code") in expected, (
        f"code {body.get('code')!r} does not fit {response.status_code}: expected one of {sorted(expected)}"
    )
    return None


def _documented_as_envelope(operation: dict, status: int) -> bool:
    """False where the spec documents another error body for this status (`/rbac/roles/{id}` 404)."""
    documented = operation.get("responses", {}).get(str(status))
    if documented is None:
        return True
    schema = documented.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/errors.ErrorResponse")


def project_config(config: GateConfig, plan: FuzzPlan | None = None) -> SchemathesisConfig:
    phases = plan.phases if plan else config.phases
    checks = {name: {"enabled": True} for name in (*ENABLED_CHECKS, "error_envelope")}
    checks.update({name: {"enabled": False} for name in DISABLED_CHECKS})
    data: dict[str, Any] = {
        "seed": config.seed,
        "suppress-health-check": ["all"],
        "base-url": config.base_url,
        "headers": {"x-api-key": config.api_key},
        "request-timeout": config.request_timeout,
        "workers": 1,
        "generation": {"max-examples": plan.max_examples if plan else config.max_examples, "database": "none"},
        "checks": checks,
        # Links come from the overlay (the mock's resource inference), not from Schemathesis's own guesses.
        "phases": {
            **{phase: {"enabled": phase in phases} for phase in ALL_PHASES},
            "stateful": {"enabled": "stateful" in phases and not config.read_only, "inference": {"algorithms": []}},
        },
        "warnings": False,
    }
    if config.read_only:
        # Coverage also probes undocumented methods (DELETE on a GET path): never under --read-only.
        data["phases"]["coverage"]["unexpected-methods"] = []
    if config.rate_limit:
        data["rate-limit"] = config.rate_limit.replace(" ", "")
    return SchemathesisConfig.from_dict(data)


class Progressed:
    """Which phases Schemathesis finished, and how far the current one got: what a cut reports."""

    def __init__(self, operations: int) -> None:
        self.operations = operations
        self.finished: list[str] = []
        self.phase = ""
        self.done = 0

    def describe(self) -> str:
        return ", ".join([*self.finished, f"{self.phase} at {self.done} of {self.operations} operations"] if self.phase
                         else self.finished) or "nothing"


def run(
    document: dict, config: GateConfig, report: Report, time_left: float,
    progress: Progress | None = None, slow: SlowOperations | None = None, plan: FuzzPlan | None = None,
) -> None:
    """Run the planned phases on `document` and add what failed to `report`; stop at `time_left` seconds.

    Without a rate limit (which is one budget for the whole run), the per-operation phases run on
    `shards.SHARDS` processes, each on a share of the operations, then the stateful phase here."""
    report.checks_run += [*ENABLED_CHECKS, "error_envelope", "transport", "response_time", "time_budget"]
    if config.read_only:
        report.skipped["stateful"] = "Schemathesis's stateful phase writes, so not run under --read-only"
        report.skipped["unexpected_methods"] = "probing methods a path lacks (DELETE on a GET path) is not done under --read-only"
    plan = plan or FuzzPlan(config.phases, config.max_examples)
    per_operation = tuple(phase for phase in plan.phases if phase != "stateful")
    shares = shards.split(document) if per_operation and not config.rate_limit else [document]
    if len(shares) < 2:
        _run_engine(document, config, plan, report, time_left, progress, slow)
        return
    ends = time.monotonic() + time_left
    if progress:
        progress.start("+".join(per_operation), len(operation_ids(document)) * len(per_operation), "operation-phases")
    shards.run(shares, lambda share, partial, told: _run_engine(
        share, config, replace(plan, phases=per_operation), partial, time_left, told, slow), report, time_left, progress)
    if progress:
        progress.finish(len(report.failures))
    if "stateful" in plan.phases and not report.cut:
        _run_engine(document, config, replace(plan, phases=("stateful",)), report, ends - time.monotonic(), progress, slow)


def _run_engine(document: dict, config: GateConfig, plan: FuzzPlan, report: Report, time_left: float,
                progress: Progress | None, slow: SlowOperations | None) -> None:
    schema = schemathesis.openapi.from_dict(document, config=project_config(config, plan))
    SLOW_BY_SCHEMA[id(schema)] = slow or SlowOperations()
    stream = from_schema(schema).execute()
    expired = threading.Event()
    deadline = threading.Timer(max(time_left, 0.0), lambda: (expired.set(), stream.stop()))
    deadline.start()
    names = operation_ids(document)
    try:
        _consume(stream, config, report, progress, names, expired, Progressed(len(names)))
    finally:
        deadline.cancel()
        stream.stop()
        del SLOW_BY_SCHEMA[id(schema)]


def operation_ids(document: dict) -> dict[str, str]:
    """Schemathesis's labels (`POST /customers`) to operationIds, so every failure names its
    operation the same way, whichever part of the gate found it."""
    return {
        f"{method.upper()} {path}": operation["operationId"]
        for path, item in document["paths"].items() for method, operation in item.items() if method in HTTP_METHODS
    }


def _consume(
    stream: Any, config: GateConfig, report: Report, progress: Progress | None, names: dict[str, str],
    expired: threading.Event, done: Progressed,
) -> None:
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            report.requests += len(event.recorder.interactions)
            _count(event.recorder, report, names)
            _collect(event.recorder, config, report, names)
            done.done += 1
            if progress:
                progress.advance(len(report.failures))
        elif isinstance(event, events.NonFatalError):
            if not _given_up(event.value):
                report.add(_error_failure(event, config, names))
        elif isinstance(event, events.FatalError):
            report.add(Failure("transport", "schemathesis", repr(event.exception)))
        elif isinstance(event, events.EngineFinished) and event.stop_reason is not StopReason.COMPLETED:
            if expired.is_set():
                report.cut = cut_message(config, f"in Schemathesis's {done.phase or 'run'} phase",
                                         f"the semantic checks, {done.describe()}", report.requests)
                report.add(Failure("time_budget", "schemathesis", report.cut))
            else:
                report.add(Failure("transport", "schemathesis", f"Schemathesis stopped before the end: {event.stop_reason.value}"))
        elif isinstance(event, events.PhaseStarted) and event.phase.name.value in ALL_PHASES and event.phase.is_enabled:
            done.phase, done.done = event.phase.name.value, 0
            if progress:
                stateful = done.phase == "stateful"
                progress.start(done.phase, 0 if stateful else len(names), "scenarios" if stateful else "operations")
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value in ALL_PHASES and event.phase.is_enabled:
            if not expired.is_set():
                done.finished.append(done.phase)
                done.phase = ""
            if progress:
                progress.finish(len(report.failures))


def _count(recorder: Any, report: Report, names: dict[str, str]) -> None:
    """Each request Schemathesis sent and the status it got, and the checks it ran, per operation."""
    for case_id, interaction in recorder.interactions.items():
        node = recorder.cases.get(case_id)
        label = node.value.operation.label if node is not None else recorder.label
        report.count(names.get(label, label), interaction.response.status_code if interaction.response else 0)
    for case_id, nodes in recorder.checks.items():
        node = recorder.cases.get(case_id)
        label = node.value.operation.label if node is not None else recorder.label
        for check in nodes:
            report.ran[check.name].add(names.get(label, label))


def _collect(recorder: Any, config: GateConfig, report: Report, names: dict[str, str]) -> None:
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            info = node.failure_info
            if info is None or _tolerated(node.name, recorder.cases.get(case_id)):
                continue
            failure = info.failure
            message = mask(f"{failure.title}\n{failure.message}".strip(), config.api_key, config.key_shown)
            curl = "\n".join(step.curl for step in info.steps) if info.steps else info.code_sample
            label = failure.operation or recorder.label
            trace, assertion = _replayable(recorder, failure.case_id or case_id, node.name, names)
            report.add(Failure(node.name, names.get(label, label), message, mask(curl, config.api_key, config.key_shown),
                               trace, assertion))


def _replayable(recorder: Any, case_id: str, check: str, names: dict[str, str]) -> tuple[list[Exchange], str]:
    """The requests that reproduce a failure (the case and the ones it followed from) and the
    assertion it broke, for the checks a status states: `--write-tests` writes those as tests."""
    node = recorder.cases.get(case_id)
    if node is None or check not in STATUS_ASSERTIONS:
        return [], ""
    documented = set(node.value.operation.definition.raw.get("responses", {}))
    if check == "status_code_conformance" and "default" in documented:
        return [], ""
    trace = []
    for case in recorder.iter_chain_cases(case_id=case_id):
        interaction = recorder.interactions.get(case.id)
        if interaction is not None:
            request, response = interaction.request, interaction.response
            exchange = Exchange(request.method, request.uri, {k: v[0] for k, v in request.headers.items()}, request.body,
                                operation=names.get(case.operation.label, case.operation.label), at=interaction.timestamp)
            if response is not None:
                exchange.status, exchange.text = response.status_code, response.content.decode("utf-8", "replace")
            trace.append(exchange)
    return trace, STATUS_ASSERTIONS[check].format(documented=sorted(documented))


def _tolerated(check: str, node: Any) -> bool:
    """Two answers a correct Flexprice server gives that Schemathesis would flag.

    * A JSON `null` sent as an optional body is no body at all to the real server (Go's JSON
      binding leaves the request empty), so accepting it is not a missed rejection.
    * A 404 on a resource just created, from a request that also names other resources
      (`group_id` in the body), may be about those: the server checks references too.
    """
    if node is None:
        return False
    case = node.value
    if check == "negative_data_rejection":
        body = case.operation.definition.raw.get("requestBody", {})
        return case.body is None and not body.get("required", False)
    if check == "ensure_resource_availability":
        return any(_references(part) for part in (case.body, case.query))
    return False


def _references(values: Any) -> bool:
    return isinstance(values, dict) and any(key.endswith("_id") and value for key, value in values.items())


def _given_up(error: BaseException | None) -> bool:
    """Whether an error is, or was raised from, the gate declining to call a slow operation."""
    while error is not None:
        if isinstance(error, GivenUp):
            return True
        error = error.__cause__ or error.__context__
    return False


def _error_failure(event: events.NonFatalError, config: GateConfig, names: dict[str, str]) -> Failure:
    """A request that got no usable answer; a timeout is a `response_time` failure."""
    title, text = event.info.title, str(event.value)
    check = "response_time" if "timeout" in f"{title} {text}".lower() or "timed out" in text else "transport"
    return Failure(check, names.get(event.label, event.label), mask(f"{title}: {text.strip()}", config.api_key, config.key_shown),
                   mask(event.info.code_sample or "", config.api_key, config.key_shown))
