"""The gate's commands that send no request: `diff OLD NEW` (what a new spec breaks) and
`overlay --show` (the real server's rules the gate lays over every spec)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from flexprice_spec.overlays import Overlay

from .diff import Change, Comparison
from .diff_report import FORMATS, Diff, render
from .overlay import REAL_SERVER_OVERLAY
from .spec_source import SpecSource

EXIT_OK, EXIT_CHANGES, EXIT_USAGE = 0, 1, 2
FAIL_ON: dict[str, Callable[[Change], bool]] = {
    "breaking": lambda change: change.clients,
    "any": lambda change: True,
    "none": lambda change: False,
}


def diff_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flexprice-contract diff",
        description="Compare two versions of an OpenAPI document operation by operation and classify every "
                    "change as breaking or not, for clients and for servers.",
    )
    p.add_argument("old", help="the spec clients were built against: a file, or git:REV:path (read with git show)")
    p.add_argument("new", help="the spec to check: a file, or git:REV:path")
    p.add_argument("--format", choices=FORMATS, default="text", help="text (default), json, junit or markdown")
    p.add_argument("--fail-on", choices=tuple(FAIL_ON), default="breaking",
                   help="exit 1 on changes that break clients (default), on any change, or never")
    p.add_argument("--overlay", action="append", default=[], type=Path, metavar="FILE",
                   help="OpenAPI Overlay 1.0 file applied in memory to both specs before comparing (repeatable)")
    p.add_argument("--output", type=Path, help="write the report here instead of standard output")
    return p


def diff(argv: list[str]) -> int:
    args = diff_parser().parse_args(argv)
    try:
        old = SpecSource.read(args.old, args.overlay)
        new = SpecSource.read(args.new, args.overlay)
        result = Diff(old, new, Comparison(old.document, new.document))
        report = render(result, args.format, FAIL_ON[args.fail_on])
        if args.output:
            args.output.write_text(report + "\n", encoding="utf-8")
    except (ValueError, OSError) as error:  # SourceError, OverlayError, an unwritable --output
        print(f"flexprice-contract diff: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.output:
        _print(report)
    return EXIT_CHANGES if any(map(FAIL_ON[args.fail_on], result.changes)) else EXIT_OK


def _print(report: str) -> None:
    """A reader that stops early (`| head`) has what it wanted: the exit code still says the verdict."""
    try:
        print(report, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # Python flushes stdout at exit; let that go nowhere


def overlay(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="flexprice-contract overlay",
                                description="The overlay the gate applies to every spec: the real server's rules.")
    p.add_argument("--show", action="store_true", help="print its path and its actions")
    p.add_argument("--raw", action="store_true", help="print the file itself (to copy and adapt)")
    args = p.parse_args(argv)
    if args.raw:
        print(REAL_SERVER_OVERLAY.read_text(encoding="utf-8"), end="")
        return EXIT_OK
    if not args.show:
        p.print_usage(sys.stderr)
        return EXIT_USAGE
    loaded = Overlay.load(REAL_SERVER_OVERLAY)
    print(f"{REAL_SERVER_OVERLAY}\n  {loaded.title} (version {loaded.version}), applied by the gate to what it sends")
    for number, action in enumerate(loaded.actions, 1):
        print(f"  {number}. {action.verb} {action.target}")
        if action.description:
            print(f"     {action.description}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[list[str]], int]] = {"diff": diff, "overlay": overlay}
