"""A spec named by URL (`--spec https://host/openapi.json`): downloaded once, kept in the user's
cache folder, served from there offline.

The first load downloads the document and keeps it with its `ETag` and `Last-Modified`; later
loads ask the server whether it changed (a conditional GET: 304 costs no body) and take the new
copy if it did. When the server cannot be reached, or answers an error, the cached copy is
served and a note says so; with no cached copy that is one `SpecError`: the URL and why.

The folder is `$FLEXPRICE_MOCK_CACHE_DIR`, else `$XDG_CACHE_HOME/flexprice-mock`, else
`~/.cache/flexprice-mock` (specs under `specs/`, named by the URL's hash); with
`FLEXPRICE_MOCK_CACHE_DIR=off` a URL is downloaded on every load into a temporary folder.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx

OFF = "off"
SCHEMES = ("http://", "https://")
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class FetchError(ValueError):
    """Neither the server nor the cache has the document: why, in one line."""


@dataclass(slots=True, frozen=True)
class Fetched:
    """Where the document is on disk, and a note when it is not fresh from the server."""

    path: Path
    note: str | None


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(SCHEMES)


def cache_folder() -> Path | None:
    """The user's cache folder for the mock, or None when caching is off."""
    configured = os.environ.get("FLEXPRICE_MOCK_CACHE_DIR")
    if configured:
        return None if configured == OFF else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flexprice-mock"


def fetch(url: str) -> Fetched:
    """The document at `url`, downloaded or revalidated, or the cached copy when that fails."""
    folder = cache_folder()
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="flexprice-mock-spec-"))
        atexit.register(shutil.rmtree, folder, True)
    key = hashlib.sha256(url.encode()).hexdigest()[:32]
    suffix = Path(urlsplit(url).path).suffix.lower()
    body = folder / "specs" / f"{key}{suffix if suffix in ('.json', '.yaml', '.yml') else '.json'}"
    meta_path = body.with_suffix(".meta.json")
    meta = _read_meta(meta_path) if body.is_file() else {}
    headers = {name: meta[field] for name, field in (("If-None-Match", "etag"), ("If-Modified-Since", "last_modified"))
               if meta.get(field)}
    try:
        response = httpx.get(url, headers=headers, timeout=TIMEOUT, follow_redirects=True)
    except httpx.HTTPError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _cached(body, meta, f"cannot download it ({problem})")
    except httpx.InvalidURL as exc:
        raise FetchError(f"not a URL the mock can download: {exc}") from None
    if response.status_code == 304 and meta:
        return Fetched(body, None)
    if response.status_code != 200:
        return _cached(body, meta, f"cannot download it (HTTP {response.status_code})")
    try:
        _write(body, response.content)
        _write(meta_path, json.dumps({"url": url, "etag": response.headers.get("etag"),
                                      "last_modified": response.headers.get("last-modified"),
                                      "downloaded_at": datetime.now(timezone.utc).isoformat()}).encode())
    except OSError:  # an unwritable cache: serve this download from a temporary copy
        fallback = Path(tempfile.mkdtemp(prefix="flexprice-mock-spec-")) / body.name
        atexit.register(shutil.rmtree, fallback.parent, True)
        fallback.write_bytes(response.content)
        return Fetched(fallback, f"the cache folder {folder} cannot be written: this download is not kept")
    return Fetched(body, None)


def _cached(body: Path, meta: dict, problem: str) -> Fetched:
    if not meta:
        raise FetchError(f"{problem}, and no copy is cached in {body.parent}")
    return Fetched(body, f"{problem}: serving the copy downloaded at {meta.get('downloaded_at', 'an earlier start')}, "
                         f"cached at {body}")


def _read_meta(path: Path) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a temporary file renamed over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
