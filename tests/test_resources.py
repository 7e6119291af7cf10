"""Resource inference: roles from paths, keys, references, on a small spec built here and on the
full Flexprice spec."""
from __future__ import annotations

import pytest

from flexprice_spec.document import Spec
from flexprice_spec.resources import infer


def _op(response: dict | None = None, status: str = "200", **extra) -> dict:
    content = {"application/json": {"schema": response}} if response else {}
    return {"responses": {status: {"description": "ok", "content": content}}, **extra}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@pytest.fixture(scope="module")
def small():
    """A made-up API with every path shape the inference knows."""
    widget = {"type": "object", "properties": {"id": {"type": "string"}, "external_id": {"type": "string"},
                                              "widget_code": {"type": "string"}, "gadget_id": {"type": "string"}}}
    page = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Widget")}}}
    id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    document = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "/v1"}],
        "paths": {
            "/gadgets": {"post": _op(_ref("Gadget"), "201", operationId="createGadget")},
            "/gadgets/{id}": {"get": _op(_ref("Gadget"), operationId="getGadget"), "parameters": id_param},
            "/gadgets/{id}/widgets": {"get": _op(page, operationId="gadgetWidgets"), "parameters": id_param},
            "/widgets": {"post": _op(_ref("Widget"), "201", operationId="createWidget"),
                         "get": _op(page, operationId="listWidgets")},
            "/widgets/search": {"post": _op(page, operationId="searchWidgets")},
            "/widgets/bulk": {"post": _op(page, operationId="bulkWidgets")},
            "/widgets/{id}": {"get": _op(_ref("Widget"), operationId="getWidget"),
                              "delete": _op(None, "204", operationId="deleteWidget"), "parameters": id_param},
            "/widgets/{id}/archive": {"post": _op(_ref("Widget"), operationId="archiveWidget"),
                                      "parameters": id_param},
            "/widgets/external/{external_id}": {"get": _op(_ref("Widget"), operationId="byExternal")},
            "/widgets/code/{code}": {"get": _op(_ref("Widget"), operationId="byCode")},
            "/widgets/stats": {"get": _op({"type": "object"}, operationId="widgetStats")},
            "/v1/gadgets/{gadget_id}/widgets": {"get": _op(page, operationId="v1GadgetWidgets")},
        },
        "components": {"schemas": {"Widget": widget, "Gadget": {"type": "object",
                                                                  "properties": {"id": {"type": "string"}}}}},
    }
    return infer(Spec(document))


@pytest.mark.parametrize("operation_id, role, resource", [
    ("createWidget", "create", "/widgets"), ("listWidgets", "list", "/widgets"),
    ("searchWidgets", "search", "/widgets"), ("bulkWidgets", "bulk", "/widgets"),
    ("getWidget", "get", "/widgets"), ("deleteWidget", "delete", "/widgets"),
    ("archiveWidget", "action", "/widgets"), ("byExternal", "lookup", "/widgets"),
    ("byCode", "lookup", "/widgets"), ("widgetStats", "computed", None),
    ("gadgetWidgets", "subcollection", "/widgets"), ("v1GadgetWidgets", "subcollection", "/widgets"),
])
def test_roles_are_inferred_from_path_shapes(small, operation_id, role, resource):
    op = small.by_operation_id()[operation_id]
    assert (op.role, op.resource.collection if op.resource else None) == (role, resource)


def test_lookup_keys_become_unique_keys_and_code_names_the_entity_code_field(small):
    assert small.resources["/widgets"].unique_keys == ("external_id", "widget_code")
    assert small.by_operation_id()["byCode"].key_field == "widget_code"
    assert small.by_operation_id()["archiveWidget"].action == "archive"


def test_reference_fields_name_their_target(small):
    widgets, gadgets = small.resources["/widgets"], small.resources["/gadgets"]
    assert small.reference_target({}, "gadget_id") == (gadgets, "id")
    assert small.reference_target({}, "gadget_ids") == (gadgets, "id")
    assert small.reference_target({}, "external_widget_id") == (widgets, "external_id")
    assert small.reference_target({}, "widget_external_id") == (widgets, "external_id")
    assert small.reference_target({"entity_type": "GADGET"}, "entity_id") == (gadgets, "id")
    assert small.reference_target({"entity_type": "OTHER"}, "entity_id") is None
    assert small.reference_target({}, "meter_id") is None


@pytest.fixture(scope="module")
def full(full_spec):
    return infer(Spec.load(full_spec))


@pytest.mark.parametrize("method_path, role, resource", [
    ("PUT /customers", "update", "/customers"),
    ("GET /customers/wallets", "subcollection", "/wallets"),
    ("GET /customers/external/{external_id}/subscriptions", "subcollection", "/subscriptions"),
    ("GET /wallets/{id}/transactions", "subcollection", "/wallets/transactions"),
    ("POST /wallets/transactions/search", "search", "/wallets/transactions"),
    ("GET /coupons/code/{code}", "lookup", "/coupons"),
    ("POST /subscriptions/{id}/cancel", "action", "/subscriptions"),
    ("POST /v1/subscriptions/schedules/{schedule_id}/cancel", "action", "/subscription-schedules"),
    ("GET /users/me", "singleton", None),
    ("POST /events", "computed", None),
])
def test_full_spec_roles(full, method_path, role, resource):
    op = next(o for o in full.operations if o.method_path == method_path)
    assert (op.role, op.resource.collection if op.resource else None) == (role, resource)


def test_full_spec_records_are_unwrapped_and_prefixed(full):
    assert full.resources["/costs"].record_schema == {"$ref": "#/components/schemas/CostsheetResponse"}
    prefixes = {c: r.prefix for c, r in full.resources.items()}
    assert (prefixes["/customers"], prefixes["/subscriptions/lineitems"], prefixes["/wallets/transactions"]) == (
        "cust", "subs_line", "wtxn")
    assert full.resources["/coupons"].unique_keys == ("coupon_code",)
    assert len(full.operations) == 257
