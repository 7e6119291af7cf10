"""Data fixtures: sample objects loaded through the create path, and the state exported as one.

A fixture document is a YAML or JSON mapping. `api_keys` lists keys either raw (`sk_...` or
`{key: sk_...}`: hashed on load, the raw key is never stored) or hashed (`{sha256: ...}`, as
`GET /_mock/state` exports them). Every other top-level key names a resource by its collection
path without the leading slash (`customers`, `prices/units`) and lists its objects. An object is a
create request of that resource, checked against the served spec's request schema (the record
schema where the spec has no create), and may also carry the record's `id`, `created_at` and
`updated_at`, which are kept, so references between fixtures and replayed states work. Fields the
server sets (`tenant_id`, `status`, ...) are ignored. A resource the served spec lacks is an error:
a typo must not load nothing in silence. `stubs` lists scripted answers (`stubs.py`), set again
after every reset. A recording of a real server's exchanges (`recording.py`) reads as the fixture
document of the records its creates made.

`sample` names the sample set shipped in the package (this repository's `fixtures/`), so it works
from any folder: `--fixtures sample`, `--flexprice-fixtures sample`, `MockServer(fixtures=["sample"])`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from flexprice_spec.document import shipped
from flexprice_spec.reading import MAX_DEPTH, load_yaml, nesting_depth
from flexprice_spec.resources import Resource

from ..core.failures import Failure, Invalid
from ..domain.backend import Backend
from ..http.stubs import StubError, Stubs
from ..storage.store import hash_key
from . import recording

API_KEYS = "api_keys"
STUBS = "stubs"
STALLED = "stalled_renewals"  # in an exported state: what the period job could not bill (not loaded)
KEPT = ("id", "created_at", "updated_at")
SERVER_SET = ("status", "tenant_id", "environment_id", "created_by", "updated_by")
SUFFIXES = (".yaml", ".yml", ".json")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
KEY_FIELDS = {"key", "sha256", "secret_id", "expires_at"}
SAMPLE = "sample"


class FixtureError(Invalid, ValueError):
    """Names the file, the object and the field, in that order, before what is wrong."""

    def __init__(self, source: str, message: str, obj: str | None = None, field: str | None = None) -> None:
        where = ", ".join(part for part in (source, obj, f"field '{field}'" if field else None) if part)
        super().__init__(field, f"{where}: {message}")
        self.source, self.object = source, obj
        self.details = {k: v for k, v in {"object": obj, "field": field}.items() if v} or None


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: `2026-01-01T00:00:00Z` stays the string the schema wants."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str, source: str) -> dict:
    """A fixture document from YAML or JSON text (JSON is YAML), within `reading`'s bounds on
    values (aliases expanded) and nesting; or from a recording of a real server's exchanges
    (`recording.py`: the records its creates made)."""
    if recording.is_recording(text):
        if nesting_depth(text) > MAX_DEPTH:  # JSON Lines: no aliases, so nesting is the one bound
            raise FixtureError(source, f"the recording nests deeper than {MAX_DEPTH} levels")
        try:
            return recording.fixtures(recording.parse(text, source))
        except recording.RecordingError as exc:
            raise FixtureError(source, str(exc).removeprefix(f"{source}: ")) from None
    try:
        document = load_yaml(text, _Loader)
    except yaml.YAMLError as exc:
        raise FixtureError(source, f"not valid YAML or JSON: {exc}".replace("\n", " ")) from None
    if not isinstance(document, dict):
        raise FixtureError(source, "a fixture document must be a mapping of resource names to lists of objects")
    return document


def resolve(path: str | Path) -> Path:
    """`sample` is the packaged sample set (a local folder of that name is `./sample`)."""
    return shipped(Path(__file__).resolve().parents[1], "sample_fixtures", "fixtures") if str(path) == SAMPLE else Path(path)


def read(path: str | Path) -> list[tuple[str, dict]]:
    """The documents of a file, or of a folder's `*.yaml|yml|json` files in name order."""
    path = resolve(path)
    if not path.exists():
        raise FixtureError(str(path), f"no such file or folder (or '{SAMPLE}' for the sample set)")
    files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise FixtureError(str(path), f"no fixture files ({', '.join(SUFFIXES)}) in this folder")
    return [(str(file), parse(file.read_text(encoding="utf-8"), str(file))) for file in files]


@dataclass(slots=True)
class _Object:
    """One fixture object, checked, ready for the create path."""

    source: str
    label: str
    resource: Resource
    fields: dict
    kept: dict


@dataclass(slots=True)
class _Key:
    digest: str
    secret_id: str
    expires_at: datetime | None


