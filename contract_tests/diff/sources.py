"""A spec under comparison: where it came from (`origins.py`), its document, the other files its
`$ref`s reach, and the file and line of any place in them.

Every `$ref` is checked when the spec is read, following references into other files on the same
side (beside the file, at the same git revision, or relative to the URL); one that does not
resolve is a `SourceError` naming it. Lines come from the text as read, before overlays (which
apply to the root document only); a node an overlay added or moved is reported at its nearest
ancestor that the file has. For JSON they come from one regex pass over the text, run only when a
line is first asked for (a spec compared with itself never pays for it); for YAML, from the node
tree PyYAML composes anyway.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from flexprice_spec.overlays import apply_files

from .documents import Documents, escape, split
from .origins import Origin, SourceError, origin

# a string (JSON strings hold no raw newline), a structural character, or a newline
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],\n]')


class Text:
    """One file: its label, its parsed document, and the line where each place starts."""

    def __init__(self, source: Origin, text: str) -> None:
        self.origin = source
        self.label = source.label
        self._text = text
        self._lines: dict[str, int] | None = None
        self._yaml_nodes: yaml.Node | None = None  # kept until the first line is asked for
        self.document = self._parse(text)

    def line(self, pointer: str) -> int:
        """The line where `pointer` (or its nearest ancestor in the text) starts."""
        if self._lines is None:
            self._lines = json_lines(self._text) if self._yaml_nodes is None else yaml_lines(self._yaml_nodes)
            self._yaml_nodes = None
        while pointer not in self._lines:
            pointer = pointer.rsplit("/", 1)[0]
        return self._lines[pointer]

    def _parse(self, text: str) -> object:
        if text.lstrip().startswith(("{", "[")):
            try:
                return json.loads(text)
            except ValueError as error:
                raise SourceError(f"{self.label} is not valid JSON: {error}") from None
        try:
            loader = yaml.SafeLoader(text)
            try:
                node = loader.get_single_node()
                self._yaml_nodes = node
                return loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise SourceError(f"{self.label} is not valid YAML: {getattr(error, 'problem', None) or error}{where}") from None


class SpecSource:
    """The root document (overlays applied) and every file its `$ref`s reach, as `documents`."""

    def __init__(self, source: Origin, overlays: Iterable[str | Path] = ()) -> None:
        self.origin = source
        self.label = source.label
        self.root = Text(source, source.read())
        if not isinstance(self.root.document, dict) or not isinstance(self.root.document.get("paths"), dict):
            raise SourceError(f"{self.label} is not an OpenAPI document (no 'paths')")
        apply_files(self.root.document, overlays)
        self.files: dict[str, Text] = {}
        self.documents = Documents(self.root.document, {}, source.name)
        self._check_references()

    @classmethod
    def read(cls, source: str, overlays: Iterable[str | Path] = ()) -> SpecSource:
        return cls(origin(source), overlays)

    @property
    def document(self) -> dict:
        return self.root.document

    def locate(self, at: str, path: bool = False) -> tuple[str, int]:
        """(file label, or with `path` the file's path for an annotation; line) of a place."""
        file, pointer = split(at)
        text = self.files[file] if file else self.root
        return text.origin.file if path else text.label, text.line(pointer)

    def line(self, at: str | None) -> int | None:
        return None if at is None else self.locate(at)[1]

    def _check_references(self) -> None:
        """Read every file a `$ref` reaches and check that each reference names a node."""
        pending = [("", self.root.document)]
        while pending:
            file, document = pending.pop()
            stack: list[tuple[str, object]] = [("", document)]
            while stack:
                pointer, node = stack.pop()
                if isinstance(node, dict):
                    if isinstance(node.get("$ref"), str):
                        pending += self._check(file, pointer, node["$ref"])
                    stack += [(f"{pointer}/{escape(key)}", value) for key, value in node.items()]
                elif isinstance(node, list):
                    stack += [(f"{pointer}/{index}", value) for index, value in enumerate(node)]

    def _check(self, file: str, pointer: str, reference: str) -> list[tuple[str, object]]:
        """The newly read file (to check in turn) a reference leads to, if any."""
        where = f"{file}#{pointer}" if file else f"#{pointer}"
        target = self.documents.target(f"{file}#{pointer}" if file else pointer, reference)
        name, _ = split(target)
        read = []
        if name and name not in self.files:
            beside = self.origin.beside(name)
            try:
                text = Text(beside, beside.read())
            except SourceError as error:
                raise SourceError(f"{self.label}: $ref {reference!r} (used at {where}): {error}") from None
            self.files[name] = text
            self.documents.external[name] = text.document
            read.append((name, text.document))
        if self.documents.lookup(target) is None:
            raise SourceError(f"{self.label}: $ref {reference!r} does not resolve (used at {where})")
        return read


def json_lines(text: str) -> dict[str, int]:
    """Pointer -> line for every object member and every array item that starts with a string,
    an object or an array (items that are bare numbers or literals get their array's line)."""
    lines = {"": 1}
    path: list[str] = []
    frames: list[list] = []  # [is_object, has_segment_on_path, index]
    line, expect_key, item_pending = 1, False, False
    for match in TOKEN.finditer(text):
        token = match.group()
        if token == "\n":
            line += 1
            continue
        if token[0] == '"' and expect_key:
            path.append(escape(json.loads(token) if "\\" in token else token[1:-1]))
            frames[-1][1] = True
            lines["/" + "/".join(path)] = line
            expect_key = False
            continue
        if item_pending and token in ('{', '[') or item_pending and token[0] == '"':
            lines["/" + "/".join(path)] = line
        item_pending = False
        if token == "{":
            frames.append([True, False, 0])
            expect_key = True
        elif token == "[":
            frames.append([False, True, 0])
            path.append("0")
            item_pending = True
        elif token == ",":
            frame = frames[-1]
            if frame[0]:
                path.pop()
                frame[1] = False
                expect_key = True
            else:
                frame[2] += 1
                path[-1] = str(frame[2])
                item_pending = True
        elif token in ("}", "]"):
            if frames.pop()[1]:
                path.pop()
            expect_key = False
    return lines


def yaml_lines(root: yaml.Node) -> dict[str, int]:
    lines: dict[str, int] = {}
    stack = [("", root)]
    while stack:
        pointer, node = stack.pop()
        lines.setdefault(pointer, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = f"{pointer}/{escape(key.value)}"
                lines.setdefault(child, key.start_mark.line + 1)
                stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((f"{pointer}/{index}", item) for index, item in enumerate(node.value))
    return lines
