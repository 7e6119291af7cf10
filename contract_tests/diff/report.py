"""How `flexprice-contract diff` shows a comparison: text for a terminal, JSON for tools, JUnit
XML for CI test reports, Markdown for a pull-request comment, and GitHub Actions annotations
(`::error file=...,line=...::`) at the change's line in the new file.

Every form groups the findings by level (errors, the changes that break clients, first), gives
the counts, and shows each change with its place in both files: `file:line` and the JSON pointer.
Findings the policy ignores are listed last with their reason, and never fail the run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from xml.etree import ElementTree

from .comparison import Change
from .policy import Finding, fails
from .rules import LEVELS
from .sources import SpecSource

TITLES = {"error": "Errors: breaking for clients", "warning": "Warnings: may break clients", "info": "Info"}
ANNOTATIONS = {"error": "error", "warning": "warning", "info": "notice"}


@dataclass(slots=True)
class Diff:
    """The findings together with the two sources they came from (for file names and lines),
    and the least severe level that fails the run."""

    old: SpecSource
    new: SpecSource
    findings: list[Finding]
    threshold: int

    def counts(self) -> dict[str, int]:
        active = [finding for finding in self.findings if finding.ignored is None]
        counts = {level: sum(f.level == level for f in active) for level in LEVELS}
        return {**counts, "ignored": len(self.findings) - len(active), "breaking": counts["error"],
                "non_breaking": len(active) - counts["error"], "breaks_servers": sum(f.change.servers for f in active)}

    def failing(self, finding: Finding) -> bool:
        return fails(finding, self.threshold)

    @property
    def failed(self) -> bool:
        return any(map(self.failing, self.findings))

    def where(self, change: Change, side: str) -> str:
        source, place = (self.old, change.old) if side == "old" else (self.new, change.new)
        if place is None:
            return "-"
        label, line = source.locate(place)
        return f"{label}:{line} {place or '/'}"

    def headline(self) -> str:
        counts = self.counts()
        if not self.findings:
            return "no changes"
        ignored = f", {counts['ignored']} ignored" if counts["ignored"] else ""
        return (f"{counts['error']} breaking (error), {counts['warning']} warning, {counts['info']} info{ignored}; "
                f"{counts['breaks_servers']} break servers built to the old spec")

    def groups(self) -> list[tuple[str, list[Finding]]]:
        groups = [(TITLES[level], [f for f in self.findings if f.level == level and f.ignored is None])
                  for level in LEVELS]
        groups.append(("Ignored by policy", [f for f in self.findings if f.ignored is not None]))
        return [(title, findings) for title, findings in groups if findings]


def text(diff: Diff) -> str:
    lines = [f"flexprice-contract diff: {diff.old.label} -> {diff.new.label}: {diff.headline()}"]
    number = 0
    for title, findings in diff.groups():
        lines += ["", f"{title} ({len(findings)}):"]
        for finding in findings:
            number += 1
            change = finding.change
            lines.append(f"{number:3}. {change.rule}{_marks(finding)}: {change.message}")
            lines.append(f"     in: {_operations(change)}")
            lines.append(f"     old: {diff.where(change, 'old')}")
            lines.append(f"     new: {diff.where(change, 'new')}")
            if finding.ignored or finding.note:
                lines.append(f"     {'ignored: ' + finding.ignored if finding.ignored else 'note: ' + finding.note}")
    return "\n".join(lines)


def as_json(diff: Diff) -> str:
    def place(source: SpecSource, at: str | None) -> dict | None:
        if at is None:
            return None
        label, line = source.locate(at)
        return {"file": label, "pointer": at, "line": line}

    return json.dumps({
        "old": diff.old.label, "new": diff.new.label, **diff.counts(), "failed": diff.failed,
        "changes": [{
            "rule": f.change.rule, "level": f.level, "rule_level": f.change.level, "breaking": f.level == "error",
            "breaks_clients": f.level == "error", "breaks_servers": f.change.servers, "fails": diff.failing(f),
            "message": f.change.message, "operations": f.change.operations, "ignored": f.ignored, "note": f.note,
            "old": place(diff.old, f.change.old), "new": place(diff.new, f.change.new),
        } for f in diff.findings],
    }, indent=2)


def junit(diff: Diff) -> str:
    """One test case per change, failed when it fails the run; a case that passes when there is
    no change at all, so the report is never empty."""
    suite = ElementTree.Element("testsuite", name="flexprice-contract diff", tests=str(max(1, len(diff.findings))),
                                failures=str(sum(map(diff.failing, diff.findings))))
    for finding in diff.findings:
        change = finding.change
        case = ElementTree.SubElement(suite, "testcase", classname=change.rule,
                                      name=f"{_operations(change)}: {change.message}")
        body = f"level: {finding.level}\nold: {diff.where(change, 'old')}\nnew: {diff.where(change, 'new')}"
        if diff.failing(finding):
            ElementTree.SubElement(case, "failure", message=change.message).text = body
        else:
            ElementTree.SubElement(case, "system-out").text = body + (f"\nignored: {finding.ignored}"
                                                                      if finding.ignored else "")
    if not diff.findings:
        ElementTree.SubElement(suite, "testcase", classname="diff", name="no changes")
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def markdown(diff: Diff) -> str:
    lines = [f"### API changes: {diff.headline()}", "", f"`{diff.old.label}` -> `{diff.new.label}`"]
    for title, findings in diff.groups():
        lines += ["", f"#### {title} ({len(findings)})", "",
                  "| change | operations | old | new |", "| --- | --- | --- | --- |"]
        for finding in findings:
            c = finding.change
            why = f" ({finding.ignored or finding.note})" if finding.ignored or finding.note else ""
            lines.append(f"| `{c.rule}`{_marks(finding)}: {_cell(c.message)}{_cell(why)} | {_cell(_operations(c))} "
                         f"| `{_cell(diff.where(c, 'old'))}` | `{_cell(diff.where(c, 'new'))}` |")
    return "\n".join(lines)


def github(diff: Diff) -> str:
    """Workflow commands GitHub Actions turns into annotations on the pull request's files; an
    ignored finding is not annotated."""
    lines = []
    for finding in diff.findings:
        if finding.ignored is not None:
            continue
        change = finding.change
        source, at = (diff.new, change.new) if change.new is not None else (diff.old, change.old)
        file, line = source.locate(at, path=True)
        title = f"{change.rule} ({finding.level})"
        message = f"{change.message} (in {_operations(change)}; {at or '/'})"
        lines.append(f"::{ANNOTATIONS[finding.level]} file={_property(file)},line={line},title={_property(title)}"
                     f"::{_data(message)}")
    lines.append(f"::notice title=flexprice-contract diff::{_data(diff.headline())}")
    return "\n".join(lines)


def _marks(finding: Finding) -> str:
    return " [breaks servers]" if finding.change.servers else ""


def _operations(change: Change) -> str:
    shown = change.operations[:5]
    more = len(change.operations) - len(shown)
    return (", ".join(shown) or "-") + (f" and {more} more" if more > 0 else "")


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _data(value: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit escapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


FORMATS = {"text": text, "json": as_json, "junit": junit, "markdown": markdown, "github": github}
