"""The store contract: what every backend of the `Store` interface does, pinned once and run on
each (`memory`, `redis`), so the domain services above it never learn which one they have.

Every test opens its stores through `open_store`, as the app does, each inside a `Replica` (what
one mock process runs around it: clock, ids, lifecycle, outbox, API keys). The Redis stores of
one test share a database of their own (`redis_url`), so two replicas on the same namespace are
two processes of one deployment; the last section pins what they must share.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from mock_server.core.failures import Conflict, Invalid, Unavailable
from mock_server.core.times import micros, when
from mock_server.domain.clock import Clock
from mock_server.domain.replica import Replica
from mock_server.storage.opening import open_store
from mock_server.storage.store import ApiKey, Filter, Store, hash_key

from .redis_server import RedisServer, free_port, require_redis_server

CUSTOMERS = "/customers"
PLANS = "/plans"
UNIQUE = {CUSTOMERS: ("external_id",), PLANS: ("lookup_key",)}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
BACKENDS = ["memory", "redis"]

Opener = Callable[..., Replica]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str | None:
    """The url a store of this backend is opened on: None for memory, this test's Redis DB."""
    return None if request.param == "memory" else request.getfixturevalue("redis_url")


def opener(url: str | None, opened: list[Replica]) -> Opener:
    """Open replicas on `url` (same namespace: same shared state), `ready()` as the app makes
    them once its hooks are registered unless told `ready=False`; each is closed after the test."""
    def open_one(namespace: str = "default", ready: bool = True, clock: Clock | None = None) -> Replica:
        replica = Replica(open_store(url, unique_keys=UNIQUE, namespace=namespace), clock)
        opened.append(replica)
        if ready:
            replica.lifecycle.ready()
        return replica

    return open_one


@pytest.fixture
def open_backend(backend: str | None):
    opened: list[Replica] = []
    yield opener(backend, opened)
    for replica in opened:
        replica.store.close()


@pytest.fixture
def replica(open_backend: Opener) -> Replica:
    return open_backend()


@pytest.fixture
def store(replica: Replica) -> Store:
    return replica.store


def owners(replica: Replica) -> dict[str, str]:
    """secret id -> the SHA-256 of its raw key, as state export lists keys (never the raw key)."""
    return {key.secret_id: sha256 for sha256, key in replica.store.key_digests() if key.secret_id}


def add_key(replica: Replica, raw: str, secret_id: str, expires_at: datetime | None) -> None:
    replica.keys.add_digest(hash_key(raw), secret_id, expires_at)


def customer(n: int, **fields) -> dict:
    return {"id": f"cust_{n:04d}", "external_id": f"ext-{n}", "name": f"Customer {n}", **fields}


def event(event_id: str, at: str, customer_id: str = "A", name: str = "llm", **properties) -> tuple[int, str, dict]:
    """What the usage service hands the store: the time in microseconds, the id, and the fields
    without the empty ones."""
    fields = {"event_name": name, "external_customer_id": customer_id, **({"properties": properties} if properties else {}),
              "timestamp": at}
    return micros(when(at)), event_id, fields


def whole(sent: tuple[int, str, dict]) -> dict:
    """The event as the store reads it back: its id, and the empty fields it left out."""
    _, event_id, fields = sent
    return {"id": event_id, "customer_id": "", "properties": {}, "source": "", **fields}


# -- records ---------------------------------------------------------------------------------------
def test_an_inserted_record_reads_back_equal_and_is_returned_by_insert(store: Store) -> None:
    record = customer(1, metadata={"plan": "pro", "seats": 3}, tags=["a", "b"], balance="10.50")
    assert store.insert(CUSTOMERS, record) == record
    assert store.get(CUSTOMERS, "cust_0001") == record


def test_an_unknown_id_or_resource_reads_as_none(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    assert store.get(CUSTOMERS, "cust_9999") is None
    assert store.get("/nothing", "cust_0001") is None


def test_a_read_record_is_a_copy_that_cannot_change_the_stored_one(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1, metadata={"k": "v"}))
    read = store.get(CUSTOMERS, "cust_0001")
    read["name"], read["metadata"]["k"] = "changed", "changed"
    assert store.get(CUSTOMERS, "cust_0001") == customer(1, metadata={"k": "v"})


def test_a_taken_unique_key_is_a_conflict_naming_it_and_stores_nothing(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    with pytest.raises(Conflict) as refused:
        store.insert(CUSTOMERS, customer(2, external_id="ext-1"))
    assert refused.value.details == {"external_id": "ext-1"}
    assert store.get(CUSTOMERS, "cust_0002") is None
    assert store.find(CUSTOMERS, "external_id", "ext-1") == customer(1)
    assert len(store.select(CUSTOMERS)) == 1


def test_empty_and_missing_unique_keys_are_not_unique(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1, external_id=""))
    store.insert(CUSTOMERS, customer(2, external_id=""))
    store.insert(CUSTOMERS, {"id": "cust_0003", "name": "no key"})
    store.insert(CUSTOMERS, {"id": "cust_0004", "name": "no key", "external_id": None})
    assert len(store.select(CUSTOMERS)) == 4


