"""The stores a bench run puts the mock on (issue 13): memory, the default, and Redis.

For Redis the bench starts its own redis-server (tests/redis_server.py: a free loopback port, a
temporary folder, AOF with `appendfsync always` as deploy/compose.yaml runs it, or `everysec`
with `--redis-fsync everysec`) once per run, and
empties it before every start of a mock, so each run begins as empty as a memory run does. A mock
on Redis is measured with one process and, when `--workers N` asks for more, with N workers on
one port; the memory store is always one process (more is a usage error of the mock itself).
"""
from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import BenchError, ProbeRequest, Server, Starter, start_mock
from tests.redis_server import RedisServer, redis_server_binary

MEMORY, REDIS = "memory", "redis"
STORES = (MEMORY, REDIS)
REDIS_HINT = "redis-server is not installed: install it with `apt-get install redis-server` (Debian/Ubuntu) and run again"
BENCH_DB = 0


@dataclass(slots=True, frozen=True)
class Backend:
    """One way of running the mock: its store and its number of processes."""

    store: str
    workers: int = 1

    @property
    def name(self) -> str:
        """The server name in the tables: `mock` stays the memory store's, as before issue 13."""
        if self.store == MEMORY:
            return "mock"
        return f"mock/{self.store}" + (f" x{self.workers}" if self.workers > 1 else "")

    @property
    def label(self) -> str:
        return f"{self.store}, " + (f"{self.workers} workers" if self.workers > 1 else "1 process")


def backends(stores: list[str], workers: int) -> list[Backend]:
    """Memory at one process; Redis at one and, if asked, at `workers`."""
    if workers < 1:
        raise BenchError("--workers must be at least 1")
    if workers > 1 and REDIS not in stores:
        raise BenchError("--workers N > 1 needs --store redis: the memory store lives in one process")
    found = [Backend(MEMORY)] if MEMORY in stores else []
    if REDIS in stores:
        found += [Backend(REDIS, n) for n in sorted({1, workers})]
    return found


def require_redis() -> str:
    binary = redis_server_binary()
    if binary is None:
        raise BenchError(REDIS_HINT)
    return binary


def redis_version() -> str:
    """`redis-server 7.0.15`, from the binary the bench starts."""
    completed = subprocess.run([require_redis(), "--version"], capture_output=True, text=True)
    version = next((part for part in completed.stdout.split() if part.startswith("v=")), "v=?")
    return f"redis-server {version[2:]}"


@contextmanager
def bench_redis(wanted: bool, appendfsync: str = "always") -> Iterator[RedisServer | None]:
    """The run's redis-server when a Redis store is measured; None otherwise."""
    if not wanted:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as folder, \
            RedisServer(Path(folder), require_redis(), appendfsync) as server:
        yield server


def starter(backend: Backend, redis: RedisServer | None) -> Starter:
    """Start a fresh mock of `backend`; a Redis one on an emptied database."""
    def start(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
        if backend.store == MEMORY:
            return start_mock(spec, probe, log_dir)
        redis.flush(BENCH_DB)
        options = ("--store", redis.url(BENCH_DB)) + (("--workers", str(backend.workers)) if backend.workers > 1 else ())
        server = start_mock(spec, probe, log_dir, backend.name, options)
        server.helper_pids = [redis.process.pid]
        server.commands = redis.commands
        return server

    return start
