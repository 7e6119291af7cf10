"""Reading YAML and JSON documents within bounds that hold for any input.

A YAML alias repeats what its anchor holds without repeating the text: about 400 bytes of
anchors, each listing the one before ten times, expand to 10^9 values, and anything that walks
the loaded document (a schema check, `json.dumps`, the fixture loader) walks all of them. So a
document is first read as a stream of parser events, which costs its text and nothing more:
every value is counted once for each place it appears (an alias counts everything its anchor
holds), and the document is refused as soon as that count passes `MAX_VALUES` or its nesting
passes `MAX_DEPTH`. Only then is it loaded. An alias of an anchor still open (a document that
holds itself) is refused too. JSON has no aliases: its nesting is measured on the text (brackets
outside strings) before a recursive parser sees it.

What is refused is a `DocumentTooLarge`, a `yaml.YAMLError` (so every caller that reports bad
YAML reports it, with the limit it passed) and a `ValueError`.
"""
from __future__ import annotations

import json
import re

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    ScalarEvent,
)

MAX_VALUES = 1_000_000  # every scalar, list and mapping, once for each place an alias repeats it
MAX_DEPTH = 64  # lists and mappings inside each other

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class DocumentTooLarge(yaml.YAMLError, ValueError):
    """A document past one of the bounds, whatever its syntax."""


def load_yaml(text: str, loader: type = yaml.SafeLoader, max_values: int = MAX_VALUES,
              max_depth: int = MAX_DEPTH) -> object:
    """The document in `text`, loaded with `loader` once `check_yaml` has let it through."""
    check_yaml(text, loader, max_values, max_depth)
    return yaml.load(text, Loader=loader)  # noqa: S506 - the callers pass SafeLoader or a subclass


def check_yaml(text: str, loader: type = yaml.SafeLoader, max_values: int = MAX_VALUES,
               max_depth: int = MAX_DEPTH) -> None:
    """Refuse `text` if its values, aliases expanded, pass `max_values`, or its nesting `max_depth`.
    Syntax errors are left to the load that follows (the parser raises them here all the same)."""
    sizes: dict[str, int] = {}  # anchor -> the values it holds, itself included
    open_sizes: list[int] = []  # per open list or mapping: the values it holds so far
    open_anchors: list[str | None] = []
    total = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, DocumentStartEvent):
            sizes.clear()
            continue
        if isinstance(event, CollectionStartEvent):
            if len(open_sizes) >= max_depth:
                raise DocumentTooLarge(f"the document nests lists and mappings deeper than {max_depth} levels")
            open_sizes.append(1)
            open_anchors.append(event.anchor)
            added = 1
        elif isinstance(event, CollectionEndEvent):
            size, anchor = open_sizes.pop(), open_anchors.pop()
            if anchor is not None:
                sizes[anchor] = size
            if open_sizes:
                open_sizes[-1] += size
            continue
        elif isinstance(event, ScalarEvent):
            added = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, AliasEvent):
            if event.anchor in open_anchors:
                raise DocumentTooLarge(f"alias *{event.anchor} repeats a list or mapping that holds it: "
                                       "the document would be infinite")
            added = sizes.get(event.anchor, 0)  # an unknown anchor: the load reports it
        else:
            continue
        total += added
        if total > max_values:
            raise DocumentTooLarge(f"the document holds more than {max_values:,} values once its aliases are expanded")
        if open_sizes and not isinstance(event, CollectionStartEvent):
            open_sizes[-1] += added


def load_json(text: str, max_depth: int = MAX_DEPTH) -> object:
    """JSON text, refused before parsing when it nests deeper than `max_depth`."""
    if nesting_depth(text, max_depth) > max_depth:
        raise DocumentTooLarge(f"the document nests lists and mappings deeper than {max_depth} levels")
    return json.loads(text)


def nesting_depth(text: str, max_depth: int = MAX_DEPTH) -> int:
    """How deep `[`/`{` nest outside JSON strings; stops counting once past `max_depth`, so a
    100,000-level document costs one regex pass and never reaches a recursive parser."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > max_depth:
                break
    return deepest
