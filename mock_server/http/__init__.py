"""The HTTP layer: Connexion's app and routing (`application`, `routing`), the request pipeline of
each operation (`endpoint`), parameters and bodies, `Prefer`, fault rules and scripted stubs, the
error envelope (`errors`), the index at `/v1` (`index`), the proxy to a real server (`proxy`), and handlers that translate a validated request into one backend call
and render its answer. May import `domain`, `storage`, `schemas`, `core`.

Connexion is imported here first, with its import-time notices silenced (its own imports use
jsonschema's deprecated RefResolver and Starlette's TestClient over httpx), so they never land in
a user's pytest output; every module that imports Connexion is in this package.
"""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import connexion  # noqa: F401
    import connexion.json_schema  # noqa: F401
