"""The pytest plugin (entry point `pytest11`): a `flexprice_mock` fixture.

One server per test session, on the spec named by `--flexprice-spec` (default: the seed spec),
with its store reset before each test so tests never see each other's data.
"""
from __future__ import annotations

import pytest

from .runner import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flexprice-mock")
    group.addoption("--flexprice-spec", default=None, help="OpenAPI spec the flexprice_mock fixture serves.")


@pytest.fixture(scope="session")
def _flexprice_mock_session(request: pytest.FixtureRequest):
    with MockServer(spec=request.config.getoption("--flexprice-spec")) as mock:
        yield mock


@pytest.fixture
def flexprice_mock(_flexprice_mock_session: MockServer) -> MockServer:
    """A running mock (`.url` ends with `/v1`, `.api_key`), reset to its initial state."""
    _flexprice_mock_session.reset()
    return _flexprice_mock_session