def test_a_unique_key_is_unique_within_its_resource_only(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    store.insert("/wallets", {"id": "wallet_1", "external_id": "ext-1"})
    store.insert(PLANS, {"id": "plan_1", "lookup_key": "ext-1"})
    assert store.find("/wallets", "external_id", "ext-1")["id"] == "wallet_1"


def test_integer_unique_keys_are_unique_and_typed(store: Store) -> None:
    store.insert(PLANS, {"id": "plan_1", "lookup_key": 7})
    with pytest.raises(Conflict):
        store.insert(PLANS, {"id": "plan_2", "lookup_key": 7})
    assert store.find(PLANS, "lookup_key", 7)["id"] == "plan_1"
    assert store.find(PLANS, "lookup_key", "7") is None


def test_find_by_a_unique_key_and_by_any_other_field(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1, email="one@example.com", country="DE"))
    store.insert(CUSTOMERS, customer(2, email="two@example.com", country="FR"))
    store.insert(CUSTOMERS, customer(3, email="three@example.com", country="FR"))
    assert store.find(CUSTOMERS, "external_id", "ext-2") == customer(2, email="two@example.com", country="FR")
    assert store.find(CUSTOMERS, "email", "one@example.com")["id"] == "cust_0001"
    assert store.find(CUSTOMERS, "country", "FR")["id"] in {"cust_0002", "cust_0003"}
    assert store.find(CUSTOMERS, "external_id", "ext-9") is None
    assert store.find(CUSTOMERS, "email", "nobody@example.com") is None
    assert store.find("/nothing", "external_id", "ext-1") is None


def test_update_merges_the_changes_and_returns_the_stored_record(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1, metadata={"a": "1"}))
    updated = store.update(CUSTOMERS, "cust_0001", {"name": "Renamed", "metadata": {"b": "2"}, "email": "e@x.io"})
    assert updated == customer(1, name="Renamed", metadata={"b": "2"}, email="e@x.io")
    assert store.get(CUSTOMERS, "cust_0001") == updated
    assert store.update(CUSTOMERS, "cust_9999", {"name": "x"}) is None
    assert store.get(CUSTOMERS, "cust_9999") is None


