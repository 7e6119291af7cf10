"""The pytest plugin (entry point `pytest11`): a `flexprice_mock` fixture.

One server per test session, on the spec named by `--flexprice-spec` (default: the seed spec),
with the Overlay 1.0 files of `--flexprice-overlay` applied in memory and the data of
`--flexprice-fixtures`, its store reset to those fixtures before each test so
tests never see each other's data (the request journal is emptied too).
"""
from __future__ import annotations

import pytest

from .runner import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flexprice-mock")
    group.addoption("--flexprice-spec", default=None, help="OpenAPI spec the flexprice_mock fixture serves.")
    group.addoption("--flexprice-fixtures", action="append", default=[], metavar="PATH",
                    help="Data fixtures (file or folder, repeatable) the flexprice_mock fixture starts with.")
    group.addoption("--flexprice-overlay", action="append", default=[], metavar="FILE",
                    help="OpenAPI Overlay 1.0 file (repeatable) applied in memory to the spec the fixture serves.")


@pytest.fixture(scope="session")
def _flexprice_mock_session(request: pytest.FixtureRequest):
    options = request.config.getoption
    with MockServer(spec=options("--flexprice-spec"), fixtures=options("--flexprice-fixtures"),
                    overlays=options("--flexprice-overlay")) as mock:
        yield mock


@pytest.fixture
def flexprice_mock(_flexprice_mock_session: MockServer) -> MockServer:
    """A running mock (`.url` ends with `/v1`, `.api_key`), reset to its initial state."""
    _flexprice_mock_session.reset()
    return _flexprice_mock_session
