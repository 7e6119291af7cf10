"""Request bodies and media types: whether a body is required, which media types a request or a
response carries, and the schema of each one both versions have.

Media types are compared by name without parameters or case (`application/json; charset=utf-8`
is `application/json`); replacing one with another is a removal and an addition. A body whose
content is removed entirely is one `request-body-removed` or `response-body-removed`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .documents import escape, mapping
from .rules import ERROR, INFO, WARNING, family, rule

if TYPE_CHECKING:
    from .comparison import Change, Comparison

RULES = family("Request bodies and media types", [
    rule("request-body-required", ERROR, "request body made required (or a required one added)",
         "request-body-became-required", "request-body-added-required"),
    rule("request-body-made-optional", INFO, "request body made optional", "request-body-became-optional",
         servers=True),
    rule("request-body-added", INFO, "optional request body added", "request-body-added-optional", servers=True),
    rule("request-body-removed", ERROR, "request body removed", "request-body-removed"),
    rule("request-media-type-removed", ERROR, "request media type no longer accepted",
         "request-body-media-type-removed"),
    rule("request-media-type-added", INFO, "request media type added", "request-body-media-type-added",
         servers=True),
    rule("request-media-type-schema-added", ERROR, "schema added to a request media type that had none",
         "request-body-media-type-schema-added"),
    rule("request-media-type-schema-removed", INFO, "schema removed from a request media type",
         "request-body-media-type-schema-removed", servers=True),
    rule("response-media-type-removed", ERROR, "response media type removed or replaced",
         "response-media-type-removed", "response-media-type-name-generalized"),
    rule("response-media-type-added", INFO, "response media type added", "response-media-type-added"),
    rule("response-media-type-schema-removed", WARNING, "schema removed from a response media type",
         "response-body-media-type-schema-removed"),
    rule("response-media-type-schema-added", INFO, "schema added to a response media type that had none",
         "response-body-media-type-schema-added", servers=True),
])


def compare(cmp: Comparison, op_old: str, op_new: str, old_op: dict, new_op: dict) -> list[Change]:
    """The request body of one operation."""
    old_body, old_at = cmp.old.resolve(old_op.get("requestBody"), f"{op_old}/requestBody")
    new_body, new_at = cmp.new.resolve(new_op.get("requestBody"), f"{op_new}/requestBody")
    found = []
    if new_body.get("required") and not old_body.get("required"):
        found.append(cmp.change("request-body-required", "request body made required", old_at, new_at))
    elif old_body.get("required") and not new_body.get("required") and new_body:
        found.append(cmp.change("request-body-made-optional", "request body made optional", old_at, new_at))
    old_content, new_content = media_types(old_body), media_types(new_body)
    if old_content and not new_content:
        found.append(cmp.change("request-body-removed", "request body removed", old_at, new_at))
    elif new_content and not old_content:
        found.append(cmp.change("request-body-added", "request body added", old_at, new_at))
    else:
        found += compare_content(cmp, old_content, old_at, new_content, new_at, "request", "request body")
    return found


def media_types(body: dict) -> dict[str, tuple[str, dict]]:
    """Normalized media type -> (the name as written, its media type object)."""
    content = body.get("content")
    if not isinstance(content, dict):
        return {}
    return {str(name).split(";")[0].strip().lower(): (str(name), mapping(media))
            for name, media in content.items()}


def compare_content(cmp: Comparison, old: dict, old_at: str, new: dict, new_at: str, ctx: str,
                    what: str) -> list[Change]:
    """Media types of a body both versions have: removed, added, and each common one's schema."""
    found = []
    for media_type, (old_name, old_media) in old.items():
        at_old = f"{old_at}/content/{escape(old_name)}"
        if media_type not in new:
            found.append(cmp.change(f"{ctx}-media-type-removed", f"{what}: {old_name} removed", at_old,
                                    f"{new_at}/content"))
            continue
        new_name, new_media = new[media_type]
        at_new = f"{new_at}/content/{escape(new_name)}"
        if "schema" in old_media and "schema" in new_media:
            found += cmp.schema(old_media["schema"], f"{at_old}/schema", new_media["schema"], f"{at_new}/schema",
                                ctx, what)
        elif "schema" in old_media or "schema" in new_media:
            change = "added" if "schema" in new_media else "removed"
            found.append(cmp.change(f"{ctx}-media-type-schema-{change}", f"{what}: {old_name} schema {change}",
                                    at_old, at_new))
    for media_type, (new_name, _) in new.items():
        if media_type not in old:
            found.append(cmp.change(f"{ctx}-media-type-added", f"{what}: {new_name} added", f"{old_at}/content",
                                    f"{new_at}/content/{escape(new_name)}"))
    return found
