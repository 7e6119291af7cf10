"""One side of a comparison as the rules see it: the root document, the documents its `$ref`s
reach in other files, and JSON pointers into them.

A place is a JSON pointer into the root document (`/components/schemas/Customer`) or, in another
file, that file's name relative to the root's folder, `#`, and the pointer
(`schemas/customer.yaml#/Customer`). `$ref`s are followed across files the same way on both
sides, so a schema moved into another file is compared where it now lives.
"""
from __future__ import annotations

import posixpath
from urllib.parse import urljoin, urlsplit


def mapping(value: object) -> dict:
    """`value` if it is a mapping, else an empty one: a malformed spec is compared, not crashed on."""
    return value if isinstance(value, dict) else {}


def sequence(value: object) -> list:
    return value if isinstance(value, list) else []


def escape(segment: object) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def ptr(*segments: object) -> str:
    """`/paths/~1customers/post` from ("paths", "/customers", "post")."""
    return "".join(f"/{escape(segment)}" for segment in segments)


def join(base: str, reference: str) -> str:
    """The name of the file `reference` points at, read from the file named `base` ("" is the root)."""
    if urlsplit(reference).scheme:
        return reference
    if urlsplit(base).scheme:
        return urljoin(base, reference)
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), reference))


def split(at: str) -> tuple[str, str]:
    """(file, pointer) of a place; the root's file is ""."""
    file, sep, pointer = at.partition("#")
    return (file, pointer) if sep else ("", at)


def place(file: str, pointer: str) -> str:
    return f"{file}#{pointer}" if file else pointer


class Documents:
    """The root document (`root_name` is its own file name, for references back to it) and the
    other files' documents by name."""

    def __init__(self, root: dict, external: dict[str, object] | None = None, root_name: str = "") -> None:
        self.root = root
        self.external = external or {}
        self.root_name = root_name
        self._found: dict[str, object] = {}

    def target(self, at: str, reference: str) -> str:
        """The place a `$ref` found at `at` names."""
        file, _ = split(at)
        uri, _, fragment = reference.partition("#")
        if uri:
            file = join(file, uri)
            if file == self.root_name:
                file = ""
        return place(file, fragment)

    def lookup(self, at: str) -> object:
        """The node at a place (None if there is none); the documents are not changed while
        compared, so each place is looked up once."""
        if at not in self._found:
            self._found[at] = self._walk(at)
        return self._found[at]

    def _walk(self, at: str) -> object:
        file, pointer = split(at)
        node = self.root if not file else self.external.get(file)
        for part in pointer.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def resolve(self, node: object, at: str) -> tuple[dict, str]:
        """Follow `$ref`s to the node they name; return it (a mapping, {} for anything else) with
        its place. A cycle of references stops where it would repeat."""
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            at = self.target(at, node["$ref"])
            if at in seen:
                break
            seen.add(at)
            node = self.lookup(at)
        return (node if isinstance(node, dict) else {}), at
