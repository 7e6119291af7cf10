"""The Redis store's read cache and its own connection: a request that has caught up reads what
nothing changed since from memory, and never anything stale, whoever wrote, in this process or
another; scripts survive a Redis that forgot them; replies are parsed by hiredis.

Two stores on one namespace of one database are two processes of one deployment. A request is
`with store.request(): store.poll(); ...`, as the request path runs it (`Endpoint`, `Lifecycle.sync`).
"""
from __future__ import annotations

import hashlib
import time

import pytest
import redis

from mock_server.storage.read_cache import ReadCache
from mock_server.storage.redis_store import RedisStore

CUSTOMERS, TAXES = "/customers", "/taxes"
UNIQUE = {CUSTOMERS: ("external_id",)}


@pytest.fixture
def stores(redis_url: str):
    """Two processes' stores on one namespace, set up as `Lifecycle` does."""
    one, other = RedisStore(redis_url, UNIQUE), RedisStore(redis_url, UNIQUE)
    assert one.join() is None
    one.publish({}, ready=True)
    assert other.join() == {}
    yield one, other
    one.close()
    other.close()


def customer(n: int, **fields) -> dict:
    return {"id": f"cust_{n}", "external_id": f"ext-{n}", "name": f"Customer {n}", **fields}


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The commands sent to Redis from now on, by name: one round trip each."""
    names: list[str] = []
    sending = redis.connection.AbstractConnection.send_packed_command

    def count(connection, command, check_health=True):
        names.append((b"".join(command) if isinstance(command, list) else command).split(b"\r\n")[2].decode())
        return sending(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", count)
    return names


def test_a_write_through_one_process_is_read_by_the_others_next_request(stores) -> None:
    one, other = stores
    one.insert(CUSTOMERS, customer(1))
    with other.request():
        other.poll()
        assert other.get(CUSTOMERS, "cust_1")["name"] == "Customer 1"
        assert [r["id"] for r in other.select(CUSTOMERS)[0:10]] == ["cust_1"]
        assert other.find(CUSTOMERS, "external_id", "ext-1")["id"] == "cust_1"
    one.update(CUSTOMERS, "cust_1", {"name": "renamed", "external_id": "ext-renamed"})
    one.insert(CUSTOMERS, customer(2))
    with other.request():
        other.poll()
        assert other.get(CUSTOMERS, "cust_1")["name"] == "renamed"
        assert [r["id"] for r in other.select(CUSTOMERS)[0:10]] == ["cust_2", "cust_1"]
        assert len(other.select(CUSTOMERS)) == 2
        assert other.find(CUSTOMERS, "external_id", "ext-1") is None
    one.delete(CUSTOMERS, "cust_2")
    with other.request():
        other.poll()
        assert other.get(CUSTOMERS, "cust_2") is None
        assert [r["id"] for r in other.select(CUSTOMERS)[0:10]] == ["cust_1"]


def test_a_request_reads_its_own_writes(stores) -> None:
    one, _ = stores
    one.insert(CUSTOMERS, customer(1))
    with one.request():
        one.poll()
        assert one.get(CUSTOMERS, "cust_1")["name"] == "Customer 1"
        assert len(one.select(CUSTOMERS)) == 1
        one.update(CUSTOMERS, "cust_1", {"name": "renamed"})
        assert one.get(CUSTOMERS, "cust_1")["name"] == "renamed"
        one.insert(CUSTOMERS, customer(2))
        assert [r["id"] for r in one.select(CUSTOMERS)[0:10]] == ["cust_2", "cust_1"]
        one.delete(CUSTOMERS, "cust_1")
        assert one.get(CUSTOMERS, "cust_1") is None
        assert one.find(CUSTOMERS, "external_id", "ext-1") is None
        assert len(one.select(CUSTOMERS)) == 1


def test_a_read_unchanged_since_the_last_request_needs_no_round_trip_and_a_write_elsewhere_keeps_it(
        stores, request) -> None:
    one, _ = stores
    one.insert(TAXES, {"id": "tax_1", "rate": "5"})
    one.insert(CUSTOMERS, customer(1))
    with one.request():
        one.poll()
        assert one.select(TAXES)[0:5][0]["id"] == "tax_1"
        assert one.get(CUSTOMERS, "cust_1")["name"] == "Customer 1"
    one.update(CUSTOMERS, "cust_1", {"name": "renamed"})  # this process's own write, to another resource
    with one.request():
        sent = request.getfixturevalue("sent")
        one.poll()
        assert one.select(TAXES)[0:5][0]["id"] == "tax_1"
        assert one.get(CUSTOMERS, "cust_1")["name"] == "renamed"
    assert sent == ["EVALSHA", "HGET"]  # its poll; the taxes as read before; the customer, written since, read again


def test_another_process_writing_during_a_request_makes_its_next_write_drop_every_cached_read(stores) -> None:
    one, other = stores
    one.insert(CUSTOMERS, customer(1))
    with one.request():
        one.poll()
        assert one.get(CUSTOMERS, "cust_1")["name"] == "Customer 1"
        other.update(CUSTOMERS, "cust_1", {"name": "changed elsewhere"})
        one.insert(TAXES, {"id": "tax_1"})  # the version it answers is not one more than this process knew
        assert one.get(CUSTOMERS, "cust_1")["name"] == "changed elsewhere"


def test_reads_outside_a_request_that_caught_up_go_to_redis(stores, redis_url: str) -> None:
    one, _ = stores
    one.insert(CUSTOMERS, customer(1))
    raw = redis.Redis.from_url(redis_url)
    with one.request():
        assert one.get(CUSTOMERS, "cust_1")["name"] == "Customer 1"  # before its poll
        raw.hset(one._k("r:" + CUSTOMERS), "cust_1", b'{"id":"cust_1","name":"raw"}')
        assert one.get(CUSTOMERS, "cust_1")["name"] == "raw"
    assert one.get(CUSTOMERS, "cust_1")["name"] == "raw"
    raw.close()


def test_a_new_connection_drops_the_cache_as_redis_may_have_lost_writes_that_a_stamp_seen_again_hides(
        stores, redis_url: str) -> None:
    one, _ = stores
    one.insert(CUSTOMERS, customer(1))
    with one.request():
        one.poll()
        assert one.get(CUSTOMERS, "cust_1")["name"] == "Customer 1"
    raw = redis.Redis.from_url(redis_url)
    raw.hset(one._k("r:" + CUSTOMERS), "cust_1", b'{"id":"cust_1","name":"restored"}')  # the version unmoved
    raw.client_kill_filter(_type="normal", skipme=True)  # as a restart closes every connection
    with one.request():
        one.poll()
        assert one.get(CUSTOMERS, "cust_1")["name"] == "restored"
    raw.close()


def test_scripts_redis_forgot_are_loaded_again(stores, redis_url: str) -> None:
    one, other = stores
    one.insert(CUSTOMERS, customer(1))
    raw = redis.Redis.from_url(redis_url)
    raw.script_flush()
    one.insert(CUSTOMERS, customer(2))
    with other.request():
        other.poll()
        assert [r["id"] for r in other.select(CUSTOMERS)[0:10]] == ["cust_2", "cust_1"]
    raw.close()


def test_replies_are_parsed_by_hiredis(stores) -> None:
    one, _ = stores
    assert redis.utils.HIREDIS_AVAILABLE
    one.insert(CUSTOMERS, customer(1))
    assert type(one._link._connection._parser).__name__ == "_HiredisParser"


def test_an_answer_read_while_a_write_dropped_its_resource_is_not_kept() -> None:
    cache, calls = ReadCache(), []

    def read_during_a_write() -> str:
        calls.append(1)
        cache.drop(CUSTOMERS)  # another thread's write lands while this read is under way
        return "stale"

    assert cache.read(CUSTOMERS, ("get", "cust_1"), read_during_a_write, len) == "stale"
    assert cache.read(CUSTOMERS, ("get", "cust_1"), lambda: "fresh", len) == "fresh"
    assert cache.read(CUSTOMERS, ("get", "cust_1"), lambda: "unread", len) == "fresh"
    assert calls == [1]


# -- requests received before a stamp read: served on that stamp --------------------------------
def key_of(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def serve(store: RedisStore, received: int | None, raw: str = "sk_one") -> tuple[bool, list[str]]:
    """A list request as the endpoint runs it: its key, its catching up, its page."""
    with store.request(received):
        known = store.key(key_of(raw)) is not None
        store.poll()
        return known, [r["id"] for r in store.select(CUSTOMERS)[0:10]]


@pytest.fixture
def keyed(stores):
    one, other = stores
    one.put_key(key_of("sk_one"), "", None)
    one.insert(CUSTOMERS, customer(1))
    return one, other


def test_a_request_received_before_the_last_stamp_read_authenticates_and_catches_up_with_no_round_trip(
        keyed, request) -> None:
    one, _ = keyed
    early = time.monotonic_ns()
    assert serve(one, time.monotonic_ns()) == (True, ["cust_1"])  # reads the stamp, the key, the page
    sent = request.getfixturevalue("sent")
    assert serve(one, early) == (True, ["cust_1"])
    assert sent == []
    assert serve(one, None) == (True, ["cust_1"])  # a server that does not say when: its own stamp read
    assert serve(one, time.monotonic_ns()) == (True, ["cust_1"])
    assert sent == ["EVALSHA", "EVALSHA"]


def test_a_request_received_after_another_process_wrote_reads_the_write(keyed) -> None:
    one, other = keyed
    early = time.monotonic_ns()
    assert serve(one, time.monotonic_ns()) == (True, ["cust_1"])
    other.insert(CUSTOMERS, customer(2))
    assert serve(one, early) == (True, ["cust_1"])  # received before that write: may be served before it
    assert serve(one, time.monotonic_ns()) == (True, ["cust_2", "cust_1"])
    other.revoke_keys_of("")
    assert serve(one, time.monotonic_ns())[0] is False


def test_a_key_this_process_made_after_a_stamp_read_authenticates_a_request_received_before(keyed) -> None:
    one, _ = keyed
    early = time.monotonic_ns()
    assert serve(one, time.monotonic_ns(), "sk_two") == (False, ["cust_1"])
    one.put_key(key_of("sk_two"), "", None)
    assert serve(one, early, "sk_two") == (True, ["cust_1"])
    one.revoke_keys_of("")
    assert serve(one, early, "sk_two")[0] is False
