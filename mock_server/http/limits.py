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
  instead of uvicorn's plain-text 400, and no unmasked uvicorn access log. It also writes a
  response's head with its first body bytes: one send per answer where uvicorn makes two.
"""
from __future__ import annotations

import json
import math
import time

import orjson
from starlette.types import Receive, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from flexprice_spec.reading import nesting_depth

from . import errors
from .asgi import header

DEFAULT_MAX_BODY = 1024 * 1024
MAX_DEPTH = 64
MAX_URL = 16 * 1024
MAX_HEADERS = 64 * 1024
RECEIVED = "flexprice.received"  # the scope's `time.monotonic_ns()` when its request was received
INT64 = (-(2**63), 2**63 - 1)

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # 19 digits in a row (with every digit made 0): maybe beyond int64
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"\\[]{}'))  # all but quotes, backslashes, brackets
_SQUARE = bytes.maketrans(b"{}", b"[]")
_REFUSED = object()
_UNREAD = object()


class BodyRejected(errors.ApiError):
    """Why a body cannot be served: a 400 (or `status`: 413 too large) in the error envelope."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, message)


async def read_body(scope: Scope, receive: Receive, max_body: int, declared: bytes | str | None = _UNREAD) -> bytes:
    """The whole body, refused (413) as soon as the declared (`Content-Length`, read from the
    scope unless the caller has it) or the received size passes `max_body`."""
    if declared is _UNREAD:
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

    A body that is plainly fine goes straight to orjson: no number of 19 digits or more, and
    either too few brackets to nest past `MAX_DEPTH` or a depth `bracket_depth` can read off the
    bytes. Anything else, and anything orjson refuses, takes the careful path, which says why or
    repairs what Go's decoder would.
    """
    if _LONG_NUMBER not in body.translate(_DIGITS_AS_ZERO):
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            value = _REFUSED
        if value is not _REFUSED:
            if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
                return value
            depth = bracket_depth(body)
            if depth is not None:
                if depth > MAX_DEPTH:
                    raise _too_deep()
                return value
    return careful_json(body)


def bracket_depth(body: bytes) -> int | None:
    """How deep a JSON document orjson has parsed nests, read off its bytes at C speed; None when
    that cannot be told this way (a string holds a bracket or an escape: the careful path counts).

    The bytes are cut down to quotes, backslashes and brackets. Without escapes, a string is two
    quotes with its content between; if no string holds a bracket, each one is a `""` next to its
    pair, and removing those leaves no quote, only the brackets, whose nesting is the document's.
    Then each pass removing the adjacent `[]` pairs (all brackets made square: the document is
    valid, so they match) peels one level; a pass past `MAX_DEPTH` stops."""
    cut = body.translate(None, _NOT_STRUCTURE)
    if b"\\" in cut:
        return None
    brackets = cut.replace(b'""', b"")
    if b'"' in brackets:
        return None
    brackets = brackets.translate(_SQUARE)
    depth = 0
    while brackets and depth <= MAX_DEPTH:
        brackets = brackets.replace(b"[]", b"")
        depth += 1
    return depth


def _too_deep() -> BodyRejected:
    return BodyRejected(f"request body nests JSON deeper than {MAX_DEPTH} levels")


def careful_json(body: bytes) -> object:
    """Integers beyond int64 become floats and lone surrogates U+FFFD, as in Go. Depth is measured
    on the text, so a 100,000-level document costs one regex pass and never reaches a recursive
    parser."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRejected(f"request body is not valid UTF-8 (byte {exc.start})") from None
    if nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise _too_deep()

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

    def _start_asgi_task(self, cycle: RequestResponseCycle, app) -> None:
        cycle.scope[RECEIVED] = time.monotonic_ns()  # its head is in (a shared store's `request`)
        cycle.__class__ = CoalescingCycle
        cycle.transport = HeldHead(cycle.transport)
        super()._start_asgi_task(cycle, app)

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


class HeldHead:
    """A response's transport whose head, once written, waits for the first body bytes, so the
    two leave in one write: one system call and one TCP segment per answer instead of two (a
    socket write was half of a GET's CPU, measured with py-spy). Whatever is held goes out when
    the response ends or the connection closes, so a HEAD or an empty body still has its head."""

    def __init__(self, transport) -> None:
        self._transport = transport
        self.holding = False
        self._held = b""

    def write(self, data: bytes) -> None:
        if self.holding:
            self.holding, self._held = False, data
            return
        if self._held:
            data, self._held = self._held + data, b""
        self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            self._transport.write(self._held)
            self._held = b""

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class CoalescingCycle(RequestResponseCycle):
    """uvicorn's request-response cycle over a `HeldHead`: the head is held when written."""

    async def send(self, message) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            self.transport.holding = True
        await super().send(message)
        if self.response_complete:
            self.transport.flush()
