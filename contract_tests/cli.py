"""`flexprice-contract`: the gate as a console script, exit 0 when the implementation conforms."""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from mock_server.overlays import Overlay, OverlayError
from mock_server.resources import infer
from mock_server.spec import Spec, SpecError

from . import commands, gate
from .config import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SEED,
    DEFAULT_TIME_BUDGET,
    GateConfig,
    default_spec,
    parse_rate_limit,
)
from .report import summary, write_junit
from .target import LOCAL_API_KEY, started_mock

EXIT_CONFORMS, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flexprice-contract",
        description="Test any implementation of the Flexprice API against its spec and the real server's rules.",
        epilog="Other commands: `flexprice-contract diff OLD NEW` (breaking changes between two versions of "
               "the spec), `flexprice-contract overlay --show` (the real server's rules the gate adds).",
    )
    p.add_argument("--base-url", help="implementation to test, including /v1; without it this project's mock is started")
    p.add_argument("--api-key", default=os.environ.get("FLEXPRICE_API_KEY"), help="x-api-key to use (env FLEXPRICE_API_KEY)")
    p.add_argument("--spec", type=Path, default=None, help="OpenAPI document or subset (default: the project's openapi.json)")
    p.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="Schemathesis examples per operation and phase")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for generated data; the same seed replays the same run")
    p.add_argument("--read-only", action="store_true", help="send only GET requests (safe against staging)")
    p.add_argument("--rate-limit", help="at most this many requests, e.g. 10/s or 600/m")
    p.add_argument("--include-operation", action="append", default=[], metavar="OPERATION_ID",
                   help="test only these (repeatable)")
    p.add_argument("--exclude-operation", action="append", default=[], metavar="OPERATION_ID",
                   help="skip these (repeatable)")
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT,
                   help="seconds; a slower response is a failure")
    p.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET,
                   help="seconds for the whole run; running out is a failure")
    p.add_argument("--no-fuzz", action="store_true", help="run only the Flexprice semantic checks")
    p.add_argument("--junit-xml", type=Path, help="also write a JUnit XML report here")
    p.add_argument("--overlay", action="append", default=[], type=Path, metavar="FILE",
                   help="OpenAPI Overlay 1.0 file applied to the spec in memory (repeatable); "
                        "also applied to the mock started without --base-url")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in commands.COMMANDS:
        return commands.COMMANDS[argv[0]](argv[1:])
    args = parser().parse_args(argv)
    if args.base_url and not args.api_key:
        print("flexprice-contract: --api-key (or FLEXPRICE_API_KEY) is required with --base-url", file=sys.stderr)
        return EXIT_USAGE
    try:
        parse_rate_limit(args.rate_limit)
        for path in args.overlay:
            Overlay.load(path)
    except ValueError as error:  # a bad --rate-limit, or an overlay that cannot be read (OverlayError)
        print(f"flexprice-contract: {error}", file=sys.stderr)
        return EXIT_USAGE
    spec = args.spec or default_spec()
    try:
        loaded = Spec.load(spec, args.overlay)
        with loaded.explaining():
            infer(loaded)
    except (SpecError, OverlayError) as error:
        print(f"flexprice-contract: {error}", file=sys.stderr)
        return EXIT_USAGE
    api_key = args.api_key or LOCAL_API_KEY
    target = nullcontext(args.base_url) if args.base_url else started_mock(spec, api_key, args.overlay)
    with target as base_url:
        config = GateConfig(
            base_url=base_url, api_key=api_key, spec=spec, max_examples=args.max_examples, seed=args.seed,
            read_only=args.read_only, rate_limit=args.rate_limit, include=tuple(args.include_operation),
            exclude=tuple(args.exclude_operation), request_timeout=args.request_timeout,
            time_budget=args.time_budget, fuzz=not args.no_fuzz, overlays=tuple(args.overlay),
        )
        overlays = f" with overlay(s) {', '.join(map(str, config.overlays))}" if config.overlays else ""
        print(f"flexprice-contract: testing {config.base_url} against {spec}{overlays} (seed {config.seed})", flush=True)
        report = gate.run(config)
    print(summary(report))
    if args.junit_xml:
        write_junit(report, args.junit_xml)
    return EXIT_CONFORMS if report.passed else EXIT_FAILURES
