"""Exact behaviour of the mock on the full Flexprice spec: state, keys, references, actions,
events and wallets. Every response is also checked against the spec with openapi-core."""
from __future__ import annotations

import re

import pytest

ULID = r"[0-9A-HJKMNP-TV-Z]{26}"


@pytest.fixture
def api(full_client, full_checker):
    """`api("POST", "customers", json=...)` -> the response, already checked against the spec."""
    def call(method: str, path: str, **kwargs):
        response = full_client.request(method, path, **kwargs)
        full_checker.check(response)
        return response
    return call


def created(api, path: str, body: dict) -> dict:
    response = api("POST", path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def customer(api, external_id: str = "cus-ext-1", **extra) -> dict:
    return created(api, "customers", {"external_id": external_id, "name": "Ada", **extra})


def plan(api, lookup_key: str = "pro") -> dict:
    return created(api, "plans", {"name": "Pro", "lookup_key": lookup_key})


def price(api, plan_id: str, **extra) -> dict:
    return created(api, "prices", {
        "amount": "10", "currency": "usd", "entity_type": "PLAN", "entity_id": plan_id, "type": "FIXED",
        "billing_model": "FLAT_FEE", "billing_period": "MONTHLY", "invoice_cadence": "ARREAR",
        "price_unit_type": "FIAT", **extra})


def subscription(api, customer_id: str, plan_id: str, priced: bool = True) -> dict:
    """A monthly usd subscription; the real server needs a plan price that fits, so one is made
    unless the test made its own (`priced=False`)."""
    if priced:
        price(api, plan_id)
    return created(api, "subscriptions", {"customer_id": customer_id, "plan_id": plan_id,
                                          "currency": "usd", "billing_period": "MONTHLY"})


def wallet(api, customer_id: str, **extra) -> dict:
    return created(api, "wallets", {"customer_id": customer_id, "currency": "usd", **extra})


def error_code(response) -> str:
    return response.json()["code"]


# -- create / get / update / delete ----------------------------------------------------------------
def test_created_customer_has_the_sent_fields_and_server_fields(api, full_mock):
    body = customer(api, email="ada@example.com", metadata={"tier": "gold"})
    assert re.fullmatch(rf"cust_{ULID}", body["id"])
    assert (body["external_id"], body["name"], body["email"], body["metadata"]) == (
        "cus-ext-1", "Ada", "ada@example.com", {"tier": "gold"})
    assert body["status"] == "published"
    assert body["tenant_id"] == full_mock.backend.tenant.tenant_id and body["environment_id"] == full_mock.backend.tenant.environment_id
    assert body["created_at"] == body["updated_at"]
    assert api("GET", f"customers/{body['id']}").json() == body


def test_every_record_shares_one_tenant_and_environment(api):
    first, second = customer(api), plan(api)
    assert (first["tenant_id"], first["environment_id"]) == (second["tenant_id"], second["environment_id"])
    assert re.fullmatch(rf"plan_{ULID}", second["id"])


def test_update_merges_and_moves_updated_at(api):
    body = customer(api, email="ada@example.com")
    response = api("PUT", "customers", params={"id": body["id"]}, json={"name": "Ada L."})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["email"], updated["external_id"]) == ("Ada L.", "ada@example.com", "cus-ext-1")
    assert updated["updated_at"] >= body["updated_at"] and updated["created_at"] == body["created_at"]
    assert api("GET", f"customers/{body['id']}").json()["name"] == "Ada L."


def test_update_by_external_customer_id(api):
    body = customer(api, external_id="by-ext")
    response = api("PUT", "customers", params={"external_customer_id": "by-ext"}, json={"email": "x@example.com"})
    assert (response.status_code, response.json()["id"], response.json()["email"]) == (200, body["id"], "x@example.com")
    missing = api("PUT", "customers", params={"external_customer_id": "nobody"}, json={"email": "x@example.com"})
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert api("PUT", "customers", json={"email": "x@example.com"}).status_code == 400


