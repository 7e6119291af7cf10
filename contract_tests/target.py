"""The implementation under test when no `--base-url` is given, and the one `parity` holds a
target to: this project's mock.

This is the only module of the gate that imports the mock's server code; everything else talks
HTTP to whatever `--base-url` names.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCAL_API_KEY = "sk_contract_gate_local"


@contextmanager
def started_mock(spec: Path, api_key: str, overlays: Iterable[Path] = ()) -> Iterator[str]:
    """Serve `spec` (with the gate's `--overlay` files) with the mock on a free loopback port;
    yield its base URL (with `/v1`)."""
    from mock_server.runner import MockServer

    with MockServer(spec=spec, api_keys=[api_key], overlays=overlays) as mock:
        # The server's own warnings (uvicorn's "Invalid HTTP request" when Schemathesis probes)
        # would land in the middle of the gate's report; the gate reports what matters itself.
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
        yield mock.url
