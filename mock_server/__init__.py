"""flexprice-mock: a stateful fake of the Flexprice API, served straight off its OpenAPI spec.

The layers, top down (ARCHITECTURE.md): the command line and the app's assembly here; `devtools`
(admin, fixtures, journal, webhooks); `http` (routing, endpoints, handlers, errors); `domain`
(the backend of record rules, billing, the clock); `storage`; `spec` (schemas); `core`
(failures, times); under them all, the shared spec model `flexprice_spec`.

Connexion is imported here first, with its import-time notices silenced (its own imports use
jsonschema's deprecated RefResolver and Starlette's TestClient over httpx), so they never land in
a user's pytest output. `MockServer` is imported on first use (module `__getattr__`), so a
layer can be imported without loading uvicorn.
"""
from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import connexion  # noqa: F401
    import connexion.json_schema  # noqa: F401

__all__ = ["MockServer"]


def __getattr__(name: str) -> Any:
    if name == "MockServer":
        from .runner import MockServer

        return MockServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
