def test_created_key_response_validates_against_the_seed_spec(seed_client, seed_checker):
    response = seed_client.post("secrets/api/keys", json={"name": "ci", "type": "private_key"})
    assert response.status_code == 201
    seed_checker.check(response)


def test_missing_key_401_is_an_error_response(seed_mock, seed_checker):
    import httpx
    response = httpx.post(seed_mock.url + "/secrets/api/keys", json={"name": "ci", "type": "private_key"})
    assert response.status_code == 401
    seed_checker.check(response)


def test_checker_rejects_a_body_the_spec_forbids(seed_client, seed_checker):
    import httpx
    import pytest
    response = seed_client.post("secrets/api/keys", json={"name": "ci", "type": "private_key"})
    broken = httpx.Response(201, json={"api_key": 5}, request=response.request)
    with pytest.raises(AssertionError):
        seed_checker.check(broken)
