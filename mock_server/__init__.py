"""flexprice-mock: a stateful fake of the Flexprice API, served straight off its OpenAPI spec."""
import warnings

# Connexion imports Starlette's TestClient at import time; its httpx deprecation notice is noise here.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from .runner import MockServer  # noqa: E402

__all__ = ["MockServer"]