def test_deleted_customer_answers_204_then_404_not_found(api):
    body = customer(api)
    response = api("DELETE", f"customers/{body['id']}")
    assert (response.status_code, response.content) == (204, b"")
    gone = api("GET", f"customers/{body['id']}")
    assert (gone.status_code, error_code(gone)) == (404, "not_found")
    assert api("DELETE", f"customers/{body['id']}").status_code == 404


def test_unknown_request_fields_are_ignored(api):
    plan_id = plan(api)["id"]
    body = price(api, plan_id, billing_cadence="RECURRING", not_a_field="x")
    assert "not_a_field" not in body and body["entity_id"] == plan_id
    sub = created(api, "subscriptions", {"customer_id": customer(api)["id"], "plan_id": plan_id, "currency": "usd",
                                         "billing_period": "MONTHLY", "billing_cadence": "RECURRING"})
    assert sub["plan_id"] == plan_id


# -- unique keys --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, body, key", [
    ("customers", {"name": "A", "external_id": "same"}, "external_id"),
    ("plans", {"name": "A", "lookup_key": "same"}, "lookup_key"),
    ("addons", {"name": "A", "lookup_key": "same"}, "lookup_key"),
    ("coupons", {"name": "A", "type": "fixed", "cadence": "once", "amount_off": "5", "coupon_code": "SAME"}, "coupon_code"),
    ("prices/units", {"name": "Credit", "code": "same", "symbol": "c", "base_currency": "usd",
                      "conversion_rate": "1"}, "code"),
])
def test_a_second_record_with_the_same_unique_key_is_409_already_exists(api, path, body, key):
    created(api, path, body)
    again = api("POST", path, json=body)
    assert (again.status_code, error_code(again)) == (409, "already_exists")
    assert key in again.json()["message"]


def test_a_unique_key_is_free_again_after_delete(api):
    first = customer(api, external_id="reuse")
    api("DELETE", f"customers/{first['id']}")
    assert customer(api, external_id="reuse")["id"] != first["id"]


# -- references ---------------------------------------------------------------------------------------
def test_references_to_unknown_records_are_404_not_found(api):
    cust, pro = customer(api), plan(api)
    cases = [
        ("subscriptions", {"customer_id": "cust_missing", "plan_id": pro["id"], "currency": "usd",
                           "billing_period": "MONTHLY"}),
        ("subscriptions", {"customer_id": cust["id"], "plan_id": "plan_missing", "currency": "usd",
                           "billing_period": "MONTHLY"}),
        ("wallets", {"customer_id": "cust_missing", "currency": "usd"}),
        ("wallets", {"external_customer_id": "nobody", "currency": "usd"}),
    ]
    for path, body in cases:
        response = api("POST", path, json=body)
        assert (response.status_code, error_code(response)) == (404, "not_found"), (path, body)
    bad_price = api("POST", "prices", json={
        "amount": "1", "currency": "usd", "entity_type": "PLAN", "entity_id": "plan_missing", "type": "FIXED",
        "billing_model": "FLAT_FEE", "billing_period": "MONTHLY", "invoice_cadence": "ARREAR",
        "price_unit_type": "FIAT"})
    assert (bad_price.status_code, error_code(bad_price)) == (404, "not_found")


def test_wallet_by_external_customer_id_is_linked_to_that_customer(api):
    cust = customer(api, external_id="ext-w")
    body = created(api, "wallets", {"external_customer_id": "ext-w", "currency": "usd"})
    assert body["customer_id"] == cust["id"]


# -- search, paging, lookups --------------------------------------------------------------------------
def test_search_filters_pages_and_counts_newest_first(api):
    ids = [customer(api, external_id=f"c{i}")["id"] for i in range(5)]
    page = api("POST", "customers/search", json={"limit": 2, "offset": 1}).json()
    assert [c["id"] for c in page["items"]] == [ids[3], ids[2]]
    assert page["pagination"] == {"limit": 2, "offset": 1, "total": 5}
    one = api("POST", "customers/search", json={"external_id": "c3"}).json()
    assert [c["id"] for c in one["items"]] == [ids[3]] and one["pagination"]["total"] == 1
    default = api("POST", "customers/search", json={}).json()["pagination"]
    assert default == {"limit": 50, "offset": 0, "total": 5}


