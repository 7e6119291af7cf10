"""`flexprice-contract diff`: the console command over the comparison, the policy and the reports.

Exit codes: 0 nothing fails the run, 1 findings at or above `--fail-on` (errors by default), 2 a
usage error (an input that cannot be read, a bad config): one line on stderr, no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import catalog
from .comparison import Comparison
from .origins import GitOrigin, Origin, origin
from .policy import FAIL_ON, Policy
from .report import FORMATS, Diff
from .sources import SpecSource

EXIT_OK, EXIT_CHANGES, EXIT_USAGE = 0, 1, 2
PROG = "flexprice-contract diff"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Compare two versions of an OpenAPI document operation by operation and report every change "
                    "with its level: error (breaks clients), warning (may break clients) or info.",
        epilog="Examples: `diff old.json new.json`; `diff --base main openapi.json` (the file at main against "
               "the working tree); `diff --base main --head HEAD openapi.json`; `diff https://host/openapi.json "
               "openapi.json`.",
    )
    p.add_argument("specs", nargs="*", metavar="SPEC",
                   help="OLD NEW: files, git:REV:path (read with git show) or http(s) URLs; with --base, the one "
                        "file to read at both revisions")
    p.add_argument("--base", metavar="REV", help="read the old spec from this git revision (default: none)")
    p.add_argument("--head", metavar="REV", help="with --base: read the new spec from this revision "
                                                  "(default: the working tree)")
    p.add_argument("--format", choices=tuple(FORMATS), default="text",
                   help="text (default), json, junit, markdown or github (Actions annotations)")
    p.add_argument("--fail-on", choices=tuple(FAIL_ON), default=None,
                   help="exit 1 on errors (default; alias breaking), on warnings too, on any change (info, alias "
                        "any), or never (none); the config's fail-on when not given")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="TOML policy: rule levels, ignored findings, fail-on, deprecation days (default: "
                        "[tool.flexprice-contract.diff] in ./pyproject.toml, if any)")
    p.add_argument("--overlay", action="append", default=[], type=Path, metavar="FILE",
                   help="OpenAPI Overlay 1.0 file applied in memory to both specs before comparing (repeatable)")
    p.add_argument("--output", type=Path, help="write the report here instead of standard output")
    p.add_argument("--rules", action="store_true", help="print the table of rules (Markdown) and exit")
    return p


def diff(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.rules:
        _print(catalog.table())
        return EXIT_OK
    try:
        old_origin, new_origin = _origins(args)
        policy = Policy.load(args.config)
        old, new = SpecSource(old_origin, args.overlay), SpecSource(new_origin, args.overlay)
        comparison = Comparison(old.documents, new.documents, policy.lifecycle())
        result = Diff(old, new, policy.apply(comparison.changes), policy.failing(args.fail_on))
        report = FORMATS[args.format](result)
        if args.output:
            args.output.write_text(report + "\n", encoding="utf-8")
    except (ValueError, OSError) as error:  # SourceError, PolicyError, OverlayError, an unwritable --output
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.output:
        _print(report)
    return EXIT_CHANGES if result.failed else EXIT_OK


def _origins(args: argparse.Namespace) -> tuple[Origin, Origin]:
    if args.base is None:
        if args.head is not None or len(args.specs) != 2:
            raise ValueError("give OLD and NEW, or --base REV [--head REV] FILE")
        return origin(args.specs[0]), origin(args.specs[1])
    if len(args.specs) != 1:
        raise ValueError("with --base, give the one spec file to compare between revisions")
    path = Path(args.specs[0]).as_posix()
    if Path(path).is_absolute():
        path = os.path.relpath(path)
    relative = path if path.startswith(("./", "../")) else f"./{path}"
    new = GitOrigin(args.head, relative) if args.head is not None else origin(args.specs[0])
    return GitOrigin(args.base, relative), new


def _print(report: str) -> None:
    """A reader that stops early (`| head`) has what it wanted: the exit code still says the verdict."""
    try:
        print(report, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # Python flushes stdout at exit; let that go nowhere
