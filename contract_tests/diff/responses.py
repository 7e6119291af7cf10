"""Responses: status codes, headers and bodies of an operation's responses.

A success (2xx) status removed breaks clients that expect it; one added, or any other status
added or removed, is info. Each status both versions document is compared for its headers
(names without case; a header's schema as a response) and its content (`bodies.compare_content`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .bodies import compare_content, media_types
from .documents import escape, mapping
from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Responses", [
    rule("success-status-changed", ERROR, "a success (2xx) status no longer returned", "response-success-status-removed",
         servers=True),
    rule("success-status-added", INFO, "a success (2xx) status added", "response-success-status-added",
         servers=True),
    rule("response-status-removed", INFO, "a non-success status no longer documented",
         "response-non-success-status-removed"),
    rule("response-status-added", INFO, "a non-success status documented", "response-non-success-status-added"),
    rule("response-body-removed", ERROR, "response body removed"),
    rule("response-body-added", INFO, "response body added", servers=True),
    rule("response-header-removed", ERROR, "required response header removed", "required-response-header-removed"),
    rule("response-optional-header-removed", WARNING, "optional response header removed",
         "optional-response-header-removed"),
    rule("response-header-made-optional", ERROR, "response header made optional", "response-header-became-optional"),
    rule("response-header-made-required", INFO, "response header made required", servers=True),
    rule("response-header-added", INFO, "response header added", "response-header-added"),
])


def compare(cmp: Comparison, op_old: str, op_new: str, old_op: dict, new_op: dict) -> list[Change]:
    old_responses, new_responses = _statuses(old_op), _statuses(new_op)
    found = _compare_statuses(cmp, op_old, op_new, old_responses, new_responses)
    for code in old_responses:
        if code not in new_responses:
            continue
        old_response, old_at = cmp.old.resolve(old_responses[code], f"{op_old}/responses/{escape(code)}")
        new_response, new_at = cmp.new.resolve(new_responses[code], f"{op_new}/responses/{escape(code)}")
        found += _compare_headers(cmp, code, old_response, old_at, new_response, new_at)
        old_content, new_content = media_types(old_response), media_types(new_response)
        if old_content and not new_content:
            found.append(cmp.change("response-body-removed", f"{code} response body removed", old_at, new_at))
        elif new_content and not old_content:
            found.append(cmp.change("response-body-added", f"{code} response body added", old_at, new_at))
        else:
            found += compare_content(cmp, old_content, old_at, new_content, new_at, "response", f"{code} response")
    return found


def _compare_statuses(cmp: Comparison, op_old: str, op_new: str, old: dict, new: dict) -> list[Change]:
    old_at, new_at = f"{op_old}/responses", f"{op_new}/responses"
    old_success = sorted(str(code) for code in old if str(code).startswith("2"))
    new_success = sorted(str(code) for code in new if str(code).startswith("2"))
    found = []
    if set(old_success) - set(new_success):
        was, now = ", ".join(old_success), ", ".join(new_success) or "none"
        found.append(cmp.change("success-status-changed", f"success status {was} -> {now}", old_at, new_at))
    elif set(new_success) - set(old_success):
        added = ", ".join(sorted(set(new_success) - set(old_success)))
        found.append(cmp.change("success-status-added", f"success status {added} added", old_at, new_at))
    for code in old:
        if code not in new and not str(code).startswith("2"):
            found.append(cmp.change("response-status-removed", f"{code} response removed",
                                    f"{old_at}/{escape(code)}", new_at))
    for code in new:
        if code not in old and not str(code).startswith("2"):
            found.append(cmp.change("response-status-added", f"{code} response added", old_at,
                                    f"{new_at}/{escape(code)}"))
    return found


def _compare_headers(cmp: Comparison, code: str, old: dict, old_at: str, new: dict, new_at: str) -> list[Change]:
    old_headers, new_headers = _headers(old), _headers(new)
    found = []
    for key, (name, raw) in old_headers.items():
        header, at_old = cmp.old.resolve(raw, f"{old_at}/headers/{escape(name)}")
        what = f"{code} response header `{name}`"
        if key not in new_headers:
            rule_id = "response-header-removed" if header.get("required") else "response-optional-header-removed"
            found.append(cmp.change(rule_id, f"{what} removed", at_old, f"{new_at}/headers"))
            continue
        new_name, new_raw = new_headers[key]
        new_header, at_new = cmp.new.resolve(new_raw, f"{new_at}/headers/{escape(new_name)}")
        if bool(header.get("required")) != bool(new_header.get("required")):
            now = "required" if new_header.get("required") else "optional"
            found.append(cmp.change(f"response-header-made-{now}", f"{what} made {now}", at_old, at_new))
        found += cmp.schema(header.get("schema"), f"{at_old}/schema", new_header.get("schema"), f"{at_new}/schema",
                            "response", what)
    for key, (name, _) in new_headers.items():
        if key not in old_headers:
            found.append(cmp.change("response-header-added", f"{code} response header `{name}` added",
                                    f"{old_at}/headers", f"{new_at}/headers/{escape(name)}"))
    return found


def _statuses(operation: dict) -> dict[str, object]:
    """Status -> response, statuses as text (YAML reads an unquoted `200:` as a number)."""
    return {str(code): response for code, response in mapping(operation.get("responses")).items()}


def _headers(response: dict) -> dict[str, tuple[str, object]]:
    """Lower-cased name -> (the name as written, the header or its `$ref`); `Content-Type` is
    left out, as OpenAPI says."""
    headers = response.get("headers")
    if not isinstance(headers, dict):
        return {}
    return {str(name).lower(): (str(name), header) for name, header in headers.items()
            if str(name).lower() != "content-type"}
