"""Route matching fitted to a 250-operation spec, applied to Connexion's routers once built.

Starlette tries routes in order, one regex each, so on the full Flexprice spec a request for
`/secrets/api/keys` runs ~200 regexes before it matches (29-40% of a request's CPU, measured).
`IndexedRouter` tries only the routes whose first path segment can match, in the same order, so the
first full match, and with it every routing decision, is the one Starlette would make. A path that
no route matches at all, even with its trailing slash toggled, goes to the router's default (the
next layer, or the 404) as in Starlette; partial matches (405) and redirects go through
Starlette's own code.

Mounts (`/v1/{path}`) get a regex that also matches paths holding an encoded newline, so
`/v1/customers/a%0Ab` reaches the API and is an unknown id (404 `not_found` from the handler),
not an unknown route.
"""
from __future__ import annotations

import re

from connexion import AsyncApp
from starlette.routing import BaseRoute, Match, Mount, Router, get_route_path
from starlette.types import Receive, Scope, Send

from .dispatch import first_segment


def tune(app: AsyncApp) -> None:
    """Build the app's middleware stack now and fit every router in it."""
    middleware = app.middleware
    middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    for layer in middleware.middleware_stack:
        router = getattr(layer, "router", None)
        if isinstance(router, Router):
            _fit(router)


def _fit(router: Router) -> None:
    for route in router.routes:
        if isinstance(route, Mount):
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
            if isinstance(route.app, Router):
                _fit(route.app)
    if getattr(router.middleware_stack, "__self__", None) is not router:
        return  # the router wraps middleware of its own: leave it as Starlette built it
    router.__class__ = IndexedRouter
    router.index, router.anywhere = _index(router.routes)
    router.middleware_stack = router.app  # Starlette bound the old `app` at construction


def _index(routes: list[BaseRoute]) -> tuple[dict[str, list[BaseRoute]], list[BaseRoute]]:
    """Routes by literal first segment, each list in the router's order and holding the routes
    whose first segment is a parameter too."""
    def first(route: BaseRoute) -> str:
        return first_segment(getattr(route, "path", "") or "")

    wildcard = [r for r in routes if not first(r) or "{" in first(r)]
    segments = {first(r) for r in routes} - {first(r) for r in wildcard}
    index = {s: [r for r in routes if r in wildcard or first(r) == s] for s in segments}
    return index, wildcard


class IndexedRouter(Router):
    index: dict[str, list[BaseRoute]]
    anywhere: list[BaseRoute]

    def candidates(self, route_path: str) -> list[BaseRoute]:
        return self.index.get(first_segment(route_path), self.anywhere)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route_path = get_route_path(scope)
            partial = False
            for route in self.candidates(route_path):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
                partial = partial or match is Match.PARTIAL
            if not partial and not self.redirects(scope, route_path):
                scope.setdefault("router", self)
                await self.default(scope, receive, send)  # what Starlette does when nothing matches
                return
        await super().app(scope, receive, send)  # a 405 or a redirect: Starlette's own code decides

    def redirects(self, scope: Scope, route_path: str) -> bool:
        """Whether Starlette would redirect to the path with its trailing slash toggled."""
        if not self.redirect_slashes or route_path == "/":
            return False
        toggled = scope["path"].rstrip("/") if route_path.endswith("/") else scope["path"] + "/"
        other = {**scope, "path": toggled}
        return any(route.matches(other)[0] is not Match.NONE for route in self.candidates(get_route_path(other)))
