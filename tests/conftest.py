"""Shared fixtures: live mocks on ephemeral loopback ports, the full spec, response checking, and
a real redis-server per worker with a database of its own for each test.

The full Flexprice spec is third-party data read from `../shared/flexprice/openapi.json` (or
`FLEXPRICE_FULL_SPEC`); it is never copied into the repo. In CI (`CI=true`) its absence is an
error; elsewhere tests that need it are skipped with the reason.
"""
from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import httpx
import pytest

from flexprice_spec.document import default_spec_path
from mock_server import MockServer

from .broken.billing_defects import CHAIN_PATHS
from .openapi_check import ResponseChecker, WebhookChecker
from .redis_server import RedisServer, require_redis_server

ROOT = Path(__file__).resolve().parent.parent
FULL_SPEC = Path(os.environ.get("FLEXPRICE_FULL_SPEC", ROOT.parent / "shared" / "flexprice" / "openapi.json"))
SEED_SPEC = default_spec_path()
API_KEY = "sk_test_bootstrap_key"
SECRETS_PATHS = ("/secrets/api/keys", "/secrets/api/keys/{id}")
SAMPLES = ROOT / "fixtures"  # the sample fixtures the project ships
ACME_KEY = "sk_fixture_acme_4f1c2b9d7e6a5038"  # Acme's API key in them (00-api-keys.yaml)
REDIS_DATABASES = 16  # redis-server's default `databases`


def full_spec_path() -> Path:
    if not FULL_SPEC.is_file():
        message = f"the full Flexprice spec is missing at {FULL_SPEC} (set FLEXPRICE_FULL_SPEC)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return FULL_SPEC


@pytest.fixture(scope="session")
def full_spec() -> Path:
    return full_spec_path()


def spec_subset(full_spec: Path, paths: tuple[str, ...], folder: Path, name: str) -> Path:
    """The full spec cut down to `paths`, written at run time under `folder`, never committed."""
    document = json.loads(full_spec.read_text())
    document["paths"] = {path: document["paths"][path] for path in paths}
    path = folder / name
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="session")
def chain_spec(full_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The part of the spec the gate's billing chain needs (`tests/broken/billing_defects.py`)."""
    return spec_subset(full_spec, CHAIN_PATHS, tmp_path_factory.mktemp("spec"), "chain.json")


@pytest.fixture(scope="session")
def secrets_spec(full_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three Secrets operations: what the first broken servers break."""
    return spec_subset(full_spec, SECRETS_PATHS, tmp_path_factory.mktemp("spec"), "secrets.json")


def _client(mock: MockServer) -> httpx.Client:
    return httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=10)


# Modules whose tests run on both stores: the API's semantics, billing, the SDKs and concurrency.
ON_BOTH_STORES = frozenset({"test_full_api_semantics", "test_sdk_api_keys", "test_sdk_full_api", "test_concurrency",
                            "test_api_keys", "test_sdk_billing", "test_billing_usage", "test_billing_prices",
                            "test_billing_subscriptions", "test_billing_invoices", "test_billing_wallets_entitlements",
                            "test_billing_payments", "test_billing_discounts_taxes", "test_billing_prepaid_credits",
                            "test_billing_credit_notes", "test_sdk_billing_journey", "test_billing_grants",
                            "test_billing_proration", "test_billing_addons", "test_billing_plan_changes",
                            "test_billing_subscription_reads", "test_sdk_subscription_changes", "test_reliability"})
_namespaces = itertools.count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.module.__name__.rsplit(".", 1)[-1] in ON_BOTH_STORES:
        metafunc.parametrize("store_kind", ["memory", "redis"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store the session's mocks run on: `memory`, or `redis` in the modules of ON_BOTH_STORES."""
    return getattr(request, "param", "memory")


@pytest.fixture(scope="session")
def _store_options(store_kind: str, request: pytest.FixtureRequest) -> dict:
    if store_kind == "memory":
        return {}
    server = request.getfixturevalue("redis_server")
    return {"store": server.url(0), "namespace": f"session-{next(_namespaces)}"}


@pytest.fixture(scope="session")
def _seed_server(_store_options: dict):
    with MockServer(spec=SEED_SPEC, api_key=API_KEY, **_store_options) as mock:
        yield mock


@pytest.fixture(scope="session")
def _full_server(full_spec: Path, _store_options: dict):
    with MockServer(spec=full_spec, api_key=API_KEY, **_store_options) as mock:
        yield mock


@pytest.fixture
def seed_mock(_seed_server: MockServer) -> MockServer:
    """The mock on the seed spec (only `POST /secrets/api/keys`), freshly reset."""
    _seed_server.reset()
    return _seed_server


@pytest.fixture
def full_mock(_full_server: MockServer) -> MockServer:
    """The mock on the full Flexprice spec, freshly reset."""
    _full_server.reset()
    return _full_server


@pytest.fixture
def seed_client(seed_mock: MockServer):
    with _client(seed_mock) as client:
        yield client


@pytest.fixture
def full_client(full_mock: MockServer):
    with _client(full_mock) as client:
        yield client


@pytest.fixture(scope="session")
def seed_checker() -> ResponseChecker:
    return ResponseChecker(json.loads(SEED_SPEC.read_text()))


@pytest.fixture(scope="session")
def full_checker(full_spec: Path) -> ResponseChecker:
    return ResponseChecker(json.loads(full_spec.read_text()))


@pytest.fixture(scope="session")
def webhook_checker(full_spec: Path) -> WebhookChecker:
    """Checks a webhook body against the schema of its `/webhook-events/<name>` page."""
    return WebhookChecker(json.loads(full_spec.read_text()))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """A real redis-server for this session; each pytest-xdist worker is a session, so each
    worker has its own. Skipped when redis-server is missing, failed if Redis is required."""
    with RedisServer(tmp_path_factory.mktemp("redis"), require_redis_server()) as server:
        yield server


@pytest.fixture(scope="session")
def _redis_databases():
    """DBs 1-15 in turn for `redis_url`; DB 0 is left to session-scoped users (a namespace each)."""
    return itertools.cycle(range(1, REDIS_DATABASES))


@pytest.fixture
def redis_url(redis_server: RedisServer, _redis_databases) -> str:
    """`redis://127.0.0.1:PORT/DB` of a database this test has to itself: empty when the test
    starts, emptied when it ends; the server is resumed or restarted first if a test left it
    paused or dead."""
    db = next(_redis_databases)
    redis_server.flush(db)
    yield redis_server.url(db)
    redis_server.flush(db)
