"""The official Python SDK (`flexprice`, generated from the spec) against the mock."""
from __future__ import annotations

import pytest
from flexprice import Flexprice
from flexprice.models import errors


def sdk(mock, key: str | None = None) -> Flexprice:
    return Flexprice(api_key_auth=key or mock.api_key, server_url=mock.url)


def test_sdk_creates_a_key_that_then_authenticates(seed_mock):
    created = sdk(seed_mock).secrets.create_api_key(name="sdk", type_="private_key")
    assert created.api_key.startswith("sk_")
    assert created.secret.status == "published"
    again = sdk(seed_mock, created.api_key).secrets.create_api_key(name="sdk2", type_="publishable_key")
    assert again.api_key.startswith("pk_")


def test_sdk_sees_401_for_an_unknown_key(seed_mock):
    with pytest.raises(errors.FlexpriceError) as caught:
        sdk(seed_mock, "sk_nope").secrets.create_api_key(name="sdk", type_="private_key")
    assert caught.value.status_code == 401


def test_sdk_creates_lists_and_deletes_a_key_and_the_deleted_key_is_rejected(full_mock):
    client = sdk(full_mock)
    created = client.secrets.create_api_key(name="rotate-me", type_="private_key")
    listed = client.secrets.list_api_keys(limit=10)
    assert [item.id for item in listed.items] == [created.secret.id]
    assert listed.pagination.total == 1
    client.secrets.delete_api_key(id=created.secret.id)
    assert client.secrets.list_api_keys().pagination.total == 0
    with pytest.raises(errors.FlexpriceError) as caught:
        sdk(full_mock, created.api_key).secrets.list_api_keys()
    assert caught.value.status_code == 401


def test_sdk_gets_the_error_response_for_an_unknown_key_id(full_mock):
    with pytest.raises(errors.FlexpriceError) as caught:
        sdk(full_mock).secrets.delete_api_key(id="secret_missing")
    assert caught.value.status_code == 404
