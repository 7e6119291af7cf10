"""One run of the gate: the key first, then the semantic checks, then Schemathesis, within one
time budget.

A key the target refuses ends the run at once (one line naming it). A run with no operation under
test, or no request sent, has no verdict. The budget is one deadline for the whole run: the
semantic checks stop at it (what they made is still cleaned up), Schemathesis is planned to fit it
under a rate limit (`budget.py`) and stopped at it otherwise; either cut says what was done.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Operation, infer

from . import billing, flows, fuzz, lifecycle, overlay, recipes, restler, semantic  # noqa: F401 - importing registers checks and recipes
from .budget import cut_message, fuzz_plan
from .client import ApiClient, OutOfTime, RateLimiter, SlowOperations
from .config import GateConfig, parse_rate_limit
from .progress import Progress
from .report import Failure, Report

SEMANTIC = "semantic checks"
# The order the checks run in, by module: the lifecycle checks make the records the later ones
# reuse; unknown_fields, last, looks at every answer the others got.
CHECK_ORDER = tuple(module.__name__ for module in (semantic, lifecycle, billing, flows, restler))


def run(config: GateConfig, only: tuple[str, ...] = (), progress: Progress | None = None, probe_key: bool = True) -> Report:
    """Test the implementation at `config.base_url`; `only` limits the run to the named checks
    (a semantic check's name, or `schemathesis`)."""
    start = time.monotonic()
    report = Report(base_url=config.base_url, spec=config.spec_label or str(config.spec))
    spec = Spec.load(config.spec, config.overlays)
    model = infer(spec)
    operations = {
        op.operation_id: op for op in model.operations
        if overlay.selected(op.operation_id, op.method, config.include, config.exclude, config.read_only)
    }
    report.operations = {op_id: op.method_path for op_id, op in operations.items()}
    report.groups = {op_id: group_of(op) for op_id, op in operations.items()}
    if not operations:
        report.elapsed = time.monotonic() - start
        return report
    ctx = context(config, operations, report, model, spec, start + config.time_budget)
    try:
        if probe_key and (refused := key_refusal(ctx, config)):
            report.refused_key = refused
            return report
        checks = [check for check in ordered_checks() if not only or check.name in only]
        _run_semantic(ctx, checks, progress, config)
    finally:
        ctx.client.close()
        report.requests += ctx.client.count
    _hint_on_missing_base_path(ctx.client, spec, config, report)
    if config.fuzz and not report.cut and (not only or "schemathesis" in only):
        document = overlay.build(spec, config.include, config.exclude, config.read_only)
        labels = fuzz.operation_ids(document)
        reads = sum(label.startswith("GET ") for label in labels)
        plan = fuzz_plan(config, reads, len(labels) - reads, config.time_budget - (time.monotonic() - start))
        report.notes += plan.notes
        fuzz.run(document, config, report, config.time_budget - (time.monotonic() - start), progress, ctx.client.slow, plan)
    report.elapsed = time.monotonic() - start
    return report


def ordered_checks() -> list[semantic.SemanticCheck]:
    return sorted(semantic.CHECKS, key=lambda check: CHECK_ORDER.index(check.run.__module__))


def refused_key(config: GateConfig) -> str:
    """The line saying the target refused the key (empty when it did not): asked before anything
    else so that it is the first thing a run prints."""
    report = Report()
    spec = Spec.load(config.spec, config.overlays)
    model = infer(spec)
    operations = {op.operation_id: op for op in model.operations
                  if overlay.selected(op.operation_id, op.method, config.include, config.exclude, config.read_only)}
    ctx = context(config, operations, report, model, spec, None)
    try:
        return key_refusal(ctx, config)
    finally:
        ctx.client.close()


def key_refusal(ctx: semantic.Context, config: GateConfig) -> str:
    """Send the key once where it must authenticate: a secured GET (an unknown id is fine: a good
    key gets 404), else a secured write with an empty body (a good key gets 400; nothing is made)."""
    secured = [op for op in ctx.operations.values() if op.secured]
    if not secured:
        return ""
    op = min(secured, key=lambda op: (op.method != "get", "{" in op.path, op.operation_id))
    try:
        exchange = ctx.call(op, raw_body=None if op.method == "get" else b"{}")
    except Exception:  # noqa: BLE001 - an unreachable target is reported by the checks that follow
        return ""
    if exchange.status != 401:
        return ""
    return (
        f"REFUSED KEY: the target refused the API key ending in '{config.api_key[-4:]}' (from {config.key_source}): "
        f"{exchange.method} {exchange.url} answered 401 {exchange.text[:120].strip()}; nothing else was tested"
    )


def group_of(op: Operation) -> str:
    """The resource an operation belongs to in the report: its own, its parent's, else its path's first word."""
    if op.resource is not None:
        return op.resource.collection
    if op.parent is not None:
        return op.parent.collection
    words = [w for w in op.path.strip("/").split("/") if w != "v1"]
    return "/" + (words[0] if words else "")


def context(config: GateConfig, operations: dict[str, Operation], report: Report, model: Model, spec: Spec,
            deadline: float | None) -> semantic.Context:
    """The checks' context on `config.base_url`: a client with the run's timeout, rate limit and
    deadline, every exchange counted in `report` (`parity.py` builds its scenario on one too)."""
    client = ApiClient(config.base_url, config.api_key, config.request_timeout,
                       RateLimiter(parse_rate_limit(config.rate_limit)), SlowOperations(), deadline)
    plain_errors = {
        (raw.operation.get("operationId", ""), status) for raw in spec.operations() for status in spec.error_schemas(raw)
    }
    ctx = semantic.Context(client, operations, report, config.seed, config.read_only, plain_errors, model, spec,
                           key_shown=config.key_shown, settle=config.settle)
    client.observers.append(ctx.observe)
    return ctx


def _run_semantic(ctx: semantic.Context, checks: list[semantic.SemanticCheck], progress: Progress | None,
                  config: GateConfig) -> None:
    if progress:
        progress.start(SEMANTIC, len(checks), "checks")
    done: list[str] = []
    try:
        for check in checks:
            if _applies(check, ctx):
                _run_check(ctx, check.name, check.run)
            elif check.writes and ctx.read_only:
                ctx.report.skipped[check.name] = "writes, so not run under --read-only"
            done.append(check.name)
            if progress:
                progress.advance(len(ctx.report.failures))
    except OutOfTime:
        ctx.report.cut = cut_message(
            config, f"in the semantic checks, during {ctx.check} ({len(done)} of {len(checks)} checks done)",
            f"{', '.join(done) or 'no check'}; Schemathesis did not start", ctx.client.count,
        )
        ctx.report.add(Failure("time_budget", ctx.check, ctx.report.cut))
    ctx.client.deadline = None  # what was made is cleaned up, budget or not
    _run_check(ctx, "clean_up", semantic.clean_up)
    if progress:
        progress.finish(len(ctx.report.failures))


def _applies(check: semantic.SemanticCheck, ctx: semantic.Context) -> bool:
    return all(op in ctx.operations for op in check.needs) and not (check.writes and ctx.read_only)


def _run_check(ctx: semantic.Context, name: str, func: Callable[[semantic.Context], None]) -> None:
    """Run one check; whatever the implementation answers ends it as a failure, never a crash."""
    ctx.check = name
    ctx.trace = []
    if name != "clean_up":
        ctx.report.checks_run.append(name)
    with ctx.contained(name):
        func(ctx)


def _hint_on_missing_base_path(client: ApiClient, spec: Spec, config: GateConfig, report: Report) -> None:
    """An implementation whose every answer is 404 is most often addressed without its base path."""
    answered = sum(client.statuses.values())
    if answered and client.statuses[404] == answered:
        base = spec.base_path or "/v1"
        report.hints.append(
            f"every one of the {answered} answers was 404 (route not found): "
            f"is `{base}` missing from --base-url ({config.base_url})?"
        )
