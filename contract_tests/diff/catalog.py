"""The rule catalogue as Markdown: the table docs/contract-gate.md carries (a test keeps the two the
same) and `flexprice-contract diff --rules` prints, with the counts beside oasdiff's.

oasdiff's counts are those of its `checker/rules.go` at the version named; its rule ids appear in
the table only as names, so a reader can map an oasdiff severity file onto these rules.
"""
from __future__ import annotations

from . import comparison  # noqa: F401 - importing the walk registers every family's rules
from .rules import LEVELS, RULES, Rule

OASDIFF = {"version": "1.28.0", "rules": 509, "error": 213, "warning": 30, "info": 266}
ORDER = (
    "Paths and operations",
    "Deprecation, sunset and stability",
    "Security",
    "Parameters",
    "Request bodies and media types",
    "Responses",
    "Schemas: types and properties",
    "Values: enum, const and default",
    "Constraints",
    "Composition: allOf, oneOf, anyOf and discriminator",
)


def families() -> list[tuple[str, list[Rule]]]:
    by_family: dict[str, list[Rule]] = {}
    for rule in RULES.values():
        by_family.setdefault(rule.family, []).append(rule)
    return [(name, by_family[name]) for name in ORDER]


def counts() -> dict[str, int]:
    return {"rules": len(RULES), **{level: sum(r.level == level for r in RULES.values()) for level in LEVELS},
            "oasdiff_names": len({name for rule in RULES.values() for name in rule.oasdiff})}


def table() -> str:
    mine = counts()
    lines = [
        f"**{mine['rules']} rules** ({mine['error']} error, {mine['warning']} warning, {mine['info']} info) "
        f"in {len(ORDER)} families; oasdiff {OASDIFF['version']} has **{OASDIFF['rules']}** ({OASDIFF['error']} "
        f"error, {OASDIFF['warning']} warning, {OASDIFF['info']} info). The last column names the oasdiff rules "
        f"each one covers: {mine['oasdiff_names']} distinct names.",
    ]
    for name, rules in families():
        lines += ["", f"#### {name} ({len(rules)})", "",
                  "| rule | level | breaks servers | meaning | oasdiff |", "| --- | --- | --- | --- | --- |"]
        for rule in rules:
            oasdiff = ", ".join(f"`{id}`" for id in rule.oasdiff)
            lines.append(f"| `{rule.id}` | {rule.level} | {'yes' if rule.servers else ''} | "
                         f"{rule.summary.replace('|', '&#124;')} | {oasdiff} |")
    return "\n".join(lines)
