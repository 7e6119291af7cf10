"""Indexed route matching picks exactly the route Starlette would, on every path of the full spec."""
from __future__ import annotations

import re

from starlette.routing import Match, Router

from mock_server.app import create_app
from mock_server.http.connexion_app import RoutingMiddleware  # Connexion's, its notices silenced
from mock_server.http.dispatch import SHADOWED, first_segment
from mock_server.http.openapi_document import OpenApiDocumentMiddleware
from mock_server.http.routing import IndexedRouter


def routers(app) -> list[Router]:
    """The routers of Connexion's app behind the fast path (built here, if no request has yet)."""
    found = []
    for layer in app.connexion.middleware.middleware_stack:
        router = getattr(layer, "router", None)
        stack = [router] if isinstance(router, Router) else []
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(r.app for r in current.routes if isinstance(getattr(r, "app", None), Router))
    return found


def starlette_choice(router: Router, scope: dict):
    return next((route for route in router.routes if route.matches(scope)[0] is Match.FULL), None)


def indexed_choice(router: IndexedRouter, scope: dict):
    return next((route for route in router.candidates(scope["path"]) if route.matches(scope)[0] is Match.FULL), None)


def test_indexed_routers_choose_the_route_starlette_would_for_every_operation(full_spec):
    app = create_app(full_spec)
    fitted = [r for r in routers(app) if isinstance(r, IndexedRouter)]
    api_router = max(fitted, key=lambda r: len(r.routes))
    assert len(api_router.routes) > 200
    checked = 0
    for route in api_router.routes:
        path = re.sub(r"\{[^}]+\}", "x_1", route.path)
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            scope = {"type": "http", "path": path, "root_path": "", "method": method}
            assert indexed_choice(api_router, scope) is starlette_choice(api_router, scope), (method, path)
            checked += 1
    assert checked == 5 * len(api_router.routes)


def test_the_fast_path_takes_the_operation_connexions_router_would_and_nothing_else(full_spec):
    app = create_app(full_spec)
    assert app._connexion is None  # start-up built no Connexion
    fast = app.fast
    api_router = next(r for r in routers(app) if isinstance(r, IndexedRouter) and len(r.routes) > 200)
    taken = 0
    for route in api_router.routes:
        path = re.sub(r"\{[^}]+\}", "x_1", route.path)
        for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"):
            scope = {"type": "http", "path": "/v1" + path, "root_path": "", "method": method}
            chosen = starlette_choice(api_router, {**scope, "path": path})
            found = fast.route(scope)
            assert (found[0].op.operation_id if found else None) == (chosen.endpoint.operation_id if chosen else None)
            if found:
                assert found[1] == chosen.matches({**scope, "path": path})[1]["path_params"]
                taken += 1
    assert taken >= len(api_router.routes)
    for path in ("/v1/openapi.json", "/v1/ui/", "/v1/ui/index.html", "/v2/customers", "/customers", "/v1"):
        assert fast.route({"type": "http", "path": path, "root_path": "", "method": "GET"}) is None
    assert fast.route({"type": "http", "path": "/v1/customers", "root_path": "/mounted", "method": "GET"}) is None


def test_every_path_connexions_layers_answer_before_routing_is_left_to_them(full_spec):
    app = create_app(full_spec)
    stack = app.connexion.middleware.middleware_stack
    before = stack[:next(i for i, layer in enumerate(stack) if isinstance(layer, RoutingMiddleware))]
    paths = [path for layer in before if isinstance(layer, OpenApiDocumentMiddleware) for path in layer.paths]
    for layer in before:
        router = getattr(layer, "router", None)
        for mount in router.routes if isinstance(router, Router) else ():
            paths += [mount.path + route.path for route in mount.app.routes]
    assert paths
    assert {first_segment(path.removeprefix("/v1")) for path in paths} <= SHADOWED


def test_a_path_id_holding_an_encoded_newline_is_an_unknown_id_not_an_unknown_route(full_client):
    response = full_client.get("customers/a%0Ab")
    assert response.status_code == 404
    assert response.json()["message"] == "customer a\nb not found"
