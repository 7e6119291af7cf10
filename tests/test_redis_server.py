"""The Redis test harness itself (tests/redis_server.py, the `redis_server` and `redis_url`
fixtures): the faults it stages must be the faults a client sees, and a test's database must be
its own, or the Redis store's tests prove nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
import redis

from .redis_server import REQUIRE_ENV, RedisServer, require_redis_server


@pytest.fixture
def own_server(tmp_path: Path):
    """A server this test may kill, apart from the worker's shared one."""
    with RedisServer(tmp_path / "redis", require_redis_server()) as server:
        yield server


def test_the_server_answers_ping_on_a_loopback_port_until_it_is_stopped(own_server: RedisServer) -> None:
    assert own_server.url(3) == f"redis://127.0.0.1:{own_server.port}/3"
    assert own_server.answers()
    own_server.stop()
    assert not own_server.running
    assert not own_server.answers()


def test_a_paused_server_keeps_its_socket_open_but_answers_nothing_until_resumed(own_server: RedisServer) -> None:
    with own_server.client(timeout=0.3) as client:
        client.set("before", "1")
        own_server.pause()
        with pytest.raises(redis.TimeoutError):
            client.get("before")
        own_server.resume()
        assert client.get("before") == b"1"


def test_a_killed_and_restarted_server_keeps_every_acknowledged_write_on_the_same_port(own_server: RedisServer) -> None:
    port = own_server.port
    with own_server.client(db=2) as client:
        for n in range(100):
            client.set(f"key-{n}", n)
    own_server.kill()
    assert not own_server.answers()
    own_server.restart()
    assert own_server.port == port
    with own_server.client(db=2) as client:
        assert client.mget([f"key-{n}" for n in range(100)]) == [str(n).encode() for n in range(100)]


def test_ensure_running_brings_back_a_paused_or_killed_server(own_server: RedisServer) -> None:
    own_server.pause()
    own_server.ensure_running()
    assert own_server.answers()
    own_server.kill()
    own_server.ensure_running()
    assert own_server.answers()


@pytest.mark.parametrize("leftover", ["first", "second"])
def test_each_test_gets_an_empty_database_of_its_own(redis_url: str, redis_server: RedisServer, leftover: str) -> None:
    """Whichever of the two runs second would see the other's key if databases were shared."""
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set(leftover, "left behind")
    with redis_server.client(0) as session_db:
        assert session_db.get(leftover) is None


def test_a_missing_redis_server_skips_locally_and_fails_where_redis_is_required(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        require_redis_server()
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV}=1 requires it"):
        require_redis_server()