def test_search_by_id_lists_and_references(api):
    cust = customer(api)
    plans = [plan(api, f"p{i}") for i in range(3)]
    found = api("POST", "plans/search", json={"plan_ids": [plans[0]["id"], plans[2]["id"]]}).json()
    assert {p["id"] for p in found["items"]} == {plans[0]["id"], plans[2]["id"]}
    subs = [subscription(api, cust["id"], p["id"]) for p in plans]
    by_plan = api("POST", "subscriptions/search", json={"plan_id": plans[1]["id"]}).json()
    assert [s["id"] for s in by_plan["items"]] == [subs[1]["id"]]
    by_external = api("POST", "subscriptions/search", json={"external_customer_id": "cus-ext-1"}).json()
    assert by_external["pagination"]["total"] == 3


@pytest.mark.parametrize("paging", [{"limit": 0}, {"limit": 1001}, {"offset": -1}])
def test_out_of_range_paging_is_400(api, paging):
    response = api("POST", "customers/search", json=paging)
    assert (response.status_code, error_code(response)) == (400, "validation_error")


def test_lookups_by_alternate_key(api):
    cust = customer(api, external_id="ext with:colon")
    pro = plan(api)
    fixed = price(api, pro["id"], lookup_key="pro-monthly")
    addon = created(api, "addons", {"name": "Extra", "lookup_key": "extra"})
    coupon = created(api, "coupons", {"name": "Ten", "type": "fixed", "cadence": "once", "amount_off": "10",
                                      "coupon_code": "TEN"})
    unit = created(api, "prices/units", {"name": "Credit", "code": "cred", "symbol": "c",
                                         "base_currency": "usd", "conversion_rate": "1"})
    for path, record in [("customers/external/ext%20with%3Acolon", cust), ("prices/lookup/pro-monthly", fixed),
                         ("addons/lookup/extra", addon), ("coupons/code/TEN", coupon),
                         ("prices/units/code/cred", unit)]:
        response = api("GET", path)
        assert (response.status_code, response.json()["id"]) == (200, record["id"]), path
    missing = api("GET", "customers/external/nobody")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")


# -- sub-collections ----------------------------------------------------------------------------------
def test_sub_collections_list_the_children_of_one_parent(api):
    ada, bob = customer(api, "ada"), customer(api, "bob")
    mine = wallet(api, ada["id"])
    wallet(api, bob["id"])
    assert [w["id"] for w in api("GET", f"customers/{ada['id']}/wallets").json()] == [mine["id"]]
    assert [w["id"] for w in api("GET", "customers/wallets", params={"id": ada["id"]}).json()] == [mine["id"]]
    assert [w["id"] for w in api("GET", "customers/wallets", params={"lookup_key": "ada"}).json()] == [mine["id"]]
    pro = plan(api)
    feature = created(api, "features", {"name": "Seats", "type": "static"})
    ent = created(api, "entitlements", {"feature_id": feature["id"], "feature_type": "static",
                                        "entity_type": "PLAN", "entity_id": pro["id"], "plan_id": pro["id"],
                                        "static_value": "5"})
    listed = api("GET", f"plans/{pro['id']}/entitlements").json()
    assert [e["id"] for e in listed["items"]] == [ent["id"]]
    sub = subscription(api, ada["id"], pro["id"])
    by_external = api("GET", "customers/external/ada/subscriptions").json()
    assert [s["id"] for s in by_external["items"]] == [sub["id"]]
    assert api("GET", "customers/cust_missing/wallets").status_code == 404


