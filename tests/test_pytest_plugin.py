"""The `flexprice_mock` fixture as a user's test suite meets it, run through `pytester`."""
from __future__ import annotations

from .conftest import SEED_SPEC

pytest_plugins = ["pytester"]

USER_TESTS = '''
import httpx

def post_key(mock, key=None):
    return httpx.post(mock.url + "/secrets/api/keys", json={"name": "t", "type": "private_key"},
                      headers={"x-api-key": key or mock.api_key})

def test_first_creates_a_key_and_the_journal_shows_it(flexprice_mock):
    assert flexprice_mock.url.endswith("/v1")
    assert post_key(flexprice_mock).status_code == 201
    assert [e["status"] for e in flexprice_mock.requests] == [201]

def test_second_starts_from_a_reset_store_and_journal(flexprice_mock):
    assert flexprice_mock.store.dump().get("/secrets/api/keys") is None
    assert flexprice_mock.requests == []

def test_the_fixture_key_authenticates(flexprice_mock):
    assert post_key(flexprice_mock, "sk_from_the_fixture_file_0001").status_code == 201
'''


def test_the_fixture_serves_one_mock_reset_before_each_test_with_its_fixtures(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    (pytester.path / "keys.yaml").write_text("api_keys:\n  - sk_from_the_fixture_file_0001\n")
    result = pytester.runpytest("-p", "no:randomly", "--flexprice-spec", str(SEED_SPEC),
                                "--flexprice-fixtures", "keys.yaml")
    result.assert_outcomes(passed=3)


def test_without_fixtures_a_fixture_key_is_refused(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-k", "fixture_key")
    result.assert_outcomes(failed=1)
