"""Hostile input on the seed and the full spec: always a 4xx `errors.ErrorResponse`, never a 5xx,
and the server keeps serving. docs/reliability.md has the same matrix as a table."""
from __future__ import annotations

import json
import re
import socket
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest

from mock_server import MockServer
from mock_server.http.errors import CODES
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.http import limits
from mock_server.http.limits import (
    DEFAULT_MAX_BODY,
    MAX_DEPTH,
    MAX_HEADERS,
    MAX_URL,
    bracket_depth,
    careful_json,
    nesting_depth,
    parse_json,
)

from .conftest import SEED_SPEC

# spec -> (fixture of the running mock, a create operation, a valid body for it)
TARGETS = {
    "seed": ("seed_mock", "secrets/api/keys", {"name": "ci", "type": "private_key"}),
    "full": ("full_mock", "customers", {"external_id": "cust-hostile", "name": "Hostile Ltd"}),
}
JSON = {"content-type": "application/json"}
TWENTY_MB = 20 * 1024 * 1024

BODY_CASES = [
    ("truncated JSON", b'{"name": "a', "not valid JSON"),
    ("malformed JSON", b"{name: 'a'}", "not valid JSON"),
    ("empty body", b"", "RequestBody is required"),
    ("JSON array", b"[1, 2]", "is not of type 'object'"),
    ("JSON string", b'"customer"', "is not of type 'object'"),
    ("JSON null", b"null", "must not be empty"),
    ("invalid UTF-8", b'{"name": "\xff\xfe"}', "not valid UTF-8"),
    ("NaN literal", b'{"name": NaN}', "not valid JSON"),
    ("number beyond float64", b'{"name": 1e999}', "out of range"),
    ("100,000 nested arrays", b"[" * 100_000 + b"]" * 100_000, "deeper than 64"),
    ("100,000 nested objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "deeper than 64"),
    ("65 levels inside a field", b'{"name": "a", "metadata": ' + b"[" * 64 + b"]" * 64 + b"}", "deeper than 64"),
]
CONTENT_TYPE_CASES = [
    ("text/plain", {"content-type": "text/plain"}),
    ("no content type", {"content-type": ""}),
    ("form", {"content-type": "application/x-www-form-urlencoded"}),
    ("multipart", {"content-type": "multipart/form-data; boundary=x"}),
    ("xml", {"content-type": "application/xml"}),
]


@pytest.fixture(params=sorted(TARGETS))
def target(request):
    fixture, path, valid = TARGETS[request.param]
    mock = request.getfixturevalue(fixture)
    with httpx.Client(base_url=mock.url + "/", headers={"x-api-key": mock.api_key}, timeout=30) as client:
        yield mock, client, path, valid
        assert_still_serving(client, path, valid)


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> dict:
    """`status` with a JSON `errors.ErrorResponse` body that says it."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) <= {"code", "message", "http_status_code", "details", "error"}, body
    assert (body["http_status_code"], body["code"]) == (status, CODES[status]), body
    if message is not None:
        assert message in body["message"], body
    return body


def assert_still_serving(client: httpx.Client, path: str, valid: dict) -> None:
    survivor = {**valid, "name": "after the junk"}
    if "external_id" in survivor:
        survivor["external_id"] = "cust-after-the-junk"
    response = client.post(path, json=survivor)
    assert response.status_code == 201, response.text


def raw_exchange(mock: MockServer, data: bytes) -> tuple[int, dict, bytes]:
    """Send `data` as is; status, headers and body of the answer, read until the server closes
    or the body is complete."""
    url = urlsplit(mock.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = re.search(rb"\r\ncontent-length: (\d+)", head, re.IGNORECASE)
            if length and len(body) >= int(length.group(1)):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("label, body, message", BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_junk_json_body_is_a_400(target, label, body, message):
    _mock, client, path, _valid = target
    assert_error(client.post(path, content=body, headers=JSON), 400, message)


@pytest.mark.parametrize("label, headers", CONTENT_TYPE_CASES, ids=[c[0] for c in CONTENT_TYPE_CASES])
def test_body_that_is_not_json_is_a_415(target, label, headers):
    _mock, client, path, valid = target
    assert_error(client.post(path, content=json.dumps(valid).encode(), headers=headers), 415, "Invalid Content-type")


def test_form_encoded_fields_are_a_415_that_says_which_header_to_send(target):
    _mock, client, path, valid = target
    body = assert_error(client.post(path, data={"name": valid["name"]}), 415)
    assert body["message"] == ("Invalid Content-type (application/x-www-form-urlencoded), expected "
                               "['application/json']; send the header 'Content-Type: application/json'")


def test_a_body_without_content_type_is_read_as_json_with_its_guards(target):
    _mock, client, path, valid = target
    request = client.build_request("POST", path, content=json.dumps(valid).encode())
    assert "content-type" not in request.headers
    assert client.send(request).status_code == 201
    deep = client.build_request("POST", path, content=b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    assert_error(client.send(deep), 400, f"request body nests JSON deeper than {MAX_DEPTH} levels")


def test_hostile_body_without_a_key_is_a_401_first(target):
    mock, _client, path, _valid = target
    response = httpx.post(f"{mock.url}/{path}", content=b"[" * 100_000, headers=JSON)
    assert assert_error(response, 401)["error"] == "Invalid API key"


def test_lone_surrogate_escapes_are_kept_as_replacement_characters(target):
    _mock, client, path, valid = target
    body = json.dumps({**valid, "name": "a\udc00b"}).encode()  # json.dumps writes "a\\udc00b"
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 201, response.text
    record = response.json().get("secret", response.json())
    assert record["name"] == "a\ufffdb"


def test_twenty_megabyte_body_is_a_413(target):
    _mock, client, path, _valid = target
    body = b'{"name": "' + b"a" * TWENTY_MB + b'"}'
    assert_error(client.post(path, content=body, headers=JSON), 413, f"larger than {DEFAULT_MAX_BODY} bytes")


def test_twenty_megabyte_chunked_body_is_a_413(target):
    _mock, client, path, _valid = target

    def chunks():
        yield b'{"name": "'
        for _ in range(20):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    response = client.post(path, content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(response, 413)


def test_chunked_json_body_within_the_limit_is_accepted(target):
    _mock, client, path, valid = target
    response = client.post(path, content=iter([json.dumps(valid).encode()]), headers=JSON)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 201, response.text


def test_max_body_moves_the_limit():
    with MockServer(spec=SEED_SPEC, max_body=100) as mock:
        url, key = f"{mock.url}/secrets/api/keys", {"x-api-key": mock.api_key}
        body = json.dumps({"name": "x", "type": "private_key"}).encode()
        padded = body[:-1] + b" " * (100 - len(body)) + b"}"
        assert httpx.post(url, content=padded, headers={**JSON, **key}).status_code == 201
        assert_error(httpx.post(url, content=padded + b" ", headers={**JSON, **key}), 413, "larger than 100 bytes")


def test_url_longer_than_the_limit_is_a_414(target):
    _mock, client, path, _valid = target
    assert_error(client.get(f"{path}/{'a' * MAX_URL}"), 414, f"longer than {MAX_URL} bytes")


def test_long_url_within_the_limit_is_an_ordinary_404(target):
    _mock, client, _path, _valid = target
    assert_error(client.get("a" * (MAX_URL - 100)), 404, "route not found")


def test_headers_larger_than_the_limit_are_a_431(target):
    _mock, client, path, valid = target
    response = client.post(path, json=valid, headers={"x-junk": "a" * MAX_HEADERS})
    assert_error(response, 431, f"larger than {MAX_HEADERS} bytes")


def test_many_headers_within_the_limit_are_served(target):
    _mock, client, path, valid = target
    response = client.post(path, json=valid, headers={f"x-junk-{i}": "a" * 100 for i in range(300)})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("raw_path", [
    b"/v1/..%2f..%2fetc/passwd",
    b"/v1/../../etc/passwd",
    b"/v1/%2e%2e/%2e%2e/etc/passwd",
    b"/../../../../etc/passwd",
])
def test_path_traversal_is_a_404(target, raw_path):
    mock, _client, _path, _valid = target
    status, headers, body = raw_exchange(mock, b"GET " + raw_path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (status, headers["content-type"], json.loads(body)["message"]) == (404, "application/json", "route not found")


def test_query_integer_beyond_64_bits_is_a_400(full_mock):
    response = httpx.get(f"{full_mock.url}/secrets/api/keys", params={"offset": 10**30},
                         headers={"x-api-key": full_mock.api_key})
    assert_error(response, 400, "query parameter 'offset'")


def test_method_the_path_does_not_have_is_a_405_naming_every_documented_method(full_mock):
    response = httpx.request("PATCH", f"{full_mock.url}/customers/cust_x", headers={"x-api-key": full_mock.api_key})
    assert_error(response, 405)
    assert response.headers["allow"] == "DELETE, GET, HEAD"  # Starlette alone says "GET, HEAD"


@pytest.mark.parametrize("method", ["PROPFIND", "PURGE", "TRACE"])
def test_method_no_operation_has_is_a_405(target, method):
    _mock, client, path, _valid = target
    assert_error(client.request(method, path), 405, "method not allowed")


def test_method_the_http_parser_does_not_know_is_a_400(target):
    mock, _client, path, _valid = target
    status, headers, body = raw_exchange(mock, f"FROB /v1/{path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert (status, headers["content-type"], json.loads(body)["code"]) == (400, "application/json", "validation_error")


@pytest.mark.parametrize("garbage", [
    b"\x00\xff\xfe garbage \r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS ClientHello's first bytes
    b"GET / HTTP/9.9\r\n\r\n",
    b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # an HTTP/2 connection preface
    b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
    b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
])
def test_garbage_bytes_on_the_socket_get_a_json_400_and_the_server_survives(target, garbage):
    mock, _client, _path, _valid = target
    status, headers, body = raw_exchange(mock, garbage)
    assert (status, headers["content-type"], headers["connection"]) == (400, "application/json", "close")
    assert json.loads(body) == {"code": "validation_error", "http_status_code": 400,
                                "message": "malformed HTTP request: bad request line, unknown method or bad header"}


@pytest.mark.parametrize("upgrade", [b"websocket", b"h2c"])
def test_protocol_upgrade_is_served_as_plain_http(target, upgrade):
    mock, _client, path, _valid = target
    status, headers, body = raw_exchange(mock, b"GET /v1/" + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: Upgrade\r\nUpgrade: " + upgrade + b"\r\n"
                                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert (status, headers["content-type"], json.loads(body)["message"]) == (405, "application/json", "method not allowed")


def test_every_json_operation_of_the_full_spec_refuses_junk_with_a_400(full_mock, full_spec):
    document = json.loads(full_spec.read_text())
    junk = [b'{"a": "\xff"}', b"[" * 100_000]
    seen = 0
    with httpx.Client(base_url=full_mock.url, headers={"x-api-key": full_mock.api_key, **JSON}, timeout=30) as client:
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "requestBody" not in operation:
                    continue
                concrete = "/".join("x" if part.startswith("{") else part for part in path.split("/"))
                for body in junk:
                    response = client.request(method.upper(), concrete, content=body)
                    assert response.status_code == 400, f"{method.upper()} {path}: {response.text[:300]}"
                    seen += 1
    assert seen == 2 * sum(1 for item in document["paths"].values() for op in item.values()
                           if isinstance(op, dict) and "requestBody" in op)


def test_nesting_depth_ignores_brackets_inside_strings():
    assert nesting_depth('["[[[[", {"a": "]]\\"[[["}]') == 2
    assert nesting_depth("[" * MAX_DEPTH + "]" * MAX_DEPTH) == MAX_DEPTH
    assert nesting_depth("[" * 100_000) == MAX_DEPTH + 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(alphabet='ab[]{}"\\ ', max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet="ab[{", max_size=3), inner, max_size=4),
    max_leaves=40)


def _texts(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in [key, *_texts(item)]]
    return []


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_depth_read_off_the_bytes_is_the_depth_or_nothing(value):
    body = json.dumps(value).encode()
    found = bracket_depth(body)
    assert found is None or found == nesting_depth(body.decode())
    if not any(set(text) & set('[]{}"\\') for text in _texts(value)):  # nothing hidden in a string
        assert found == nesting_depth(body.decode())


def test_a_bulk_of_a_thousand_events_is_parsed_without_the_careful_path(monkeypatch):
    bulk = {"events": [{"event_name": "tokens", "external_customer_id": f"c{i}", "properties": {"tokens": "3"}}
                       for i in range(1000)]}
    monkeypatch.setattr(limits, "careful_json", lambda body: pytest.fail("took the careful path"))
    assert parse_json(json.dumps(bulk).encode()) == bulk
    with pytest.raises(limits.BodyRejected, match=f"deeper than {MAX_DEPTH} levels"):
        parse_json(json.dumps({"events": [], "deep": [[[[]]]] * 20 + [json.loads("[" * 65 + "]" * 65)]}).encode())


def test_integers_beyond_int64_become_floats_so_integer_fields_refuse_them():
    parsed = parse_json(b'{"n": 9223372036854775808, "m": 9223372036854775807, "u": 18446744073709551615}')
    assert parsed == {"n": 9.223372036854776e18, "m": 9223372036854775807, "u": 1.8446744073709552e19}
    assert type(parsed["m"]) is int and type(parsed["u"]) is float


def test_plain_and_careful_parsing_agree_on_ordinary_bodies():
    body = b'{"name": "caf\xc3\xa9",  "n": [1, 2.5, {"x": null}], "big": -9223372036854775808}'
    assert parse_json(body) == careful_json(body) == json.loads(body)


def test_a_response_head_leaves_with_its_body_in_one_write_and_alone_when_there_is_none():
    written = []
    held = limits.HeldHead(SimpleNamespace(write=written.append, close=lambda: written.append("closed")))
    held.holding = True
    held.write(b"HTTP/1.1 200 OK\r\n\r\n")
    held.write(b"{}")
    held.holding = True
    held.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    held.flush()
    held.holding = True
    held.write(b"HTTP/1.1 200 OK\r\n\r\n")
    held.close()
    assert written == [b"HTTP/1.1 200 OK\r\n\r\n{}", b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n", "closed"]


def test_pipelined_requests_and_a_head_request_get_whole_answers_in_order(full_mock):
    url = urlsplit(full_mock.url)
    request = "{} /v1/customers/{} HTTP/1.1\r\nHost: x\r\nx-api-key: " + full_mock.api_key + "\r\n\r\n"
    sent = (request.format("GET", "first") + request.format("HEAD", "second") + request.format("GET", "third")).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(sent)
        received = b""
        while received.count(b"HTTP/1.1 404") < 3 or not received.endswith(b"}"):
            received += sock.recv(65536)
    answers = received.split(b"HTTP/1.1 404 Not Found\r\n")[1:]
    assert [b"customer first not found" in answers[0], b"not found" in answers[1], b"customer third not found" in answers[2]] \
        == [True, False, True]
