"""`flexprice-contract`: the gate as a console script.

Exit codes: 0 the implementation conforms, 1 it does not (failures reported, or its key was
refused), 2 usage error, 3 the gate itself broke (a bug to report; no answer of the implementation
should ever cause it), 4 no verdict (nothing was tested: no operation under test, or no request
sent), 130 interrupted.
Commands live in `COMMANDS` (`run` here, `diff` and `overlay` in `commands.py`); with no command
name first, `run` is meant.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from . import commands
from .config import (
    ALL_PHASES,
    DEFAULT_PROFILE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SEED,
    DEFAULT_SETTLE,
    PROFILES,
    GateConfig,
    parse_rate_limit,
)
from .report import DEFAULT_SHOW, MASK_ANYWHERE_CHARS
from .spec_choice import NoSpec, chosen_spec

EXIT_CONFORMS, EXIT_FAILURES, EXIT_USAGE, EXIT_BROKEN, EXIT_NO_VERDICT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
PROG = "flexprice-contract"
KEY_VARIABLE = "FLEXPRICE_API_KEY"


class UsageError(Exception):
    """A command line or input the gate cannot work with (exit 2)."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name = argv[0] if argv and argv[0] in COMMANDS else "run"
    command = COMMANDS[name]
    args = argv[1:] if argv and argv[0] == name else argv
    try:
        return command(args)
    except (UsageError, NoSpec) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - the one place a bug of the gate becomes exit 3, not a bare crash
        print(f"{PROG}: the gate itself broke (exit {EXIT_BROKEN}); please report this:", file=sys.stderr)
        traceback.print_exc()
        return EXIT_BROKEN


def run_parser() -> argparse.ArgumentParser:
    profiles = ", ".join(f"{name}: {p.max_examples} examples, {p.time_budget:.0f}s bound, {'+'.join(p.phases)}"
                         for name, p in PROFILES.items())
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Test any implementation of the Flexprice API against its spec and the real server's rules.",
        epilog="Other commands: `flexprice-contract diff OLD NEW` (breaking changes between two versions of "
               "the spec), `flexprice-contract overlay --show` (the real server's rules the gate adds).",
    )
    p.add_argument("--base-url", help="implementation to test, including /v1; without it this project's mock is started")
    p.add_argument("--api-key", default=None,
                   help="x-api-key to use; required with --base-url (default: $FLEXPRICE_API_KEY, which keeps it out of "
                        "the reports: they write it as the variable it came from)")
    p.add_argument("--spec", type=Path, default=None,
                   help="OpenAPI document or subset (default: with --base-url the document the target serves at "
                        "/openapi.json, else the project's openapi.json)")
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE, help=f"how hard to try (default: {DEFAULT_PROFILE}; {profiles})")
    p.add_argument("--max-examples", type=int, default=None,
                   help="Schemathesis examples per operation and phase (default: the profile's)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds; a run still going then is stopped and fails (default: the profile's)")
    p.add_argument("--phases", default=None,
                   help=f"comma-separated Schemathesis phases among {','.join(ALL_PHASES)} (default: the profile's)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed for generated data; the same seed replays the same run (default: {DEFAULT_SEED})")
    p.add_argument("--read-only", action="store_true", help="send only GET requests (safe against staging; default: off)")
    p.add_argument("--rate-limit", help="at most this many requests, e.g. 10/s or 600/m (default: no limit)")
    p.add_argument("--include-operation", action="append", default=[], metavar="OPERATION_ID",
                   help="test only these (repeatable; default: all)")
    p.add_argument("--exclude-operation", action="append", default=[], metavar="OPERATION_ID",
                   help="skip these (repeatable; default: none)")
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT,
                   help=("seconds; a slower response is a response_time failure, and after two an operation is not "
                         f"called again (default: {DEFAULT_REQUEST_TIMEOUT:g})"))
    p.add_argument("--settle", type=float, default=DEFAULT_SETTLE, metavar="S",
                   help=("seconds a read of usage, an invoice or a payment waits for the server to catch up (the real "
                         f"server ingests and invoices asynchronously; default: {DEFAULT_SETTLE:g})"))
    p.add_argument("--no-fuzz", action="store_true", help="run only the Flexprice semantic checks (default: off)")
    p.add_argument("--show", type=int, default=DEFAULT_SHOW, metavar="N", help=f"examples printed per failed check (default: {DEFAULT_SHOW})")
    p.add_argument("--junit-xml", type=Path, help="also write a JUnit XML report with every failure here (default: none)")
    p.add_argument("--report", type=Path, metavar="HTML",
                   help="also write one self-contained HTML page: per resource, check and operation, every failure (default: none)")
    p.add_argument("--report-json", type=Path, metavar="JSON", help="the same data as JSON (default: none)")
    p.add_argument("--write-tests", type=Path, metavar="DIR",
                   help="write each failing check as a standalone pytest file that replays it (default: none)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr (default: progress on)")
    p.add_argument("--overlay", action="append", default=[], type=Path, metavar="FILE",
                   help="OpenAPI Overlay 1.0 file applied to the spec in memory (repeatable); "
                        "also applied to the mock started without --base-url (default: none)")
    return p


