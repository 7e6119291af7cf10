"""A team's policy for `flexprice-contract diff`, like oasdiff's severity files: raise, lower or
ignore a rule by id, ignore one finding at one place with a reason, set `--fail-on`, and the days
of notice the deprecation policy asks for.

It is read from `--config FILE` (a TOML file of the keys below, or a `pyproject.toml`), else from
`[tool.flexprice-contract.diff]` in the current directory's `pyproject.toml`:

    fail-on = "warning"
    [rules]
    response-enum-widened = "info"        # error, warning, info or ignore
    [[ignore]]
    at = "/components/schemas/CustomerResponse/properties/status"   # a place in either file
    rule = "response-enum-widened"        # optional: only this rule there
    reason = "clients switch on status with a default branch"
    [deprecation-days]
    stable = 180                          # draft, alpha, beta, stable

A change that reaches only `draft` or `alpha` operations is lowered to info (stability rules
excepted), after the rule's level is set.
"""
from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import lifecycle
from .comparison import Change
from .lifecycle import STABILITY_LEVELS, Lifecycle
from .rules import INFO, LEVELS, RULES, severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TABLE = ("tool", "flexprice-contract", "diff")
IGNORE = "ignore"
FAIL_ON = {"error": 0, "breaking": 0, "warning": 1, "info": 2, "any": 2, "none": -1}  # most severe level that fails
KEYS = ("fail-on", "rules", "ignore", "deprecation-days")


class PolicyError(ValueError):
    """A config the command cannot use; the message is one line naming the file and the key."""


@dataclass(frozen=True, slots=True)
class Exemption:
    """Ignore the finding at `at` (of `rule`, or any rule), for `reason`."""

    at: str
    reason: str
    rule: str | None = None

    def matches(self, change: Change) -> bool:
        return (self.rule is None or self.rule == change.rule) and self.at in (change.old, change.new)


@dataclass(slots=True)
class Finding:
    """A change with the level the policy gives it, and why it is ignored or re-levelled."""

    change: Change
    level: str
    ignored: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Policy:
    levels: dict[str, str] = field(default_factory=dict)
    exemptions: list[Exemption] = field(default_factory=list)
    fail_on: str | None = None
    deprecation_days: dict[str, int] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def load(cls, path: Path | None) -> Policy:
        """`path`, else the working directory's pyproject.toml table, else no policy."""
        if path is None:
            path = Path(PYPROJECT)
            if not path.is_file():
                return cls()
            table = _read(path)
            return cls.parse(table, str(path)) if table is not None else cls()
        table = _read(path)
        if table is None:
            raise PolicyError(f"{path}: no [{'.'.join(TABLE)}] table")
        return cls.parse(table, str(path))

    @classmethod
    def parse(cls, table: dict, source: str) -> Policy:
        unknown = [key for key in table if key not in KEYS]
        if unknown:
            raise PolicyError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(KEYS)})")
        fail_on = table.get("fail-on")
        if fail_on is not None and fail_on not in FAIL_ON:
            raise PolicyError(f"{source}: fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        levels = {}
        for rule_id, level in _table(table, "rules", source).items():
            _known(rule_id, source, "rules")
            if level not in (*LEVELS, IGNORE):
                raise PolicyError(f"{source}: rules.{rule_id} must be one of {', '.join((*LEVELS, IGNORE))}, "
                                  f"not {level!r}")
            levels[rule_id] = level
        days = {}
        for level, value in _table(table, "deprecation-days", source).items():
            if level not in STABILITY_LEVELS or not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise PolicyError(f"{source}: deprecation-days takes {', '.join(STABILITY_LEVELS)} = days "
                                  f"(a whole number >= 0), not {level} = {value!r}")
            days[level] = value
        return cls(levels, [_exemption(entry, source) for entry in _list(table, "ignore", source)], fail_on, days,
                   source)

    def lifecycle(self, today: date | None = None) -> Lifecycle:
        return Lifecycle(today or date.today(), self.deprecation_days)

    def apply(self, changes: list[Change]) -> list[Finding]:
        """Each change with its level, most severe first; ignored ones keep their reason."""
        findings = []
        for change in changes:
            level = self.levels.get(change.rule, change.level)
            note = f"set to {level} by {self.source}" if change.rule in self.levels else None
            if level == IGNORE:
                findings.append(Finding(change, change.level, f"rule {change.rule} ignored by {self.source}"))
                continue
            if change.unstable and level != INFO and change.rule not in lifecycle.RULES:
                level, note = INFO, "reaches only draft or alpha operations"
            exemption = next((exemption for exemption in self.exemptions if exemption.matches(change)), None)
            findings.append(Finding(change, level, exemption.reason if exemption else None, note))
        return sorted(findings, key=lambda f: (f.ignored is not None, severity(f.level)))

    def failing(self, fail_on: str | None) -> int:
        """The least severe level that fails the run (-1: none does)."""
        return FAIL_ON[fail_on or self.fail_on or "error"]


def fails(finding: Finding, threshold: int) -> bool:
    return finding.ignored is None and severity(finding.level) <= threshold


def _read(path: Path) -> dict | None:
    """The settings in `path`: a pyproject's table (None if it has none), or the whole file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"{path}: cannot read it: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    if path.name != PYPROJECT:
        return document
    for key in TABLE:
        document = document.get(key) if isinstance(document, dict) else None
    return document if isinstance(document, dict) else None


def _table(table: dict, key: str, source: str) -> dict:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{source}: {key} must be a table")
    return value


def _list(table: dict, key: str, source: str) -> list:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PolicyError(f"{source}: {key} must be an array of tables ([[{key}]])")
    return value


def _known(rule_id: object, source: str, where: str) -> None:
    if rule_id not in RULES:
        close = difflib.get_close_matches(str(rule_id), list(RULES), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise PolicyError(f"{source}: {where}: no rule {rule_id!r}{hint}; `flexprice-contract diff --rules` lists them")


def _exemption(entry: dict, source: str) -> Exemption:
    unknown = [key for key in entry if key not in ("at", "reason", "rule")]
    at, reason, rule_id = entry.get("at"), entry.get("reason"), entry.get("rule")
    if unknown or not isinstance(at, str) or not isinstance(reason, str) or not reason.strip():
        raise PolicyError(f"{source}: each [[ignore]] needs `at` (a JSON pointer) and a non-empty `reason`, "
                          f"optionally `rule`; got {entry!r}")
    if rule_id is not None:
        _known(rule_id, source, "ignore")
    return Exemption(at.removeprefix("#"), reason.strip(), rule_id)
