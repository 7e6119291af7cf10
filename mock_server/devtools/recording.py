"""Recordings of a real server's exchanges (`--proxy-mode record`), answered again
(`--proxy-mode replay`) and loaded into the state as fixtures are.

A recording is JSON Lines: a header line (`format`, `version`, the upstream, when), then one
line per exchange, appended and flushed as it happens, so a recording cut short (a killed mock)
keeps every exchange but the one being written, and reading skips that torn last line:

    {"request": {"method": "POST", "path": "/customers", "query": "", "headers": {...}, "body": {...}},
     "response": {"status": 201, "headers": {"content-type": "application/json"}, "body": {...}},
     "operation_id": "createCustomer"}

Only the headers worth keeping are kept (content type, `location`, `retry-after`; the request's
`x-api-key`, masked). Keys and secrets are masked wherever they appear (as the journal masks
them: `sk_01***2K`): headers, and any JSON field named like a secret (`api_key`, `secret`,
`token`, `password`, `*_secret`, `*_token`) or holding a raw API key (`sk_`/`pk_` and 16 more
characters), in requests and answers alike.

Replay matches method, path, query (in any order) and body (as JSON, masked as recorded);
several recorded answers to the same request are given in turn, the last one again once they
run out. As fixtures, a recording is the create requests that succeeded, under the ids the
server gave, with later updates merged in and deleted records left out (`fixtures()`): the
create path rebuilds what follows from them (a subscription's line items and invoices). API
keys are left out (their raw key is masked: they could never authenticate), and so are usage
events, which fixtures do not hold.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import orjson

from ..http.proxy import Exchange
from .journal import mask

FORMAT = "flexprice-mock-recording"
VERSION = 1
KEPT_HEADERS = ("content-type", "location", "retry-after", "x-api-key")
SECRET_NAMES = frozenset({"api_key", "apikey", "x-api-key", "secret", "token", "password", "authorization"})
SECRET_SUFFIXES = ("_secret", "_token", "_password")
RAW_KEY = re.compile(r"^(sk|pk)_[A-Za-z0-9]{16,}$")
NOT_LOADED = frozenset({"createApiKey"})  # its raw key is masked in the recording: it could never authenticate


class RecordingError(ValueError):
    """A file that is not a recording this mock reads, and why."""


def secret_name(name: str) -> bool:
    name = name.lower()
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def masked(value: object, name: str = "") -> object:
    """`value` with every secret in it masked."""
    if isinstance(value, dict):
        return {key: masked(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item, name) for item in value]
    if isinstance(value, str) and (secret_name(name) or RAW_KEY.match(value)):
        return mask(value)
    return value


def body_of(content: bytes, content_type: str | None) -> dict:
    """How a body is written: `{"body": JSON}` masked, `{"text": ...}` for other text, nothing if empty."""
    if not content:
        return {}
    if "json" in (content_type or "application/json"):
        try:
            return {"body": masked(orjson.loads(content))}
        except orjson.JSONDecodeError:
            pass
    return {"text": content.decode("utf-8", "replace")}


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: mask(value) if secret_name(name) else value for name, value in headers.items()
            if name.lower() in KEPT_HEADERS}


def entry(exchange: Exchange) -> dict:
    """One exchange as a recording line holds it."""
    op = exchange.operation
    request_type = exchange.request_headers.get("content-type")
    response_type = exchange.response_headers.get("content-type")
    return {
        "request": {"method": exchange.method, "path": exchange.path, "query": exchange.query,
                    "headers": _headers(exchange.request_headers), **body_of(exchange.request_body, request_type)},
        "response": {"status": exchange.status, "headers": _headers(exchange.response_headers),
                     **body_of(exchange.response_body, response_type)},
        "operation_id": op.operation_id if op else None,
        "role": op.role if op else None,
        "resource": op.resource.collection if op and op.resource else None,
    }


class Recorder:
    """Appends each exchange to the recording file, as it happens."""

    def __init__(self, path: str | Path, upstream: str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("ab", buffering=0)  # a line is one write: processes may share the file
        if fresh:
            self._write({"format": FORMAT, "version": VERSION, "upstream": upstream,
                         "recorded_at": datetime.now(timezone.utc).isoformat()})

    def __call__(self, exchange: Exchange) -> None:
        self._write(entry(exchange))

    def _write(self, line: dict) -> None:
        with self._lock:
            self._file.write(orjson.dumps(line) + b"\n")

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read(path: str | Path) -> list[dict]:
    """The exchanges of a recording file; a `RecordingError` says what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read the recording: {exc}") from None
    return parse(text, str(path))


