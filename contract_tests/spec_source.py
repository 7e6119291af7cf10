"""A spec under comparison: where it came from (a file, or `git:REV:path`), its document, and the
line in its text of any JSON pointer into it.

Lines come from the text as read, before overlays; a node an overlay added or moved is reported at
its nearest ancestor that the file has. For JSON they come from one regex pass over the text, run
only when a line is first asked for (a spec compared with itself never pays for it); for YAML,
from the node tree PyYAML composes anyway.
"""
from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import yaml

from flexprice_spec.document import Spec
from flexprice_spec.overlays import apply_files

GIT_PREFIX = "git:"
# a string (JSON strings hold no raw newline), a structural character, or a newline
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],\n]')


class SourceError(ValueError):
    """A spec that cannot be read or parsed; the message is one line naming it."""


class SpecSource:
    def __init__(self, label: str, text: str, overlays: Iterable[str | Path] = ()) -> None:
        self.label = label
        self._text = text
        self._lines: dict[str, int] | None = None
        self._yaml_nodes: yaml.Node | None = None  # kept until the first line is asked for
        self.document = self._parse(text)
        if not isinstance(self.document, dict) or not isinstance(self.document.get("paths"), dict):
            raise SourceError(f"{label} is not an OpenAPI document (no 'paths')")
        apply_files(self.document, overlays)
        Spec(self.document, label).check_references()  # a `$ref` that does not resolve: one line, exit 2

    @classmethod
    def read(cls, source: str, overlays: Iterable[str | Path] = ()) -> SpecSource:
        """`git:REV:path` is read with `git show REV:path` in the current directory; anything
        else is a file path."""
        if source.startswith(GIT_PREFIX):
            return cls(source, _git_show(source[len(GIT_PREFIX):]), overlays)
        try:
            return cls(source, Path(source).read_text(encoding="utf-8"), overlays)
        except (OSError, UnicodeDecodeError) as error:
            raise SourceError(f"cannot read {source}: {getattr(error, 'strerror', None) or error}") from None

    def line(self, pointer: str | None) -> int | None:
        """The line where `pointer` (or its nearest ancestor in the text) starts."""
        if pointer is None:
            return None
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


def escape(segment: object) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


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


def _git_show(spec: str) -> str:
    rev, sep, path = spec.partition(":")
    if not sep or not rev or not path:
        raise SourceError(f"git:{spec} must be git:REV:path (e.g. git:main:openapi.json)")
    try:
        done = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceError(f"cannot run git show {rev}:{path}: {error}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise SourceError(f"git show {rev}:{path} failed: {message[0] if message else done.returncode}")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"git:{spec} is not UTF-8 text") from None
