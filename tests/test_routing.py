"""Indexed route matching picks exactly the route Starlette would, on every path of the full spec."""
from __future__ import annotations

import re

from starlette.routing import Match, Router

from mock_server.app import create_app
from mock_server.http.routing import IndexedRouter


def routers(app) -> list[Router]:
    found = []
    for layer in app.middleware.middleware_stack:
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
    from mock_server.http.routing import _first_segment
    candidates = router.index.get(_first_segment(scope["path"]), router.anywhere)
    return next((route for route in candidates if route.matches(scope)[0] is Match.FULL), None)


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


def test_a_path_id_holding_an_encoded_newline_is_an_unknown_id_not_an_unknown_route(full_client):
    response = full_client.get("customers/a%0Ab")
    assert response.status_code == 404
    assert response.json()["message"] == "customer a\nb not found"
