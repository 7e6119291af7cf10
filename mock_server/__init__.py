"""flexprice-mock: a stateful fake of the Flexprice API, served straight off its OpenAPI spec."""
import warnings

with warnings.catch_warnings():
    # Connexion's own imports use jsonschema's deprecated RefResolver and Starlette's TestClient
    # over httpx: notices about Connexion, which would otherwise land in every user's pytest output.
    warnings.simplefilter("ignore")
    import connexion  # noqa: F401
    import connexion.json_schema  # noqa: F401

from .runner import MockServer  # noqa: E402

__all__ = ["MockServer"]
