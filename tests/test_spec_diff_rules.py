"""A test per rule of `flexprice-contract diff`: each one a change at a real place of the full
Flexprice spec (edited in memory) where the spec has the construct, or in a small OpenAPI 3.1
spec where it does not (3.1 keywords, composition, webhooks, OAuth); every rule in the catalogue
has a case; and harmless changes of each family report nothing above info."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest

from contract_tests.diff import RULES, Comparison
from contract_tests.diff.constraints import APPLICATORS, BOUNDS, VALUES
from contract_tests.diff.lifecycle import Lifecycle
from contract_tests.diff.policy import Policy

from .conftest import full_spec_path
from .spec_edits import REF, Edit, edited, removing, setting, small_spec

TODAY = date(2026, 6, 1)
LIFECYCLE = Lifecycle(TODAY, {"stable": 30, "beta": 7})
FULL, SMALL = "full", "small"

SCHEMAS = "/components/schemas"
CUSTOMER_IN = f"{SCHEMAS}/CreateCustomerRequest"  # POST /customers, requests only
CUSTOMER_OUT = f"{SCHEMAS}/CustomerResponse"  # responses only
PRICE_OUT = f"{SCHEMAS}/PriceResponse"
EVENTS_IN = f"{SCHEMAS}/BulkIngestEventRequest/properties/events"  # an array, requests only
ROLES_OUT = f"{SCHEMAS}/SecretResponse/properties/roles"  # an array, responses only
CHECKOUT_OUT = f"{SCHEMAS}/types.CheckoutStatus"  # an enum, responses only
UNITS = "/paths/~1prices~1units/get"  # query: status, limit (1..1000, default 50), offset, sort, order
LIMIT = f"{UNITS}/parameters/1"
ORDER = f"{UNITS}/parameters/4"
USAGE_FEATURES = "/paths/~1customers~1usage/get/parameters/2"  # style form, explode false
CUSTOMERS_POST = "/paths/~1customers/post"
CUSTOMER_GET = "/paths/~1customers~1{id}/get"
CUSTOMER_200 = f"{CUSTOMER_GET}/responses/200"
ADDON_POST = "/paths/~1subscriptions~1addon/post"  # deprecated, no x-sunset
AGREEMENTS_POST = "/paths/~1marketplace~1agreements/post"  # no security
KEY_SCHEME = "/components/securitySchemes/ApiKeyAuth"
S_REQ, S_RESP = f"{SCHEMAS}/Req", f"{SCHEMAS}/Resp"
THINGS_POST = "/paths/~1things/post"

OAUTH = {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example/token",
                                                          "scopes": {"read": "read", "write": "write"}}}}
BEARER = {"type": "http", "scheme": "bearer"}


@dataclass(frozen=True)
class Case:
    """`rule` is found (with `also`, and nothing else) between two edits of the same spec."""

    rule: str
    place: str  # where the finding is, in either file
    new: tuple[Edit, ...]
    old: tuple[Edit, ...] = ()
    spec: str = FULL
    also: tuple[str, ...] = ()


def case(rule: str, place: str, new: Edit | tuple[Edit, ...], old: Edit | tuple[Edit, ...] = (), spec: str = FULL,
         also: tuple[str, ...] = ()) -> Case:
    def edits(value: Edit | tuple[Edit, ...]) -> tuple[Edit, ...]:
        return (value,) if value and isinstance(value[0], str) else value

    return Case(rule, place, edits(new), edits(old), spec, also)


def prop(schema: str, name: str) -> str:
    return f"{schema}/properties/{name}"


def params(op: str) -> str:
    return f"{op}/parameters"


def bound_cases() -> list[Case]:
    """Five rules per bound: a request tightened, set and loosened, a response loosened and tightened."""
    string_in, string_out = prop(CUSTOMER_IN, "email"), prop(CUSTOMER_OUT, "email")
    number_in, number_out = f"{LIMIT}/schema", prop(PRICE_OUT, "billing_period_count")
    object_in, object_out = prop(CUSTOMER_IN, "metadata"), prop(CUSTOMER_OUT, "metadata")
    places = {"Length": (string_in, string_out, FULL), "imum": (number_in, number_out, FULL),
              "Items": (EVENTS_IN, ROLES_OUT, FULL), "Properties": (object_in, object_out, FULL),
              "exclusive": (prop(S_REQ, "n"), prop(S_RESP, "n"), SMALL),
              "Contains": (prop(S_REQ, "a"), prop(S_RESP, "a"), SMALL)}
    found = []
    for bound in BOUNDS:
        key = next(key for key in places if key in bound.keyword and (key != "imum" or "exclusive" not in bound.keyword))
        request, response, spec = places[key]
        extra = {"contains": {"type": "string"}} if "Contains" in bound.keyword else {}
        low, high = {**extra, bound.keyword: 2}, {**extra, bound.keyword: 5}
        tight, loose = (high, low) if bound.upper else (low, high)  # tight: the old, looser value
        tight_id, loose_id = ("decreased", "increased") if bound.upper else ("increased", "decreased")
        bare = setting(**extra, **{bound.keyword: None})
        found += [
            case(f"request-{bound.id}-{tight_id}", request, (request, setting(**loose)), (request, setting(**tight)),
                 spec),
            case(f"request-{bound.id}-set", request, (request, setting(**loose)), (request, bare), spec),
            case(f"request-{bound.id}-{loose_id}", request, (request, setting(**tight)), (request, setting(**loose)),
                 spec),
            case(f"response-{bound.id}-{loose_id}", response, (response, bare), (response, setting(**loose)), spec),
            case(f"response-{bound.id}-{tight_id}", response, (response, setting(**loose)),
                 (response, setting(**tight)), spec),
        ]
    return found


def value_cases() -> list[Case]:
    """Up to six rules per value keyword: added, changed, removed in a request and a response."""
    values = {"pattern": ("^a", "^b"), "format": ("email", "uri"), "multipleOf": (2, 3), "uniqueItems": (True, True),
              "contentEncoding": ("base64", "base32"), "contentMediaType": ("image/png", "text/plain"),
              "dependentRequired": ({"s": ["n"]}, {"s": ["a"]})}
    places = {"pattern": (prop(CUSTOMER_IN, "email"), prop(CUSTOMER_OUT, "email"), FULL),
              "format": (prop(CUSTOMER_IN, "email"), prop(CUSTOMER_OUT, "email"), FULL),
              "multipleOf": (f"{LIMIT}/schema", prop(PRICE_OUT, "billing_period_count"), FULL),
              "uniqueItems": (EVENTS_IN, ROLES_OUT, FULL),
              "contentEncoding": (prop(S_REQ, "s"), prop(S_RESP, "s"), SMALL),
              "contentMediaType": (prop(S_REQ, "s"), prop(S_RESP, "s"), SMALL),
              "dependentRequired": (S_REQ, S_RESP, SMALL)}
    found = []
    for keyword, id, _, _ in VALUES:
        first, second = values[keyword]
        request, response, spec = places[keyword]
        for ctx, place in (("request", request), ("response", response)):
            edits = {"added": ((), (place, setting(**{keyword: first}))),
                     "changed": ((place, setting(**{keyword: first})), (place, setting(**{keyword: second}))),
                     "removed": ((place, setting(**{keyword: first})), (place, removing(keyword)))}
            for change, (old, new) in edits.items():
                if f"{ctx}-{id}-{change}" in RULES:
                    found.append(case(f"{ctx}-{id}-{change}", place, new, old, spec))
    return found


def applicator_cases() -> list[Case]:
    values = {"schema": ({"type": "string"}, {"type": "string", "maxLength": 3}),
              "map": ({"^x": {"type": "string"}}, {"^x": {"type": "string", "maxLength": 3}}),
              "list": ([{"type": "string"}], [{"type": "string", "maxLength": 3}]),
              "turned": ({"type": "string"}, {"type": "integer"})}
    found = []
    for keyword, id, holds, _, _ in APPLICATORS:
        first, second = values[holds]
        for ctx, schema in (("request", S_REQ), ("response", S_RESP)):
            place = prop(schema, "o" if keyword in ("patternProperties", "dependentSchemas", "propertyNames",
                                                       "unevaluatedProperties") else "a")
            found.append(case(f"{ctx}-{id}-added", place, (place, setting(**{keyword: first})), spec=SMALL))
            found.append(case(f"{ctx}-{id}-removed", place, (place, removing(keyword)),
                              (place, setting(**{keyword: first})), spec=SMALL))
            if holds == "turned":
                found.append(case(f"{ctx}-{id}-changed", place, (place, setting(**{keyword: second})),
                                  (place, setting(**{keyword: first})), spec=SMALL))
    return found


def add_param(name: str, where: str = "query", required: bool = False) -> Edit:
    param = {"name": name, "in": where, "required": required, "schema": {"type": "string"}}
    return params(UNITS), lambda items: items.append(param)


def oauth(**changes: object) -> tuple[Edit, ...]:
    scheme = json.loads(json.dumps(OAUTH))
    scheme["flows"]["clientCredentials"].update(changes)
    return (("/components/securitySchemes", setting(OAuth=scheme)),)


def composed(key: str, *names: str) -> dict:
    return {key: [{"$ref": REF + name} for name in names]}


def discriminated(mapping: dict[str, str], property_name: str = "kind") -> dict:
    return {"oneOf": [{"$ref": REF + "Cat"}, {"$ref": REF + "Dog"}],
            "discriminator": {"propertyName": property_name, "mapping": {k: REF + v for k, v in mapping.items()}}}


PETS = {"cat": "Cat", "dog": "Dog"}

CASES: list[Case] = [
    # paths and operations
    case("path-removed", "/paths/~1customers~1{id}", ("/paths", removing("/customers/{id}"))),
    case("operation-removed", CUSTOMERS_POST, ("/paths/~1customers", removing("post"))),
    case("operation-added", "/paths/~1customers~1{id}/patch",
         ("/paths/~1customers~1{id}", setting(patch={"responses": {"204": {"description": "done"}}}))),
    case("operation-id-changed", f"{CUSTOMER_GET}/operationId", (CUSTOMER_GET, setting(operationId="fetchCustomer"))),
    case("doc-changed", f"{CUSTOMER_GET}/summary", (CUSTOMER_GET, setting(summary="Fetch a customer"))),
    case("webhook-removed", "/webhooks/thingCreated", ("/webhooks", removing("thingCreated")), spec=SMALL),
    case("webhook-added", "/webhooks/thingDeleted", ("/webhooks", setting(thingDeleted={"post": {}})), spec=SMALL),
    # deprecation, sunset and stability
    case("deprecated", f"{CUSTOMER_GET}/deprecated", (CUSTOMER_GET, setting(deprecated=True, x__sunset="2027-01-01"))),
    case("reactivated", f"{ADDON_POST}/deprecated", (ADDON_POST, removing("deprecated"))),
    case("deprecated-without-sunset", f"{CUSTOMER_GET}/deprecated", (CUSTOMER_GET, setting(deprecated=True))),
    case("sunset-invalid", f"{CUSTOMER_GET}/x-sunset", (CUSTOMER_GET, setting(deprecated=True, x__sunset="soon"))),
    case("sunset-too-soon", f"{CUSTOMER_GET}/x-sunset",
         (CUSTOMER_GET, setting(deprecated=True, x__sunset="2026-06-10"))),
    case("sunset-removed", f"{ADDON_POST}/x-sunset", (ADDON_POST, removing("x-sunset")),
         (ADDON_POST, setting(x__sunset="2027-01-01"))),
    case("sunset-moved-earlier", f"{ADDON_POST}/x-sunset", (ADDON_POST, setting(x__sunset="2026-12-01")),
         (ADDON_POST, setting(x__sunset="2027-01-01"))),
    case("removed-before-sunset", ADDON_POST, ("/paths/~1subscriptions~1addon", removing("post")),
         (ADDON_POST, setting(x__sunset="2027-01-01"))),
    case("removed-after-deprecation", ADDON_POST, ("/paths/~1subscriptions~1addon", removing("post"))),
    case("stability-decreased", f"{CUSTOMER_GET}/x-stability-level", (CUSTOMER_GET, setting(x__stability__level="beta"))),
    case("stability-increased", f"{CUSTOMER_GET}/x-stability-level", (CUSTOMER_GET, removing("x-stability-level")),
         (CUSTOMER_GET, setting(x__stability__level="beta"))),
    case("stability-invalid", f"{CUSTOMER_GET}/x-stability-level",
         (CUSTOMER_GET, setting(x__stability__level="experimental"))),
    # security
    case("security-added", AGREEMENTS_POST, (AGREEMENTS_POST, setting(security=[{"ApiKeyAuth": []}]))),
    case("security-removed", f"{CUSTOMER_GET}/security", (CUSTOMER_GET, setting(security=[{}]))),
    case("security-requirement-removed", f"{CUSTOMER_GET}/security", ("/components/securitySchemes",
                                                                       setting(Bearer=BEARER)),
         (("/components/securitySchemes", setting(Bearer=BEARER)),
          (CUSTOMER_GET, setting(security=[{"ApiKeyAuth": []}, {"Bearer": []}])))),
    case("security-requirement-added", f"{CUSTOMER_GET}/security",
         (("/components/securitySchemes", setting(Bearer=BEARER)),
          (CUSTOMER_GET, setting(security=[{"ApiKeyAuth": []}, {"Bearer": []}]))),
         ("/components/securitySchemes", setting(Bearer=BEARER))),
    case("security-scope-added", f"{CUSTOMER_GET}/security", (CUSTOMER_GET, setting(security=[{"ApiKeyAuth": ["read"]}]))),
    case("security-scope-removed", f"{CUSTOMER_GET}/security", (CUSTOMER_GET, setting(security=[{"ApiKeyAuth": []}])),
         (CUSTOMER_GET, setting(security=[{"ApiKeyAuth": ["read"]}]))),
    case("security-scheme-changed", f"{KEY_SCHEME}/name", (KEY_SCHEME, setting(name="x-flexprice-key"))),
    case("security-scheme-removed", "/components/securitySchemes/Bearer",
         ("/components/securitySchemes", removing("Bearer")), ("/components/securitySchemes", setting(Bearer=BEARER))),
    case("security-scheme-added", "/components/securitySchemes/Bearer",
         ("/components/securitySchemes", setting(Bearer=BEARER))),
    case("security-scheme-url-changed", "/components/securitySchemes/OAuth/flows/clientCredentials/tokenUrl",
         oauth(tokenUrl="https://auth.example/v2/token"), oauth()),
    case("security-scheme-scope-added", "/components/securitySchemes/OAuth/flows/clientCredentials/scopes",
         oauth(scopes={"read": "r", "write": "w", "admin": "a"}), oauth()),
    case("security-scheme-scope-removed", "/components/securitySchemes/OAuth/flows/clientCredentials/scopes",
         oauth(scopes={"read": "r"}), oauth()),
    # parameters
    case("parameter-removed", f"{params(UNITS)}/0", (params(UNITS), lambda items: items.pop(0))),
    case("parameter-moved", f"{params(UNITS)}/0", (f"{params(UNITS)}/0", setting(**{"in": "header"}))),
    case("parameter-added-required", f"{params(UNITS)}/5", add_param("currency", required=True)),
    case("parameter-added", f"{params(UNITS)}/5", add_param("currency")),
    case("parameter-made-required", LIMIT, (LIMIT, setting(required=True))),
    case("parameter-made-optional", LIMIT, (LIMIT, setting(required=False)), (LIMIT, setting(required=True))),
    case("parameter-default-added", f"{params(UNITS)}/0/schema/default",
         (f"{params(UNITS)}/0/schema", setting(default="published"))),
    case("parameter-default-changed", f"{LIMIT}/schema/default", (f"{LIMIT}/schema", setting(default=20))),
    case("parameter-default-removed", f"{LIMIT}/schema/default", (f"{LIMIT}/schema", removing("default"))),
    case("parameter-style-changed", f"{USAGE_FEATURES}/style", (USAGE_FEATURES, setting(style="pipeDelimited"))),
    case("parameter-explode-changed", f"{USAGE_FEATURES}/explode", (USAGE_FEATURES, setting(explode=True))),
    # request bodies and media types
    case("request-body-required", f"{AGREEMENTS_POST}/requestBody", (f"{AGREEMENTS_POST}/requestBody",
                                                                      setting(required=True)),
         (f"{AGREEMENTS_POST}/requestBody", setting(required=False))),
    case("request-body-made-optional", f"{CUSTOMERS_POST}/requestBody",
         (f"{CUSTOMERS_POST}/requestBody", setting(required=False))),
    case("request-body-added", f"{CUSTOMER_GET}/requestBody", (CUSTOMER_GET, setting(requestBody={
        "content": {"application/json": {"schema": {"type": "object"}}}}))),
    case("request-body-removed", f"{CUSTOMERS_POST}/requestBody", (CUSTOMERS_POST, removing("requestBody"))),
    case("request-media-type-removed", f"{CUSTOMERS_POST}/requestBody/content/application~1json",
         (f"{CUSTOMERS_POST}/requestBody/content", lambda c: c.update({"application/xml": c.pop("application/json")})),
         also=("request-media-type-added",)),
    case("request-media-type-added", f"{CUSTOMERS_POST}/requestBody/content/text~1plain",
         (f"{CUSTOMERS_POST}/requestBody/content", setting(**{"text/plain": {}}))),
    case("request-media-type-schema-added", f"{CUSTOMERS_POST}/requestBody/content/text~1plain",
         (f"{CUSTOMERS_POST}/requestBody/content", setting(**{"text/plain": {"schema": {"type": "string"}}})),
         (f"{CUSTOMERS_POST}/requestBody/content", setting(**{"text/plain": {}}))),
    case("request-media-type-schema-removed", f"{CUSTOMERS_POST}/requestBody/content/text~1plain",
         (f"{CUSTOMERS_POST}/requestBody/content", setting(**{"text/plain": {}})),
         (f"{CUSTOMERS_POST}/requestBody/content", setting(**{"text/plain": {"schema": {"type": "string"}}}))),
    case("response-media-type-removed", f"{CUSTOMER_200}/content/application~1json",
         (f"{CUSTOMER_200}/content", lambda c: c.update({"application/xml": c.pop("application/json")})),
         also=("response-media-type-added",)),
    case("response-media-type-added", f"{CUSTOMER_200}/content/text~1csv",
         (f"{CUSTOMER_200}/content", setting(**{"text/csv": {"schema": {"type": "string"}}}))),
    case("response-media-type-schema-removed", f"{CUSTOMER_200}/content/text~1csv",
         (f"{CUSTOMER_200}/content", setting(**{"text/csv": {}})),
         (f"{CUSTOMER_200}/content", setting(**{"text/csv": {"schema": {"type": "string"}}}))),
    case("response-media-type-schema-added", f"{CUSTOMER_200}/content/text~1csv",
         (f"{CUSTOMER_200}/content", setting(**{"text/csv": {"schema": {"type": "string"}}})),
         (f"{CUSTOMER_200}/content", setting(**{"text/csv": {}}))),
    # responses
    case("success-status-changed", f"{CUSTOMERS_POST}/responses",
         (f"{CUSTOMERS_POST}/responses", lambda r: r.update({"200": r.pop("201")}))),
    case("success-status-added", f"{CUSTOMER_GET}/responses",
         (f"{CUSTOMER_GET}/responses", setting(**{"202": {"description": "accepted"}}))),
    case("response-status-removed", f"{CUSTOMER_GET}/responses/400", (f"{CUSTOMER_GET}/responses", removing("400"))),
    case("response-status-added", f"{CUSTOMER_GET}/responses/404",
         (f"{CUSTOMER_GET}/responses", setting(**{"404": {"description": "no such customer"}}))),
    case("response-body-removed", CUSTOMER_200, (CUSTOMER_200, removing("content"))),
    case("response-body-added", CUSTOMER_200, (), (CUSTOMER_200, removing("content"))),
    case("response-header-removed", f"{CUSTOMER_200}/headers/X-Request-Id", (CUSTOMER_200, removing("headers")),
         (CUSTOMER_200, setting(headers={"X-Request-Id": {"required": True, "schema": {"type": "string"}}}))),
    case("response-optional-header-removed", f"{CUSTOMER_200}/headers/X-Request-Id", (CUSTOMER_200, removing("headers")),
         (CUSTOMER_200, setting(headers={"X-Request-Id": {"schema": {"type": "string"}}}))),
    case("response-header-made-optional", f"{CUSTOMER_200}/headers/X-Request-Id",
         (CUSTOMER_200, setting(headers={"x-request-id": {"schema": {"type": "string"}}})),
         (CUSTOMER_200, setting(headers={"X-Request-Id": {"required": True, "schema": {"type": "string"}}}))),
    case("response-header-made-required", f"{CUSTOMER_200}/headers/X-Request-Id",
         (CUSTOMER_200, setting(headers={"X-Request-Id": {"required": True, "schema": {"type": "string"}}})),
         (CUSTOMER_200, setting(headers={"X-Request-Id": {"schema": {"type": "string"}}}))),
    case("response-header-added", f"{CUSTOMER_200}/headers/X-Request-Id",
         (CUSTOMER_200, setting(headers={"X-Request-Id": {"schema": {"type": "string"}}}))),
    # schemas: types and properties
    case("request-type-changed", prop(CUSTOMER_IN, "name"), (prop(CUSTOMER_IN, "name"), setting(type="integer"))),
    case("request-type-narrowed", f"{LIMIT}/schema", (f"{LIMIT}/schema", setting(type="integer")),
         (f"{LIMIT}/schema", setting(type="number"))),
    case("request-type-widened", f"{LIMIT}/schema", (f"{LIMIT}/schema", setting(type="number"))),
    case("response-type-changed", prop(CUSTOMER_OUT, "email"), (prop(CUSTOMER_OUT, "email"), setting(type="integer"))),
    case("response-type-widened", prop(PRICE_OUT, "billing_period_count"),
         (prop(PRICE_OUT, "billing_period_count"), setting(type="number"))),
    case("response-type-narrowed", prop(PRICE_OUT, "billing_period_count"), (),
         (prop(PRICE_OUT, "billing_period_count"), setting(type="number"))),
    case("request-nullable-added", prop(CUSTOMER_IN, "email"), (prop(CUSTOMER_IN, "email"), setting(nullable=True))),
    case("request-nullable-removed", prop(CUSTOMER_IN, "email"), (),
         (prop(CUSTOMER_IN, "email"), setting(nullable=True))),
    case("response-nullable-added", prop(CUSTOMER_OUT, "email"), (prop(CUSTOMER_OUT, "email"), setting(nullable=True))),
    case("response-nullable-removed", prop(PRICE_OUT, "min_quantity"),
         (prop(PRICE_OUT, "min_quantity"), removing("nullable"))),
    case("request-property-removed", prop(CUSTOMER_IN, "email"), (f"{CUSTOMER_IN}/properties", removing("email"))),
    case("request-property-added", prop(CUSTOMER_IN, "nickname"),
         (f"{CUSTOMER_IN}/properties", setting(nickname={"type": "string"}))),
    case("request-property-added-required", prop(CUSTOMER_IN, "nickname"),
         ((f"{CUSTOMER_IN}/properties", setting(nickname={"type": "string"})),
          (CUSTOMER_IN, lambda s: s["required"].append("nickname")))),
    case("request-property-made-required", prop(CUSTOMER_IN, "email"),
         (CUSTOMER_IN, lambda s: s["required"].append("email"))),
    case("request-property-made-optional", prop(CUSTOMER_IN, "name"),
         (CUSTOMER_IN, lambda s: s["required"].remove("name"))),
    case("request-property-became-read-only", prop(CUSTOMER_IN, "email"),
         (prop(CUSTOMER_IN, "email"), setting(readOnly=True))),
    case("request-property-became-not-read-only", prop(CUSTOMER_IN, "email"), (),
         (prop(CUSTOMER_IN, "email"), setting(readOnly=True))),
    case("response-property-removed", prop(CUSTOMER_OUT, "email"), (f"{CUSTOMER_OUT}/properties", removing("email")),
         (CUSTOMER_OUT, setting(required=["email"]))),
    case("response-optional-property-removed", prop(CUSTOMER_OUT, "email"),
         (f"{CUSTOMER_OUT}/properties", removing("email"))),
    case("response-property-added", prop(CUSTOMER_OUT, "nickname"),
         (f"{CUSTOMER_OUT}/properties", setting(nickname={"type": "string"}))),
    case("response-property-added-required", prop(CUSTOMER_OUT, "nickname"),
         ((f"{CUSTOMER_OUT}/properties", setting(nickname={"type": "string"})),
          (CUSTOMER_OUT, setting(required=["nickname"])))),
    case("response-property-made-optional", prop(CUSTOMER_OUT, "email"), (),
         (CUSTOMER_OUT, setting(required=["email"]))),
    case("response-property-made-required", prop(CUSTOMER_OUT, "email"), (CUSTOMER_OUT, setting(required=["email"]))),
    case("response-property-became-write-only", prop(CUSTOMER_OUT, "email"),
         (prop(CUSTOMER_OUT, "email"), setting(writeOnly=True))),
    case("response-property-became-not-write-only", prop(CUSTOMER_OUT, "email"), (),
         (prop(CUSTOMER_OUT, "email"), setting(writeOnly=True))),
    # values
    case("request-enum-narrowed", f"{ORDER}/schema/enum", (f"{ORDER}/schema/enum", lambda e: e.remove("desc"))),
    case("request-enum-widened", f"{ORDER}/schema/enum", (f"{ORDER}/schema/enum", lambda e: e.append("random"))),
    case("response-enum-widened", f"{CHECKOUT_OUT}/enum", (f"{CHECKOUT_OUT}/enum", lambda e: e.append("refunded"))),
    case("response-enum-narrowed", f"{CHECKOUT_OUT}/enum", (f"{CHECKOUT_OUT}/enum", lambda e: e.remove("expired"))),
    case("request-extensible-enum-narrowed", f"{ORDER}/schema/x-extensible-enum",
         (f"{ORDER}/schema", setting(x__extensible__enum=["asc"])),
         (f"{ORDER}/schema", setting(x__extensible__enum=["asc", "desc"]))),
    case("request-const-added", prop(S_REQ, "s"), (prop(S_REQ, "s"), setting(const="x")), spec=SMALL),
    case("request-const-changed", prop(S_REQ, "s"), (prop(S_REQ, "s"), setting(const="y")),
         (prop(S_REQ, "s"), setting(const="x")), spec=SMALL),
    case("request-const-removed", prop(S_REQ, "s"), (prop(S_REQ, "s"), removing("const")),
         (prop(S_REQ, "s"), setting(const="x")), spec=SMALL),
    case("response-const-added", prop(S_RESP, "s"), (prop(S_RESP, "s"), setting(const="x")), spec=SMALL),
    case("response-const-changed", prop(S_RESP, "s"), (prop(S_RESP, "s"), setting(const="y")),
         (prop(S_RESP, "s"), setting(const="x")), spec=SMALL),
    case("response-const-removed", prop(S_RESP, "s"), (prop(S_RESP, "s"), removing("const")),
         (prop(S_RESP, "s"), setting(const="x")), spec=SMALL),
    case("request-default-changed", prop(f"{SCHEMAS}/CreatePaymentRequest", "process_payment"),
         (prop(f"{SCHEMAS}/CreatePaymentRequest", "process_payment"), setting(default=False))),
    case("response-default-changed", prop(CUSTOMER_OUT, "email"), (prop(CUSTOMER_OUT, "email"), setting(default=""))),
    # composition (the full spec has none)
    case("request-all-of-added", prop(S_REQ, "o"), (prop(S_REQ, "o"), setting(**composed("allOf", "Cat"))),
         spec=SMALL),
    case("request-all-of-removed", f"{prop(S_REQ, 'o')}/allOf/0", (prop(S_REQ, "o"), removing("allOf")),
         (prop(S_REQ, "o"), setting(**composed("allOf", "Cat"))), spec=SMALL),
    case("response-all-of-added", prop(S_RESP, "o"), (prop(S_RESP, "o"), setting(**composed("allOf", "Cat"))),
         spec=SMALL),
    case("response-all-of-removed", f"{prop(S_RESP, 'o')}/allOf/0", (prop(S_RESP, "o"), removing("allOf")),
         (prop(S_RESP, "o"), setting(**composed("allOf", "Cat"))), spec=SMALL),
    *(case(f"{ctx}-{id}-{change}", f"{prop(schema, 'o')}/{key}/1", (prop(schema, "o"), setting(**composed(key, *after))),
           (prop(schema, "o"), setting(**composed(key, *before))), spec=SMALL)
      for key, id in (("oneOf", "one-of"), ("anyOf", "any-of")) for ctx, schema in (("request", S_REQ),
                                                                                   ("response", S_RESP))
      for change, before, after in (("added", ("Cat",), ("Cat", "Dog")), ("removed", ("Cat", "Dog"), ("Cat",)))),
    case("request-wrapped-in-one-of", f"{SCHEMAS}/Req", (f"{THINGS_POST}/requestBody/content/application~1json",
                                                          setting(schema=composed("oneOf", "Req", "Cat"))), spec=SMALL),
    case("response-wrapped-in-one-of", f"{SCHEMAS}/Resp",
         (f"{THINGS_POST}/responses/200/content/application~1json", setting(schema=composed("oneOf", "Resp", "Dog"))),
         spec=SMALL),
    *(case(f"{ctx}-discriminator-{change}", f"{prop(schema, 'pet')}/discriminator", (f"{schema}/properties", new),
           (f"{schema}/properties", old), spec=SMALL)
      for ctx, schema in (("request", S_REQ), ("response", S_RESP))
      for change, old, new in (
          ("added", setting(pet=composed("oneOf", "Cat", "Dog")), setting(pet=discriminated(PETS))),
          ("removed", setting(pet=discriminated(PETS)), setting(pet=composed("oneOf", "Cat", "Dog"))),
          ("property-changed", setting(pet=discriminated(PETS)), setting(pet=discriminated(PETS, "type"))),
          ("mapping-added", setting(pet=discriminated({"cat": "Cat"})), setting(pet=discriminated(PETS))),
          ("mapping-removed", setting(pet=discriminated(PETS)), setting(pet=discriminated({"cat": "Cat"}))),
          ("mapping-changed", setting(pet=discriminated(PETS)), setting(pet=discriminated({"cat": "Dog", "dog": "Dog"})))
      )),
    *bound_cases(),
    *value_cases(),
    *applicator_cases(),
]


@pytest.fixture(scope="module")
def specs() -> dict[str, dict]:
    return {FULL: json.loads(full_spec_path().read_text()), SMALL: small_spec()}


def test_every_rule_has_a_case():
    assert sorted(set(RULES) - {c.rule for c in CASES}) == []
    assert sorted({c.rule for c in CASES} - set(RULES)) == []


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_each_rule_is_found_at_its_place(specs, case: Case):
    before, after = edited(specs[case.spec], case.old), edited(specs[case.spec], case.new)
    changes = Comparison(before, after, LIFECYCLE).changes
    assert sorted({c.rule for c in changes}) == sorted({case.rule, *case.also})
    [change] = [c for c in changes if c.rule == case.rule]
    assert case.place in (change.old, change.new) or any(
        place and (place.startswith(case.place) or case.place.startswith(place)) for place in (change.old, change.new))
    assert change.message and "\n" not in change.message


HARMLESS: list[tuple[str, str, tuple[Edit, ...], tuple[Edit, ...]]] = [
    ("an operation's description edited", FULL, ((CUSTOMER_GET, setting(description="Returns one customer."),),), ()),
    ("a schema's description edited", FULL, ((prop(CUSTOMER_OUT, "email"), setting(description="Where we write")),), ()),
    ("an example changed", FULL, ((prop(CUSTOMER_IN, "email"), setting(example="ada@example.com")),), ()),
    ("a new optional request property", FULL, ((f"{CUSTOMER_IN}/properties", setting(nickname={"type": "string"})),),
     ()),
    ("a new operation", FULL, (("/paths", setting(**{"/customers/{id}/notes": {"get": {"responses": {
        "200": {"description": "ok"}}}}})),), ()),
    ("a response property added", FULL, ((f"{CUSTOMER_OUT}/properties", setting(nickname={"type": "string"})),), ()),
    ("a new optional parameter", FULL, (add_param("currency"),), ()),
    ("a parameter's description edited", FULL, ((LIMIT, setting(description="Page size")),), ()),
    ("a request limit loosened", FULL, ((prop(CUSTOMER_IN, "name"), setting(maxLength=500)),), ()),
    ("a response limit tightened", FULL, ((prop(CUSTOMER_OUT, "email"), setting(maxLength=320)),), ()),
    ("the type of an enum written down", FULL, ((f"{ORDER}/schema", setting(type="string")),),
     ((f"{ORDER}/schema", removing("type")),)),
    ("a request enum value added", FULL, ((f"{ORDER}/schema/enum", lambda e: e.append("random")),), ()),
    ("a response media type added", FULL, ((f"{CUSTOMER_200}/content", setting(**{"text/csv": {}})),), ()),
    ("a non-success status documented", FULL, ((f"{CUSTOMER_GET}/responses", setting(**{"404": {
        "description": "no such customer"}})),), ()),
    ("a header parameter's name in another case", FULL, (
        (f"{params(UNITS)}/0", setting(name="x-trace-id", **{"in": "header"})),),
     ((f"{params(UNITS)}/0", setting(name="X-Trace-Id", **{"in": "header"})),)),
    ("the API key header's name in another case", FULL, ((KEY_SCHEME, setting(name="X-API-Key")),), ()),
    ("a security scheme's description edited", FULL, ((KEY_SCHEME, setting(description="Your API key")),), ()),
    ("another way to authenticate", FULL, (("/components/securitySchemes", setting(Bearer=BEARER)),
                                           (CUSTOMER_GET, setting(security=[{"ApiKeyAuth": []}, {"Bearer": []}]))),
     ()),
    ("a shared schema wrapped in allOf to describe it", FULL, ((prop(CUSTOMER_IN, "integration_entity_mapping"),
                                                               setting(items={"allOf": [{
                                                                   "$ref": REF + "CreateEntityIntegrationMappingRequest"
                                                               }], "description": "one mapping"})),), ()),
    ("a readOnly property added to a request", FULL, ((f"{CUSTOMER_IN}/properties",
                                                      setting(id={"type": "string", "readOnly": True})),), ()),
    ("a writeOnly property removed from a response", FULL, ((f"{CUSTOMER_OUT}/properties", removing("secret")),),
     ((f"{CUSTOMER_OUT}/properties", setting(secret={"type": "string", "writeOnly": True})),)),
    ("a deprecation with a sunset far enough away", FULL, ((CUSTOMER_GET, setting(deprecated=True,
                                                                                  x__sunset="2027-06-01")),), ()),
    ("an operation made stable", FULL, ((CUSTOMER_GET, removing("x-stability-level")),),
     ((CUSTOMER_GET, setting(x__stability__level="beta")),)),
    ("a breaking change to an alpha operation", FULL, ((CUSTOMER_GET, setting(x__stability__level="alpha",
                                                                               parameters=[])),),
     ((CUSTOMER_GET, setting(x__stability__level="alpha")),)),
    ("a oneOf variant's schema renamed", SMALL, ((SCHEMAS, setting(Kitty={"type": "object", "title": "Cat"})),
                                                 (f"{S_RESP}/properties", setting(pet=discriminated(
                                                     {"cat": "Kitty", "dog": "Dog"}) | composed("oneOf", "Kitty", "Dog")))),
     ((f"{S_RESP}/properties", setting(pet=discriminated(PETS))),)),
    ("a oneOf variant added to a request", SMALL, ((prop(S_REQ, "o"), setting(**composed("oneOf", "Cat", "Dog"))),),
     ((prop(S_REQ, "o"), setting(**composed("oneOf", "Cat"))),)),
]


@pytest.mark.parametrize(("spec", "new", "old"), [h[1:] for h in HARMLESS], ids=[h[0] for h in HARMLESS])
def test_a_harmless_change_reports_nothing_above_info(specs, spec, new, old):
    before, after = edited(specs[spec], old), edited(specs[spec], new)
    findings = Policy().apply(Comparison(before, after, LIFECYCLE).changes)
    assert [(f.change.rule, f.level) for f in findings if f.level != "info"] == []
