"""Schemathesis's engine on the overlaid spec: examples, coverage, fuzzing and stateful phases.

The built-in checks that apply to a Flexprice server run as configured in `ENABLED_CHECKS`; one
check of this project's (`error_envelope`) runs on every response Schemathesis gets. Failures and
transport errors (a timeout included) become `report.Failure`s with Schemathesis's own curl command.
"""
from __future__ import annotations

import threading
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import StopReason, events, from_schema

from .config import GateConfig
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


@schemathesis.check
def error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is JSON `errors.ErrorResponse` whose status and code fit the HTTP status."""
    if response.status_code < 400 or not _documented_as_envelope(case.operation.definition.raw, response.status_code):
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert "application/json" in content_type, f"error answered as {content_type!r}, not application/json"
    body = response.json()
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


def project_config(config: GateConfig) -> SchemathesisConfig:
    checks = {name: {"enabled": True} for name in (*ENABLED_CHECKS, "error_envelope")}
    checks.update({name: {"enabled": False} for name in DISABLED_CHECKS})
    data: dict[str, Any] = {
        "seed": config.seed,
        "suppress-health-check": ["all"],
        "base-url": config.base_url,
        "headers": {"x-api-key": config.api_key},
        "request-timeout": config.request_timeout,
        "workers": 1,
        "generation": {"max-examples": config.max_examples, "database": "none"},
        "checks": checks,
        # Links come from the overlay (the mock's resource inference), not from Schemathesis's own guesses.
        "phases": {"stateful": {"enabled": not config.read_only, "inference": {"algorithms": []}}},
        "warnings": False,
    }
    if config.read_only:
        # Coverage also probes undocumented methods (DELETE on a GET path): never under --read-only.
        data["phases"]["coverage"] = {"unexpected-methods": []}
    if config.rate_limit:
        data["rate-limit"] = config.rate_limit.replace(" ", "")
    return SchemathesisConfig.from_dict(data)


def run(document: dict, config: GateConfig, report: Report, time_left: float) -> None:
    """Run every phase on `document` and add what failed to `report`."""
    schema = schemathesis.openapi.from_dict(document, config=project_config(config))
    report.checks_run += [*ENABLED_CHECKS, "error_envelope", "transport", "response_time", "time_budget"]
    stream = from_schema(schema).execute()
    deadline = threading.Timer(max(time_left, 0.0), stream.stop)
    deadline.start()
    try:
        _consume(stream, config, report)
    finally:
        deadline.cancel()


def _consume(stream: Any, config: GateConfig, report: Report) -> None:
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            report.requests += len(event.recorder.interactions)
            _collect(event.recorder, config, report)
        elif isinstance(event, events.NonFatalError):
            report.add(_error_failure(event, config))
        elif isinstance(event, events.FatalError):
            report.add(Failure("transport", "schemathesis", repr(event.exception)))
        elif isinstance(event, events.EngineFinished) and event.stop_reason is not StopReason.COMPLETED:
            report.add(Failure("time_budget", "schemathesis", f"stopped before the end: {event.stop_reason.value}"))


def _collect(recorder: Any, config: GateConfig, report: Report) -> None:
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            info = node.failure_info
            if info is None or _tolerated(node.name, recorder.cases.get(case_id)):
                continue
            failure = info.failure
            message = f"{failure.title}\n{failure.message}".strip()
            curl = "\n".join(step.curl for step in info.steps) if info.steps else info.code_sample
            report.add(Failure(node.name, failure.operation or recorder.label, message, mask(curl, config.api_key)))


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


def _error_failure(event: events.NonFatalError, config: GateConfig) -> Failure:
    """A request that got no usable answer; a timeout is a `response_time` failure."""
    title, text = event.info.title, str(event.value)
    check = "response_time" if "timeout" in f"{title} {text}".lower() or "timed out" in text else "transport"
    return Failure(check, event.label, f"{title}: {text.strip()}", mask(event.info.code_sample or "", config.api_key))