def test_a_plan_with_a_live_subscription_is_not_deleted_until_it_is_cancelled(api):
    pro = plan(api)
    price(api, pro["id"])
    sub = subscription(api, customer(api)["id"], pro["id"])
    refused = api("DELETE", f"plans/{pro['id']}")
    assert (refused.status_code, refused.json()) == (400, {
        "code": "invalid_operation", "message": "plan is still associated with subscriptions",
        "http_status_code": 400, "details": {"plan_id": {"value": pro["id"]}}})
    assert api("GET", f"subscriptions/{sub['id']}").json()["plan_id"] == pro["id"]
    cancelled = api("POST", f"subscriptions/{sub['id']}/cancel", json={"cancellation_type": "immediate"})
    assert cancelled.status_code == 200, cancelled.text
    assert api("DELETE", f"plans/{pro['id']}").status_code == 200  # the spec documents 200 for deletePlan
    assert api("GET", f"plans/{pro['id']}").status_code == 404
    read = api("GET", f"subscriptions/{sub['id']}")  # no null where the schema wants a plan object
    assert (read.status_code, "plan" in read.json(), read.json()["customer"]["id"]) == (200, False, sub["customer_id"])


def test_a_customer_with_a_live_subscription_or_an_active_wallet_is_not_deleted(api):
    ada = customer(api, "ada")
    pro = plan(api)
    price(api, pro["id"])
    sub = subscription(api, ada["id"], pro["id"])
    refused = api("DELETE", f"customers/{ada['id']}")
    assert (refused.status_code, refused.json()["message"]) == (
        400, "customer cannot be deleted due to active subscriptions")
    api("POST", f"subscriptions/{sub['id']}/cancel", json={"cancellation_type": "immediate"})
    purse = wallet(api, ada["id"])
    refused = api("DELETE", f"customers/{ada['id']}")
    assert (refused.status_code, refused.json()["message"]) == (400, "customer cannot be deleted due to associated wallets")
    api("POST", f"wallets/{purse['id']}/terminate")
    assert api("DELETE", f"customers/{ada['id']}").status_code == 204
    assert api("GET", f"customers/{ada['id']}").status_code == 404


def test_a_deleted_price_is_terminated_at_the_given_end_date_and_not_twice(api):
    pro = plan(api)
    fee = price(api, pro["id"])
    assert api("DELETE", f"prices/{fee['id']}", json={"end_date": "2099-01-01T00:00:00Z"}).status_code == 200
    assert api("GET", f"prices/{fee['id']}").json()["end_date"] == "2099-01-01T00:00:00.000Z"
    again = api("DELETE", f"prices/{fee['id']}", json={})
    assert (again.status_code, again.json()["message"]) == (400, "price is already terminated")


def test_a_price_is_not_terminated_before_it_starts(api):
    fee = price(api, plan(api)["id"])
    early = api("DELETE", f"prices/{fee['id']}", json={"end_date": "2000-01-01T00:00:00Z"})
    assert (early.status_code, early.json()["message"]) == (400, "end date must be on or after start date")
    assert api("GET", f"prices/{fee['id']}").json().get("end_date") is None


def test_an_add_ons_entitlements_list_under_that_add_on_only(api):
    """Entitlements carry no `addon_id`: they name their owner by `entity_type` and `entity_id`,
    and the real server lists an add-on's by that pair, never another add-on's."""
    feature = created(api, "features", {"name": "Seats", "type": "static"})
    owned = {}
    for key in ("seats", "storage"):
        addon = created(api, "addons", {"name": key.title(), "lookup_key": key})
        owned[addon["id"]] = created(api, "entitlements", {
            "entity_type": "ADDON", "entity_id": addon["id"], "feature_id": feature["id"], "feature_type": "static",
            "static_value": "5"})["id"]
    for addon_id, entitlement_id in owned.items():
        listed = api("GET", f"addons/{addon_id}/entitlements").json()
        assert ([e["id"] for e in listed["items"]], listed["pagination"]["total"]) == ([entitlement_id], 1)