class Fixtures:
    """The fixtures a mock started with (reloaded after every reset) and loading of more."""

    def __init__(self, backend: Backend, documents: Iterable[tuple[str, dict]] = (), stubs: Stubs | None = None) -> None:
        self.backend = backend
        self.stubs = stubs
        self.documents = list(documents)
        model = backend.model
        self.resources = {r.collection.lstrip("/"): r for r in model.resources.values()}
        self.create_schemas = {
            op.resource.collection: op.request_schema
            for op in model.operations if op.role == "create" and op.resource is not None and op.request_schema
        }
        backend.lifecycle.on_reset(self._reload)
        backend.lifecycle.on_local_reset(self._restub)

    def _reload(self) -> None:
        """The data, once per reset (in the one process that makes it when several share a store)."""
        self.load(self.documents, stubs=False)

    def _restub(self) -> None:
        """The stubs, in every process: each keeps its own."""
        self.load([(source, {STUBS: document[STUBS]}) for source, document in self.documents if STUBS in document])

    def load(self, documents: Iterable[tuple[str, dict]], stubs: bool = True) -> dict[str, int]:
        """Check every object of every document, then store them, referenced resources first.
        A reference or uniqueness conflict found while storing stops the load at that object.
        `stubs=False` leaves the documents' stubs out."""
        documents = [(source, {name: items for name, items in document.items()
                               if (stubs or name != STUBS) and name != STALLED})
                     for source, document in documents]
        keys: list[_Key] = []
        objects: list[_Object] = []
        scripted: list[tuple[str, str, object]] = []
        for source, document in documents:
            for name, items in document.items():
                if not isinstance(items, list):
                    raise FixtureError(source, f"'{name}' must be a list of objects")
                if name == API_KEYS:
                    keys += [self._key(source, f"{name}[{i}]", item) for i, item in enumerate(items)]
                    continue
                if name == STUBS and self.stubs is not None:
                    scripted += [(source, f"{name}[{i}]", item) for i, item in enumerate(items)]
                    continue
                resource = self._resource(source, name)
                objects += [self._object(source, name, i, resource, item) for i, item in enumerate(items)]
        for key in keys:
            self.backend.keys.add_digest(key.digest, key.secret_id, key.expires_at)
        counts = {API_KEYS: len(keys)} if keys else {}
        for obj in self._ordered(objects):
            self._create(obj)
            name = obj.resource.collection.lstrip("/")
            counts[name] = counts.get(name, 0) + 1
        for source, label, item in scripted:
            try:
                self.stubs.add(item)
            except StubError as exc:
                raise FixtureError(source, str(exc), label, exc.field) from None
        if scripted:
            counts[STUBS] = len(scripted)
        return counts

    def export(self) -> dict:
        """The store in the fixture format: keys as hashes only, records as stored, oldest first,
        without the mock's own tenant and user (a mock loading it has its own); and, when there
        are any, the renewals the period job could not bill, with why (`stalled_renewals`, which
        loading passes over)."""
        keys = [
            {"sha256": digest, **({"secret_id": key.secret_id} if key.secret_id else {}),
             **({"expires_at": key.expires_at.isoformat().replace("+00:00", "Z")} if key.expires_at else {})}
            for digest, key in self.backend.keys.digests()
        ]
        own = {self.backend.tenant.tenant_id, self.backend.tenant.user_id}  # every mock makes its own
        records = {name.lstrip("/"): [r for r in found if r.get("id") not in own and not derived(r)]
                   for name, found in self.backend.store.dump().items() if name.lstrip("/") in self.resources}
        stalled = self.backend.billing.subscriptions.stalled.entries()
        return {API_KEYS: keys, **{name: found for name, found in records.items() if found},
                **({STALLED: stalled} if stalled else {})}

    # -- checks ---------------------------------------------------------------------------------
    def _resource(self, source: str, name: str) -> Resource:
        resource = self.resources.get(name.strip("/"))
        if resource is None:
            raise FixtureError(source, f"the served spec has no resource '{name}'; it has: "
                                       f"{API_KEYS}, {', '.join(sorted(self.resources))}")
        return resource

    def _key(self, source: str, label: str, item: object) -> _Key:
        item = {"key": item} if isinstance(item, str) else item
        if not isinstance(item, dict):
            raise FixtureError(source, "an API key is a raw key or a mapping with key or sha256", label)
        for name in item:
            if name not in KEY_FIELDS:
                raise FixtureError(source, f"unknown field; an API key has {', '.join(sorted(KEY_FIELDS))}", label, name)
        if ("key" in item) == ("sha256" in item):
            raise FixtureError(source, "give exactly one of key (raw) and sha256 (hashed)", label)
        if "key" in item:
            if not isinstance(item["key"], str) or not item["key"]:
                raise FixtureError(source, "must be a non-empty string", label, "key")
            digest = hash_key(item["key"])
        else:
            digest = str(item["sha256"]).lower()
            if not SHA256.match(digest):
                raise FixtureError(source, "must be 64 hex digits (the SHA-256 of the raw key)", label, "sha256")
        return _Key(digest, str(item.get("secret_id") or ""), _timestamp(source, label, item.get("expires_at")))

    def _object(self, source: str, name: str, index: int, resource: Resource, item: object) -> _Object:
        label = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise FixtureError(source, "an object must be a mapping of fields", label)
        if "id" in item:
            label += f" (id {item['id']})"
            if not isinstance(item["id"], str) or not item["id"]:
                raise FixtureError(source, "must be a non-empty string", label, "id")
        kept = {key: item[key] for key in KEPT if key in item}
        for stamp in ("created_at", "updated_at"):
            if stamp in kept:
                _timestamp(source, label, kept[stamp], stamp)
        fields = {key: value for key, value in item.items() if key not in KEPT and key not in SERVER_SET}
        schema = self.create_schemas.get(resource.collection) or resource.record_schema
        spec = self.backend.spec
        known = set(spec.properties(schema)) | set(spec.properties(resource.record_schema))
        for field in fields:
            if known and field not in known:
                names = " nor ".join(filter(None, (spec.schema_name(schema), spec.schema_name(resource.record_schema))))
                raise FixtureError(source, f"unknown field (not in {names or 'the schema'})", label, field)
        if schema is not None:
            problems = sorted(self.backend.schemas.validator(schema).iter_errors(fields), key=lambda e: list(map(str, e.path)))
            if problems:
                raise FixtureError(source, problems[0].message, label, _field_of(problems[0]))
        return _Object(source, label, resource, fields, kept)

    def _ordered(self, objects: list[_Object]) -> list[_Object]:
        """Objects grouped by resource, a resource after those its `*_id` fields point at (file
        order otherwise, and inside a resource)."""
        groups: dict[str, list[_Object]] = {}
        for obj in objects:
            groups.setdefault(obj.resource.collection, []).append(obj)
        model = self.backend.model
        depends = {
            name: [target.collection for obj in group for field in obj.fields if field.endswith("_id")
                   and (target := model.resource_for_key(field)) is not None and target.collection in groups]
            for name, group in groups.items()
        }
        order: dict[str, None] = {}
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order or name in visiting:
                return  # done, or a cycle: file order decides
            visiting.add(name)
            for target in depends[name]:
                visit(target)
            order[name] = None

        for name in groups:
            visit(name)
        return [obj for name in order for obj in groups[name]]

    def _create(self, obj: _Object) -> None:
        """The create path a `POST` takes (billing rules included: a subscription gets its line
        items and opening invoice), under the record's own id; then its timestamps, if given."""
        store, collection = self.backend.store, obj.resource.collection
        wanted = obj.kept.get("id")
        if wanted is not None and store.get(collection, wanted) is not None:
            raise FixtureError(obj.source, f"id {wanted!r} is already taken", obj.label, "id")
        try:
            record = self.backend.create(obj.resource, obj.fields, wanted)
        except Failure as exc:
            details = exc.details or {}
            field = details.get("field") if isinstance(details.get("field"), str) else next(iter(details), None)
            raise FixtureError(obj.source, exc.message, obj.label, field) from None
        stamps = {key: obj.kept[key] for key in ("created_at", "updated_at") if key in obj.kept}
        if stamps:
            store.update(collection, record["id"], stamps)


def derived(record: dict) -> bool:
    """Records the billing services make again when the state is replayed through the create
    path: a subscription's line items from its plan's prices, its opening and renewal invoices
    (the period job re-issues those the clock has passed). Meters come back with their features."""
    if record.get("subscription_id") and record.get("entity_type") == "plan" and record.get("price_id"):
        return True
    return record.get("billing_reason") in ("SUBSCRIPTION_CREATE", "SUBSCRIPTION_CYCLE")


def _field_of(error) -> str | None:
    """`address.city` for a nested problem; the missing name for a `required` one."""
    path = ".".join(map(str, error.path))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((f for f in error.validator_value if f not in error.instance), None)
        return f"{path}.{missing}" if path else missing
    return path or None


def _timestamp(source: str, label: str, value: object, field: str = "expires_at") -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if not isinstance(value, str) or parsed is None or parsed.tzinfo is None:
        raise FixtureError(source, f"must be an RFC 3339 date-time with a time zone, got {value!r}", label, field)
    return parsed
