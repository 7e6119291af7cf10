"""`flexprice-contract diff`: the console command over the comparison, the policy and the reports.

Exit codes: 0 nothing fails the run, 1 findings at or above `--fail-on` (errors by default), 2 a
usage error (an input that cannot be read, a bad config): one `Error:` line on stderr, no traceback.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from flexprice_cli.program import EXIT_OK, UsageProblem, option

from . import catalog
from .comparison import Comparison
from .origins import GitOrigin, Origin, origin
from .policy import FAIL_ON, Policy
from .report import FORMATS, Diff
from .sources import SpecSource

EXIT_CHANGES = 1


@click.command("diff", short_help="What a new version of the spec breaks.", epilog=(
    "Examples: `diff old.json new.json`; `diff --base main openapi.json` (the file at main against the working tree); "
    "`diff --base main --head HEAD openapi.json`; `diff https://host/openapi.json openapi.json`."))
@click.argument("specs", nargs=-1, metavar="[OLD NEW | FILE]")
@option("--base", metavar="REV", help="Read the old spec from this git revision.")
@option("--head", metavar="REV", help="With --base: read the new spec from this revision. Default: the working tree.")
@option("--format", "report_format", type=click.Choice(tuple(FORMATS)), default="text",
        help="text, json, junit, markdown or github (Actions annotations).")
@option("--fail-on", type=click.Choice(tuple(FAIL_ON)), default=None,
        help="Exit 1 on errors (default; alias breaking), on warnings too, on any change (info, alias any), or never "
             "(none). Default: the config's fail-on, else error.")
@option("--config", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
        help="TOML policy: rule levels, ignored findings, fail-on, deprecation days. Default: "
             "[tool.flexprice-contract.diff] in ./pyproject.toml, if any.")
@option("--overlay", multiple=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
        help="OpenAPI Overlay 1.0 file applied in memory to both specs before comparing (repeatable).")
@option("--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
        help="Write the report here instead of standard output.")
@option("--rules", is_flag=True, help="Print the table of rules (Markdown) and exit.")
def diff(specs: tuple[str, ...], base: str | None, head: str | None, report_format: str, fail_on: str | None,
         config: Path | None, overlay: tuple[Path, ...], output: Path | None, rules: bool) -> int:
    """Compare two versions of an OpenAPI document operation by operation and report every change
    with its level: error (breaks clients), warning (may break clients) or info.

    OLD and NEW are files, git:REV:path (read with git show) or http(s) URLs; with --base, FILE is
    the one file read at both revisions."""
    if rules:
        _print(catalog.table())
        return EXIT_OK
    try:
        old_origin, new_origin = _origins(specs, base, head)
        policy = Policy.load(config)
        old, new = SpecSource(old_origin, list(overlay)), SpecSource(new_origin, list(overlay))
        comparison = Comparison(old.documents, new.documents, policy.lifecycle())
        result = Diff(old, new, policy.apply(comparison.changes), policy.failing(fail_on))
        report = FORMATS[report_format](result)
        if output:
            output.write_text(report + "\n", encoding="utf-8")
    except (ValueError, OSError) as error:  # SourceError, PolicyError, OverlayError, an unwritable --output
        raise UsageProblem(str(error)) from None
    if not output:
        _print(report)
    return EXIT_CHANGES if result.failed else EXIT_OK


def _origins(specs: tuple[str, ...], base: str | None, head: str | None) -> tuple[Origin, Origin]:
    if base is None:
        if head is not None or len(specs) != 2:
            raise ValueError("give OLD and NEW, or --base REV [--head REV] FILE")
        return origin(specs[0]), origin(specs[1])
    if len(specs) != 1:
        raise ValueError("with --base, give the one spec file to compare between revisions")
    path = Path(specs[0]).as_posix()
    if Path(path).is_absolute():
        path = os.path.relpath(path)
    relative = path if path.startswith(("./", "../")) else f"./{path}"
    new = GitOrigin(head, relative) if head is not None else origin(specs[0])
    return GitOrigin(base, relative), new


def _print(report: str) -> None:
    """A reader that stops early (`| head`) has what it wanted: the exit code still says the verdict."""
    try:
        print(report, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # Python flushes stdout at exit; let that go nowhere
