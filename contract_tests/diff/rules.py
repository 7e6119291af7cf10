"""The rule catalogue: every kind of change `flexprice-contract diff` reports, with its stable id,
its default level and what it means.

Levels, as oasdiff uses them: **error**, the change breaks clients built against the old spec (a
request they send is refused, or a response carries what they do not expect); **warning**, it
may break some of them; **info**, it breaks none. A rule may also break *servers* built to the old
spec (they refuse what the new spec allows, or send what it forbids): the duals of narrowing a
request or widening a response. Each family module declares its rules with `family()`; the
catalogue is the union, in the order the families are imported (`catalog.py` renders it).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

LEVELS = ("error", "warning", "info")  # most severe first
ERROR, WARNING, INFO = LEVELS


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    level: str
    summary: str
    family: str
    servers: bool = False
    oasdiff: tuple[str, ...] = ()  # the oasdiff rule ids this one covers, for readers comparing the two


RULES: dict[str, Rule] = {}
FAMILIES: list[str] = []


def rule(id: str, level: str, summary: str, *oasdiff: str, servers: bool = False) -> tuple:
    """One rule's fields, for `family()`; `oasdiff` names the oasdiff rules it stands for, with
    `{a,b}` for alternatives (`request-{body,property}-max-set` is two rules)."""
    return id, level, summary, servers, tuple(name for pattern in oasdiff for name in expand(pattern))


def expand(pattern: str) -> list[str]:
    """Every name a `{a,b}` pattern stands for, in order."""
    parts = re.split(r"\{([^}]*)\}", pattern)
    choices = [[part] if index % 2 == 0 else part.split(",") for index, part in enumerate(parts)]
    return ["".join(combination) for combination in itertools.product(*choices)]


def family(name: str, rules: Iterable[tuple]) -> dict[str, Rule]:
    """Register a family's rules (ids are unique across families) and return them by id."""
    declared = {}
    for id, level, summary, servers, oasdiff in rules:
        if id in RULES or level not in LEVELS:
            raise ValueError(f"rule {id!r} is declared twice or has no valid level ({level!r})")
        declared[id] = RULES[id] = Rule(id, level, summary, name, servers, tuple(oasdiff))
    FAMILIES.append(name)
    return declared


def severity(level: str) -> int:
    """0 for error, 1 for warning, 2 for info: lower is more severe."""
    return LEVELS.index(level)
