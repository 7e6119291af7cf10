"""What changed between two versions of an OpenAPI document: the walk and its findings.

Operations are matched by method and path template (`/customers/{id}` and `/customers/{customer_id}`
are one path; path parameters are matched by position). Within an operation the security, the
parameters, the request body and every response are compared after resolving `$ref`s (in the
same file or another), schema by schema; each family module (`operations`, `security`,
`parameters`, `bodies`, `responses`, `schemas`, `values`, `constraints`, `composition`,
`lifecycle`) owns its rules and their checks. Every finding is one rule of `rules.RULES`.

A change to a shared schema is reported once, at its place in each file, with every operation it
reaches: each pair of referenced schemas is compared once per direction (request or response),
which keeps the full spec against itself well under a second. Changes that reach only operations
at a `draft` or `alpha` stability level are marked `unstable` (the policy lowers them to info).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import operations, schemas, security
from .documents import Documents
from .lifecycle import Lifecycle
from .rules import RULES, severity


@dataclass(slots=True)
class Change:
    """One finding, at its place in each file (None where that file has no such place)."""

    rule: str
    message: str
    old: str | None
    new: str | None
    operations: list[str] = field(default_factory=list)
    unstable: bool = False

    @property
    def level(self) -> str:
        """The rule's default level; `policy.Policy` decides the one reported."""
        return RULES[self.rule].level

    @property
    def servers(self) -> bool:
        return RULES[self.rule].servers

    @property
    def key(self) -> tuple:
        return self.rule, self.old, self.new

    def reaches(self, operation: str) -> Change:
        """Record that the change reaches `operation` (once)."""
        if operation not in self.operations:
            self.operations.append(operation)
        return self


class Comparison:
    """Compare `old` with `new` (documents, or `Documents` with the files their `$ref`s reach);
    `changes` holds the findings, most severe first."""

    def __init__(self, old: dict | Documents, new: dict | Documents, lifecycle: Lifecycle | None = None) -> None:
        self.old = old if isinstance(old, Documents) else Documents(old)
        self.new = new if isinstance(new, Documents) else Documents(new)
        self.lifecycle = lifecycle or Lifecycle()
        self.unstable_operations: set[str] = set()
        self._found: dict[tuple, Change] = {}
        self._memo: dict[tuple, list[Change]] = {}
        operations.compare(self)
        security.compare_schemes(self)
        for change in self._found.values():
            change.unstable = bool(change.operations) and all(op in self.unstable_operations
                                                              for op in change.operations)
        self.changes = sorted(self._found.values(),
                              key=lambda c: (severity(c.level), not c.servers, c.old or c.new or "", c.rule))

    def schema(self, old: object, old_at: str, new: object, new_at: str, ctx: str, name: str,
               skip: frozenset[str] = frozenset()) -> list[Change]:
        """Findings under one pair of schemas; a pair of referenced schemas is compared once per
        `ctx` ("request" or "response"), and a pair already being compared (a recursive schema)
        yields nothing more. `skip` names root keywords a caller compares itself."""
        old, old_at = self.old.resolve(old, old_at)
        new, new_at = self.new.resolve(new, new_at)
        key = (old_at, new_at, ctx, skip)
        if key in self._memo:
            return self._memo[key]
        found: list[Change] = []
        self._memo[key] = found
        found += schemas.compare(self, old, old_at, new, new_at, ctx, name, skip)
        return found

    def change(self, rule: str, message: str, old: str | None, new: str | None) -> Change:
        if rule not in RULES:
            raise KeyError(f"no rule {rule!r}")
        change = Change(rule, message, old, new)
        return self._found.setdefault(change.key, change)

    def report(self, rule: str, message: str, old: str | None, new: str | None, operations: list[str]) -> Change:
        change = self.change(rule, message, old, new)
        for operation in operations:
            change.reaches(operation)
        return change
