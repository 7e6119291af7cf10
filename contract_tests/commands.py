"""The gate's commands that send no request: `diff OLD NEW` (what a new spec breaks,
`diff/command.py`) and `overlay --show` (the real server's rules the gate lays over every spec)."""
from __future__ import annotations

import click

from flexprice_cli.program import EXIT_OK, UsageProblem, option
from flexprice_spec.overlays import Overlay

from .diff.command import diff
from .overlay import REAL_SERVER_OVERLAY


@click.command("overlay", short_help="The real server's rules the gate lays over every spec.")
@option("--show", is_flag=True, help="Print its path and its actions.")
@option("--raw", is_flag=True, help="Print the file itself (to copy and adapt).")
def overlay(show: bool, raw: bool) -> int:
    """The overlay the gate applies to every spec: the real server's rules."""
    if raw:
        click.echo(REAL_SERVER_OVERLAY.read_text(encoding="utf-8"), nl=False)
        return EXIT_OK
    if not show:
        raise UsageProblem("say what to print: --show (its path and actions) or --raw (the file itself)")
    loaded = Overlay.load(REAL_SERVER_OVERLAY)
    click.echo(f"{REAL_SERVER_OVERLAY}\n  {loaded.title} (version {loaded.version}), applied by the gate to what it sends")
    for number, action in enumerate(loaded.actions, 1):
        click.echo(f"  {number}. {action.verb} {action.target}")
        if action.description:
            click.echo(f"     {action.description}")
    return EXIT_OK


COMMANDS: tuple[click.Command, ...] = (diff, overlay)
