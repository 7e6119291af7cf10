"""Where a spec's text comes from: a file, a git revision, or a URL; and where a relative `$ref`
found in it points on the same side (the file beside it, at the same revision, or the URL
relative to it).

`git:REV:path` is read with `git show REV:path` (a path from the repository's root, as git reads
it); `--base REV FILE` reads `git show REV:./FILE`, the file as it is written in the working tree
relative to the current directory. URLs are fetched with httpx (30 s, redirects followed).
"""
from __future__ import annotations

import posixpath
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

GIT_PREFIX = "git:"
URL_SCHEMES = ("http", "https")
TIMEOUT = 30.0


class SourceError(ValueError):
    """A spec that cannot be read or parsed; the message is one line naming it."""


class Origin(Protocol):
    label: str
    name: str  # the last segment of its path: how a file beside it refers back to it
    file: str  # the file in the working tree (for annotations), or the URL

    def read(self) -> str:
        """The text, or a `SourceError`."""

    def beside(self, reference: str) -> Origin:
        """The origin a reference relative to this one names."""


def origin(source: str) -> Origin:
    """`git:REV:path`, an http(s) URL, or a file path."""
    if source.startswith(GIT_PREFIX):
        rev, sep, path = source[len(GIT_PREFIX):].partition(":")
        if not sep or not rev or not path:
            raise SourceError(f"{source} must be git:REV:path (e.g. git:main:openapi.json)")
        return GitOrigin(rev, path)
    if urlsplit(source).scheme in URL_SCHEMES:
        return UrlOrigin(source)
    return FileOrigin(source)


def _beside(base: Origin, reference: str, joined: Origin) -> Origin:
    """A URL reference is a URL wherever it is found; anything else is relative to `base`."""
    return UrlOrigin(reference) if urlsplit(reference).scheme in URL_SCHEMES else joined


@dataclass(frozen=True, slots=True)
class FileOrigin:
    path: str

    @property
    def label(self) -> str:
        return self.path

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def file(self) -> str:
        return self.path

    def read(self) -> str:
        try:
            return Path(self.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SourceError(f"cannot read {self.path}: {getattr(error, 'strerror', None) or error}") from None

    def beside(self, reference: str) -> Origin:
        return _beside(self, reference, FileOrigin(posixpath.normpath(posixpath.join(
            posixpath.dirname(Path(self.path).as_posix()), reference))))


@dataclass(frozen=True, slots=True)
class GitOrigin:
    """`path` as git reads it after `REV:`: from the repository root, or from the current
    directory when it starts with `./`."""

    rev: str
    path: str

    @property
    def label(self) -> str:
        return f"{GIT_PREFIX}{self.rev}:{self.path.removeprefix('./')}"

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def file(self) -> str:
        return self.path.removeprefix("./")

    def read(self) -> str:
        spec = f"{self.rev}:{self.path}"
        try:
            done = subprocess.run(["git", "show", spec], capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SourceError(f"cannot run git show {spec}: {error}") from None
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise SourceError(f"git show {spec} failed: {message[0] if message else done.returncode}")
        try:
            return done.stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"{self.label} is not UTF-8 text") from None

    def beside(self, reference: str) -> Origin:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self.path), reference))
        prefix = "./" if self.path.startswith("./") and not joined.startswith("../") else ""
        return _beside(self, reference, GitOrigin(self.rev, prefix + joined))


@dataclass(frozen=True, slots=True)
class UrlOrigin:
    url: str

    @property
    def label(self) -> str:
        return self.url

    @property
    def name(self) -> str:
        return posixpath.basename(urlsplit(self.url).path)

    @property
    def file(self) -> str:
        return self.url

    def read(self) -> str:
        import httpx  # noqa: PLC0415 - only a URL input pays for importing it

        try:
            response = httpx.get(self.url, timeout=TIMEOUT, follow_redirects=True)
        except httpx.HTTPError as error:
            raise SourceError(f"cannot fetch {self.url}: {error}") from None
        if response.status_code != 200:
            raise SourceError(f"cannot fetch {self.url}: HTTP {response.status_code}")
        try:
            return response.content.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(f"{self.url} is not UTF-8 text") from None

    def beside(self, reference: str) -> Origin:
        return UrlOrigin(urljoin(self.url, reference))
