"""Swagger UI at `{base}/ui/` and the served document at `{base}/openapi.json` and `.yaml`."""
from __future__ import annotations

import json

import yaml

from mock_server.app import create_app


def test_swagger_ui_is_served_under_the_base_path(full_spec):
    response = create_app(full_spec).test_client().get("/v1/ui/")
    assert response.status_code == 200
    assert "swagger-ui" in response.text and "openapi.json" in response.text


def test_the_full_spec_is_served_as_loaded_with_the_mock_as_its_server(full_spec):
    client = create_app(full_spec).test_client()
    original = json.loads(full_spec.read_text())
    served = client.get("/v1/openapi.json")
    assert (served.status_code, served.headers["content-type"]) == (200, "application/json")
    assert served.json() == {**original, "servers": [{"url": "/v1"}]}
    assert yaml.safe_load(client.get("/v1/openapi.yaml").text)["paths"] == original["paths"]


def test_the_document_needs_no_api_key(full_spec):
    assert create_app(full_spec, api_keys=("k",)).test_client().get("/v1/openapi.json").status_code == 200
