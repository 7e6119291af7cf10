"""What the gate found: failures with a reproducible curl command, the grouped summary and JUnit XML."""
from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

API_KEY_PLACEHOLDER = "$FLEXPRICE_API_KEY"
SHOWN_CURL_CHARS = 1500
MASK_ANYWHERE_CHARS = 8
DEFAULT_SHOW = 3
TOP_OPERATIONS = 10
# A key header in any of the forms curl commands carry it: ours, Schemathesis's `[Filtered]`.
KEY_HEADER = re.compile(r"""(['"]?)x-api-key: ([^'"\s]*)\1""", re.IGNORECASE)


@dataclass(slots=True)
class Failure:
    """One broken rule: which check, on which operation, why, and how to replay it."""

    check: str
    operation: str
    message: str
    curl: str = ""


@dataclass(slots=True)
class Report:
    """Every check the gate ran (by name), every failure it found, and what it skipped and why."""

    checks_run: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)
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
    """Show the gate's own key as `$FLEXPRICE_API_KEY`, whoever wrote the command (this gate or
    Schemathesis, which writes `[Filtered]`); keys the gate created stay literal, on purpose."""
    def replace(match: re.Match) -> str:
        value = match.group(2)
        if value in (api_key, "[Filtered]") and value:
            return f'"x-api-key: {API_KEY_PLACEHOLDER}"'
        return match.group(0)
    text = KEY_HEADER.sub(replace, text)
    # Anywhere else (an echoing server's body) a real key is replaced too; a key shorter than
    # `MASK_ANYWHERE_CHARS` would mangle words (`x` in `x-api-key`), so only its header is.
    return text.replace(api_key, API_KEY_PLACEHOLDER) if len(api_key) >= MASK_ANYWHERE_CHARS else text


def summary(report: Report, show: int = DEFAULT_SHOW) -> str:
    """The verdict: counts by check and by operation first, then at most `show` examples per check."""
    lines = [_verdict(report)]
    if report.hints:
        lines += ["", *(f"hint: {hint}" for hint in report.hints)]
    if report.skipped:
        lines += ["", "skipped:", *(f"  {name}: {why}" for name, why in sorted(report.skipped.items()))]
    if report.failures:
        lines += ["", *_by_check(report), "", *_by_operation(report), "", *_examples(report, show)]
        lines += ["", _verdict(report)]
    return "\n".join(lines)


def _verdict(report: Report) -> str:
    verdict = "FAILED" if report.failures else "PASSED"
    operations = len({f.operation for f in report.failures})
    return (
        f"{verdict}: {len(report.failures)} failure(s) in {len(report.failed_checks())} check(s) on "
        f"{operations} operation(s); {len(report.checks_run)} checks run, {report.requests} requests, "
        f"{report.elapsed:.1f}s"
    )


def _by_check(report: Report) -> list[str]:
    lines = ["failures by check:"]
    for check, count in Counter(f.check for f in report.failures).most_common():
        ops = Counter(f.operation for f in report.failures if f.check == check)
        top = ", ".join(f"{op} {n}" for op, n in ops.most_common(3))
        more = f", +{len(ops) - 3} more" if len(ops) > 3 else ""
        lines.append(f"  {check:32} {count:5}  on {len(ops)} operation(s): {top}{more}")
    return lines


def _by_operation(report: Report) -> list[str]:
    ops = Counter(f.operation for f in report.failures)
    lines = [f"failures by operation (top {min(TOP_OPERATIONS, len(ops))} of {len(ops)}):"]
    for op, count in ops.most_common(TOP_OPERATIONS):
        checks = ", ".join(sorted({f.check for f in report.failures if f.operation == op}))
        lines.append(f"  {op[:60]:60} {count:5}  {checks}")
    return lines


def _examples(report: Report, show: int) -> list[str]:
    lines = [f"examples (at most {show} per check; --show N for more, the JUnit report has all of them):"]
    shown: Counter = Counter()
    for failure in report.failures:
        if shown[failure.check] >= show:
            continue
        shown[failure.check] += 1
        lines += [
            f"[{failure.check}] {failure.operation}",
            *("   " + line for line in failure.message.strip().splitlines()[:8]),
        ]
        if failure.curl:
            curl = failure.curl if len(failure.curl) <= SHOWN_CURL_CHARS else (
                failure.curl[:SHOWN_CURL_CHARS] + " ... (cut here; the JUnit report has all of it)"
            )
            lines += ["   Reproduce with:", *("     " + line for line in curl.splitlines())]
        lines.append("")
    return lines


def write_junit(report: Report, path: str | Path) -> None:
    """One test case per check, failed when any of its failures was found; skipped checks say why."""
    checks = list(dict.fromkeys([*report.checks_run, *(f.check for f in report.failures)]))
    suite = ET.Element(
        "testsuite", name="flexprice-contract", tests=str(len(checks) + len(report.skipped)),
        failures=str(len(report.failed_checks())), skipped=str(len(report.skipped)), time=f"{report.elapsed:.3f}",
    )
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname="flexprice-contract", name=check)
        for failure in (f for f in report.failures if f.check == check):
            node = ET.SubElement(case, "failure", message=f"{failure.operation}: {failure.message[:200]}")
            node.text = f"{failure.message}\n\n{failure.curl}"
    for check, why in report.skipped.items():
        case = ET.SubElement(suite, "testcase", classname="flexprice-contract", name=check)
        ET.SubElement(case, "skipped", message=why)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
