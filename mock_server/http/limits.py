"""The limits the mock puts on requests, so that hostile input gets a 4xx and never a 5xx.

Two places, one per way junk can hurt:
- `read_body` and `parse_json` (called by `endpoint.Endpoint` once the request is routed and
  authenticated): the body size, counted on the wire whether the client declared a
  `Content-Length` or sent chunks (413), and for JSON what a parser would choke on or echo back
  broken: invalid UTF-8, nesting deeper than `MAX_DEPTH` (the validators recurse), numbers beyond
  what a float64 holds (the real server's Go decoder refuses them). Integers outside int64, which
  orjson cannot write back, become floats, as they do in Go: a field typed `integer` then refuses
  them (400, like Go's `int64`) and free-form fields keep them. Lone UTF-16 surrogate escapes
  (`"\\udc00"`) become U+FFFD, as in Go's `encoding/json`, since no JSON encoder writes them.
- `GuardedHttpProtocol` (uvicorn's httptools protocol): URL (414) and header (431) size limits,
  the parser's own rejections (garbage bytes, unknown methods) answered in the API's error shape
  instead of uvicorn's plain-text 400, and no unmasked uvicorn access log.
"""
from __future__ import annotations

import json
import math
import re

import orjson
from starlette.types import Receive, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from . import errors
from .asgi import header

DEFAULT_MAX_BODY = 1024 * 1024
MAX_DEPTH = 64
MAX_URL = 16 * 1024
MAX_HEADERS = 64 * 1024
INT64 = (-(2**63), 2**63 - 1)

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LONG_NUMBER = re.compile(rb"\d{19}")


class BodyRejected(errors.ApiError):
    """Why a body cannot be served: a 400 (or `status`: 413 too large) in the error envelope."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, message)


async def read_body(scope: Scope, receive: Receive, max_body: int) -> bytes:
    """The whole body, refused (413) as soon as the declared or the received size passes `max_body`."""
    declared = header(scope["headers"], b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise _too_large(max_body)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise _too_large(max_body)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(max_body: int) -> BodyRejected:
    return BodyRejected(f"request body larger than {max_body} bytes", 413)


def parse_json(body: bytes) -> object:
    """The value of a JSON body, or a `BodyRejected` saying what is wrong with it.

    A body that is plainly fine (no number of 19 digits or more, too few brackets to nest past
    `MAX_DEPTH`) goes straight to orjson. Anything else, and anything orjson refuses, takes the
    careful path, which says why or repairs what Go's decoder would.
    """
    if not _LONG_NUMBER.search(body) and body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return careful_json(body)


def careful_json(body: bytes) -> object:
    """Integers beyond int64 become floats and lone surrogates U+FFFD, as in Go. Depth is measured
    on the text, so a 100,000-level document costs one regex pass and never reaches a recursive
    parser."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRejected(f"request body is not valid UTF-8 (byte {exc.start})") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise BodyRejected(f"request body nests JSON deeper than {MAX_DEPTH} levels")

    def parse_int(literal: str) -> int | float:
        value = int(literal)
        if INT64[0] <= value <= INT64[1]:
            return value
        try:
            return float(value)
        except OverflowError:
            raise BodyRejected(f"request body has a number out of range: {literal[:40]}...") from None

    try:
        data = json.loads(text, parse_int=parse_int, parse_float=_finite, parse_constant=_no_constant)
    except BodyRejected:
        raise
    except (ValueError, RecursionError) as exc:
        raise BodyRejected(f"request body is not valid JSON: {str(exc).splitlines()[0]}") from None
    try:
        orjson.dumps(data)
    except orjson.JSONEncodeError:
        data = _without_lone_surrogates(data)
    return data


def nesting_depth(text: str) -> int:
    """How deep `[`/`{` nest outside strings; stops counting once past `MAX_DEPTH`."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                break
    return deepest


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise BodyRejected(f"request body has a number out of range: {literal[:40]}")
    return value


def _no_constant(literal: str) -> None:
    raise BodyRejected(f"request body is not valid JSON: {literal} is not a JSON value")


def _without_lone_surrogates(value: object) -> object:
    """Depth is bounded by `MAX_DEPTH` already, so plain recursion is safe here."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with size limits on the request head, and JSON rejections.

    httptools hands a header over only once it is complete, so one huge header is buffered before
    it is refused; the URL is counted as it arrives. uvicorn's own access log is off whatever
    handlers its logger has: it prints query strings raw, keys included (`?api_key=sk_...`); the
    mock's access log (`journal.py`) masks them.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False
        self._head_size = 0
        self._rejection = (400, "malformed HTTP request: bad request line, unknown method or bad header")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0

    def _unsupported_upgrade_warning(self) -> None:
        """With `ws="none"` an `Upgrade` request is served as plain HTTP; uvicorn would log a
        misleading "install websockets" warning for each."""
        self.logger.debug("Upgrade request served as plain HTTP")

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL:
            self._refuse(414, f"request URL longer than {MAX_URL} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEADERS:
            self._refuse(431, f"request headers larger than {MAX_HEADERS} bytes")
        super().on_header(name, value)

    def _refuse(self, status: int, message: str) -> None:
        """httptools turns this exception into a parser error, which uvicorn answers through
        `send_400_response` below and then closes the connection."""
        self._rejection = (status, message)
        raise ValueError(message)

    def send_400_response(self, msg: str) -> None:
        status, message = self._rejection
        body = orjson.dumps(errors.envelope(status, message))
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()
