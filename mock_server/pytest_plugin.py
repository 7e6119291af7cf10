"""The pytest plugin (entry point `pytest11`): the `flexprice_mock` and `flexprice_webhooks` fixtures.

One server per test session, on the spec named by `--flexprice-spec` (default: the seed spec),
with the Overlay 1.0 files of `--flexprice-overlay` applied in memory and the data of
`--flexprice-fixtures` (`sample` for the sample set shipped with the package), its store reset to
those fixtures before each test so tests never see each other's data (the request journal and
the webhooks are emptied too). A path that does not exist is a usage error before any test runs; a spec, overlay
or fixture the mock refuses stops the session with that one line, not an error per test.
`flexprice_webhooks` adds a signature-verifying receiver for the events of one test.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from flexprice_spec.document import SpecError
from flexprice_spec.overlays import OverlayError

from .devtools.fixtures import FixtureError, resolve
from .devtools.webhook_receiver import WebhookReceiver, new_secret
from .runner import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flexprice-mock")
    group.addoption("--flexprice-spec", default=None, help="OpenAPI spec the flexprice_mock fixture serves.")
    group.addoption("--flexprice-fixtures", action="append", default=[], metavar="PATH",
                    help="Data fixtures (file or folder, repeatable; 'sample' for the sample set shipped with "
                         "flexprice-mock) the flexprice_mock fixture starts with.")
    group.addoption("--flexprice-overlay", action="append", default=[], metavar="FILE",
                    help="OpenAPI Overlay 1.0 file (repeatable) applied in memory to the spec the fixture serves.")


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("--flexprice-spec")
    if spec is not None and not Path(spec).is_file():
        raise pytest.UsageError(f"--flexprice-spec {spec}: no such file")
    for path in config.getoption("--flexprice-fixtures"):
        if not resolve(path).exists():
            raise pytest.UsageError(f"--flexprice-fixtures {path}: no such file or folder "
                                    "('sample' names the sample set shipped with flexprice-mock)")


@pytest.fixture(scope="session")
def _flexprice_mock_session(request: pytest.FixtureRequest):
    options = request.config.getoption
    try:
        mock = MockServer(spec=options("--flexprice-spec"), fixtures=options("--flexprice-fixtures"),
                          overlays=options("--flexprice-overlay"))
    except (SpecError, FixtureError, OverlayError) as exc:
        pytest.exit(f"flexprice_mock: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    with mock:
        yield mock


@pytest.fixture
def flexprice_mock(_flexprice_mock_session: MockServer) -> MockServer:
    """A running mock (`.url` ends with `/v1`, `.api_key`), reset to its initial state."""
    _flexprice_mock_session.reset()
    return _flexprice_mock_session


@pytest.fixture
def flexprice_webhooks(flexprice_mock: MockServer):
    """A receiver on a loopback port that every event of this test is delivered to, signed with
    a fresh secret and verified with `svix` (`.wait_for(n)`, `.received`, `.event_types`)."""
    receiver = WebhookReceiver(new_secret()).start()
    flexprice_mock.add_webhook(receiver.url, receiver.secret)
    yield receiver
    receiver.stop()
