"""Deprecation, sunset and stability: the policy for retiring an operation, a parameter or a
property, as oasdiff reads it.

`deprecated: true` marks what is going away; `x-sunset` (a date, or an RFC 3339 date-time) says
when it may be removed; `x-stability-level` (`draft` < `alpha` < `beta` < `stable`, absent means
stable) says what clients were promised. A team sets the minimum days between deprecating and the
sunset per stability level (`Lifecycle.days`, none by default); removing something deprecated is
fine once its sunset has passed, or when it had none. Changes to `draft` and `alpha` operations
promise nothing: the comparison marks them unstable and the policy lowers them to info.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from .rules import ERROR, INFO, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

SUNSET, STABILITY = "x-sunset", "x-stability-level"
STABILITY_LEVELS = ("draft", "alpha", "beta", "stable")
UNSTABLE = ("draft", "alpha")
AREAS = "{api,request-parameter,request-property,response-property}"

RULES = family("Deprecation, sunset and stability", [
    rule("deprecated", INFO, "operation, parameter or property deprecated (with a sunset far enough away)",
         "endpoint-deprecated", "endpoint-deprecated-with-sunset", "request-parameter-deprecated",
         "{request,response}-property-deprecated", "{request,response}-property-deprecated-with-sunset"),
    rule("reactivated", INFO, "deprecation withdrawn",
         "endpoint-reactivated", "{request-parameter,request-property,response-property}-reactivated"),
    rule("deprecated-without-sunset", ERROR, "deprecated without `x-sunset` where the policy asks for days of notice",
         f"{AREAS}-deprecated-sunset-missing"),
    rule("sunset-invalid", ERROR, "`x-sunset` is not a date",
         "api-deprecated-sunset-parse", "api-path-sunset-parse", "request-parameter-sunset-parse",
         "{request,response}-property-deprecated-sunset-invalid"),
    rule("sunset-too-soon", ERROR, "sunset in the past or closer than the policy's days for the stability level",
         "api-sunset-date-too-small", "{request-parameter,request-property,response-property}-sunset-date-too-small"),
    rule("sunset-removed", ERROR, "`x-sunset` removed while still deprecated", "sunset-deleted",
         "request-parameter-sunset-deleted"),
    rule("sunset-moved-earlier", ERROR, "sunset moved to an earlier date",
         "api-sunset-date-changed-too-small", "request-parameter-sunset-date-changed-too-small"),
    rule("removed-before-sunset", ERROR, "deprecated operation, path or parameter removed before its sunset",
         "api-path-removed-before-sunset", "api-removed-before-sunset", "request-parameter-removed-before-sunset"),
    rule("removed-after-deprecation", INFO, "deprecated operation, path or parameter removed after its sunset (or with none)",
         "api-path-removed-with-deprecation", "api-removed-with-deprecation",
         "request-parameter-removed-with-deprecation"),
    rule("stability-decreased", ERROR, "`x-stability-level` lowered (stable -> beta)",
         "{api,request-property,response-property}-stability-decreased"),
    rule("stability-increased", INFO, "`x-stability-level` raised (beta -> stable)",
         "{api,request-property,response-property}-stability-increased"),
    rule("stability-invalid", ERROR, "`x-stability-level` is not draft, alpha, beta or stable",
         "api-invalid-stability-level"),
])


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Today (injectable, so a run can be replayed) and the minimum days of notice per level."""

    today: date = field(default_factory=date.today)
    days: Mapping[str, int] = field(default_factory=dict)

    def notice(self, stability: str) -> int:
        return int(self.days.get(stability, 0))


def stability(node: dict) -> str:
    value = node.get(STABILITY)
    return value if value in STABILITY_LEVELS else "stable"


def unstable(node: dict) -> bool:
    return node.get(STABILITY) in UNSTABLE


def compare(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, what: str) -> list[Change]:
    """Deprecation, sunset and stability changes of one operation, parameter or property."""
    if not any(key in old or key in new for key in ("deprecated", SUNSET, STABILITY)):
        return []
    found = _stability(cmp, old, old_at, new, new_at, what)
    was, now = bool(old.get("deprecated")), bool(new.get("deprecated"))
    at_old, at_new = f"{old_at}/deprecated", f"{new_at}/deprecated"
    if was and not now:
        found.append(cmp.change("reactivated", f"{what}: no longer deprecated", at_old, at_new))
    elif now and not was:
        found.append(_deprecated(cmp, new, old_at, new_at, what))
    elif now and old.get(SUNSET) != new.get(SUNSET):
        found += _sunset_changed(cmp, old, old_at, new, new_at, what)
    return found


