"""The HTTP client of the semantic checks: one timeout, one rate limit, every exchange replayable.

An operation that timed out twice is not called again (`GaveUp`), clean-up included, so one slow
operation costs the run two timeouts, not one per check.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .report import API_KEY_PLACEHOLDER, curl_command

JSON = "application/json"
TIMEOUTS_BEFORE_GIVING_UP = 2


class ResponseTimeout(Exception):
    """The implementation did not answer within `--request-timeout`."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(f"no response within the request timeout for {exchange.method} {exchange.url}")
        self.exchange = exchange


class GaveUp(Exception):
    """The operation already timed out twice: the gate no longer calls it (already reported)."""


class OutOfTime(Exception):
    """The run's time budget is spent: the gate sends nothing more (the report says what was done)."""


class Unreachable(Exception):
    """The connection failed: refused, reset or closed without an answer."""

    def __init__(self, exchange: Exchange, error: Exception) -> None:
        super().__init__(f"{exchange.method} {exchange.url}: {type(error).__name__}: {error}")
        self.exchange = exchange


@dataclass(slots=True)
class Exchange:
    """One request and, once it came, its response."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int = 0
    content_type: str = ""
    text: str = ""
    operation: str = ""  # the operationId (or `METHOD /path`) it was sent for
    at: float = 0.0  # when it was sent (epoch seconds), so a replay can shift the times it sent

    def json(self) -> Any:
        """The decoded body, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def curl(self, api_key: str, shown: str = API_KEY_PLACEHOLDER) -> str:
        return curl_command(self.method, self.url, self.headers, self.body, api_key, shown)

    def describe(self) -> str:
        shown = "".join(c if c.isprintable() else "?" for c in self.text[:300])
        return f"{self.method} {self.url} -> {self.status} {self.content_type} {shown}"


class SlowOperations:
    """Timeouts per operation (`DELETE /secrets/api/keys/{id}`), shared by the semantic checks and
    Schemathesis: after two, neither calls the operation again."""

    def __init__(self) -> None:
        self.timeouts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def record(self, operation: str) -> None:
        with self.lock:
            self.timeouts[operation] += 1

    def given_up(self, operation: str) -> bool:
        return self.timeouts[operation] >= TIMEOUTS_BEFORE_GIVING_UP


class RateLimiter:
    """Spaces requests evenly; shared by every thread that calls the implementation."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        time.sleep(max(0.0, slot - now))


class ApiClient:
    """Calls `base_url + path` with the gate's key unless told otherwise; every exchange is passed
    to each of `observers` (the coverage tally, the replay trace); past `deadline` (monotonic
    seconds) nothing more is sent."""

    def __init__(
        self, base_url: str, api_key: str, timeout: float, limiter: RateLimiter, slow: SlowOperations | None = None,
        deadline: float | None = None,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.limiter = limiter
        self.slow = slow or SlowOperations()
        self.http = httpx.Client(timeout=timeout)
        self.count = 0
        self.statuses: Counter[int] = Counter()
        self.last: Exchange | None = None
        self.deadline = deadline
        self.observers: list[Callable[[Exchange], None]] = []

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, *, params: dict | None = None, body: Any = None,
        key: str | None = "", raw_body: bytes | None = None, operation: str = "", operation_id: str = "",
    ) -> Exchange:
        """`key=""` sends the gate's key, `key=None` sends none, any other string sends that key;
        `operation` names what the timeouts are counted against (default: method and path),
        `operation_id` what the report counts the exchange against (default: the same)."""
        headers = {"accept": JSON}
        if key is not None:
            headers["x-api-key"] = key or self.api_key
        content = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        if content is not None:
            headers["content-type"] = JSON
        url = str(httpx.URL(self.base_url + path, params=params))
        operation = operation or f"{method.upper()} {path.split('?')[0]}"
        exchange = Exchange(method.upper(), url, headers, content, operation=operation_id or operation)
        if self.slow.given_up(operation):
            raise GaveUp(operation)
        self.limiter.wait()
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise OutOfTime(operation)
        self.last = exchange
        self.count += 1
        exchange.at = time.time()
        try:
            response = self.http.request(method, url, headers=headers, content=content)
            exchange.text = response.text
        except httpx.TimeoutException as error:
            self.slow.record(operation)
            self._observe(exchange)
            raise ResponseTimeout(exchange) from error
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as error:
            self._observe(exchange)
            raise Unreachable(exchange, error) from error
        exchange.status = response.status_code
        exchange.content_type = response.headers.get("content-type", "")
        self.statuses[exchange.status] += 1
        self._observe(exchange)
        return exchange

    def _observe(self, exchange: Exchange) -> None:
        for observer in self.observers:
            observer(exchange)
