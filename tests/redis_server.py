"""A real `redis-server` for the tests: a free loopback port, a temporary folder, and the faults
the Redis store must survive (a server that stops answering, one that dies and comes back).

It runs with `--appendonly yes --appendfsync always --save ""`: every write is on disk before
Redis acknowledges it and nothing else is persisted, so a server killed with SIGKILL and
restarted on the same port and folder holds exactly what it acknowledged (`restart(persisted=False)`
brings it back empty instead, as a Redis without persistence). `pause()` (SIGSTOP)
leaves the socket open and unanswered, which is how a hung or partitioned Redis looks to a
client; `kill()` closes it, which is how a crashed one looks.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REQUIRE_ENV = "FLEXPRICE_MOCK_REQUIRE_REDIS"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 5  # a free port can be taken between probing it and redis-server binding it


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def require_redis_server() -> str:
    """The redis-server binary; without one the test is skipped, or fails where Redis is
    required (`.ci/run` sets FLEXPRICE_MOCK_REQUIRE_REDIS=1, so CI never skips the Redis tests)."""
    binary = redis_server_binary()
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message}, and {REQUIRE_ENV}=1 requires it", pytrace=False)
        pytest.skip(message)
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process on 127.0.0.1, its data and log under `folder`."""

    def __init__(self, folder: Path, binary: str | None = None, appendfsync: str = "always") -> None:
        self.folder = folder
        self.binary = binary or redis_server_binary() or "redis-server"
        # the bench also measures `everysec`, Redis's default, and `off`: no persistence at all
        self.appendfsync = appendfsync
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.paused = False

    @property
    def log_path(self) -> Path:
        return self.folder / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0, timeout: float = 1.0) -> redis.Redis:
        """A client that tries once: redis-py 6 retries a timeout 3 times with up to 10 s of
        backoff by default, which would turn every probe of a paused server into seconds."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=timeout,
                           socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> RedisServer:
        """On a fresh free port; retried on another port if the chosen one was taken meanwhile."""
        self.folder.mkdir(parents=True, exist_ok=True)
        attempts_left = PORT_ATTEMPTS
        while True:
            self.port = free_port()
            try:
                return self._launch()
            except RuntimeError:
                attempts_left -= 1
                if not attempts_left or "Address already in use" not in self.log_tail():
                    raise

    def restart(self, persisted: bool = True) -> RedisServer:
        """On the same port and folder, so what was acknowledged before is read back from the AOF;
        `persisted=False`: with its data files deleted first, as a Redis without persistence
        comes back (empty)."""
        if self.running:
            self.stop()
        if not persisted:
            shutil.rmtree(self.folder / "appendonlydir", ignore_errors=True)
            (self.folder / "dump.rdb").unlink(missing_ok=True)
        return self._launch()

    def _launch(self) -> RedisServer:
        persistence = ["--appendonly", "no"] if self.appendfsync == "off" else [
            "--appendonly", "yes", "--appendfsync", self.appendfsync]
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   *persistence, "--save", "",
                   "--daemonize", "no", "--logfile", str(self.log_path)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        self.paused = False
        self._wait_for_ping()
        return self

    def _wait_for_ping(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.answers():
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not answer PING within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def answers(self, timeout: float = 0.2) -> bool:
        """Whether PING gets PONG within `timeout` seconds."""
        try:
            with self.client(timeout=timeout) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM); SIGKILL if it does not go within STOP_TIMEOUT."""
        if not self.running:
            return
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final write; the socket closes at once."""
        if self.running:
            self.process.kill()
            self.process.wait()
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, until `resume()`."""
        if self.running and not self.paused:
            os.kill(self.process.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.running and self.paused:
            os.kill(self.process.pid, signal.SIGCONT)
            self.paused = False

    def ensure_running(self) -> None:
        """Undo whatever a test did to the shared server: resumed if paused, restarted if dead."""
        if self.paused:
            self.resume()
        if not self.running:
            self.restart()

    def commands(self) -> int:
        """Commands the server has run since it started, the `INFO` that reads them included."""
        with self.client() as client:
            return int(client.info("stats")["total_commands_processed"])

    def flush(self, db: int) -> None:
        """Empty database `db`, first undoing whatever a test did to the server."""
        self.ensure_running()
        with self.client(db) as client:
            client.flushdb(asynchronous=True)  # a bench run leaves millions of keys: no blocking

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.is_file():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
