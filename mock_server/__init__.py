"""flexprice-mock: a stateful fake of the Flexprice API, served straight off its OpenAPI spec.

`MockServer` is imported on first use (module `__getattr__`), so the pure spec model
(`mock_server.spec`, `mock_server.resources`) can be imported, by the contract gate among others,
without loading Connexion or uvicorn.
"""
from __future__ import annotations

from typing import Any

__all__ = ["MockServer"]


def __getattr__(name: str) -> Any:
    if name == "MockServer":
        from .runner import MockServer

        return MockServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
