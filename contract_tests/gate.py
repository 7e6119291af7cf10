"""One run of the gate: the semantic checks, then Schemathesis, within one time budget."""
from __future__ import annotations

import time
from collections.abc import Callable

from flexprice_spec.document import Spec
from flexprice_spec.resources import infer

from . import billing, fuzz, lifecycle, overlay, semantic  # noqa: F401 - importing lifecycle and billing registers their checks
from .client import ApiClient, RateLimiter, SlowOperations
from .config import GateConfig, parse_rate_limit
from .progress import Progress
from .report import Report

SEMANTIC = "semantic checks"


def run(config: GateConfig, only: tuple[str, ...] = (), progress: Progress | None = None) -> Report:
    """Test the implementation at `config.base_url`; `only` limits the run to the named checks
    (a semantic check's name, or `schemathesis`)."""
    start = time.monotonic()
    report = Report()
    spec = Spec.load(config.spec, config.overlays)
    model = infer(spec)
    operations = {
        op.operation_id: op for op in model.operations
        if overlay.selected(op.operation_id, op.method, config.include, config.exclude, config.read_only)
    }
    slow = SlowOperations()
    limiter = RateLimiter(parse_rate_limit(config.rate_limit))
    client = ApiClient(config.base_url, config.api_key, config.request_timeout, limiter, slow)
    plain_errors = {
        (raw.operation.get("operationId", ""), status) for raw in spec.operations() for status in spec.error_schemas(raw)
    }
    ctx = semantic.Context(client, operations, report, config.seed, config.read_only, plain_errors, model, spec)
    checks = [check for check in semantic.CHECKS if not only or check.name in only]
    try:
        _run_semantic(ctx, checks, progress)
    finally:
        client.close()
    report.requests += client.count
    _hint_on_missing_base_path(client, spec, config, report)
    if config.fuzz and (not only or "schemathesis" in only):
        document = overlay.build(spec, config.include, config.exclude, config.read_only)
        fuzz.run(document, config, report, config.time_budget - (time.monotonic() - start), progress, slow)
    report.elapsed = time.monotonic() - start
    return report


def _run_semantic(ctx: semantic.Context, checks: list[semantic.SemanticCheck], progress: Progress | None) -> None:
    if progress:
        progress.start(SEMANTIC, len(checks), "checks")
    for check in checks:
        if _applies(check, ctx):
            _run_check(ctx, check.name, check.run)
        elif check.writes and ctx.read_only:
            ctx.report.skipped[check.name] = "writes, so not run under --read-only"
        if progress:
            progress.advance(len(ctx.report.failures))
    _run_check(ctx, "clean_up", semantic.clean_up)
    if progress:
        progress.finish(len(ctx.report.failures))


def _applies(check: semantic.SemanticCheck, ctx: semantic.Context) -> bool:
    return all(op in ctx.operations for op in check.needs) and not (check.writes and ctx.read_only)


def _run_check(ctx: semantic.Context, name: str, func: Callable[[semantic.Context], None]) -> None:
    """Run one check; whatever the implementation answers ends it as a failure, never a crash."""
    ctx.check = name
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
