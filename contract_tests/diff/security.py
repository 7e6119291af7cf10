"""Security: whether an operation needs credentials, which ones it accepts, with which scopes, and
the security schemes those name.

An operation's requirements are its own `security` or else the document's; they are alternatives
(any one satisfies), each a set of schemes with scopes. An old alternative the new spec no longer
accepts, or one that now needs more scopes, locks out the clients that used it. A scheme whose
type, location or name changed (`x-api-key` sent as `Authorization`) breaks every client using
it; header names are compared without case. oasdiff reports scheme changes as info; here a
changed type, location, name or removed OAuth flow is an error.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flexprice_spec.document import HTTP_METHODS

from .documents import mapping, ptr, sequence
from .rules import ERROR, INFO, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Security", [
    rule("security-added", ERROR, "authentication now required where it was optional or absent",
         "api-security-removed", "api-global-security-removed"),
    rule("security-removed", INFO, "authentication no longer required", "api-security-added",
         "api-global-security-added", servers=True),
    rule("security-requirement-removed", ERROR, "a way of authenticating is no longer accepted",
         "api-security-removed", "api-global-security-removed"),
    rule("security-requirement-added", INFO, "another way of authenticating accepted",
         "api-security-added", "api-global-security-added", servers=True),
    rule("security-scope-added", ERROR, "an operation needs another OAuth scope",
         "api-security-scope-added", "api-global-security-scope-added"),
    rule("security-scope-removed", INFO, "an operation needs one OAuth scope fewer",
         "api-security-scope-removed", "api-global-security-scope-removed", servers=True),
    rule("security-scheme-changed", ERROR, "a security scheme's type, location, name or OAuth flows changed",
         "api-security-component-type-changed"),
    rule("security-scheme-removed", INFO, "a security scheme removed from components",
         "api-security-component-removed"),
    rule("security-scheme-added", INFO, "a security scheme added to components", "api-security-component-added"),
    rule("security-scheme-url-changed", INFO, "an OAuth or OpenID Connect URL changed",
         "api-security-component-oauth-{url,token-url}-changed"),
    rule("security-scheme-scope-added", INFO, "an OAuth scope added to a scheme",
         "api-security-component-oauth-scope-added"),
    rule("security-scheme-scope-removed", INFO, "an OAuth scope removed from a scheme",
         "api-security-component-oauth-scope-removed"),
])
IDENTITY = ("type", "in", "name", "scheme")  # what a client sends, and where
URLS = ("authorizationUrl", "tokenUrl", "refreshUrl")


def compare(cmp: Comparison, label: str, op_old: str, op_new: str, old_op: dict, new_op: dict) -> list[Change]:
    old_alternatives, old_at = _requirements(cmp.old.root, old_op, op_old)
    new_alternatives, new_at = _requirements(cmp.new.root, new_op, op_new)
    was, now = _secured(old_alternatives), _secured(new_alternatives)
    if old_at == new_at == "/security":
        label = "global security"  # one finding for every operation that inherits it
    if was != now:
        rule_id = "security-added" if now else "security-removed"
        return [cmp.change(rule_id, f"{label}: {RULES[rule_id].summary}", old_at, new_at)]
    if not was:
        return []
    found = []
    new_by_schemes = {frozenset(alternative): alternative for alternative in new_alternatives}
    for alternative in old_alternatives:
        names = " + ".join(sorted(alternative))
        match = new_by_schemes.get(frozenset(alternative))
        if match is None:
            found.append(cmp.change("security-requirement-removed", f"{label}: {names} no longer accepted",
                                    old_at, new_at))
            continue
        for scheme, scopes in alternative.items():
            added, removed = _difference(match[scheme], scopes), _difference(scopes, match[scheme])
            if added:
                found.append(cmp.change("security-scope-added", f"{label}: {scheme} now needs scope(s) "
                                        f"{', '.join(added)}", old_at, new_at))
            if removed:
                found.append(cmp.change("security-scope-removed", f"{label}: {scheme} no longer needs scope(s) "
                                        f"{', '.join(removed)}", old_at, new_at))
    old_sets = {frozenset(alternative) for alternative in old_alternatives}
    for alternative in new_alternatives:
        if frozenset(alternative) not in old_sets:
            found.append(cmp.change("security-requirement-added", f"{label}: {' + '.join(sorted(alternative))} "
                                    "now accepted", old_at, new_at))
    return found


def compare_schemes(cmp: Comparison) -> None:
    """The schemes under `components.securitySchemes`, each change listing the operations whose
    old requirements name the scheme."""
    old_schemes = mapping(mapping(cmp.old.root.get("components")).get("securitySchemes"))
    new_schemes = mapping(mapping(cmp.new.root.get("components")).get("securitySchemes"))
    users = _users(cmp.old.root)
    for name in old_schemes:
        old, old_at = cmp.old.resolve(old_schemes[name], ptr("components", "securitySchemes", name))
        if name not in new_schemes:
            cmp.report("security-scheme-removed", f"security scheme {name} removed", old_at,
                       "/components/securitySchemes", users.get(name, []))
            continue
        new, new_at = cmp.new.resolve(new_schemes[name], ptr("components", "securitySchemes", name))
        for rule_id, message, old_place, new_place in _scheme_changes(name, old, old_at, new, new_at):
            cmp.report(rule_id, message, old_place, new_place, users.get(name, []))
    for name in new_schemes:
        if name not in old_schemes:
            cmp.change("security-scheme-added", f"security scheme {name} added", "/components/securitySchemes",
                       ptr("components", "securitySchemes", name))


def _scheme_changes(name: str, old: dict, old_at: str, new: dict, new_at: str) -> list[tuple[str, str, str, str]]:
    found = []
    for key in IDENTITY:
        was, now = old.get(key), new.get(key)
        if key == "scheme" or key == "name" and old.get("in") == "header":
            was, now = str(was).lower() if was else was, str(now).lower() if now else now
        if was != now:
            found.append(("security-scheme-changed", f"security scheme {name}: {key} {was} -> {now}",
                          f"{old_at}/{key}", f"{new_at}/{key}"))
    if old.get("openIdConnectUrl") != new.get("openIdConnectUrl"):
        found.append(("security-scheme-url-changed", f"security scheme {name}: openIdConnectUrl changed",
                      f"{old_at}/openIdConnectUrl", f"{new_at}/openIdConnectUrl"))
    old_flows, new_flows = mapping(old.get("flows")), mapping(new.get("flows"))
    for flow, old_flow in old_flows.items():
        at_old, at_new = f"{old_at}/flows/{flow}", f"{new_at}/flows/{flow}"
        if flow not in new_flows:
            found.append(("security-scheme-changed", f"security scheme {name}: OAuth flow {flow} removed",
                          at_old, f"{new_at}/flows"))
            continue
        old_flow, new_flow = mapping(old_flow), mapping(new_flows[flow])
        for key in URLS:
            if old_flow.get(key) != new_flow.get(key):
                found.append(("security-scheme-url-changed", f"security scheme {name}: {flow} {key} changed",
                              f"{at_old}/{key}", f"{at_new}/{key}"))
        old_scopes, new_scopes = mapping(old_flow.get("scopes")), mapping(new_flow.get("scopes"))
        for scope in _difference(old_scopes, new_scopes):
            found.append(("security-scheme-scope-removed", f"security scheme {name}: scope {scope} removed",
                          f"{at_old}/scopes", f"{at_new}/scopes"))
        for scope in _difference(new_scopes, old_scopes):
            found.append(("security-scheme-scope-added", f"security scheme {name}: scope {scope} added",
                          f"{at_old}/scopes", f"{at_new}/scopes"))
    return found


def _requirements(document: dict, operation: dict, op_at: str) -> tuple[list[dict], str]:
    """The operation's alternatives (scheme -> scopes) and where they are written."""
    if "security" in operation:
        raw, at = operation["security"], f"{op_at}/security"
    elif "security" in document:
        raw, at = document["security"], "/security"
    else:
        raw, at = [], op_at
    return [{scheme: [str(scope) for scope in sequence(scopes)] for scheme, scopes in item.items()}
            for item in sequence(raw) if isinstance(item, dict)], at


def _secured(alternatives: list[dict]) -> bool:
    """Credentials needed: some requirement, and no empty (anonymous) one."""
    return bool(alternatives) and all(alternatives)


def _users(document: dict) -> dict[str, list[str]]:
    """Scheme name -> the operations whose requirements name it."""
    users: dict[str, list[str]] = {}
    for path, item in mapping(document.get("paths")).items():
        for method, operation in mapping(item).items():
            if method not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            for alternative in _requirements(document, operation, "")[0]:
                for scheme in alternative:
                    users.setdefault(scheme, []).append(f"{method.upper()} {path}")
    return users


def _difference(these: object, those: object) -> list[str]:
    return [str(item) for item in these if item not in those]