# -- actions ------------------------------------------------------------------------------------------
def test_subscription_cancel_and_activate_change_its_status(api):
    sub = subscription(api, customer(api)["id"], plan(api)["id"])
    assert sub["subscription_status"] == "active"
    response = api("POST", f"subscriptions/{sub['id']}/cancel",
                   json={"cancellation_type": "immediate", "reason": "too expensive"})
    assert response.status_code == 200
    result = response.json()
    assert (result["status"], result["subscription_id"], result["reason"]) == ("cancelled", sub["id"], "too expensive")
    stored = api("GET", f"subscriptions/{sub['id']}").json()
    assert stored["subscription_status"] == "cancelled" and stored["cancelled_at"] >= sub["created_at"]
    api("POST", f"subscriptions/{sub['id']}/activate", json={"start_date": "2026-01-01T00:00:00Z"})
    assert api("GET", f"subscriptions/{sub['id']}").json()["subscription_status"] == "active"


def test_a_subscription_gets_a_line_item_per_price_of_its_plan(api):
    pro, other = plan(api), plan(api, "other")
    prices = [price(api, pro["id"], amount=str(n)) for n in (5, 7)]
    price(api, other["id"])
    sub = subscription(api, customer(api)["id"], pro["id"], priced=False)
    items = api("POST", "subscriptions/lineitems/search", json={"subscription_ids": [sub["id"]]}).json()
    assert sorted(i["price_id"] for i in items["items"]) == sorted(p["id"] for p in prices)
    assert {(i["subscription_id"], i["entity_type"], i["quantity"]) for i in items["items"]} == {(sub["id"], "plan", "1")}


def test_invoice_and_credit_note_finalize_and_void(api):
    cust = customer(api)
    invoice = created(api, "invoices", {"customer_id": cust["id"], "currency": "usd", "amount_due": "10",
                                        "subtotal": "10", "total": "10",
                                        "line_items": [{"amount": "10", "quantity": "1", "display_name": "Fee"}]})
    assert invoice["invoice_status"] == "DRAFT"
    assert api("POST", f"invoices/{invoice['id']}/finalize").status_code == 200
    assert api("GET", f"invoices/{invoice['id']}").json()["invoice_status"] == "FINALIZED"
    line = {"invoice_line_item_id": invoice["line_items"][0]["id"], "amount": "4"}
    note = created(api, "creditnotes", {"invoice_id": invoice["id"], "reason": "DUPLICATE", "line_items": [line],
                                        "process_credit_note": False})
    assert note["credit_note_status"] == "DRAFT"
    api("POST", f"creditnotes/{note['id']}/finalize")
    assert api("GET", f"creditnotes/{note['id']}").json()["credit_note_status"] == "FINALIZED"
    api("POST", f"creditnotes/{note['id']}/void")
    assert api("GET", f"creditnotes/{note['id']}").json()["credit_note_status"] == "VOIDED"
    api("POST", f"invoices/{invoice['id']}/void", json={})
    assert api("GET", f"invoices/{invoice['id']}").json()["invoice_status"] == "VOIDED"
    missing = api("POST", "creditnotes", json={"invoice_id": "inv_missing", "reason": "DUPLICATE", "line_items": [line]})
    assert missing.status_code == 404


def test_an_offline_payment_is_pending_until_processed_and_then_pays_its_invoice(api):
    cust = customer(api)
    invoice = created(api, "invoices", {"customer_id": cust["id"], "currency": "usd", "amount_due": "10",
                                        "subtotal": "10", "total": "10"})
    payment = created(api, "payments", {"amount": "10", "currency": "usd", "destination_type": "INVOICE",
                                        "destination_id": invoice["id"], "payment_method_type": "OFFLINE",
                                        "process_payment": False})
    assert payment["payment_status"] == "PENDING"
    assert api("POST", f"payments/{payment['id']}/process").status_code == 200
    assert api("GET", f"payments/{payment['id']}").json()["payment_status"] == "SUCCEEDED"
    paid = api("GET", f"invoices/{invoice['id']}").json()
    assert (paid["amount_paid"], paid["amount_remaining"], paid["payment_status"]) == ("10", "0", "SUCCEEDED")


