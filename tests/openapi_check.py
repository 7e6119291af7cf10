"""Response validation with openapi-core, a validator independent of Connexion's.

`ResponseChecker.check(response)` validates an httpx response against the spec it was served
from. Statuses the spec does not document for the operation (401 on every secured operation,
404 for unknown ids where the spec lists none) must still carry a valid `errors.ErrorResponse`.
`WebhookChecker.check(body)` validates a webhook body against the schema its
`POST /webhook-events/<name>` page documents, independent of the mock's own schema code.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from jsonschema_path import SchemaPath
from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import MissingData
from openapi_schema_validator import OAS30Validator


class ResponseChecker:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.openapi = OpenAPI(SchemaPath.from_dict(document))
        server = urlsplit(document["servers"][0]["url"])
        self.host_url = f"{server.scheme}://{server.netloc}"
        self.base_path = server.path.rstrip("/")
        schemas = document["components"]["schemas"]
        self.error_validator = OAS30Validator(
            {"$ref": "#/components/schemas/errors.ErrorResponse", "components": document["components"]}
        ) if "errors.ErrorResponse" in schemas else None

    def check(self, response: httpx.Response, path_pattern: str | None = None) -> None:
        """Raise AssertionError naming the request when `response` breaks the spec."""
        request = response.request
        url = urlsplit(str(request.url))
        path = url.path[url.path.index(self.base_path):] if self.base_path else url.path
        mock_request = MockRequest(
            self.host_url, request.method, path, path_pattern=path_pattern,
            args=dict(httpx.QueryParams(url.query)),
            headers={"content-type": request.headers.get("content-type", "application/json")},
            data=request.content or None,
        )
        content_type = response.headers.get("content-type", "").split(";")[0]
        mock_response = MockResponse(response.content, response.status_code, dict(response.headers), content_type)
        label = f"{request.method} {url.path} -> {response.status_code}"
        try:
            self.openapi.validate_response(mock_request, mock_response)
        except ResponseNotFound:
            self._check_undocumented_error(response, label)
        except MissingData:
            # openapi-core wants a body wherever `content` is declared, even `204: {content: {}}`
            if response.status_code != 204 or response.content:
                raise AssertionError(f"{label}: missing response data") from None
        except Exception as exc:  # openapi-core raises a family of validation errors
            causes = getattr(exc, "__cause__", None)
            details = getattr(causes, "schema_errors", None) or [causes or exc]
            raise AssertionError(f"{label}: {exc}: {[str(d)[:300] for d in details]}") from None

    def _check_undocumented_error(self, response: httpx.Response, label: str) -> None:
        assert response.status_code >= 400, f"{label}: undocumented success status"
        assert response.headers.get("content-type", "").startswith("application/json"), label
        assert self.error_validator is not None and self.error_validator.is_valid(response.json()), (
            f"{label}: undocumented error status without a valid errors.ErrorResponse: {response.text[:300]}"
        )


class WebhookChecker:
    def __init__(self, document: dict) -> None:
        self.validators = {
            path.rsplit("/", 1)[1]: OAS30Validator({**item["post"]["responses"]["200"]["content"]["application/json"]
                                                   ["schema"], "components": document["components"]})
            for path, item in document["paths"].items() if path.startswith("/webhook-events/")}

    def check(self, body: dict) -> None:
        """Raise AssertionError naming the event type when `body` breaks its documented schema."""
        errors = [e.message for e in self.validators[body["event_type"]].iter_errors(body)]
        assert not errors, (body["event_type"], errors[:3])
