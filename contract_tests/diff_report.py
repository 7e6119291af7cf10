"""How `flexprice-contract diff` shows a comparison: text for a terminal, JSON for tools, JUnit
XML for CI test reports, Markdown for a pull-request comment.

Every form puts breaking changes (those that break existing clients) first, gives the counts, and
shows each change with its place in both files: `file:line` and the JSON pointer.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

from .diff import Change, Comparison
from .spec_source import SpecSource


@dataclass(slots=True)
class Diff:
    """A comparison together with the two sources it was made from (for file names and lines)."""

    old: SpecSource
    new: SpecSource
    comparison: Comparison

    @property
    def changes(self) -> list[Change]:
        return self.comparison.changes

    def counts(self) -> dict[str, int]:
        changes = self.changes
        return {"breaking": sum(c.clients for c in changes), "non_breaking": sum(not c.clients for c in changes),
                "breaks_servers": sum(c.servers for c in changes)}

    def where(self, change: Change, side: str) -> str:
        source, pointer = (self.old, change.old) if side == "old" else (self.new, change.new)
        if pointer is None:
            return "-"
        return f"{source.label}:{source.line(pointer)} {pointer or '/'}"

    def headline(self) -> str:
        counts = self.counts()
        if not self.changes:
            return "no changes"
        return (f"{counts['breaking']} breaking, {counts['non_breaking']} non-breaking for clients; "
                f"{counts['breaks_servers']} break servers built to the old spec")


def groups(diff: Diff) -> list[tuple[str, list[Change]]]:
    breaking = [c for c in diff.changes if c.clients]
    others = [c for c in diff.changes if not c.clients]
    return [(title, changes) for title, changes in (("Breaking for clients", breaking), ("Non-breaking", others))
            if changes]


def text(diff: Diff) -> str:
    lines = [f"flexprice-contract diff: {diff.old.label} -> {diff.new.label}: {diff.headline()}"]
    number = 0
    for title, changes in groups(diff):
        lines += ["", f"{title} ({len(changes)}):"]
        for change in changes:
            number += 1
            servers = " [breaks servers]" if change.servers else ""
            lines.append(f"{number:3}. {change.rule}{servers}: {change.message}")
            lines.append(f"     in: {_operations(change)}")
            lines.append(f"     old: {diff.where(change, 'old')}")
            lines.append(f"     new: {diff.where(change, 'new')}")
    return "\n".join(lines)


def as_json(diff: Diff) -> str:
    def place(source: SpecSource, pointer: str | None) -> dict | None:
        return None if pointer is None else {"file": source.label, "pointer": pointer, "line": source.line(pointer)}

    return json.dumps({
        "old": diff.old.label, "new": diff.new.label, **diff.counts(),
        "changes": [{
            "rule": c.rule, "breaking": c.clients, "breaks_clients": c.clients, "breaks_servers": c.servers,
            "message": c.message, "operations": c.operations,
            "old": place(diff.old, c.old), "new": place(diff.new, c.new),
        } for c in diff.changes],
    }, indent=2)


def junit(diff: Diff, failing: Callable[[Change], bool]) -> str:
    """One test case per change, failed when `failing` (the `--fail-on` rule) says so; a case
    that passes when there is no change at all, so the report is never empty."""
    suite = ElementTree.Element("testsuite", name="flexprice-contract diff", tests=str(max(1, len(diff.changes))),
                                failures=str(sum(map(failing, diff.changes))))
    for change in diff.changes:
        case = ElementTree.SubElement(suite, "testcase", classname=change.rule,
                                      name=f"{_operations(change)}: {change.message}")
        body = f"old: {diff.where(change, 'old')}\nnew: {diff.where(change, 'new')}"
        if failing(change):
            ElementTree.SubElement(case, "failure", message=change.message).text = body
        else:
            ElementTree.SubElement(case, "system-out").text = body
    if not diff.changes:
        ElementTree.SubElement(suite, "testcase", classname="diff", name="no changes")
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def markdown(diff: Diff) -> str:
    lines = [f"### API changes: {diff.headline()}", "",
             f"`{diff.old.label}` -> `{diff.new.label}`"]
    for title, changes in groups(diff):
        lines += ["", f"#### {title} ({len(changes)})", "",
                  "| change | operations | old | new |", "| --- | --- | --- | --- |"]
        for c in changes:
            servers = " (breaks servers)" if c.servers else ""
            lines.append(f"| `{c.rule}`{servers}: {_cell(c.message)} | {_cell(_operations(c))} "
                         f"| `{_cell(diff.where(c, 'old'))}` | `{_cell(diff.where(c, 'new'))}` |")
    return "\n".join(lines)


def _operations(change: Change) -> str:
    shown = change.operations[:5]
    more = len(change.operations) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def render(diff: Diff, form: str, failing: Callable[[Change], bool]) -> str:
    """`form` is one of FORMATS."""
    if form == "junit":
        return junit(diff, failing)
    return {"text": text, "json": as_json, "markdown": markdown}[form](diff)


FORMATS = ("text", "json", "junit", "markdown")
