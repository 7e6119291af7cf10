"""What the gate found: failures with a reproducible curl command, the summary and JUnit XML."""
from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

API_KEY_PLACEHOLDER = "$FLEXPRICE_API_KEY"
SHOWN_CURL_CHARS = 1500


@dataclass(slots=True)
class Failure:
    """One broken rule: which check, on which operation, why, and how to replay it."""

    check: str
    operation: str
    message: str
    curl: str = ""


@dataclass(slots=True)
class Report:
    """Every check the gate ran (by name) and every failure it found."""

    checks_run: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    elapsed: float = 0.0
    requests: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    def failed_checks(self) -> set[str]:
        return {failure.check for failure in self.failures}

    def add(self, failure: Failure) -> None:
        """Record a failure once: fuzzing finds the same defect on many inputs."""
        key = (failure.check, failure.operation, failure.message)
        if all((f.check, f.operation, f.message) != key for f in self.failures):
            self.failures.append(failure)


def curl_command(method: str, url: str, headers: dict[str, str], body: bytes | None, api_key: str) -> str:
    """A copy-paste command that replays one request, with the gate's key left as a variable."""
    parts = ["curl", "-X", method.upper()]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    if body:
        parts += ["-d", body.decode("utf-8", "replace")]
    parts.append(url)
    return mask(shlex.join(parts), api_key)


def mask(text: str, api_key: str) -> str:
    """Keep the gate's own key out of reports and CI logs."""
    quoted = f'"x-api-key: {API_KEY_PLACEHOLDER}"'
    text = text.replace("'x-api-key: [Filtered]'", quoted)
    if not api_key:
        return text
    return text.replace(f"'x-api-key: {api_key}'", quoted).replace(api_key, API_KEY_PLACEHOLDER)


def summary(report: Report) -> str:
    """The short, readable verdict printed at the end of a run."""
    lines = []
    for number, failure in enumerate(report.failures, 1):
        lines += [
            f"{number}. [{failure.check}] {failure.operation}",
            *("   " + line for line in failure.message.strip().splitlines()[:8]),
        ]
        if failure.curl:
            curl = failure.curl if len(failure.curl) <= SHOWN_CURL_CHARS else (
                failure.curl[:SHOWN_CURL_CHARS] + " ... (cut here; the JUnit report has all of it)"
            )
            lines += ["   Reproduce with:", *("     " + line for line in curl.splitlines())]
        lines.append("")
    verdict = "FAILED" if report.failures else "PASSED"
    lines.append(
        f"{verdict}: {len(report.failures)} failure(s) in {len(report.failed_checks())} check(s); "
        f"{len(report.checks_run)} checks run, {report.requests} requests, {report.elapsed:.1f}s"
    )
    return "\n".join(lines)


def write_junit(report: Report, path: str | Path) -> None:
    """One test case per check, failed when any of its failures was found."""
    suite = ET.Element(
        "testsuite", name="flexprice-contract", tests=str(len(report.checks_run)),
        failures=str(len(report.failed_checks())), time=f"{report.elapsed:.3f}",
    )
    for check in report.checks_run:
        case = ET.SubElement(suite, "testcase", classname="flexprice-contract", name=check)
        for failure in (f for f in report.failures if f.check == check):
            node = ET.SubElement(case, "failure", message=f"{failure.operation}: {failure.message[:200]}")
            node.text = f"{failure.message}\n\n{failure.curl}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