def removal(cmp: Comparison, old: dict, old_at: str, new_at: str, rule_id: str, message: str) -> Change:
    """The finding for removing something: `rule_id` unless it was deprecated first."""
    if not old.get("deprecated"):
        return cmp.change(rule_id, message, old_at, new_at)
    if SUNSET not in old:
        return cmp.change("removed-after-deprecation", f"{message} (it was deprecated)", old_at, new_at)
    sunset = sunset_date(old[SUNSET])
    if sunset is None:
        return cmp.change("sunset-invalid", f"{message}: its x-sunset {old[SUNSET]!r} is not a date", old_at, new_at)
    if cmp.lifecycle.today < sunset:
        return cmp.change("removed-before-sunset", f"{message} before its sunset {sunset}", old_at, new_at)
    return cmp.change("removed-after-deprecation", f"{message} after its sunset {sunset}", old_at, new_at)


def sunset_date(value: object) -> date | None:
    """`x-sunset` as a date: `2026-01-31` or an RFC 3339 date-time (YAML may already have made it one)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _stability(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, what: str) -> list[Change]:
    was, now = old.get(STABILITY), new.get(STABILITY)
    if was == now:
        return []
    at_old, at_new = f"{old_at}/{STABILITY}", f"{new_at}/{STABILITY}"
    if now is not None and now not in STABILITY_LEVELS:
        return [cmp.change("stability-invalid", f"{what}: x-stability-level {now!r} is not one of "
                           f"{', '.join(STABILITY_LEVELS)}", at_old, at_new)]
    before, after = STABILITY_LEVELS.index(stability(old)), STABILITY_LEVELS.index(stability(new))
    if before == after:
        return []
    rule_id = "stability-decreased" if after < before else "stability-increased"
    return [cmp.change(rule_id, f"{what}: stability {stability(old)} -> {stability(new)}", at_old, at_new)]


def _deprecated(cmp: Comparison, new: dict, old_at: str, new_at: str, what: str) -> Change:
    notice = cmp.lifecycle.notice(stability(new))
    at_old, at_new = f"{old_at}/deprecated", f"{new_at}/deprecated"
    if SUNSET not in new:
        if notice > 0:
            return cmp.change("deprecated-without-sunset", f"{what}: deprecated without x-sunset "
                              f"({notice} days of notice required)", at_old, at_new)
        return cmp.change("deprecated", f"{what}: deprecated", at_old, at_new)
    sunset = sunset_date(new[SUNSET])
    if sunset is None:
        return cmp.change("sunset-invalid", f"{what}: x-sunset {new[SUNSET]!r} is not a date", at_old,
                          f"{new_at}/{SUNSET}")
    if (sunset - cmp.lifecycle.today).days < notice:
        return cmp.change("sunset-too-soon", f"{what}: sunset {sunset} is less than {notice} days away",
                          at_old, f"{new_at}/{SUNSET}")
    return cmp.change("deprecated", f"{what}: deprecated, sunset {sunset}", at_old, at_new)


def _sunset_changed(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, what: str) -> list[Change]:
    at_old, at_new = f"{old_at}/{SUNSET}", f"{new_at}/{SUNSET}"
    if SUNSET not in new:
        return [cmp.change("sunset-removed", f"{what}: x-sunset removed, still deprecated", at_old, new_at)]
    after = sunset_date(new[SUNSET])
    if after is None:
        return [cmp.change("sunset-invalid", f"{what}: x-sunset {new[SUNSET]!r} is not a date", at_old, at_new)]
    before = sunset_date(old.get(SUNSET))
    if before is not None and after < before:
        return [cmp.change("sunset-moved-earlier", f"{what}: sunset moved from {before} to {after}", at_old, at_new)]
    if before is None and (after - cmp.lifecycle.today).days < cmp.lifecycle.notice(stability(new)):
        return [cmp.change("sunset-too-soon", f"{what}: sunset {after} is too close", at_old, at_new)]
    return []