def parse(text: str, source: str) -> list[dict]:
    lines = text.splitlines()
    try:
        header = orjson.loads(lines[0]) if lines else None
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f'{source}: not a recording: its first line must be {{"format": "{FORMAT}", ...}}')
    if not isinstance(header.get("version"), int) or header["version"] > VERSION:
        raise RecordingError(f"{source}: recording version {header.get('version')!r} is newer than this mock "
                             f"reads ({VERSION})")
    exchanges = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            exchange = orjson.loads(line)
        except orjson.JSONDecodeError:
            if number == len(lines):
                break  # the line being written when the recorder stopped
            raise RecordingError(f"{source}: line {number} is not JSON") from None
        if not isinstance(exchange, dict) or not isinstance(exchange.get("request"), dict) or not isinstance(
                exchange.get("response"), dict):
            raise RecordingError(f"{source}: line {number} is not an exchange (request and response)")
        exchanges.append(exchange)
    return exchanges


def is_recording(text: str) -> bool:
    """Whether `text` is a recording (its first line names the format), not a fixture document."""
    return f'"{FORMAT}"' in text.lstrip().split("\n", 1)[0]


def _match_key(method: str, path: str, query: str, body: object) -> tuple:
    return method.upper(), path, tuple(sorted(parse_qsl(query, keep_blank_values=True))), orjson.dumps(
        body, option=orjson.OPT_SORT_KEYS)


class Replayer:
    """Recorded answers by request, each given in turn and the last one again once they run out."""

    def __init__(self, exchanges: Iterable[dict]) -> None:
        self._answers: dict[tuple, list[dict]] = {}
        self._used: dict[tuple, int] = {}
        self._lock = threading.Lock()
        for exchange in exchanges:
            request = exchange["request"]
            key = _match_key(request["method"], request["path"], request.get("query", ""),
                             request.get("body", request.get("text")))
            self._answers.setdefault(key, []).append(exchange["response"])

    def __len__(self) -> int:
        return sum(map(len, self._answers.values()))

    def __call__(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        key = _match_key(method, path, query, self._request_body(body))
        with self._lock:
            answers = self._answers.get(key)
            if not answers:
                return None
            turn = self._used.get(key, 0)
            self._used[key] = turn + 1
            answer = answers[min(turn, len(answers) - 1)]
        content = orjson.dumps(answer["body"]) if "body" in answer else answer.get("text", "").encode()
        return answer["status"], dict(answer.get("headers") or {}), content

    @staticmethod
    def _request_body(body: bytes) -> object:
        recorded = body_of(body, None)
        return recorded.get("body", recorded.get("text"))


def fixtures(exchanges: Iterable[dict]) -> dict[str, list[dict]]:
    """The records a recording made, as a fixture document: each successful create's request
    under the id the server answered (and its timestamps), later updates merged in, deleted
    records left out."""
    made: dict[str, tuple[str, dict]] = {}  # id -> (collection, the fixture object)
    for exchange in exchanges:
        request, response = exchange["request"], exchange["response"]
        role, resource = exchange.get("role"), exchange.get("resource")
        if not resource or exchange.get("operation_id") in NOT_LOADED or not 200 <= response["status"] < 300:
            continue
        sent, answered = request.get("body"), response.get("body")
        if role == "create" and isinstance(sent, dict) and isinstance(answered, dict) and answered.get("id"):
            stamps = {k: answered[k] for k in ("created_at", "updated_at") if isinstance(answered.get(k), str)}
            made[answered["id"]] = (resource.lstrip("/"), {**sent, "id": answered["id"], **stamps})
        elif role == "update" and isinstance(sent, dict):
            key = request["path"].rstrip("/").rsplit("/", 1)[-1]
            if key in made:
                made[key][1].update(sent)
        elif role == "delete":
            made.pop(request["path"].rstrip("/").rsplit("/", 1)[-1], None)
    document: dict[str, list[dict]] = {}
    for collection, obj in made.values():
        document.setdefault(collection, []).append(obj)
    return document
