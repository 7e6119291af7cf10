"""`Link`: this process's own connection to Redis for the store's scripts (every request's
first round trip and most of its others), so a round trip costs a send and a receive.

Through redis-py's pool, each command also checks a connection out and back in: it reads the
process id twice, takes the pool's lock, polls the socket for stray data (a `recv` that finds
none) and sets the socket's timeout back and forth, about 20 µs of CPU per command here, as
much as the round trip's own system calls. The link keeps one redis-py `Connection` (the
client's parser, timeouts and errors) and sends on it directly. Failures are handled as the
client handles them: a dropped connection is retried once on a new one (its `Retry`), a
timeout is not; a script Redis does not hold (restarted, `SCRIPT FLUSH`) is loaded and run
again. One thread at a time uses it: another thread meanwhile goes through the pool, as does
a process forked from this one.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError


class Link:
    __slots__ = ("_client", "_connection", "_pid", "_lock")

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._connection = None
        self._pid = 0
        self._lock = threading.Lock()

    def run(self, script: Script, args: Sequence[object]) -> object:
        """`script(args=args)`'s answer; redis-py's errors as the client raises them."""
        if not self._lock.acquire(blocking=False):
            return script(args=args)
        try:
            if self._pid != os.getpid():
                pool = self._client.connection_pool
                self._connection, self._pid = pool.connection_class(**pool.connection_kwargs), os.getpid()
            connection = self._connection
            return connection.retry.call_with_retry(lambda: _evalsha(connection, script, args),
                                                    lambda _: connection.disconnect())
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.disconnect()


def _evalsha(connection, script: Script, args: Sequence[object]) -> object:
    try:
        return _command(connection, "EVALSHA", script.sha, 0, *args)
    except NoScriptError:
        script.sha = _command(connection, "SCRIPT", "LOAD", script.script)
        return _command(connection, "EVALSHA", script.sha, 0, *args)


def _command(connection, *args) -> object:
    connection.send_packed_command(connection.pack_command(*args), check_health=False)
    return connection.read_response()
