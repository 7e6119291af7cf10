"""The report as files: `--report-json` (the data), `--report` (one self-contained HTML page built
from that data: per resource, per check, per operation with requests, statuses and checks, every
failure with its `curl`), and `--junit-xml` (one test case per check).

The HTML page has no script and loads nothing: it opens from a CI artifact as it is.
"""
from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .report import NO_VERDICT, Report, verdict_line


def as_data(report: Report) -> dict[str, Any]:
    """Everything the summary says, and per operation what the HTML page shows."""
    outcomes = report.outcomes()
    operations = {}
    for op_id, label in sorted(report.operations.items(), key=lambda item: (report.group_of(item[0]), item[0])):
        ran = {check for check, seen in outcomes.items() if op_id in seen["ran"]}
        failed = {check for check, seen in outcomes.items() if op_id in seen["failed"]}
        operations[op_id] = {
            "operation": label, "resource": report.group_of(op_id), "requests": report.sent[op_id],
            "statuses": {str(status): n for status, n in sorted(report.statuses[op_id].items())},
            "checks_passed": sorted(ran - failed), "checks_failed": sorted(failed),
        }
    return {
        "verdict": report.verdict, "summary": verdict_line(report), "spec": report.spec, "base_url": report.base_url,
        "elapsed_seconds": round(report.elapsed, 1), "requests": report.requests,
        "why_untested": report.why_untested() if report.verdict == NO_VERDICT else "",
        "refused_key": report.refused_key, "cut": report.cut, "notes": report.notes, "hints": report.hints,
        "resources": {
            resource: {"passed": sorted(row["passed"]), "failed": sorted(row["failed"]), "not_run": row["not_run"],
                       "requests": row["requests"]}
            for resource, row in report.by_resource().items()
        },
        "checks": {
            check: {"passed": sorted(seen["ran"] - seen["failed"]), "failed": sorted(seen["failed"])}
            for check, seen in sorted(outcomes.items())
        },
        "skipped": report.skipped,
        "not_covered": [{"check": check, "resource": resource, "why": why}
                        for (check, resource), why in sorted(report.not_covered.items())],
        "operations": operations,
        "failures": [{"check": f.check, "operation": f.operation, "message": f.message, "curl": f.curl}
                     for f in report.failures],
    }


def write_json(report: Report, path: str | Path) -> None:
    Path(path).write_text(json.dumps(as_data(report), indent=2) + "\n", encoding="utf-8")


def write_html(report: Report, path: str | Path) -> None:
    Path(path).write_text(render_html(as_data(report)), encoding="utf-8")


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


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.PASSED{color:#17803d} .FAILED{color:#b42318} .NO{color:#8a6d00}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #e3e6eb;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8;position:sticky;top:0} td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17803d} .bad{color:#b42318;font-weight:600} .dim{color:#6b7280}
pre{background:#f6f8fa;padding:8px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
details{margin:6px 0;border-left:3px solid #b42318;padding-left:8px} summary{cursor:pointer}
.names{font-size:11.5px;color:#3f7a52} td.n{width:6em;white-space:nowrap}
col.wide{width:45%}
.meta{color:#4b5563}
"""


def _listed(names: list[str]) -> str:
    """A count, then the names in small print: a resource passes dozens of checks."""
    return f"<b>{len(names)}</b> <span class='names'>{html.escape(', '.join(names))}</span>"


def render_html(data: dict[str, Any]) -> str:
    esc = html.escape
    verdict_class = data["verdict"].split()[0]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>flexprice-contract: {esc(data['verdict'])}</title><style>{STYLE}</style></head><body>",
        f"<h1 class='{verdict_class}'>{esc(data['summary'])}</h1>",
        f"<div class='meta'>target {esc(data['base_url'])} &middot; spec {esc(data['spec'])}</div>",
        *(f"<p class='meta'>{esc(line)}</p>" for line in [data["refused_key"], data["why_untested"], data["cut"],
                                                          *data["notes"], *data["hints"]] if line),
        "<h2>By resource</h2><table><col><col><col><col><col class='wide'>"
        "<tr><th>resource</th><th>requests</th><th>checks failed</th><th>not run here (why)</th><th>checks passed</th></tr>",
    ]
    for resource, row in data["resources"].items():
        not_run = "<br>".join(f"{esc(check)}: {esc(why)}" for check, why in sorted(row["not_run"].items()))
        parts.append(
            f"<tr><td>{esc(resource)}</td><td class='n'>{row['requests']:,}</td><td class='bad'>{esc(', '.join(row['failed']))}</td>"
            f"<td class='dim'>{not_run}</td><td class='ok'>{_listed(row['passed'])}</td></tr>"
        )
    parts.append("</table><h2>By check</h2><table><tr><th>check</th><th>operations passed</th><th>operations failed</th>"
                 "<th>not run (why)</th></tr>")
    for check, seen in data["checks"].items():
        parts.append(f"<tr><td>{esc(check)}</td><td class='n ok'>{len(seen['passed'])}</td>"
                     f"<td class='bad'>{esc(', '.join(seen['failed']))}</td><td></td></tr>")
    for check, why in sorted(data["skipped"].items()):
        parts.append(f"<tr><td>{esc(check)}</td><td class='n'>-</td><td></td><td class='dim'>{esc(why)}</td></tr>")
    parts.append("</table><h2>By operation</h2><table><tr><th>operation</th><th>resource</th><th>requests</th>"
                 "<th>statuses seen</th><th>checks passed</th><th>checks failed</th></tr>")
    for op_id, row in data["operations"].items():
        statuses = " ".join(f"{status}&times;{n}" for status, n in row["statuses"].items())
        parts.append(
            f"<tr><td>{esc(op_id)}<br><span class='dim'>{esc(row['operation'])}</span></td><td>{esc(row['resource'])}</td>"
            f"<td class='n'>{row['requests']:,}</td><td>{statuses}</td><td class='ok'>{_listed(row['checks_passed'])}</td>"
            f"<td class='bad'>{esc(', '.join(row['checks_failed']))}</td></tr>"
        )
    parts.append(f"</table><h2>Failures ({len(data['failures'])})</h2>")
    for failure in data["failures"]:
        parts.append(f"<details><summary><b>{esc(failure['check'])}</b> on {esc(failure['operation'])}</summary>"
                     f"<pre>{esc(failure['message'])}</pre><pre>{esc(failure['curl'])}</pre></details>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