def run_command(argv: list[str]) -> int:
    """Test one implementation; exit 0 when it conforms, 1 when it does not, 4 when nothing was tested."""
    args = run_parser().parse_args(argv)
    from . import gate
    from .progress import Progress
    from .report import summary
    from .report_files import write_html, write_json, write_junit
    from .target import LOCAL_API_KEY, started_mock

    key, source, shown = _api_key(args.api_key, LOCAL_API_KEY if not args.base_url else None)
    if args.base_url and not key:
        raise UsageError(f"--api-key (or {KEY_VARIABLE}) is required with --base-url")
    with chosen_spec(args.spec, args.base_url, key, args.request_timeout) as (spec, label):
        _check_spec(spec, args.overlay)
        _config(args, spec, key, args.base_url or "http://127.0.0.1")  # a usage error before the mock starts
        target = nullcontext(args.base_url) if args.base_url else started_mock(spec, key, args.overlay)
        with target as base_url:
            config = _config(args, spec, key, base_url, key_source=source, key_shown=shown, spec_label=label)
            refused = gate.refused_key(config)
            if refused:
                print(refused, flush=True)
                return EXIT_FAILURES
            overlays = f" with overlay(s) {', '.join(map(str, config.overlays))}" if config.overlays else ""
            print(f"{PROG}: testing {config.base_url} against {label}{overlays} (seed {config.seed}, profile {args.profile})",
                  flush=True)
            report = gate.run(config, progress=None if args.no_progress else Progress(), probe_key=False)
    print(summary(report, show=args.show))
    for path, write in ((args.junit_xml, write_junit), (args.report, write_html), (args.report_json, write_json)):
        if path:
            write(report, path)
    if args.write_tests and report.failures:
        from .replay import write_tests

        written = write_tests(report, args.write_tests, config.base_url, key, shown.lstrip("$") if shown.startswith("$") else KEY_VARIABLE)
        print(f"{PROG}: wrote {len(written)} file(s) to {args.write_tests}: {', '.join(p.name for p in written)}")
    if report.verdict == "NO VERDICT":
        return EXIT_NO_VERDICT
    return EXIT_CONFORMS if report.passed else EXIT_FAILURES


def _api_key(given: str | None, local: str | None) -> tuple[str, str, str]:
    """The key, where it came from, and how reports write it: as the variable that holds it
    (`$FLEXPRICE_API_KEY`, or any exported variable a `--api-key "$KEY"` was expanded from). A key
    typed on the command line is written as `$FLEXPRICE_API_KEY` too (export it to replay): no
    report or written test ever holds a raw key. The local mock's throwaway key stays literal."""
    if given:
        holders = sorted((name != KEY_VARIABLE, name) for name, value in os.environ.items()
                         if value == given and len(given) >= MASK_ANYWHERE_CHARS)
        return given, "--api-key", f"${holders[0][1] if holders else KEY_VARIABLE}"
    if os.environ.get(KEY_VARIABLE):
        return os.environ[KEY_VARIABLE], f"${KEY_VARIABLE}", f"${KEY_VARIABLE}"
    return (local, "the key of the mock the gate started", local) if local else ("", "", "")


def _config(args: argparse.Namespace, spec: Path, api_key: str, base_url: str, **extra: str) -> GateConfig:
    profile = PROFILES[args.profile]
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip()) if args.phases else profile.phases
    try:
        parse_rate_limit(args.rate_limit)
        return GateConfig(
            base_url=base_url, api_key=api_key, spec=spec,
            max_examples=args.max_examples if args.max_examples is not None else profile.max_examples,
            seed=args.seed, read_only=args.read_only, rate_limit=args.rate_limit,
            include=tuple(args.include_operation), exclude=tuple(args.exclude_operation),
            request_timeout=args.request_timeout, settle=args.settle,
            time_budget=args.time_budget if args.time_budget is not None else profile.time_budget,
            budget_source="--time-budget" if args.time_budget is not None else f"the {args.profile} profile's bound",
            fuzz=not args.no_fuzz, phases=phases, overlays=tuple(args.overlay), **extra,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def _check_spec(spec: Path, overlays: list[Path]) -> None:
    """A missing, unreadable or unusable spec or overlay is the user's to fix: exit 2 before
    anything starts, with the place in the file that is wrong."""
    from flexprice_spec.document import Spec, SpecError
    from flexprice_spec.overlays import OverlayError
    from flexprice_spec.resources import infer

    try:
        loaded = Spec.load(spec, overlays)
        with loaded.explaining():
            infer(loaded)
    except (SpecError, OverlayError, OSError) as error:
        raise UsageError(str(error)) from None


COMMANDS: dict[str, Callable[[list[str]], int]] = {"run": run_command, **commands.COMMANDS}