def test_wallet_terminate_closes_it_and_refuses_top_ups(api):
    body = wallet(api, customer(api)["id"])
    assert body["wallet_status"] == "active"
    api("POST", f"wallets/{body['id']}/terminate")
    assert api("GET", f"wallets/{body['id']}").json()["wallet_status"] == "closed"
    refused = api("POST", f"wallets/{body['id']}/top-up", json={"credits_to_add": "5",
                                                                "transaction_reason": "FREE_CREDIT_GRANT"})
    assert refused.status_code == 400


# -- wallets ------------------------------------------------------------------------------------------
def test_top_up_raises_the_real_time_balance_and_records_a_transaction(api):
    body = wallet(api, customer(api)["id"], conversion_rate="2")
    assert (body["balance"], body["credit_balance"]) == ("0", "0")
    top_up = api("POST", f"wallets/{body['id']}/top-up",
                 json={"credits_to_add": "50", "transaction_reason": "PURCHASED_CREDIT_DIRECT"}).json()
    assert top_up["wallet"]["credit_balance"] == "50" and top_up["wallet"]["balance"] == "100"
    transaction = top_up["wallet_transaction"]
    assert re.fullmatch(rf"wtxn_{ULID}", transaction["id"])
    assert (transaction["type"], transaction["credit_amount"], transaction["credit_balance_after"]) == ("credit", "50", "50")
    api("POST", f"wallets/{body['id']}/top-up", json={"amount": "20", "transaction_reason": "PURCHASED_CREDIT_DIRECT"})
    balance = api("GET", f"wallets/{body['id']}/balance/real-time").json()
    assert (balance["real_time_credit_balance"], balance["real_time_balance"]) == ("60", "120")
    listed = api("GET", f"wallets/{body['id']}/transactions").json()
    assert [t["credit_amount"] for t in listed["items"]] == ["10", "50"] and listed["pagination"]["total"] == 2
    searched = api("POST", "wallets/transactions/search", json={"wallet_id": body["id"]}).json()
    assert searched["pagination"]["total"] == 2


def test_initial_credits_are_loaded_at_create(api):
    body = wallet(api, customer(api)["id"], initial_credits_to_load="25")
    assert body["credit_balance"] == "25"
    assert api("GET", f"wallets/{body['id']}/transactions").json()["pagination"]["total"] == 1


def test_auto_topup_is_stored_without_the_unsatisfiable_cooldown(api):
    body = wallet(api, customer(api)["id"], auto_topup={"enabled": True, "threshold": 5, "amount": 10})
    assert body["auto_topup"] == {"enabled": True, "threshold": 5, "amount": 10}
    assert api("GET", f"wallets/{body['id']}").json()["auto_topup"] == body["auto_topup"]


# -- events -------------------------------------------------------------------------------------------
def test_ingest_answers_202_with_string_values_and_echoes_the_event_id(api):
    response = api("POST", "events", json={"event_name": "api_call", "external_customer_id": "c1",
                                           "event_id": "my-event-1"})
    assert response.status_code == 202 and response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "Event accepted for processing", "event_id": "my-event-1"}
    generated = api("POST", "events", json={"event_name": "api_call", "external_customer_id": "c1"}).json()
    assert re.fullmatch(rf"event_{ULID}", generated["event_id"])
    assert all(isinstance(v, str) for v in generated.values())


def test_ingested_events_are_queried_looked_up_and_counted(api):
    api("POST", "events", json={"event_name": "api_call", "external_customer_id": "c1", "event_id": "e1",
                                "properties": {"tokens": "5"}})
    bulk = api("POST", "events/bulk", json={"events": [
        {"event_name": "api_call", "external_customer_id": "c1", "properties": {"tokens": "7"}},
        {"event_name": "api_call", "external_customer_id": "c2", "properties": {"tokens": "1"}},
        {"event_name": "storage", "external_customer_id": "c1"}]})
    assert bulk.status_code == 202 and all(isinstance(v, str) for v in bulk.json().values())
    query = api("POST", "events/query", json={"event_name": "api_call", "external_customer_id": "c1"}).json()
    assert query["total_count"] == 2 and {e["event_name"] for e in query["events"]} == {"api_call"}
    assert api("GET", "events/lookup", params={"id": "e1"}).json()["event"]["properties"] == {"tokens": "5"}
    assert api("GET", "events/lookup", params={"id": "nope"}).status_code == 404
    count = api("POST", "events/usage", json={"event_name": "api_call", "aggregation_type": "COUNT"}).json()
    assert count["value"] == 3
    total = api("POST", "events/usage", json={"event_name": "api_call", "aggregation_type": "SUM",
                                              "property_name": "tokens", "external_customer_id": "c1"}).json()
    assert total["value"] == 12


