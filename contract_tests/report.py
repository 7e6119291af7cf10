"""What the gate found: failures with a reproducible curl command, what each check ran on, and
the text summary a person reads first (the HTML, JSON and JUnit files are in `report_files.py`).

A run that tested nothing (no operation under test, or no request answered) has no verdict: it is
neither PASSED nor FAILED, and says why. A run whose key the target refused stops there, with one
line naming the key by its last four characters.
"""
from __future__ import annotations

import re
import shlex
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

API_KEY_PLACEHOLDER = "$FLEXPRICE_CONTRACT_API_KEY"
SHOWN_CURL_CHARS = 1500
MASK_ANYWHERE_CHARS = 8
DEFAULT_SHOW = 3
TOP_OPERATIONS = 10
PASSED, FAILED, NO_VERDICT = "PASSED", "FAILED", "NO VERDICT"
# Checks that watch every request rather than hold a rule of their own: listed only when they fail.
GUARDS = frozenset({"response_time", "transport", "time_budget"})
# A key header in any of the forms curl commands carry it: ours, Schemathesis's `[Filtered]`.
KEY_HEADER = re.compile(r"""(['"]?)x-api-key: ([^'"\s]*)\1""", re.IGNORECASE)


@dataclass(slots=True)
class Failure:
    """One broken rule: which check, on which operation, why, and how to replay it.

    `trace` holds the exchanges (`client.Exchange`) that lead to it, the failing one last, and
    `assertion` the broken expectation as a Python expression over that last exchange
    (`replay.py` writes both as a pytest file); a failure without them is replayed by its curl."""

    check: str
    operation: str
    message: str
    curl: str = ""
    trace: list[Any] = field(default_factory=list)
    assertion: str = ""


@dataclass(slots=True)
class Report:
    """Every check the gate ran and on which operations, every failure, what it did not run and
    why, and what the run covered (requests and statuses per operation)."""

    checks_run: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # check -> why it did not run at all
    not_covered: dict[tuple[str, str], str] = field(default_factory=dict)  # (check, resource) -> why not there
    hints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the run was sized, which spec it used
    elapsed: float = 0.0
    requests: int = 0
    operations: dict[str, str] = field(default_factory=dict)  # operationId -> `METHOD /path`, under test
    groups: dict[str, str] = field(default_factory=dict)  # operationId -> its resource (`/customers`)
    ran: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # check -> operationIds
    sent: Counter = field(default_factory=Counter)  # operationId -> requests
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # operationId -> statuses
    refused_key: str = ""  # the line saying the target refused the key; nothing else ran
    cut: str = ""  # what the time budget cut short, what was done, which flag extends it
    spec: str = ""  # which spec the run tested, and where it came from
    base_url: str = ""

    @property
    def tested(self) -> bool:
        return bool(self.operations) and self.requests > 0

    @property
    def verdict(self) -> str:
        if self.refused_key or self.failures:
            return FAILED
        return PASSED if self.tested else NO_VERDICT

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    def failed_checks(self) -> set[str]:
        return {failure.check for failure in self.failures}

    def add(self, failure: Failure) -> None:
        """Record a failure once: fuzzing finds the same defect on many inputs."""
        key = (failure.check, failure.operation, failure.message)
        if all((f.check, f.operation, f.message) != key for f in self.failures):
            self.failures.append(failure)
            self.ran[failure.check].add(failure.operation)

    def count(self, operation: str, status: int) -> None:
        """One request to `operation` answered `status` (0: no answer)."""
        self.sent[operation] += 1
        self.statuses[operation][status] += 1

    def why_untested(self) -> str:
        if not self.operations:
            return ("no operation of the spec is under test: is it the right spec (--spec), "
                    "or did --include-operation/--exclude-operation/--read-only leave nothing?")
        return (f"{len(self.operations)} operation(s) were under test but no request was answered: "
                f"is the base URL right ({self.base_url}), with its base path (/v1)?")

    def group_of(self, operation: str) -> str:
        return self.groups.get(operation, operation)

    def outcomes(self) -> dict[str, dict[str, set[str]]]:
        """Per check: the operations it ran on, those it failed on."""
        failed: dict[str, set[str]] = defaultdict(set)
        for failure in self.failures:
            failed[failure.check].add(failure.operation)
        return {check: {"ran": set(ops), "failed": failed[check]} for check, ops in self.ran.items()}

    def by_resource(self) -> dict[str, dict[str, Any]]:
        """Per resource: the checks that passed, failed and did not run on it, and requests sent."""
        table: dict[str, dict[str, Any]] = defaultdict(lambda: {"passed": set(), "failed": set(), "not_run": {}, "requests": 0})
        for operation in self.operations:
            table[self.group_of(operation)]["requests"] += self.sent[operation]
        for check, seen in self.outcomes().items():
            for operation in seen["ran"]:
                row = table[self.group_of(operation)]
                (row["failed"] if operation in seen["failed"] else row["passed"]).add(check)
        for row in table.values():
            row["passed"] -= row["failed"]
        for (check, resource), why in self.not_covered.items():
            table[resource]["not_run"][check] = why
        return dict(sorted(table.items()))


