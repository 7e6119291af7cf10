"""What start-up learns about a spec and keeps between runs, keyed by the spec's hash.

Today that is one fact: Connexion's check of the document against the OpenAPI 3 schema passed.
Connexion runs that check on every document it is given, and on the full spec it is about half
of start-up (0.44 s of 0.85 s to the first answer); the document's SHA-256 (with Connexion's
version, whose schema it checks against) names a marker file in the user's cache folder, and a
document whose marker exists skips the check. A changed spec has another hash, so it is checked
again: a stale entry can only be one that is never looked up. A spec that fails leaves no marker.

The folder is `$FLEXPRICE_MOCK_CACHE_DIR`, else `$XDG_CACHE_HOME/flexprice-mock`, else
`~/.cache/flexprice-mock`; `FLEXPRICE_MOCK_CACHE_DIR=off` turns the cache off, and a folder that
cannot be written only costs the check.

Connexion offers no option to skip the check, so its `_validate_spec` is wrapped once, here; the
wrapper skips only inside `trusted()`, per context, so other threads and Connexion's own later
uses (Swagger UI's copies) check as before.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import version
from pathlib import Path

from connexion.spec import OpenAPISpecification

from flexprice_spec.document import Spec
from flexprice_spec.remote import cache_folder

_skip = ContextVar("flexprice_mock_skip_spec_check", default=False)
_connexion_validate = OpenAPISpecification._validate_spec.__func__


def _validate(cls, spec: dict) -> None:
    if not _skip.get():
        _connexion_validate(cls, spec)


OpenAPISpecification._validate_spec = classmethod(_validate)


def marker(spec: Spec) -> Path | None:
    """The file whose existence says this exact document passed Connexion's check."""
    where = cache_folder()
    if where is None:
        return None
    # hashed now, not `spec.digest` from loading: an overlay may have changed the document since
    document = json.dumps(spec.document, sort_keys=True).encode()
    key = hashlib.sha256(document + f":connexion-{version('connexion')}".encode()).hexdigest()
    return where / f"valid-{key}"


@contextmanager
def trusted(spec: Spec) -> Iterator[None]:
    """Connexion's spec check skipped inside, if this document passed it before; remembered if
    it passes now."""
    path = marker(spec)
    known = path is not None and path.is_file()
    token = _skip.set(known)
    try:
        yield
    finally:
        _skip.reset(token)
    if path is not None and not known:
        _remember(path)


def _remember(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass  # an unwritable cache costs the check next time, nothing else