# -- bulk creates, singletons, computed -----------------------------------------------------------------
def test_bulk_creates_store_every_item(api):
    pro = plan(api)
    prices = [{"amount": str(n), "currency": "usd", "entity_type": "PLAN", "entity_id": pro["id"], "type": "FIXED",
               "billing_model": "FLAT_FEE", "billing_period": "MONTHLY", "invoice_cadence": "ARREAR",
               "price_unit_type": "FIAT"} for n in (1, 2)]
    response = api("POST", "prices/bulk", json={"items": prices})
    assert response.status_code in (200, 201)
    assert api("POST", "prices/search", json={"entity_ids": [pro["id"]]}).json()["pagination"]["total"] == 2
    feature = created(api, "features", {"name": "Seats", "type": "static"})
    entitlements = [{"feature_id": feature["id"], "feature_type": "static", "entity_type": "PLAN",
                     "entity_id": pro["id"], "plan_id": pro["id"], "static_value": "1"}]
    assert api("POST", "entitlements/bulk", json={"items": entitlements}).status_code in (200, 201)
    assert api("GET", f"plans/{pro['id']}/entitlements").json()["pagination"]["total"] == 1


def test_users_me_is_the_caller_with_its_tenant(api, full_mock):
    me = api("GET", "users/me").json()
    assert me["id"] == full_mock.backend.tenant.user_id and me["tenant"]["id"] == full_mock.backend.tenant.tenant_id
    assert api("GET", f"tenants/{full_mock.backend.tenant.tenant_id}").json()["id"] == full_mock.backend.tenant.tenant_id


def test_a_view_of_a_record_carries_its_fields_and_needs_the_record(api):
    sub = subscription(api, customer(api)["id"], plan(api)["id"])
    view = api("GET", f"subscriptions/{sub['id']}/v2").json()
    assert (view["id"], view["plan_id"]) == (sub["id"], sub["plan_id"])
    assert api("GET", "subscriptions/subs_missing/v2").status_code == 404


def test_an_operation_with_its_own_error_schema_gets_its_error_in_that_shape(api):
    response = api("GET", "rbac/roles/nope")
    assert response.status_code == 404
    assert all(isinstance(v, str) for v in response.json().values()) and response.json()["code"] == "not_found"


def test_computed_answer_with_nothing_stored_is_empty_with_zero_counts(full_client, full_checker):
    response = full_client.get("v1/subscription-schedules")
    assert response.status_code == 200
    full_checker.check(response)
    assert response.json() == {"count": 0, "schedules": []}


def test_computed_lists_check_query_paging_like_the_real_server(full_client):
    response = full_client.get("v1/subscription-schedules", params={"offset": -1})
    assert response.status_code == 400
    assert response.json()["message"] == "offset must be at least 0"


def test_search_by_a_unique_key_still_applies_the_other_filters(full_client):
    created = full_client.post("customers", json={"external_id": "uniq-1", "name": "Ann", "email": "a@x.io"}).json()
    full_client.post("customers", json={"external_id": "uniq-2", "name": "Ann", "email": "a@x.io"})
    hit = full_client.post("customers/search", json={"external_id": "uniq-1", "email": "a@x.io"}).json()
    miss = full_client.post("customers/search", json={"external_id": "uniq-1", "email": "b@x.io"}).json()
    assert [c["id"] for c in hit["items"]] == [created["id"]]
    assert hit["pagination"]["total"] == 1
    assert miss == {"items": [], "pagination": {"limit": 50, "offset": 0, "total": 0}}
