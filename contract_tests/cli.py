"""`flexprice-contract`: the gate's commands, one family with `flexprice-mock` (`flexprice_cli`:
the help, `--version`, the one-line `Error:` and the `FLEXPRICE_CONTRACT_*` variables).

`run` (meant when no command is named first) tests one implementation; `parity` runs the billing
scenario against a target and against a mock it starts and reports where their answers differ
(`parity.py`); `diff` and `overlay` send no request (`commands.py`).

Exit codes: 0 the implementation conforms (parity: no difference), 1 it does not (failures or
differences reported, or its key was refused), 2 usage error, 3 the gate itself broke (a bug to
report; no answer of the implementation should ever cause it), 4 no verdict (nothing was tested:
no operation under test, or no request sent), 130 interrupted.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import click

from flexprice_cli.program import EXIT_BROKEN, EXIT_INTERRUPTED, EXIT_USAGE  # noqa: F401 - the codes, for callers
from flexprice_cli.program import Program, SpecSource, UsageProblem, option, variable_of

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

EXIT_CONFORMS, EXIT_FAILURES, EXIT_NO_VERDICT = 0, 1, 4
PROG = "flexprice-contract"
KEY_VARIABLE = "FLEXPRICE_CONTRACT_API_KEY"
OLD_KEY_VARIABLE = "FLEXPRICE_API_KEY"  # the gate's variable before the family's scheme; still read
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
OUTPUT = click.Path(dir_okay=False, path_type=Path)


@click.group(PROG, cls=Program, prefix="FLEXPRICE_CONTRACT", noun="gate", main_command="run",
             subcommand_metavar="[COMMAND] [ARGS]...")
def flexprice_contract() -> None:
    """Test any implementation of the Flexprice API against its spec and the real server's rules.

    With no command named first, `run` is meant: `flexprice-contract --base-url URL` is
    `flexprice-contract run --base-url URL`."""


def main(argv: list[str] | None = None) -> int:
    """The console script: run the command line (`sys.argv` without `argv`), return its exit code."""
    return flexprice_contract.execute(argv)


def target_options(base_url: dict[str, Any], spec_help: str) -> Callable:
    """The options of every command that talks to a target: where, with which key and spec, and
    how patient to be."""
    decorators = (
        option("--base-url", metavar="URL", **base_url),
        option("--api-key", envvar=OLD_KEY_VARIABLE, metavar="KEY",
               help="The x-api-key the gate sends to the target; needed with --base-url. Reports and written tests "
                    f"write it as the variable it came from (${KEY_VARIABLE} when typed here), never raw."),
        option("--spec", type=SpecSource(), metavar="PATH|URL", help=spec_help),
        option("--overlay", multiple=True, type=FILE, metavar="FILE",
               help="OpenAPI Overlay 1.0 file applied to the spec in memory (repeatable); also applied to the mock "
                    "the gate starts."),
        option("--seed", default=DEFAULT_SEED, help="Seed for generated data: the same seed replays the same run."),
        option("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT, metavar="SECONDS",
               help="A slower response is a response_time failure; after two an operation is not called again."),
        option("--settle", type=float, default=DEFAULT_SETTLE, metavar="SECONDS",
               help="How long a read of usage, an invoice or a payment waits for the server to catch up (the real "
                    "server ingests and invoices asynchronously)."),
    )

    def decorate(command: Callable) -> Callable:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command
    return decorate


PROFILE_HELP = "How hard to try: " + "; ".join(
    f"{name}: {p.max_examples} examples, {p.time_budget:.0f}s bound, {'+'.join(p.phases)}" for name, p in PROFILES.items())


@flexprice_contract.command("run", short_help="Test one implementation (meant when no command is named).")
@target_options({"help": "The implementation to test, including /v1. Default: start this project's mock and test it."},
                "OpenAPI document or subset: a file, or an http(s) URL (downloaded once, cached, used from the cache "
                "offline). Default: with --base-url the document the target serves at "
                "/openapi.json, else the project's openapi.json.")
@option("--profile", type=click.Choice(sorted(PROFILES)), default=DEFAULT_PROFILE, help=PROFILE_HELP)
@option("--max-examples", type=int, default=None, help="Schemathesis examples per operation and phase. Default: the profile's.")
@option("--time-budget", type=float, default=None, metavar="SECONDS",
        help="A run still going then is stopped and fails. Default: the profile's.")
@option("--phases", default=None, help=f"Comma-separated Schemathesis phases among {','.join(ALL_PHASES)}. Default: the profile's.")
@option("--read-only", is_flag=True, help="Send only GET requests (safe against staging).")
@option("--rate-limit", default=None, help="At most this many requests, e.g. 10/s or 600/m. Default: no limit.")
@option("--include-operation", multiple=True, metavar="OPERATION_ID", help="Test only these (repeatable). Default: all.")
@option("--exclude-operation", multiple=True, metavar="OPERATION_ID", help="Skip these (repeatable).")
@option("--no-fuzz", is_flag=True, help="Run only the Flexprice semantic checks.")
@option("--show", type=int, default=DEFAULT_SHOW, metavar="N", help="Examples printed per failed check.")
@option("--junit-xml", type=OUTPUT, metavar="FILE", help="Also write a JUnit XML report with every failure here.")
@option("--report", type=OUTPUT, metavar="HTML",
        help="Also write one self-contained HTML page: per resource, check and operation, every failure.")
@option("--report-json", type=OUTPUT, metavar="JSON", help="The same data as JSON.")
@option("--write-tests", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
        help="Write each failing check as a standalone pytest file that replays it.")
@option("--no-progress", is_flag=True, help="No progress lines on stderr.")
@click.pass_context
def run(ctx: click.Context, **options: Any) -> int:
    """Test one implementation: exit 0 when it conforms, 1 when it does not, 4 when nothing was tested."""
    from . import gate
    from .progress import Progress
    from .report import summary
    from .report_files import write_html, write_json, write_junit
    from .target import LOCAL_API_KEY, started_mock

    base_url = options["base_url"]
    key, source, shown = _api_key(ctx, options["api_key"], LOCAL_API_KEY if not base_url else None)
    if base_url and not key:
        raise UsageProblem(f"--api-key (or {KEY_VARIABLE}) is required with --base-url")
    with _spec(options, base_url, key) as (spec, label):
        _config(options, spec, key, base_url or "http://127.0.0.1")  # a usage error before the mock starts
        target = nullcontext(base_url) if base_url else started_mock(spec, key, options["overlay"])
        with target as url:
            config = _config(options, spec, key, url, key_source=source, key_shown=shown, spec_label=label)
            refused = gate.refused_key(config)
            if refused:
                click.echo(refused)
                return EXIT_FAILURES
            overlays = f" with overlay(s) {', '.join(map(str, config.overlays))}" if config.overlays else ""
            click.echo(f"{PROG}: testing {config.base_url} against {label}{overlays} (seed {config.seed}, "
                       f"profile {options['profile']})")
            report = gate.run(config, progress=None if options["no_progress"] else Progress(), probe_key=False)
    click.echo(summary(report, show=options["show"]))
    for path, write in ((options["junit_xml"], write_junit), (options["report"], write_html),
                        (options["report_json"], write_json)):
        if path:
            write(report, path)
    if options["write_tests"] and report.failures:
        from .replay import write_tests

        folder = options["write_tests"]
        written = write_tests(report, folder, config.base_url, key, shown.lstrip("$") if shown.startswith("$") else KEY_VARIABLE)
        click.echo(f"{PROG}: wrote {len(written)} file(s) to {folder}: {', '.join(p.name for p in written)}")
    if report.verdict == "NO VERDICT":
        return EXIT_NO_VERDICT
    return EXIT_CONFORMS if report.passed else EXIT_FAILURES


@flexprice_contract.command("parity", short_help="Where a server's billing answers differ from the mock's.")
@target_options({"required": True, "help": "The server to hold the mock to (your staging), including /v1."},
                "OpenAPI document or subset both are driven by (a file or an http(s) URL). Default: the document the target serves at "
                "/openapi.json.")
@click.pass_context
def parity(ctx: click.Context, **options: Any) -> int:
    """Run the gate's billing scenario against --base-url and against a mock started here, and list
    each field where their answers differ (ids, times and other volatile fields masked): exit 0
    when none differ, 1 when some do, 4 when the spec has none of the scenario's operations."""
    from . import gate
    from .parity import compare, scenario
    from .target import LOCAL_API_KEY, started_mock

    key, source, shown = _api_key(ctx, options["api_key"], None)
    if not key:
        raise UsageProblem(f"--api-key (or {KEY_VARIABLE}) is required")

    def config(url: str, key: str, **extra: str) -> GateConfig:
        return GateConfig(base_url=url, api_key=key, spec=spec, seed=options["seed"], fuzz=False,
                          request_timeout=options["request_timeout"], settle=options["settle"],
                          overlays=options["overlay"], **extra)

    with _spec(options, options["base_url"], key) as (spec, label):
        target = config(options["base_url"], key, key_source=source, key_shown=shown, spec_label=label)
        refused = gate.refused_key(target)
        if refused:
            click.echo(refused)
            return EXIT_FAILURES
        with started_mock(spec, LOCAL_API_KEY, options["overlay"]) as mock_url:
            click.echo(f"{PROG}: parity of {target.base_url} with the mock at {mock_url}, driven by {label} "
                       f"(seed {target.seed})")
            theirs = scenario(target)
            ours = scenario(config(mock_url, LOCAL_API_KEY))
    comparison = compare(theirs, ours)
    for problem in theirs.problems:
        click.echo(f"the target: {problem}")
    for difference in comparison.differences:
        click.echo(difference.line())
    if not comparison.compared and not comparison.differences:
        click.echo(f"parity: NO VERDICT: {label} has none of the billing scenario's operations")
        return EXIT_NO_VERDICT
    verdict = (f"{len(comparison.differences)} difference(s) in {len(comparison.steps)} step(s)"
               if comparison.differences else "no difference")
    click.echo(f"parity: {comparison.compared} answers compared, {verdict}")
    return EXIT_FAILURES if comparison.differences else EXIT_CONFORMS


