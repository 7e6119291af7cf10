"""The served OpenAPI document: loading, `$ref` resolution and the in-memory overlays.

The spec file on disk is never edited. Overlay files (`--overlay`, OpenAPI Overlay 1.0, see
`overlays.py`) are applied to the loaded document in memory; everything the mock reads off the
document goes through `Spec`, so the rest of the code never walks raw JSON pointers itself.
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from .overlays import Applied, apply_files

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ERROR_SCHEMA = "errors.ErrorResponse"


def default_spec_path() -> Path:
    """The seed spec: packaged inside the wheel, or at the checkout root in an editable install."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "openapi.json", here.parent / "openapi.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the default openapi.json is neither packaged nor in the checkout")


@dataclass(slots=True, frozen=True)
class RawOperation:
    """One (method, path) pair of the document, with its operation object."""

    method: str
    path: str
    operation: dict
    path_item: dict


class Spec:
    """A loaded OpenAPI 3.0 document plus helpers that resolve references lazily."""

    def __init__(self, document: dict, source: str = "<memory>") -> None:
        self.document = document
        self.source = source
        self.schemas: dict = document.get("components", {}).get("schemas", {})
        self.digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
        self.overlays: list[Applied] = []

    @classmethod
    def load(cls, path: str | Path | None = None, overlays: Iterable[str | Path] = ()) -> Spec:
        """Read `path` (the seed spec by default) and apply the overlay files to it, in order."""
        path = Path(path) if path else default_spec_path()
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(document, dict) or "paths" not in document:
            raise ValueError(f"{path} is not an OpenAPI document (no 'paths')")
        applied = apply_files(document, overlays)
        spec = cls(document, source=str(path))
        spec.overlays = applied
        return spec

    @property
    def base_path(self) -> str:
        """The path of the first server URL (`/v1` for Flexprice), where the API is mounted."""
        servers = self.document.get("servers") or [{"url": "/"}]
        return urlparse(servers[0].get("url", "/")).path.rstrip("/")

    @property
    def has_error_schema(self) -> bool:
        return ERROR_SCHEMA in self.schemas

    def operations(self) -> Iterator[RawOperation]:
        for path, item in self.document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    yield RawOperation(method, path, item[method], item)

    def resolve(self, node: dict | None) -> dict:
        """Follow `$ref` chains at the top of `node` (not inside it)."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise ValueError(f"circular $ref {ref}")
            seen.add(ref)
            node = self.pointer(ref)
        return node or {}

    def pointer(self, ref: str) -> dict:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        node = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def schema_name(self, node: dict | None) -> str | None:
        """`CustomerResponse` for `{"$ref": "#/components/schemas/CustomerResponse"}`."""
        if isinstance(node, dict) and node.get("$ref", "").startswith("#/components/schemas/"):
            return node["$ref"].rsplit("/", 1)[1]
        return None

    def properties(self, node: dict | None) -> dict:
        """Properties of an object schema, following `$ref` and flattening `allOf`."""
        node = self.resolve(node)
        props = dict(node.get("properties", {}))
        for part in node.get("allOf", []):
            props.update(self.properties(part))
        return props

    def parameters(self, raw: RawOperation) -> list[dict]:
        """Path-level and operation-level parameters, resolved, operation ones winning."""
        merged: dict[tuple[str, str], dict] = {}
        for param in raw.path_item.get("parameters", []) + raw.operation.get("parameters", []):
            param = self.resolve(param)
            merged[(param.get("in"), param.get("name"))] = param
        return list(merged.values())

    def request_schema(self, raw: RawOperation) -> dict | None:
        body = self.resolve(raw.operation.get("requestBody"))
        media = body.get("content", {}).get("application/json")
        return media.get("schema") if media else None

    def success_response(self, raw: RawOperation) -> tuple[int, dict | None]:
        """The first documented 2xx status and its JSON schema (None when it has no body)."""
        responses = raw.operation.get("responses", {})
        codes = sorted(code for code in responses if str(code).startswith("2"))
        if not codes:
            return 200, None
        response = self.resolve(responses[codes[0]])
        media = response.get("content", {}).get("application/json")
        return int(codes[0]), (media.get("schema") if media else None)

    def error_schemas(self, raw: RawOperation) -> dict[int, dict]:
        """Documented 4xx JSON schemas that are not the spec's error envelope (`/rbac/roles/{id}`
        answers its 404 as a map of strings)."""
        found = {}
        for code, response in raw.operation.get("responses", {}).items():
            media = self.resolve(response).get("content", {}).get("application/json")
            schema = media.get("schema") if media else None
            if str(code).startswith("4") and schema and self.schema_name(schema) != ERROR_SCHEMA:
                found[int(code)] = schema
        return found

    def copy_document(self) -> dict:
        """A deep copy to hand to Connexion, which mutates what it is given."""
        return copy.deepcopy(self.document)
