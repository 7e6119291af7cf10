"""flexprice-mock: a stateful fake of the Flexprice API, served straight off its OpenAPI spec.

`MockServer` is imported on first use (module `__getattr__`), so the pure spec model
(`mock_server.spec`, `mock_server.resources`) can be imported, by the contract gate among others,
without loading Connexion or uvicorn.
"""
from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # Connexion's own imports use jsonschema's deprecated RefResolver and Starlette's TestClient
    # over httpx: notices about Connexion, which would otherwise land in every user's pytest output.
    warnings.simplefilter("ignore")
    import connexion  # noqa: F401
    import connexion.json_schema  # noqa: F401

__all__ = ["MockServer"]


def __getattr__(name: str) -> Any:
    if name == "MockServer":
        from .runner import MockServer

        return MockServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
