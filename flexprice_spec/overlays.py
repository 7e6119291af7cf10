"""OpenAPI Overlay 1.0 documents, applied in memory to a loaded spec; the spec file is never written.

An overlay is `{overlay: 1.0.x, info: {title, version}, actions: [...]}`. Its actions run in
order, each on the document as the earlier ones left it. An action's `target` is an RFC 9535
JSONPath (evaluated by `jsonpath-rfc9535`, not by code of ours) selecting nodes; `remove: true`
takes every selected node out of the object or array holding it, and `update` is merged into
every selected object (nested objects merge, any other value replaces) or appended to every
selected array. An action that selects nothing changes nothing; `Applied.unmatched` names it, so
a target made stale by a new spec version is reported instead of silently ignored.

Pure data: YAML/JSON (read within `reading`'s bounds) and JSONPath only. The mock (`Spec.load`) and the contract gate both import it.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jsonpath_rfc9535 as jsonpath
import yaml

from .reading import load_json, load_yaml

NO_UPDATE = object()


class OverlayError(ValueError):
    """An overlay that cannot be read or applied; the message names the file and the action."""


@dataclass(slots=True, frozen=True)
class Action:
    target: str
    description: str = ""
    update: object = NO_UPDATE
    remove: bool = False

    @property
    def verb(self) -> str:
        return "remove" if self.remove else "update"


@dataclass(slots=True, frozen=True)
class Applied:
    """What one overlay did to one document: how many nodes each action selected."""

    overlay: Overlay
    selected: tuple[int, ...]

    def unmatched(self) -> list[str]:
        return [f"action {number} ({action.target}) selects nothing"
                for number, (action, count) in enumerate(zip(self.overlay.actions, self.selected, strict=True), 1)
                if count == 0]

    def summary(self) -> str:
        return (f"overlay {self.overlay.source} ({self.overlay.title}): {len(self.selected)} action(s), "
                f"{sum(self.selected)} node(s) changed")


@dataclass(slots=True, frozen=True)
class Overlay:
    source: str
    title: str
    version: str
    actions: tuple[Action, ...]

    @classmethod
    def load(cls, path: str | Path) -> Overlay:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            document = load_json(text) if path.suffix == ".json" else load_yaml(text)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
            raise OverlayError(f"cannot read overlay {path}: {_first_line(error)}") from None
        return cls.from_document(document, str(path))

    @classmethod
    def from_document(cls, document: object, source: str = "<memory>") -> Overlay:
        """Check the fields Overlay 1.0 requires; every target is compiled here, so a bad JSONPath
        is reported when the overlay is read, not half-way through applying it."""
        if not isinstance(document, dict) or not str(document.get("overlay", "")).startswith("1."):
            raise OverlayError(f"{source} is not an Overlay 1.x document (no 'overlay: 1.0.0')")
        info = document.get("info")
        if not isinstance(info, dict) or "title" not in info or "version" not in info:
            raise OverlayError(f"{source}: 'info' needs a 'title' and a 'version'")
        raw_actions = document.get("actions")
        if not isinstance(raw_actions, list) or not raw_actions:
            raise OverlayError(f"{source}: 'actions' must be a non-empty list")
        actions = tuple(_action(raw, number, source) for number, raw in enumerate(raw_actions, 1))
        return cls(source, str(info["title"]), str(info["version"]), actions)

    def apply(self, document: dict) -> Applied:
        """Change `document` in place (callers hand it a freshly loaded copy)."""
        counts = []
        for number, action in enumerate(self.actions, 1):
            nodes = jsonpath.find(action.target, document)
            try:
                if action.remove:
                    _remove(document, [node.location for node in nodes])
                else:
                    for node in nodes:
                        _update(node.value, action.update)
            except OverlayError as error:
                raise OverlayError(f"{self.source}: action {number} ({action.target}): {error}") from None
            counts.append(len(nodes))
        return Applied(self, tuple(counts))


def apply_files(document: dict, paths: Iterable[str | Path]) -> list[Applied]:
    """Apply the overlay files in the order given."""
    return [Overlay.load(path).apply(document) for path in paths]


def _action(raw: object, number: int, source: str) -> Action:
    where = f"{source}: action {number}"
    if not isinstance(raw, dict) or not isinstance(raw.get("target"), str):
        raise OverlayError(f"{where} needs a 'target' JSONPath")
    remove = raw.get("remove", False)
    if remove is not True and "update" not in raw:
        raise OverlayError(f"{where} has neither 'update' nor 'remove: true'")
    try:
        jsonpath.compile(raw["target"])
    except jsonpath.JSONPathError as error:
        raise OverlayError(f"{where}: bad JSONPath {raw['target']!r}: {_first_line(error)}") from None
    return Action(raw["target"], str(raw.get("description", "")), raw.get("update", NO_UPDATE), remove is True)


def _update(target: object, update: object) -> None:
    if isinstance(target, list):
        target.append(copy.deepcopy(update))
    elif isinstance(target, dict) and isinstance(update, dict):
        _merge(target, update)
    else:
        raise OverlayError(f"update needs an object or array target and an object for an object, "
                           f"not {type(update).__name__} into {type(target).__name__}")


def _merge(target: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _remove(document: dict, locations: list[tuple]) -> None:
    """Delete from the deepest and last locations first, so removing array items keeps the
    indices of the others valid."""
    if any(not location for location in locations):
        raise OverlayError("the document root cannot be removed")
    for location in sorted(locations, key=lambda loc: (len(loc), loc[-1] if isinstance(loc[-1], int) else -1),
                           reverse=True):
        parent = document
        for part in location[:-1]:
            parent = parent[part]
        del parent[location[-1]]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
