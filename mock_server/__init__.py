"""flexprice-mock: a stateful fake of the Flexprice API, served straight off its OpenAPI spec.

The layers, top down (ARCHITECTURE.md): the command line and the app's assembly here; `devtools`
(admin, fixtures, journal, webhooks); `http` (Connexion, routing, endpoints, handlers, errors);
`domain` (the backend of record rules, billing, the clock); `storage`; `schemas`; `core`
(failures, times); under them all, the shared spec model `flexprice_spec`.

`MockServer` is imported on first use (module `__getattr__`), so a layer (the domain, say) can be
imported without loading Connexion or uvicorn.
"""
from __future__ import annotations

from typing import Any

__all__ = ["MockServer"]


def __getattr__(name: str) -> Any:
    if name == "MockServer":
        from .runner import MockServer

        return MockServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
