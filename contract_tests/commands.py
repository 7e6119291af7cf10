"""The gate's commands that send no request: `diff OLD NEW` (what a new spec breaks) and
`overlay --show` (the real server's rules the gate lays over every spec)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from flexprice_spec.overlays import Overlay

from .diff.command import diff
from .overlay import REAL_SERVER_OVERLAY

EXIT_OK, EXIT_USAGE = 0, 2


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
