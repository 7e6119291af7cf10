"""The OpenAPI document: loading, `$ref` resolution and the in-memory overlays.

The spec file on disk is never edited. Overlay files (`--overlay`, OpenAPI Overlay 1.0, see
`overlays.py`) are applied to the loaded document in memory; everything the mock reads off the
document goes through `Spec`, so the rest of the code never walks raw JSON pointers itself.
"""
from __future__ import annotations

import copy
import hashlib
import json
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import yaml

from . import remote
from .overlays import Applied, apply_files
from .reading import load_yaml

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ERROR_SCHEMA = "errors.ErrorResponse"


class SpecError(ValueError):
    """A spec the mock cannot serve, in one line: the file, what is wrong and where (line and
    column of a syntax error, the `$ref` that does not resolve and where it is used)."""

    def __init__(self, source: str | Path, message: str) -> None:
        self.source = str(source)
        super().__init__(f"{source}: {message}")


def shipped(package: Path, packaged: str, in_checkout: str) -> Path:
    """A file or folder the wheel carries inside `package` (`packaged`), found at the checkout
    root (`in_checkout`, beside the package) in an editable install."""
    for candidate in (package / packaged, package.parent / in_checkout):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{packaged} is neither packaged nor in the checkout ({in_checkout})")


def default_spec_path() -> Path:
    """The seed spec, shipped with the spec model."""
    return shipped(Path(__file__).resolve().parent, "openapi.json", "openapi.json")


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
        self.note: str | None = None  # how a spec named by URL was had, when not fresh from its server

    @classmethod
    def load(cls, path: str | Path | None = None, overlays: Iterable[str | Path] = ()) -> Spec:
        """Read `path` (the seed spec by default; an http(s) URL is downloaded and cached,
        `remote.py`) and apply the overlay files to it, in order; the result is checked enough
        that everything derived from it can trust its shape (a `SpecError` otherwise)."""
        note = None
        if remote.is_url(path):
            try:
                fetched = remote.fetch(str(path))
            except remote.FetchError as exc:
                raise SpecError(path, str(exc)) from None
            local, source, note = fetched.path, str(path), fetched.note
        else:
            local = Path(path) if path else default_spec_path()
            source = str(local)
        document = _parse(local, source)
        _check_shape(source, document)
        applied = apply_files(document, overlays)
        spec = cls(document, source=source)
        spec.overlays, spec.note = applied, note
        spec.check_references()
        return spec

    def check_references(self) -> None:
        """Every `$ref` in the document points at something, so no later lookup can fail."""
        stack: list[tuple[str, object]] = [("#", self.document)]
        while stack:
            where, node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    try:
                        self.pointer(ref)
                    except (KeyError, IndexError, TypeError, ValueError):
                        raise SpecError(self.source, f"$ref {ref!r} does not resolve (used at {where})") from None
                stack += [(f"{where}/{_escape(str(key))}", value) for key, value in node.items()]
            elif isinstance(node, list):
                stack += [(f"{where}/{index}", value) for index, value in enumerate(node)]

    def check_schema(self) -> None:
        """A `SpecError` naming the first place the document breaks the OpenAPI 3 schema. Too slow
        (~0.5 s on the full spec) for every start-up: the CLIs call it to explain a failure."""
        with warnings.catch_warnings():  # Connexion's import-time deprecation notices are not the user's
            warnings.simplefilter("ignore")
            from connexion.spec import OpenAPISpecification  # noqa: PLC0415 - only on the error path

        try:
            OpenAPISpecification._validate_spec(copy.deepcopy(self.document))
        except jsonschema.exceptions.ValidationError as exc:  # connexion's InvalidSpecification
            where = "/".join(_escape(str(part)) for part in getattr(exc, "absolute_path", ()))
            message = (getattr(exc, "message", None) or str(exc)).splitlines()[0]
            raise SpecError(self.source, f"not a valid OpenAPI document: {message} (at #/{where})") from None

    @contextmanager
    def explaining(self, *passing: type[Exception]) -> Iterator[None]:
        """What fails while deriving the mock from this spec (other than `passing`) becomes the
        `SpecError` naming the first place the spec breaks the OpenAPI schema, if it does; a
        valid spec's failure is the mock's bug and keeps its traceback."""
        try:
            yield
        except (SpecError, *passing):
            raise
        except Exception:
            self.check_schema()
            raise

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
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
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


def _parse(path: Path, source: str) -> dict:
    """JSON or YAML text as a mapping; every way that fails is one `SpecError` naming `source`
    (the file, or the URL it was downloaded from)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(source, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(source, f"cannot read it: {exc.strerror}") from None
    if not text.strip():
        raise SpecError(source, "the file is empty")
    if path.suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(source, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    else:
        try:
            document = load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or type(exc).__name__
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise SpecError(source, f"not valid YAML: {problem}{where}") from None
    if not isinstance(document, dict):
        raise SpecError(source, f"not an OpenAPI document (a {type(document).__name__}, not a mapping)")
    return document


def _check_shape(path: str | Path, document: dict) -> None:
    """An OpenAPI 3 document whose paths are mappings of operations (what `operations()` walks)."""
    version = document.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        found = "no 'openapi' field" if version is None else f"'openapi' is {version!r}"
        raise SpecError(path, f"not an OpenAPI 3 document ({found}; Swagger 2.0 is not supported)")
    if not isinstance(document.get("info"), dict):
        raise SpecError(path, "not an OpenAPI document ('info' is missing or not a mapping)")
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise SpecError(path, "not an OpenAPI document ('paths' is missing or not a mapping)")
    for route, item in paths.items():
        if not isinstance(item, dict):
            raise SpecError(path, f"path {route!r} is not a mapping of operations")
        for method in HTTP_METHODS:
            if method in item and not isinstance(item[method], dict):
                raise SpecError(path, f"{method.upper()} {route} is not an operation object")
    components = document.get("components", {})
    if not isinstance(components, dict) or not isinstance(components.get("schemas", {}), dict):
        raise SpecError(path, "'components' and 'components.schemas' must be mappings")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
