"""Connexion, imported once with its import-time notices silenced.

Connexion's own imports use jsonschema's deprecated RefResolver and Starlette's TestClient over
httpx: notices about Connexion, which would otherwise land in every user's pytest output. Each
module of the server that imports Connexion imports this first; the package itself does not, so
the spec model (`spec`, `resources`, `overlays`) loads without Connexion.
"""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import connexion  # noqa: F401
    import connexion.json_schema  # noqa: F401
