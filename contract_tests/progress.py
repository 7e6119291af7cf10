"""The live progress line of a long run: one per phase, with work done, failures so far and time.

On a terminal the line is rewritten in place; elsewhere (CI logs) a plain line is written at most
every `interval` seconds and when the phase ends, so a log shows the run is alive without flooding.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`start(phase, total)`, then `advance()` per unit of work, then `finish()`."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = interval
        self.began = time.monotonic()
        self.phase, self.unit, self.total, self.done, self.failures = "", "", 0, 0, 0
        self.written = 0.0

    def start(self, phase: str, total: int, unit: str = "operations") -> None:
        self.phase, self.unit, self.total, self.done = phase, unit, total, 0
        self._write(force=True)

    def advance(self, failures: int, steps: int = 1) -> None:
        self.done += steps
        self.failures = failures
        self._write()

    def finish(self, failures: int) -> None:
        self.failures = failures
        self._write(force=True)
        if self.live:
            self.stream.write("\n")
            self.stream.flush()

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not (force or self.live or now - self.written >= self.interval):
            return
        self.written = now
        total = f"/{self.total}" if self.total else ""
        line = (
            f"[{self.phase}] {self.done}{total} {self.unit}, {self.failures} failure(s) so far, "
            f"{now - self.began:.0f}s elapsed"
        )
        self.stream.write(f"\r\x1b[2K{line}" if self.live else f"{line}\n")
        self.stream.flush()
