"""Editing a spec in memory for the `diff` tests: copies that share every untouched node with the
original (the full spec is 900 KB; a deep copy per test would dominate the run), and a small
OpenAPI 3.1 spec for the constructs the full Flexprice spec does not have.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

Edit = tuple[str, Callable[[Any], object]]

REF = "#/components/schemas/"


def unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def at(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.split("/")[1:]:
        part = unescape(part)
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def edited(document: dict, edits: Iterable[Edit]) -> dict:
    """A copy of `document` with each edit's function applied to (a deep copy of) the node at its
    pointer; only the containers on the way there are copied."""
    root = dict(document)
    fresh = {id(root)}
    for pointer, edit in edits:
        node = root
        parts = [unescape(part) for part in pointer.split("/")[1:]]
        for depth, part in enumerate(parts):
            key = int(part) if isinstance(node, list) else part
            child = node[key]
            child = copy.deepcopy(child) if depth == len(parts) - 1 else (
                child if id(child) in fresh else (list(child) if isinstance(child, list) else dict(child)))
            fresh.add(id(child))
            node[key] = child
            node = child
        edit(node)
    return root


def setting(**values: object) -> Callable[[dict], None]:
    """An edit that sets keys (`None` removes one)."""
    def apply(node: dict) -> None:
        for key, value in values.items():
            key = key.replace("__", "-")
            if value is None:
                node.pop(key, None)
            else:
                node[key] = copy.deepcopy(value)
    return apply


def removing(*keys: str) -> Callable[[dict], None]:
    return setting(**{key: None for key in keys})


def small_spec() -> dict:
    """OpenAPI 3.1: one request body (`Req`) and one response body (`Resp`), each with a string,
    a number, an array and an object property; a webhook."""
    def body() -> dict:
        return {"type": "object", "properties": {
            "s": {"type": "string"}, "n": {"type": "number"},
            "a": {"type": "array", "items": {"type": "string"}},
            "o": {"type": "object", "additionalProperties": {"type": "string"}},
        }}

    return {
        "openapi": "3.1.0",
        "info": {"title": "small", "version": "1"},
        "paths": {"/things": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": REF + "Req"}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": REF + "Resp"}}}}},
        }}},
        "webhooks": {"thingCreated": {"post": {"responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": {"Req": body(), "Resp": body(), "Cat": {"type": "object", "title": "Cat"},
                                   "Dog": {"type": "object", "title": "Dog"}}},
    }
