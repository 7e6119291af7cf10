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


def test_the_fixture_serves_the_spec_with_the_overlays_given(pytester):
    pytester.makepyfile(test_user='''
import httpx

def test_publishable_keys_are_refused(flexprice_mock):
    response = httpx.post(flexprice_mock.url + "/secrets/api/keys", json={"name": "t", "type": "publishable_key"},
                          headers={"x-api-key": flexprice_mock.api_key})
    assert response.status_code == 400
''')
    (pytester.path / "overlay.yaml").write_text(
        "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n"
        "  - target: \"$.components.schemas['types.SecretType'].enum[?@ == 'publishable_key']\"\n    remove: true\n")
    assert pytester.runpytest("-p", "no:randomly").ret == 1  # without the overlay the key is created
    result = pytester.runpytest("-p", "no:randomly", "--flexprice-overlay", "overlay.yaml")
    result.assert_outcomes(passed=1)
