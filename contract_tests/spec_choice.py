"""Which spec a run tests, and the line that says so: the one given (a file, or an http(s) URL
downloaded and cached as the mock's `--spec` is, by `flexprice_spec.remote`); else, with a base
URL, the document the target serves (`/openapi.json` or `/openapi.yaml` below it: the mock
serves both); else the project's own.

A target that serves none leaves the gate nothing to test against, so it says `--spec` is needed
rather than testing the project's one-operation seed spec against a full server.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from flexprice_spec import remote
from flexprice_spec.remote import is_url

from .config import default_spec

SERVED_SPECS = ("openapi.json", "openapi.yaml")


class NoSpec(Exception):
    """No spec was given and the target serves none (a usage error: exit 2)."""


@contextmanager
def chosen_spec(given: str | Path | None, base_url: str | None, key: str, timeout: float) -> Iterator[tuple[Path, str]]:
    """(path, label): a served document is read into a temporary file kept for the run."""
    if is_url(given):
        try:
            fetched = remote.fetch(str(given))
        except remote.FetchError as error:
            raise NoSpec(f"{given}: {error}") from None
        yield fetched.path, f"{given} ({fetched.note})" if fetched.note else str(given)
        return
    if given is not None:
        yield Path(given), str(given)
        return
    if not base_url:
        spec = default_spec()
        yield spec, f"{spec} (the project's seed spec; --spec picks another)"
        return
    for name in SERVED_SPECS:
        url = f"{base_url.rstrip('/')}/{name}"
        try:
            answer = httpx.get(url, headers={"x-api-key": key}, timeout=timeout)
            document = yaml.safe_load(answer.text) if answer.status_code == 200 else None
        except (httpx.HTTPError, yaml.YAMLError):
            continue
        if isinstance(document, dict) and isinstance(document.get("paths"), dict):
            with tempfile.TemporaryDirectory(prefix="flexprice-contract-") as folder:
                path = Path(folder) / name
                path.write_text(answer.text, encoding="utf-8")
                yield path, f"the spec the target serves at {url} ({len(document['paths'])} paths)"
            return
    raise NoSpec(f"the target serves no OpenAPI document at {base_url.rstrip('/')}/{SERVED_SPECS[0]} "
                 f"(or {SERVED_SPECS[1]}): --spec PATH is needed (the full Flexprice spec, or the part your server implements)")
