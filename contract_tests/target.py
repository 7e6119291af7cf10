"""The implementation under test when no `--base-url` is given, and the one `parity` holds a
target to: this project's mock.

It runs in a process of its own (`python -m mock_server`), as any other target would: the gate
and the server then use a core each instead of taking turns under one interpreter lock (in the
gate's process, the mock's serving was about 40% of a full-API run's CPU, py-spy). Nothing of the
mock is imported here; everything else in the gate talks HTTP to whatever `--base-url` names.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCAL_API_KEY = "sk_contract_gate_local"
START_TIMEOUT = 120.0  # seconds for the mock to print its address (a loaded machine, a cold spec cache)
STOP_TIMEOUT = 10.0


class MockDidNotStart(RuntimeError):
    """The mock exited, or printed no address in time; the message has what it said."""


@contextmanager
def started_mock(spec: Path, api_key: str, overlays: Iterable[Path] = ()) -> Iterator[str]:
    """Serve `spec` (with the gate's `--overlay` files) with the mock on a free loopback port;
    yield its base URL (with `/v1`). Its own log (uvicorn's notices when Schemathesis sends
    malformed requests, what each overlay did) is kept out of the gate's report."""
    command = [sys.executable, "-m", "mock_server", "--spec", str(spec), "--host", "127.0.0.1", "--port", "0",
               "--api-key", api_key, "--log-level", "error",
               *[part for overlay in overlays for part in ("--overlay", str(overlay))]]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        try:
            yield _address(process, log)
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def _address(process: subprocess.Popen, log) -> str:
    """The first line the mock prints: its base URL, once it serves."""
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline().decode().strip()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not found or not found[0]:
        process.kill()
        process.wait()
        log.seek(0)
        said = log.read().decode(errors="replace").strip()
        raise MockDidNotStart(f"the mock did not start (exit {process.returncode}): {said[-2000:] or 'it said nothing'}")
    return found[0]
