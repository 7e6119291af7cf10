"""An operation's path, query, header and cookie parameters: read, typed and validated.

Compiled once per operation, so a request costs one dictionary pass and one compiled check per
parameter it carries. The rules are Connexion's, which the mock used to run per request: a query
parameter given twice keeps its last value unless it is an exploded array (`?ids=a&ids=b`); an
array is also split on commas (`?ids=a,b`); a value that is not of the declared type stays a
string, so that the schema check names it; spec defaults fill absent query parameters. Beyond
Connexion: errors name the parameter, integers outside int64 are refused as the real server's Go
`int64` refuses them, and undeclared query parameters are handed on as given (the last value),
except the mock's own `__code`-style ones (`prefer.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl

from connexion.utils import is_nullable
from starlette.types import Scope

from flexprice_spec.document import Spec

from ..schemas.checks import Schemas
from .errors import ApiError, problem_message
from .limits import INT64
from .prefer import QUERY_PREFIX

MOCK_PREFIX = QUERY_PREFIX.decode()


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(text)


CASTS = {"integer": int, "number": float, "boolean": _boolean}


@dataclass(slots=True)
class Parameter:
    name: str
    location: str  # path, query, header, cookie
    required: bool
    schema: dict
    is_array: bool
    cast: object  # the type's cast for the value or, for arrays, for each item; None for strings
    nullable: bool
    default: object = None

    def typed(self, values: list[str]) -> object:
        """What the handler gets for the raw values found in the request."""
        if self.nullable and values[-1] in ("null", "None"):
            return None
        if self.is_array:
            return [_cast(self.cast, item) for item in ",".join(values).split(",")]
        return _cast(self.cast, values[-1])


def _cast(cast, text: str) -> object:
    if cast is None:
        return text
    try:
        return cast(text)
    except ValueError:
        return text  # left as given: the schema check reports it as not of the declared type


class Parameters:
    """One operation's parameters. `read` returns them by name, typed, or raises a 400 naming the
    first one at fault."""

    def __init__(self, spec: Spec, schemas: Schemas, declared: list[dict]) -> None:
        self.schemas = schemas
        self.params = [_compile(spec, p) for p in declared if p.get("in") in ("path", "query", "header", "cookie")]
        self.query = {p.name: p for p in self.params if p.location == "query"}
        self.defaults = {p.name: p.default for p in self.query.values() if p.default is not None}
        self.others = [p for p in self.params if p.location != "query"]

    def read(self, scope: Scope) -> dict:
        found = dict(self.defaults)
        if scope["query_string"]:
            found.update(self.read_query(scope["query_string"]))
        for param in self.others:
            raw = self.raw(param, scope)
            if raw is not None:
                found[param.name] = param.typed(raw)
        for param in self.params:
            self.check(param, found.get(param.name))
        return found

    def read_query(self, query_string: bytes) -> dict:
        values: dict[str, list[str]] = {}
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            values.setdefault(name, []).append(value)
        found = {}
        for name, given in values.items():
            param = self.query.get(name)
            if param is not None:
                found[name] = param.typed(given)
            elif not name.startswith(MOCK_PREFIX):
                found[name] = given[-1]
        return found

    @staticmethod
    def raw(param: Parameter, scope: Scope) -> list[str] | None:
        if param.location == "path":
            value = scope.get("path_params", {}).get(param.name.replace("-", "_"))  # as Connexion routes it
            return None if value is None else [value]
        if param.location == "header":
            wanted = param.name.lower().encode("latin-1")
            found = [v.decode("latin-1") for k, v in scope["headers"] if k == wanted]
            return found or None
        cookies = SimpleCookie()
        for key, value in scope["headers"]:
            if key == b"cookie":
                cookies.load(value.decode("latin-1"))
        morsel = cookies.get(param.name)
        return None if morsel is None else [morsel.value]

    def check(self, param: Parameter, value: object) -> None:
        if value is None:
            if param.required:
                raise _bad(f"missing {param.location} parameter '{param.name}'", param)
            return
        if not self.schemas.is_valid(value, param.schema):
            error = self.schemas.first_error(value, param.schema)
            raise _bad(f"{param.location} parameter '{param.name}': {error.message}", param)
        if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
            raise _bad(f"{param.location} parameter '{param.name}': {value} does not fit in 64 bits", param)


def _bad(message: str, param: Parameter) -> ApiError:
    return ApiError(400, problem_message(message), {"field": param.name})


def _compile(spec: Spec, param: dict) -> Parameter:
    schema = param.get("schema", {})
    node = spec.resolve(schema)
    is_array = node.get("type") == "array"
    typed = spec.resolve(node.get("items")) if is_array else node
    return Parameter(
        name=param["name"],
        location=param["in"],
        required=bool(param.get("required")) or param["in"] == "path",
        schema=schema,
        is_array=is_array,
        cast=CASTS.get(typed.get("type")),
        nullable=bool(is_nullable(node)),
        default=node.get("default") if param["in"] == "query" else None,
    )
