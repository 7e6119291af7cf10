"""`--state-file PATH`: the state kept on disk, so a mock that stops (or is killed) comes back
where it was.

At start the file, if there is one, is restored (a state snapshot, `domain/snapshots.py`); then
the state is saved every `interval` seconds when it changed, and once more at shutdown. A save
writes a temporary file beside the target, flushes it to disk and renames it over the target
(`os.replace`, atomic on POSIX and Windows): a process killed mid-save leaves the previous
snapshot whole, and only a stray temporary file, removed at the next start. The file is read
and written by the process that serves (with `--workers`, by the one that supervises them).
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import orjson

from .core.failures import Failure
from .domain.backend import Backend

log = logging.getLogger("mock_server")
DEFAULT_INTERVAL = 5.0  # seconds between saves


class StateFileError(ValueError):
    """A state file that cannot be read, restored or written, in one line naming it."""


class StateFile:
    def __init__(self, path: str | Path, backend: Backend, interval: float = DEFAULT_INTERVAL) -> None:
        self.path = Path(path)
        self.backend = backend
        self.interval = interval
        self._saved: bytes | None = None  # the state last written, without its volatile fields
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def load(self) -> dict[str, int] | None:
        """Restore the file's snapshot, if the file exists (the records restored by resource);
        stray temporary files of an interrupted save are removed first."""
        for stray in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stray.unlink(missing_ok=True)
        if not self.path.exists():
            return None
        try:
            snapshot = orjson.loads(self.path.read_bytes())
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot read it: {exc.strerror}") from None
        except orjson.JSONDecodeError as exc:
            raise StateFileError(f"{self.path}: not a state snapshot (not JSON: {exc})") from None
        try:
            return self.backend.restore(snapshot)
        except Failure as exc:
            raise StateFileError(f"{self.path}: cannot restore it: {exc.message}") from None

    def save(self) -> bool:
        """Write the state if it changed since the last save; whether it wrote."""
        with self._lock:
            snapshot = self.backend.snapshot()
            state = orjson.dumps(_stable(snapshot), option=orjson.OPT_SORT_KEYS)
            if state == self._saved:
                return False
            self._write(orjson.dumps(snapshot, option=orjson.OPT_INDENT_2))
            self._saved = state
            return True

    def _write(self, data: bytes) -> None:
        """The new file whole or not at all: a temporary file, on disk, renamed over the target."""
        folder = self.path.parent
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot write in {folder}: {exc.strerror}") from None
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(folder)

    def start(self) -> None:
        """Save now (a path that cannot be written fails here, at start-up), then every
        `interval` seconds in the background."""
        self.save()
        self._thread = threading.Thread(target=self._run, name="state-file", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except (Failure, OSError, StateFileError) as exc:  # a full disk or a lost Redis: try again later
                log.warning("could not save the state to %s: %s", self.path, getattr(exc, "message", exc))

    def stop(self) -> None:
        """Stop the background saves and save once more: at shutdown."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.save()


def _stable(snapshot: dict) -> dict:
    """The snapshot without what changes while the state does not: when it was taken, and the
    instant a running clock shows (its shift is kept)."""
    clock = {k: v for k, v in snapshot["clock"].items() if k != "now"}
    return {**{k: v for k, v in snapshot.items() if k != "taken_at"}, "clock": clock}


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
