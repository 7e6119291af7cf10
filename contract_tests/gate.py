"""One run of the gate: the semantic checks, then Schemathesis, within one time budget."""
from __future__ import annotations

import time
from collections.abc import Callable

from mock_server.resources import infer
from mock_server.spec import Spec

from . import fuzz, overlay, semantic
from .client import ApiClient, RateLimiter, ResponseTimeout, Unreachable
from .config import GateConfig, parse_rate_limit
from .report import Failure, Report


def run(config: GateConfig, only: tuple[str, ...] = ()) -> Report:
    """Test the implementation at `config.base_url`; `only` limits the run to the named checks
    (a semantic check's name, or `schemathesis`)."""
    start = time.monotonic()
    report = Report()
    spec = Spec.load(config.spec, config.overlays)
    operations = {
        op.operation_id: op for op in infer(spec).operations
        if overlay.selected(op.operation_id, op.method, config.include, config.exclude, config.read_only)
    }
    client = ApiClient(config.base_url, config.api_key, config.request_timeout, RateLimiter(parse_rate_limit(config.rate_limit)))
    plain_errors = {
        (raw.operation.get("operationId", ""), status) for raw in spec.operations() for status in spec.error_schemas(raw)
    }
    ctx = semantic.Context(client, operations, report, config.seed, config.read_only, plain_errors)
    try:
        for check in semantic.CHECKS:
            if (not only or check.name in only) and _applies(check, ctx):
                _run_check(ctx, check.name, check.run)
        _run_check(ctx, "clean_up", semantic.clean_up)
    finally:
        client.close()
    report.requests += client.count
    if config.fuzz and (not only or "schemathesis" in only):
        document = overlay.build(spec, config.include, config.exclude, config.read_only)
        fuzz.run(document, config, report, config.time_budget - (time.monotonic() - start))
    report.elapsed = time.monotonic() - start
    return report


def _applies(check: semantic.SemanticCheck, ctx: semantic.Context) -> bool:
    return all(op in ctx.operations for op in check.needs) and not (check.writes and ctx.read_only)


def _run_check(ctx: semantic.Context, name: str, func: Callable[[semantic.Context], None]) -> None:
    """Run one check; a timeout or a dead connection ends it as a failure of its own."""
    ctx.check = name
    if name != "clean_up":
        ctx.report.checks_run.append(name)
    try:
        func(ctx)
    except semantic.CheckFailed:
        pass
    except ResponseTimeout as error:
        ctx.report.add(Failure("response_time", name, str(error), error.exchange.curl(ctx.client.api_key)))
    except Unreachable as error:
        ctx.report.add(Failure("transport", name, str(error), error.exchange.curl(ctx.client.api_key)))