@contextmanager
def _spec(options: dict[str, Any], base_url: str | None, key: str) -> Iterator[tuple[Path, str]]:
    """The run's spec and the line naming it (`spec_choice`), checked before anything starts: a
    missing, unreadable or unusable spec or overlay is the user's to fix (exit 2, with the place
    in the file that is wrong)."""
    try:
        with chosen_spec(options["spec"], base_url, key, options["request_timeout"]) as (spec, label):
            _check_spec(spec, options["overlay"])
            yield spec, label
    except NoSpec as error:
        raise UsageProblem(str(error)) from None


def _check_spec(spec: Path, overlays: tuple[Path, ...]) -> None:
    from flexprice_spec.document import Spec, SpecError
    from flexprice_spec.overlays import OverlayError
    from flexprice_spec.resources import infer

    try:
        loaded = Spec.load(spec, overlays)
        with loaded.explaining():
            infer(loaded)
    except (SpecError, OverlayError, OSError) as error:
        raise UsageProblem(str(error)) from None


def _api_key(ctx: click.Context, given: str | None, local: str | None) -> tuple[str, str, str]:
    """The key, where it came from, and how reports write it: as the variable that holds it
    (`$FLEXPRICE_CONTRACT_API_KEY`, the older `$FLEXPRICE_API_KEY`, or any exported variable a
    `--api-key "$KEY"` was expanded from). A key typed on the command line is written as
    `$FLEXPRICE_CONTRACT_API_KEY` (export it to replay): no report or written test ever holds a
    raw key. The local mock's throwaway key stays literal."""
    variable = variable_of(ctx, "api_key")
    if given and variable:
        return given, f"${variable}", f"${variable}"
    if given:
        preferred = (KEY_VARIABLE, OLD_KEY_VARIABLE)
        holders = sorted((preferred.index(name) if name in preferred else len(preferred), name)
                         for name, value in os.environ.items() if value == given and len(given) >= MASK_ANYWHERE_CHARS)
        return given, "--api-key", f"${holders[0][1] if holders else KEY_VARIABLE}"
    return (local, "the key of the mock the gate started", local) if local else ("", "", "")


def _config(options: dict[str, Any], spec: Path, api_key: str, base_url: str, **extra: str) -> GateConfig:
    profile = PROFILES[options["profile"]]
    phases = tuple(p.strip() for p in options["phases"].split(",") if p.strip()) if options["phases"] else profile.phases
    budget = options["time_budget"]
    try:
        parse_rate_limit(options["rate_limit"])
        return GateConfig(
            base_url=base_url, api_key=api_key, spec=spec,
            max_examples=options["max_examples"] if options["max_examples"] is not None else profile.max_examples,
            seed=options["seed"], read_only=options["read_only"], rate_limit=options["rate_limit"],
            include=tuple(options["include_operation"]), exclude=tuple(options["exclude_operation"]),
            request_timeout=options["request_timeout"], settle=options["settle"],
            time_budget=budget if budget is not None else profile.time_budget,
            budget_source="--time-budget" if budget is not None else f"the {options['profile']} profile's bound",
            fuzz=not options["no_fuzz"], phases=phases, overlays=tuple(options["overlay"]), **extra,
        )
    except ValueError as error:
        raise UsageProblem(str(error)) from None


for _command in commands.COMMANDS:
    flexprice_contract.add_command(_command)