def curl_command(method: str, url: str, headers: dict[str, str], body: bytes | None, api_key: str,
                 shown: str = API_KEY_PLACEHOLDER) -> str:
    """A copy-paste command that replays one request, the gate's key written as `shown`."""
    parts = ["curl", "-X", method.upper()]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    if body:
        parts += ["-d", body.decode("utf-8", "replace")]
    parts.append(url)
    return mask(shlex.join(parts), api_key, shown)


def mask(text: str, api_key: str, shown: str = API_KEY_PLACEHOLDER) -> str:
    """Write the gate's own key as `shown` (its source: `$FLEXPRICE_CONTRACT_API_KEY`, the variable it
    came from, or the key itself when it was typed on the command line), whoever wrote the command (this
    gate or Schemathesis, which writes `[Filtered]`); keys the gate created stay literal, on purpose."""
    def replace(match: re.Match) -> str:
        value = match.group(2)
        if value in (api_key, "[Filtered]") and value:
            return f'"x-api-key: {shown}"' if shown.startswith("$") else shlex.quote(f"x-api-key: {shown}")
        return match.group(0)
    text = KEY_HEADER.sub(replace, text)
    # Anywhere else (an echoing server's body) a real key is replaced too; a key shorter than
    # `MASK_ANYWHERE_CHARS` would mangle words (`x` in `x-api-key`), so only its header is.
    return text.replace(api_key, shown) if len(api_key) >= MASK_ANYWHERE_CHARS else text


def summary(report: Report, show: int = DEFAULT_SHOW) -> str:
    """The verdict first and last; then what ran per resource and per check, what did not run and
    why, and at most `show` examples per failed check."""
    if report.refused_key:
        return report.refused_key
    lines = [verdict_line(report)]
    if report.verdict == NO_VERDICT:
        return "\n".join([*lines, f"why: {report.why_untested()}", *(f"hint: {hint}" for hint in report.hints)])
    lines += [*(f"note: {note}" for note in report.notes), *(f"hint: {hint}" for hint in report.hints)]
    if report.cut:
        lines.append(f"cut: {report.cut}")
    lines += ["", *_by_resource(report), "", *_by_check(report)]
    if report.skipped or report.not_covered:
        lines += ["", "not run:", *(f"  {name}: {why}" for name, why in sorted(report.skipped.items()))]
        lines += [f"  {check} on {resource}: {why}" for (check, resource), why in sorted(report.not_covered.items())]
    if report.failures:
        lines += ["", *_failures_by_operation(report), "", *(_examples(report, show) if show > 0 else []), verdict_line(report)]
    return "\n".join(lines)


def verdict_line(report: Report) -> str:
    operations = len({f.operation for f in report.failures})
    tested = f"{len(report.operations)} operation(s) under test, {report.requests:,} requests, {report.elapsed:.1f}s"
    if report.verdict == NO_VERDICT:
        return f"{NO_VERDICT}: nothing was tested; {tested}"
    if not report.failures:
        return f"{report.verdict}: 0 failure(s); {len(report.checks_run)} checks passed on {tested}"
    return (
        f"{report.verdict}: {len(report.failures)} failure(s) in {len(report.failed_checks())} check(s) on "
        f"{operations} operation(s); {len(report.checks_run)} checks run, {tested}"
    )


def _by_resource(report: Report) -> list[str]:
    lines = ["by resource (checks passed, failed, not run; requests sent):"]
    for resource, row in report.by_resource().items():
        failed = f"  FAILED: {', '.join(sorted(row['failed']))}" if row["failed"] else ""
        lines.append(f"  {resource[:44]:44} {len(row['passed']):3} passed {len(row['failed']):3} failed "
                     f"{len(row['not_run']):3} not run {row['requests']:7,} requests{failed}")
    return lines


def _by_check(report: Report) -> list[str]:
    lines = ["by check (operations it ran on: passed, failed):"]
    outcomes = report.outcomes()
    for check in sorted(set(report.checks_run) | set(outcomes)):
        seen = outcomes.get(check, {"ran": set(), "failed": set()})
        ran, failed = seen["ran"], seen["failed"]
        if not ran and check in report.skipped:
            continue
        if not ran:
            if check not in GUARDS:
                lines.append(f"  {check:32} nothing in this spec for it to check")
            continue
        top = ", ".join(sorted(failed)[:3]) + (f", +{len(failed) - 3} more" if len(failed) > 3 else "")
        lines.append(f"  {check:32} {'FAILED' if failed else 'passed':7} on {len(ran):3} operation(s): "
                     f"{len(ran - failed):3} passed, {len(failed):3} failed{'  (' + top + ')' if failed else ''}")
    return lines


def _failures_by_operation(report: Report) -> list[str]:
    ops = Counter(f.operation for f in report.failures)
    lines = [f"failures by operation (top {min(TOP_OPERATIONS, len(ops))} of {len(ops)}):"]
    for op, count in ops.most_common(TOP_OPERATIONS):
        checks = ", ".join(sorted({f.check for f in report.failures if f.operation == op}))
        lines.append(f"  {op[:60]:60} {count:5}  {checks}")
    return lines


def _examples(report: Report, show: int) -> list[str]:
    lines = [f"examples (at most {show} per check; --show N for more, --report for all of them):"]
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
                failure.curl[:SHOWN_CURL_CHARS] + " ... (cut here; --report has all of it)"
            )
            lines += ["   Reproduce with:", *("     " + line for line in curl.splitlines())]
        lines.append("")
    return lines