def test_an_update_that_changes_a_unique_key_frees_the_old_value(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    store.update(CUSTOMERS, "cust_0001", {"external_id": "moved"})
    assert store.find(CUSTOMERS, "external_id", "moved")["id"] == "cust_0001"
    assert store.find(CUSTOMERS, "external_id", "ext-1") is None
    store.insert(CUSTOMERS, customer(2, external_id="ext-1"))
    assert store.find(CUSTOMERS, "external_id", "ext-1")["id"] == "cust_0002"


def test_an_update_keeping_its_own_unique_key_is_no_conflict(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    assert store.update(CUSTOMERS, "cust_0001", {"external_id": "ext-1", "name": "same key"})["name"] == "same key"


def test_an_update_to_a_taken_unique_key_is_a_conflict_and_changes_nothing(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    store.insert(CUSTOMERS, customer(2))
    with pytest.raises(Conflict) as refused:
        store.update(CUSTOMERS, "cust_0002", {"external_id": "ext-1", "name": "thief"})
    assert refused.value.details == {"external_id": "ext-1"}
    assert store.get(CUSTOMERS, "cust_0002") == customer(2)
    assert store.find(CUSTOMERS, "external_id", "ext-1") == customer(1)
    assert store.find(CUSTOMERS, "external_id", "ext-2") == customer(2)


def test_delete_returns_the_record_and_frees_its_unique_keys(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1))
    assert store.delete(CUSTOMERS, "cust_0001") == customer(1)
    assert store.get(CUSTOMERS, "cust_0001") is None
    assert store.find(CUSTOMERS, "external_id", "ext-1") is None
    assert store.delete(CUSTOMERS, "cust_0001") is None
    store.insert(CUSTOMERS, customer(2, external_id="ext-1"))
    assert store.find(CUSTOMERS, "external_id", "ext-1")["id"] == "cust_0002"


# -- select, pages, dump ---------------------------------------------------------------------------
def fill(store: Store, count: int, **fields) -> list[dict]:
    return [store.insert(CUSTOMERS, customer(n, **fields)) for n in range(1, count + 1)]


def test_select_without_a_filter_is_every_record_newest_first(store: Store) -> None:
    records = fill(store, 5)
    assert list(store.select(CUSTOMERS)) == records[::-1]
    assert list(store.select("/nothing")) == []


def test_an_updated_record_keeps_its_place_and_a_deleted_one_leaves(store: Store) -> None:
    fill(store, 3)
    store.update(CUSTOMERS, "cust_0001", {"name": "updated"})
    store.delete(CUSTOMERS, "cust_0002")
    assert [r["id"] for r in store.select(CUSTOMERS)] == ["cust_0003", "cust_0001"]


def test_select_pages_slice_like_lists_and_count_every_record(store: Store) -> None:
    records = fill(store, 7)[::-1]
    page = store.select(CUSTOMERS)
    assert len(page) == 7
    assert page[0] == records[0] and page[-1] == records[-1] and page[3] == records[3]
    assert page[2:5] == records[2:5]
    assert page[5:50] == records[5:]
    assert page[7:9] == []
    with pytest.raises(IndexError):
        page[7]


def test_a_filter_keeps_records_equal_on_every_field_newest_first(store: Store) -> None:
    for n in range(1, 7):
        store.insert(CUSTOMERS, customer(n, country="FR" if n % 2 else "DE", tier="gold" if n < 4 else "free"))
    found = store.select(CUSTOMERS, Filter([("country", "FR"), ("tier", "gold")]))
    assert [r["id"] for r in found] == ["cust_0003", "cust_0001"]
    assert found[0] == customer(3, country="FR", tier="gold")
    assert list(store.select(CUSTOMERS, Filter([("country", "IT")]))) == []


def test_a_filter_set_keeps_records_whose_field_is_one_of_its_ids(store: Store) -> None:
    fill(store, 5)
    found = store.select(CUSTOMERS, Filter([("id", {"cust_0002", "cust_0004", "cust_9999"})]))
    assert [r["id"] for r in found] == ["cust_0004", "cust_0002"]
    both = store.select(CUSTOMERS, Filter([("id", {"cust_0002", "cust_0004"}), ("external_id", "ext-4")]))
    assert [r["id"] for r in both] == ["cust_0004"]
    assert list(store.select(CUSTOMERS, Filter([("id", set())]))) == []


def test_a_filter_compares_typed_values_and_text_that_json_escapes(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1, seats=2, name='Zoë "the" \\ Ünïcode'))
    store.insert(CUSTOMERS, customer(2, seats="2", name="plain"))
    assert [r["id"] for r in store.select(CUSTOMERS, Filter([("seats", 2)]))] == ["cust_0001"]
    assert [r["id"] for r in store.select(CUSTOMERS, Filter([("seats", "2")]))] == ["cust_0002"]
    assert [r["id"] for r in store.select(CUSTOMERS, Filter([("name", 'Zoë "the" \\ Ünïcode')]))] == ["cust_0001"]


def test_a_filter_matches_the_field_not_text_elsewhere_in_the_record(store: Store) -> None:
    store.insert(CUSTOMERS, customer(1, name="FR", country="DE"))
    store.insert(CUSTOMERS, customer(2, name="x", country="FR"))
    assert [r["id"] for r in store.select(CUSTOMERS, Filter([("country", "FR")]))] == ["cust_0002"]


def test_dump_is_every_record_by_resource_oldest_first(store: Store) -> None:
    records = fill(store, 3)
    plan = store.insert(PLANS, {"id": "plan_1", "lookup_key": "pro"})
    store.insert("/gone", {"id": "gone_1"})
    store.delete("/gone", "gone_1")
    assert store.dump() == {CUSTOMERS: records, PLANS: [plan]}


# -- API keys --------------------------------------------------------------------------------------
def test_an_added_key_authenticates_and_nothing_else_does(replica: Replica) -> None:
    add_key(replica, "sk_live_one", "secret_1", None)
    assert replica.keys.authenticate("sk_live_one")
    assert not replica.keys.authenticate("sk_live_two")
    assert not replica.keys.authenticate("")
    assert not replica.keys.authenticate(None)


def test_a_key_authenticates_until_its_wall_clock_expiry(replica: Replica) -> None:
    now = datetime.now(timezone.utc)
    add_key(replica, "sk_expired", "secret_1", now - timedelta(seconds=1))
    add_key(replica, "sk_expiring", "secret_2", now + timedelta(hours=1))
    assert not replica.keys.authenticate("sk_expired")
    assert replica.keys.authenticate("sk_expiring")


def test_key_expiry_follows_wall_time_not_the_billing_clock(open_backend: Opener) -> None:
    replica = open_backend(clock=Clock(datetime.now(timezone.utc)))
    add_key(replica, "sk_expiring", "secret_1", datetime.now(timezone.utc) + timedelta(hours=1))
    replica.clock.advance("P1M")
    assert replica.keys.authenticate("sk_expiring")


def test_a_key_known_by_its_digest_authenticates_with_the_raw_key(replica: Replica) -> None:
    replica.keys.add_digest(hash_key("sk_from_fixture"), "secret_f")
    assert replica.keys.authenticate("sk_from_fixture")
    assert owners(replica) == {"secret_f": hash_key("sk_from_fixture")}


def test_an_issued_key_is_new_prefixed_by_its_kind_and_authenticates(replica: Replica) -> None:
    private = replica.keys.issue("private_key", "secret_1", None)
    public = replica.keys.issue("publishable_key", "secret_2", None)
    assert private.startswith("sk_") and public.startswith("pk_") and private[3:] != public[3:]
    assert replica.keys.authenticate(private) and replica.keys.authenticate(public)
    assert owners(replica) == {"secret_1": hash_key(private), "secret_2": hash_key(public)}


def test_revoking_a_secret_ends_its_keys_only(replica: Replica) -> None:
    add_key(replica, "sk_a1", "secret_a", None)
    add_key(replica, "sk_a2", "secret_a", datetime.now(timezone.utc) + timedelta(days=1))
    add_key(replica, "sk_b", "secret_b", None)
    replica.keys.revoke("secret_a")
    assert not replica.keys.authenticate("sk_a1") and not replica.keys.authenticate("sk_a2")
    assert replica.keys.authenticate("sk_b")
    assert owners(replica) == {"secret_b": hash_key("sk_b")}
    replica.keys.revoke("secret_unknown")
    assert replica.keys.authenticate("sk_b")


def test_key_exports_hold_digests_owners_and_expiries_never_raw_keys(open_backend: Opener) -> None:
    replica = open_backend()
    replica.keys.add_bootstrap("sk_bootstrap")
    expiry = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    add_key(replica, "sk_one", "secret_1", expiry)
    add_key(replica, "sk_two", "secret_2", None)
    assert owners(replica) == {"secret_1": hash_key("sk_one"), "secret_2": hash_key("sk_two")}
    assert dict(replica.keys.digests()) == {
        hash_key("sk_bootstrap"): ApiKey("", None),
        hash_key("sk_one"): ApiKey("secret_1", expiry),
        hash_key("sk_two"): ApiKey("secret_2", None),
    }


def test_bootstrap_keys_survive_a_reset_and_every_other_key_goes(open_backend: Opener) -> None:
    replica = open_backend()
    replica.keys.add_bootstrap("sk_bootstrap")
    add_key(replica, "sk_made", "secret_1", None)
    replica.lifecycle.reset()
    assert replica.keys.authenticate("sk_bootstrap")
    assert not replica.keys.authenticate("sk_made")
    assert owners(replica) == {}
    assert dict(replica.keys.digests()) == {hash_key("sk_bootstrap"): ApiKey("", None)}


# -- usage events ----------------------------------------------------------------------------------
def test_an_event_reads_back_whole(store: Store) -> None:
    sent = event("evt-1", "2026-01-05T10:00:00.000Z", tokens="40")
    assert store.add_events([sent]) == []
    assert store.event("evt-1") == whole(sent)
    assert store.event("evt-unknown") is None


def test_an_event_with_every_optional_field_or_one_beyond_them_reads_back_whole(store: Store) -> None:
    at, _, fields = event("evt-x", "2026-01-05T10:00:00.000Z", tokens="40")
    full = (at, "evt-full", {**fields, "customer_id": "cus_1", "source": "api"})
    odd = (at + 1, "evt-odd", {**fields, "source": "api", "region": "eu"})
    bare = (at + 2, "evt-bare", {k: v for k, v in fields.items() if k != "properties"})
    store.add_events([full, odd, bare])
    assert [store.event(i) for i in ("evt-full", "evt-odd", "evt-bare")] == [whole(full), whole(odd), whole(bare)]
    assert [e["id"] for e in store.events_of("A", "llm")] == ["evt-full", "evt-odd", "evt-bare"]
    assert store.event_fields("A", "llm")[1]["region"] == "eu"


def test_events_of_is_one_customers_events_of_one_name_in_the_window_oldest_first(store: Store) -> None:
    store.add_events([
        event("evt-3", "2026-01-03T00:00:00.000Z", tokens="3"),
        event("evt-1", "2026-01-01T00:00:00.000Z", tokens="1"),
        event("evt-4", "2026-01-04T00:00:00.000Z", tokens="4"),
        event("evt-2", "2026-01-02T00:00:00.000Z", tokens="2"),
        event("evt-other-customer", "2026-01-02T00:00:00.000Z", customer_id="B"),
        event("evt-other-name", "2026-01-02T00:00:00.000Z", name="embedding"),
    ])
    start, end = micros(when("2026-01-02T00:00:00Z")), micros(when("2026-01-04T00:00:00Z"))
    assert [e["id"] for e in store.events_of("A", "llm", start, end)] == ["evt-2", "evt-3"]
    assert [e["id"] for e in store.events_of("A", "llm")] == ["evt-1", "evt-2", "evt-3", "evt-4"]
    assert [e["id"] for e in store.events_of("A", "llm", start)] == ["evt-2", "evt-3", "evt-4"]
    assert [e["id"] for e in store.events_of("A", "llm", None, end)] == ["evt-1", "evt-2", "evt-3"]
    assert store.events_of("A", "llm", start, end)[0] == whole(event("evt-2", "2026-01-02T00:00:00.000Z", tokens="2"))
    assert store.events_of("C", "llm") == []


def test_the_window_bounds_are_exact_to_the_microsecond(store: Store) -> None:
    store.add_events([event("evt-edge", "2026-01-02T00:00:00.000Z")])
    at = micros(when("2026-01-02T00:00:00Z"))
    assert [e["id"] for e in store.events_of("A", "llm", at, at + 1)] == ["evt-edge"]
    assert store.events_of("A", "llm", at + 1, None) == []
    assert store.events_of("A", "llm", None, at) == []


def test_event_fields_are_the_same_window_as_stored(store: Store) -> None:
    store.add_events([event("evt-2", "2026-01-02T00:00:00.000Z", tokens="2"),
                      event("evt-1", "2026-01-01T00:00:00.000Z", tokens="1")])
    decoded = store.event_fields("A", "llm")
    assert [(e["event_name"], e["external_customer_id"], e["timestamp"], e["properties"]) for e in decoded] == [
        ("llm", "A", "2026-01-01T00:00:00.000Z", {"tokens": "1"}), ("llm", "A", "2026-01-02T00:00:00.000Z", {"tokens": "2"})]
    assert "id" not in decoded[0]
    start = micros(when("2026-01-02T00:00:00Z"))
    assert [e["properties"] for e in store.event_fields("A", "llm", start)] == [{"tokens": "2"}]
    assert store.event_fields("B", "llm") == []


def test_a_resent_event_id_replaces_the_event_it_repeats_and_says_which(store: Store) -> None:
    first = event("evt-1", "2026-01-01T00:00:00.000Z", tokens="1")
    store.add_events([first])
    replaced = store.add_events([event("evt-1", "2026-01-05T00:00:00.000Z", customer_id="B", name="embedding", tokens="9")])
    assert replaced == [whole(first)]
    assert store.events_of("A", "llm") == []
    assert [e["properties"] for e in store.events_of("B", "embedding")] == [{"tokens": "9"}]
    assert [e["id"] for e in store.all_events()] == ["evt-1"]
    assert store.event("evt-1")["timestamp"] == "2026-01-05T00:00:00.000Z"


def test_a_resent_event_in_the_same_batch_counts_once(store: Store) -> None:
    store.add_events([event("evt-1", "2026-01-01T00:00:00.000Z", tokens="1"),
                      event("evt-1", "2026-01-02T00:00:00.000Z", tokens="2")])
    assert [e["properties"] for e in store.events_of("A", "llm")] == [{"tokens": "2"}]


def test_events_named_is_every_customers_events_of_that_name_in_the_window(store: Store) -> None:
    store.add_events([
        event("evt-a1", "2026-01-01T00:00:00.000Z"), event("evt-b2", "2026-01-02T00:00:00.000Z", customer_id="B"),
        event("evt-c3", "2026-01-03T00:00:00.000Z", customer_id="C"), event("evt-x", "2026-01-02T00:00:00.000Z", name="x"),
    ])
    assert sorted(e["id"] for e in store.events_named("llm")) == ["evt-a1", "evt-b2", "evt-c3"]
    start, end = micros(when("2026-01-02T00:00:00Z")), micros(when("2026-01-03T00:00:00Z"))
    assert [e["id"] for e in store.events_named("llm", start, end)] == ["evt-b2"]
    assert list(store.events_named("unknown")) == []


def test_all_events_is_every_stored_event_whole(store: Store) -> None:
    sent = [event("evt-1", "2026-01-01T00:00:00.000Z", tokens="1"),
            event("evt-2", "2026-01-02T00:00:00.000Z", customer_id="B", name="other")]
    store.add_events(sent)
    found = {e["id"]: e for e in store.all_events()}
    assert found == {one[1]: whole(one) for one in sent}


# -- sequences, ids, the clock --------------------------------------------------------------------
def test_sequences_count_from_one_per_name(store: Store) -> None:
    assert [store.next_in_sequence("invoice:2026-01") for _ in range(3)] == [1, 2, 3]
    assert store.next_in_sequence("invoice:2026-02") == 1
    assert store.next_in_sequence("invoice:2026-01") == 4


def test_ids_carry_their_prefix_and_a_ulid_and_never_repeat(replica: Replica) -> None:
    made = [replica.ids.new("cust") for _ in range(500)]
    assert len(set(made)) == 500
    assert all(i.startswith("cust_") and len(i) == len("cust_") + 26 for i in made)
    tenant = replica.tenant
    assert [tenant.tenant_id[:7], tenant.environment_id[:4], tenant.user_id[:5]] == ["tenant_", "env_", "user_"]


def test_the_replica_keeps_the_clock_it_was_given(open_backend: Opener) -> None:
    replica = open_backend(clock=Clock(START))
    assert replica.clock.now() == START
    replica.clock.advance("P1D")
    assert replica.clock.now() == START + timedelta(days=1)


# -- reset -----------------------------------------------------------------------------------------
def test_reset_clears_records_events_keys_sequences_outbox_and_the_clock(open_backend: Opener) -> None:
    replica = open_backend(clock=Clock(START))
    store = replica.store
    fill(store, 3)
    add_key(replica, "sk_made", "secret_1", None)
    store.add_events([event("evt-1", "2026-01-01T00:00:00.000Z")])
    store.next_in_sequence("invoice")
    replica.outbox.record("customer.created", "customer", customer(1))
    replica.clock.advance("P1M")
    replica.lifecycle.reset()
    assert store.dump() == {}
    assert list(store.select(CUSTOMERS)) == []
    assert store.find(CUSTOMERS, "external_id", "ext-1") is None
    assert not replica.keys.authenticate("sk_made")
    assert store.all_events() == [] and store.event("evt-1") is None and store.events_of("A", "llm") == []
    assert store.next_in_sequence("invoice") == 1
    assert replica.outbox.entries() == []
    assert replica.clock.now() == START
    store.insert(CUSTOMERS, customer(1))


def test_on_reset_hooks_run_when_added_and_after_every_reset(open_backend: Opener) -> None:
    """The process that sets an empty store up runs them as they are registered."""
    replica = open_backend(ready=False)
    calls: list[str] = []

    def seed() -> None:
        calls.append("seed")
        replica.store.insert(CUSTOMERS, customer(len(calls), name="seeded"))

    replica.lifecycle.on_reset(seed)
    replica.lifecycle.ready()
    assert calls == ["seed"]
    replica.store.insert(CUSTOMERS, customer(50))
    replica.lifecycle.reset()
    assert calls == ["seed", "seed"]
    assert [r["id"] for r in replica.store.select(CUSTOMERS)] == ["cust_0002"]


def test_on_local_reset_hooks_run_when_added_and_after_every_reset(replica: Replica) -> None:
    calls: list[str] = []
    replica.lifecycle.on_local_reset(lambda: calls.append("local"))
    assert calls == ["local"]
    replica.lifecycle.reset()
    assert calls == ["local", "local"]


# -- the outbox ------------------------------------------------------------------------------------
def test_each_recorded_change_is_in_the_outbox_in_order_and_told_to_listeners(open_backend: Opener) -> None:
    replica = open_backend(clock=Clock(START))
    heard: list[dict] = []
    replica.outbox.on_change(heard.append)
    first = replica.outbox.record("customer.created", "customer", customer(1))
    second = replica.outbox.record("customer.updated", "customer", customer(1, name="x"))
    assert first["id"].startswith("sys_event_") and first["id"] != second["id"]
    assert {k: v for k, v in first.items() if k != "id"} == {
        "event_type": "customer.created", "entity": "customer", "timestamp": "2026-01-01T00:00:00.000Z",
        "payload": customer(1)}
    assert replica.outbox.entries() == [first, second]
    assert heard == [first, second]


# -- the write lock --------------------------------------------------------------------------------
def read_modify_write(stores: list[Store], threads_per_store: int, increments: int) -> None:
    """What a wallet top-up does: read a balance, add to it, write it back, inside atomic()."""
    def top_up(target: Store) -> None:
        for _ in range(increments):
            with target.atomic():
                balance = target.get("/wallets", "wallet_1")["balance"]
                target.update("/wallets", "wallet_1", {"balance": balance + 1})

    workers = [threading.Thread(target=top_up, args=(s,)) for s in stores for _ in range(threads_per_store)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)


def test_read_modify_writes_inside_atomic_lose_no_update(store: Store) -> None:
    store.insert("/wallets", {"id": "wallet_1", "balance": 0})
    read_modify_write([store], threads_per_store=8, increments=25)
    assert store.get("/wallets", "wallet_1")["balance"] == 200


# -- Redis: two replicas on one namespace are two processes of one deployment -------------------------
@pytest.fixture
def redis_opener(redis_url: str):
    opened: list[Replica] = []
    yield opener(redis_url, opened)
    for replica in opened:
        replica.store.close()


@pytest.fixture
def pair(redis_opener: Opener) -> tuple[Replica, Replica]:
    return redis_opener(), redis_opener()


def test_records_written_through_one_process_are_read_through_the_other(pair) -> None:
    one, other = (r.store for r in pair)
    one.insert(CUSTOMERS, customer(1))
    other.insert(CUSTOMERS, customer(2))
    assert other.get(CUSTOMERS, "cust_0001") == customer(1)
    assert one.find(CUSTOMERS, "external_id", "ext-2") == customer(2)
    assert [r["id"] for r in one.select(CUSTOMERS)] == ["cust_0002", "cust_0001"]
    other.update(CUSTOMERS, "cust_0001", {"name": "renamed"})
    assert one.get(CUSTOMERS, "cust_0001")["name"] == "renamed"
    one.delete(CUSTOMERS, "cust_0002")
    assert other.dump() == {CUSTOMERS: [customer(1, name="renamed")]}


def test_a_key_made_through_one_process_authenticates_through_the_other_until_revoked(pair) -> None:
    one, other = pair
    add_key(one, "sk_shared", "secret_1", None)
    assert other.keys.authenticate("sk_shared")
    assert owners(other) == {"secret_1": hash_key("sk_shared")}
    other.keys.revoke("secret_1")
    assert not one.keys.authenticate("sk_shared")


def test_a_unique_key_taken_through_one_process_is_refused_through_the_other(pair) -> None:
    one, other = (r.store for r in pair)
    one.insert(CUSTOMERS, customer(1))
    with pytest.raises(Conflict):
        other.insert(CUSTOMERS, customer(2, external_id="ext-1"))
    other.insert(CUSTOMERS, customer(3))
    with pytest.raises(Conflict):
        one.update(CUSTOMERS, "cust_0001", {"external_id": "ext-3"})
    assert other.get(CUSTOMERS, "cust_0002") is None
    assert one.get(CUSTOMERS, "cust_0001") == customer(1)


def test_a_unique_key_raced_from_both_processes_is_won_exactly_once(pair) -> None:
    one, other = (r.store for r in pair)
    wins: list[str] = []
    barrier = threading.Barrier(16)

    def claim(target: Store, n: int) -> None:
        barrier.wait()
        try:
            target.insert(CUSTOMERS, customer(n, external_id="contested"))
            wins.append(f"cust_{n:04d}")
        except Conflict:
            pass

    workers = [threading.Thread(target=claim, args=((one, other)[n % 2], n)) for n in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(wins) == 1
    assert [r["id"] for r in one.select(CUSTOMERS)] == wins
    assert other.find(CUSTOMERS, "external_id", "contested")["id"] == wins[0]


def test_read_modify_writes_inside_atomic_lose_nothing_across_processes(pair) -> None:
    one, other = (r.store for r in pair)
    one.insert("/wallets", {"id": "wallet_1", "balance": 0})
    read_modify_write([one, other], threads_per_store=4, increments=25)
    assert other.get("/wallets", "wallet_1")["balance"] == 200


def test_ids_and_sequences_never_repeat_across_processes(pair) -> None:
    ids = [target.ids.new("cust") for _ in range(300) for target in pair]
    assert len(set(ids)) == 600
    numbers = [target.store.next_in_sequence("invoice") for _ in range(50) for target in pair]
    assert sorted(numbers) == list(range(1, 101))


def test_events_sent_through_one_process_are_counted_through_the_other(pair) -> None:
    one, other = (r.store for r in pair)
    one.add_events([event("evt-1", "2026-01-01T00:00:00.000Z", tokens="1")])
    other.add_events([event("evt-2", "2026-01-02T00:00:00.000Z", tokens="2")])
    one.add_events([event("evt-2", "2026-01-03T00:00:00.000Z", tokens="3")])
    assert [e["properties"] for e in other.events_of("A", "llm")] == [{"tokens": "1"}, {"tokens": "3"}]
    assert other.event("evt-1") == one.event("evt-1")


def test_both_processes_share_one_tenant_and_one_clock(redis_opener: Opener) -> None:
    one, other = redis_opener(clock=Clock(START)), redis_opener(clock=Clock(START))
    assert one.tenant == other.tenant
    one.clock.advance("P1M")
    other.lifecycle.sync()
    assert other.clock.now() == datetime(2026, 2, 1, tzinfo=timezone.utc)


def test_a_reset_through_one_process_resets_what_the_other_sees(pair) -> None:
    one, other = pair
    one.keys.add_bootstrap("sk_bootstrap")
    other.keys.add_bootstrap("sk_bootstrap")
    one.store.insert(CUSTOMERS, customer(1))
    add_key(one, "sk_made", "secret_1", None)
    one.store.add_events([event("evt-1", "2026-01-01T00:00:00.000Z")])
    other.lifecycle.reset()
    one.lifecycle.sync()
    assert one.store.get(CUSTOMERS, "cust_0001") is None
    assert not one.keys.authenticate("sk_made")
    assert one.keys.authenticate("sk_bootstrap")
    assert one.store.all_events() == []
    assert one.tenant == other.tenant
    one.store.insert(CUSTOMERS, customer(1))


def test_each_process_keeps_its_own_bootstrap_keys_through_another_ones_reset(pair) -> None:
    one, other = pair
    one.keys.add_bootstrap("sk_one")
    other.keys.add_bootstrap("sk_other")
    other.lifecycle.reset()
    assert not other.keys.authenticate("sk_one")  # until `one` hears of the reset
    one.lifecycle.sync()
    assert one.keys.authenticate("sk_one") and other.keys.authenticate("sk_other")


def test_a_change_is_told_to_the_listeners_of_the_process_that_made_it_only(pair) -> None:
    """Each webhook is delivered once in all: by the process that made the change."""
    one, other = pair
    heard_one: list[dict] = []
    heard_other: list[dict] = []
    one.outbox.on_change(heard_one.append)
    other.outbox.on_change(heard_other.append)
    change = one.outbox.record("customer.created", "customer", customer(1))
    assert heard_one == [change]
    assert heard_other == []


def test_the_first_process_on_an_empty_namespace_sets_it_up_and_the_others_adopt_it(redis_opener: Opener) -> None:
    """Fixtures are loaded once, whatever the number of processes."""
    seeded: list[str] = []

    def seed(replica: Replica, name: str) -> Callable[[], None]:
        def hook() -> None:
            seeded.append(name)
            replica.store.insert(CUSTOMERS, customer(len(seeded), name=name))
        return hook

    first = redis_opener(ready=False)
    first.lifecycle.on_reset(seed(first, "first"))
    first.lifecycle.ready()
    second = redis_opener(ready=False)
    second.lifecycle.on_reset(seed(second, "second"))
    second.lifecycle.ready()
    assert seeded == ["first"]
    assert second.store.get(CUSTOMERS, "cust_0001") == customer(1, name="first")
    second.lifecycle.reset()
    assert seeded == ["first", "second"]


def test_a_reset_by_another_process_runs_this_ones_local_hooks_at_its_next_sync(pair) -> None:
    one, other = pair
    local: list[str] = []
    shared: list[str] = []
    one.lifecycle.on_local_reset(lambda: local.append("one"))
    one.lifecycle.on_reset(lambda: shared.append("one"))
    local.clear()
    other.lifecycle.reset()
    assert local == []
    one.lifecycle.sync()
    assert local == ["one"] and shared == []


def test_a_process_hears_at_its_next_sync_that_another_changed_the_state(pair) -> None:
    one, other = pair
    stale: list[int] = []
    one.lifecycle.on_stale(lambda: stale.append(1))
    one.store.insert(CUSTOMERS, customer(1))
    one.lifecycle.sync()
    assert stale == []
    other.store.insert(CUSTOMERS, customer(2))
    one.lifecycle.sync()
    assert stale == [1]
    one.lifecycle.sync()
    assert stale == [1]


@pytest.mark.parametrize("namespace", ["a:b", "a*", "", "x" * 65, "ci 1"])
def test_a_namespace_that_could_overlap_another_is_refused(redis_url: str, namespace: str) -> None:
    """`a:b` would sit inside the keys of `a` (`flexprice-mock:a:*`), so a reset of `a` would wipe it."""
    with pytest.raises(Invalid) as refused:
        open_store(redis_url, unique_keys=UNIQUE, namespace=namespace)
    assert refused.value.field == "namespace"


def test_two_namespaces_on_one_redis_see_nothing_of_each_other(redis_opener: Opener) -> None:
    ci_1, ci_2 = redis_opener("ci-1"), redis_opener("ci-2")
    ci_1.store.insert(CUSTOMERS, customer(1))
    add_key(ci_1, "sk_ci_1", "secret_1", None)
    ci_1.store.add_events([event("evt-1", "2026-01-01T00:00:00.000Z")])
    ci_1.store.next_in_sequence("invoice")
    assert ci_2.store.get(CUSTOMERS, "cust_0001") is None
    assert ci_2.store.dump() == {}
    assert not ci_2.keys.authenticate("sk_ci_1")
    assert ci_2.store.all_events() == []
    assert ci_2.store.next_in_sequence("invoice") == 1
    ci_2.store.insert(CUSTOMERS, customer(2, external_id="ext-1"))
    ci_2.lifecycle.reset()
    assert ci_1.store.get(CUSTOMERS, "cust_0001") == customer(1)
    assert ci_1.keys.authenticate("sk_ci_1")


# -- Redis: unreachable ----------------------------------------------------------------------------
def test_joining_a_redis_that_is_not_there_is_unavailable_within_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        Replica(open_store(f"redis://127.0.0.1:{free_port()}/0", unique_keys=UNIQUE))
    assert time.monotonic() - started < 5


@pytest.fixture
def own_redis(tmp_path):
    with RedisServer(tmp_path / "redis", require_redis_server()) as server:
        yield server


@pytest.mark.parametrize("fault", ["kill", "pause"])
def test_a_lost_redis_is_unavailable_within_seconds_and_serves_again_with_what_it_acknowledged(own_redis, fault: str) -> None:
    replica = Replica(open_store(own_redis.url(0), unique_keys=UNIQUE))
    store = replica.store
    try:
        store.insert(CUSTOMERS, customer(1))
        add_key(replica, "sk_kept", "secret_1", None)
        getattr(own_redis, fault)()
        for call in (lambda: store.get(CUSTOMERS, "cust_0001"), lambda: store.insert(CUSTOMERS, customer(2))):
            started = time.monotonic()
            with pytest.raises(Unavailable):
                call()
            assert time.monotonic() - started < 5
        own_redis.ensure_running()
        assert store.get(CUSTOMERS, "cust_0001") == customer(1)
        assert replica.keys.authenticate("sk_kept")
        store.insert(CUSTOMERS, customer(3))
        # the refused insert may still land once a paused Redis reads its socket: a 503 promises nothing
        assert {r["id"] for r in store.select(CUSTOMERS)} - {"cust_0002"} == {"cust_0001", "cust_0003"}
    finally:
        own_redis.ensure_running()
        store.close()
