"""What start-up learns about a spec and keeps between runs, keyed by the spec's hash.

Today that is one fact: the document passed Connexion's check against the OpenAPI 3 schema.
Start-up refuses a document that fails it (`check`: one `Error:` line naming the place, as
before any request), but the check is about half of start-up on the full spec (0.44 s of
0.85 s), so the document's SHA-256 (with Connexion's version, whose schema it checks against)
names a marker file in the user's cache folder, and a document whose marker exists (or that
this process checked already) is not checked again, at start-up or when Connexion's app is
built. A changed spec has another hash, so it is checked again: a stale entry can only be one
that is never looked up. A spec that fails leaves no marker.

The folder is `$FLEXPRICE_MOCK_CACHE_DIR`, else `$XDG_CACHE_HOME/flexprice-mock`, else
`~/.cache/flexprice-mock`; `FLEXPRICE_MOCK_CACHE_DIR=off` turns the cache off, and a folder that
cannot be written only costs the check.

Connexion offers no option to skip the check, so its `_validate_spec` is wrapped, here, the first
time it is needed (Connexion is imported only then: a start-up with a known document does not
import it); the wrapper skips only inside `trusted()`, per context, so other threads and
Connexion's own later uses (Swagger UI's copies) check as before.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import version
from pathlib import Path

from flexprice_spec.document import Spec
from flexprice_spec.remote import cache_folder

_skip = ContextVar("flexprice_mock_skip_spec_check", default=False)
_passed: set[str] = set()  # the documents this process has seen pass, by key
_original = None  # Connexion's own `_validate_spec`, once wrapped


def check(spec: Spec) -> None:
    """A `SpecError` naming the first place `spec` breaks the OpenAPI 3 schema, unless this exact
    document passed before."""
    key = _key(spec)
    if _known(key):
        return
    _wrap_connexion()
    spec.check_schema()
    _remember(key)


@contextmanager
def trusted(spec: Spec) -> Iterator[None]:
    """Connexion's spec check skipped inside, if this document passed it before; remembered if
    it passes now."""
    _wrap_connexion()
    key = _key(spec)
    known = _known(key)
    token = _skip.set(known)
    try:
        yield
    finally:
        _skip.reset(token)
    if not known:
        _remember(key)


def _connexion_validate(cls, spec: dict) -> None:
    """Connexion's own check (the tests count its calls here)."""
    _original(cls, spec)


def _validate(cls, spec: dict) -> None:
    if not _skip.get():
        _connexion_validate(cls, spec)


def _wrap_connexion() -> None:
    global _original
    if _original is None:
        with warnings.catch_warnings():  # Connexion's import-time deprecation notices are not the user's
            warnings.simplefilter("ignore")
            from connexion.spec import OpenAPISpecification  # noqa: PLC0415 - only when a check may run
        _original = OpenAPISpecification._validate_spec.__func__
        OpenAPISpecification._validate_spec = classmethod(_validate)


def _key(spec: Spec) -> str:
    # hashed now, not `spec.digest` from loading: an overlay may have changed the document since
    document = json.dumps(spec.document, sort_keys=True).encode()
    return hashlib.sha256(document + f":connexion-{version('connexion')}".encode()).hexdigest()


def _marker(key: str) -> Path | None:
    """The file whose existence says this exact document passed Connexion's check."""
    where = cache_folder()
    return None if where is None else where / f"valid-{key}"


def _known(key: str) -> bool:
    path = _marker(key)
    return key in _passed or (path is not None and path.is_file())


def _remember(key: str) -> None:
    _passed.add(key)
    path = _marker(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass  # an unwritable cache costs the check next time, nothing else
