"""The dashboard's routes: one server-rendered page per view, the forms that act, the login form
and the packaged assets. `AdminMiddleware` mounts `Dashboard.routes` beside the JSON endpoints,
so the pages share their protection (`admin_auth.py`) and their answer to a store that cannot be
reached.

Pages are Jinja2 templates (autoescaped) over what the domain and the devtools already keep;
actions are plain HTML forms that post here (moving the clock renders what the move did; a reset
needs its confirmation box ticked; a retry redirects back), refused from another origin. Snapshots
use the JSON endpoints `GET /_mock/state/export` and `POST /_mock/state/import` from a few lines of
script. Every page carries a Content-Security-Policy that allows nothing but this server's own
assets: no inline script or style, nothing from the internet.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, quote

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Scope

from ...core.failures import Failure, NotFound
from ...domain.backend import Backend
from ...domain.billing.subscriptions import LIVE
from ...http.faults import Faults
from ...http.stubs import Stubs
from ..admin_auth import AdminAuth, same_origin
from ..clock_moves import move_clock
from ..journal import Journal
from ..webhooks import Webhooks
from .browse import PAGE, Browser
from .exchanges import STATUS_CLASSES, Filters, exchanges
from .formatting import FILTERS
from .timeline import customer_timeline

HERE = Path(__file__).resolve().parent
ROOT = "/_mock"
PREFIX = "/_mock/dashboard"
ASSETS = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}
RECENT = 10
DELIVERIES_SHOWN = 100
MOVES = ("P1D", "P1W", "P1M")
HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

Handler = Callable[[Request], Awaitable[Response]]


class Dashboard:
    def __init__(self, backend: Backend, journal: Journal, webhooks: Webhooks, stubs: Stubs, faults: Faults | None,
                 auth: AdminAuth) -> None:
        self.backend, self.store, self.billing = backend, backend.store, backend.billing
        self.journal, self.webhooks, self.stubs, self.faults, self.auth = journal, webhooks, stubs, faults, auth
        self.browser = Browser(backend.records)
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                                     undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True,
                                     auto_reload=False)
        self.templates.filters.update(FILTERS)
        self.assets = {name: (HERE / "static" / name).read_bytes() for name in ASSETS}
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", ROOT): self.overview,
            ("GET", f"{PREFIX}/resources"): self.resources,
            ("GET", f"{PREFIX}/resources/{{entity}}"): self.collection,
            ("GET", f"{PREFIX}/resources/{{entity}}/{{id}}"): self.record,
            ("GET", f"{PREFIX}/customers/{{id}}"): self.timeline,
            ("GET", f"{PREFIX}/clock"): self.clock,
            ("POST", f"{PREFIX}/clock"): self.move_clock,
            ("GET", f"{PREFIX}/requests"): self.requests,
            ("GET", f"{PREFIX}/webhooks"): self.webhooks_page,
            ("POST", f"{PREFIX}/webhooks/deliveries/{{id}}/retry"): self.retry,
            ("GET", f"{PREFIX}/state"): self.state,
            ("POST", f"{PREFIX}/reset"): self.reset,
            ("POST", f"{PREFIX}/login"): self.login,
            ("GET", f"{PREFIX}/static/{{name}}"): self.asset,
        }

    # -- what AdminMiddleware asks ----------------------------------------------------------------
    def public(self, handler: Handler | None) -> bool:
        """The login form's target and the assets it needs are open to all."""
        return handler is not None and handler in (self.login, self.asset)

    @staticmethod
    def page(path: str) -> bool:
        return path == ROOT or path.startswith(PREFIX)

    def login_form(self, scope: Scope) -> Response:
        """401 with a form that asks for the admin token, then comes back to the page asked for."""
        wanted = scope["path"] + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
        return self.render("login.html", {"next": wanted, "wrong": False}, status=401)

    # -- views ------------------------------------------------------------------------------------
    async def overview(self, _request: Request) -> Response:
        spec = self.backend.spec
        counts = [(entity, resource, count) for entity, resource, count in self.browser.counts() if count]
        return self.render("overview.html", {
            "page": "overview", "spec": spec, "info": spec.document.get("info") or {},
            "operations": len(self.backend.model.operations), "counts": counts,
            "store": self._store_label(), "requests": self.journal.entries(last=RECENT)[::-1],
            "deliveries": self.webhooks.deliveries(last=RECENT)[::-1], "endpoints": self.webhooks.endpoints(),
            "stubs": self.stubs.entries(), "faults": self.faults if self.faults is not None and self.faults.active else None,
        })

    async def resources(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        found = self.browser.find_anywhere(query) if query else []
        if len(found) == 1:
            entity, record = found[0]
            return RedirectResponse(self._record_url(entity, record["id"]), 303)
        return self.render("resources.html", {"page": "resources", "counts": self.browser.counts(), "q": query,
                                              "found": found})

    async def collection(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in self.browser.resources:
            return self.not_found(f"no resource {entity}")
        query = request.query_params.get("q", "").strip()
        number = _positive(request.query_params.get("page"))
        rows, total = self.browser.page(entity, query, number)
        return self.render("collection.html", {
            "page": "resources", "entity": entity, "resource": self.browser.resources[entity], "rows": rows,
            "total": total, "q": query, "number": number, "pages": max(1, -(-total // PAGE))})

    async def record(self, request: Request) -> Response:
        entity, record_id = request.path_params["entity"], request.path_params["id"]
        record = self.browser.record(entity, record_id)
        if record is None:
            return self.not_found(f"no {entity} {record_id}")
        return self.render("record.html", {
            "page": "resources", "entity": entity, "record": record, "references": self.browser.references(record),
            "related": self.browser.referenced_by(entity, record),
            "periods": self.browser.periods(record) if entity == "subscription" else []})

    async def timeline(self, request: Request) -> Response:
        customer = self.browser.record("customer", request.path_params["id"])
        if customer is None:
            return self.not_found(f"no customer {request.path_params['id']}")
        return self.render("timeline.html", {"page": "resources", "timeline": customer_timeline(self.billing, customer)})

    async def clock(self, _request: Request, moved: dict | None = None, status: int = 200) -> Response:
        live = sorted((s for s in self.billing.records.where("subscription")
                       if s.get("subscription_status") in LIVE and s.get("current_period_end")),
                      key=lambda s: s["current_period_end"])
        return self.render("clock.html", {"page": "clock", "moves": MOVES, "moved": moved, "due": live[:RECENT]},
                           status=status)

    async def move_clock(self, request: Request) -> Response:
        """`advance=P1D` or `to=` a date (midnight UTC) or an RFC 3339 instant; the page then lists
        what the move did. A refusal (a date in the past) is shown on the page, as a 400."""
        form = await _form(request)
        if form is None:
            return self.forbidden()
        how = "advance" if form.get("advance") else "to"
        value = form.get(how) or ""
        if how == "to" and "T" not in value:
            value += "T00:00:00Z"  # a date: its midnight, UTC
        try:
            moved = move_clock(self.backend, how, value)
        except Failure as exc:
            return await self.clock(request, {"error": exc.message}, 400)
        return await self.clock(request, moved)

    async def requests(self, request: Request) -> Response:
        filters = Filters(request.query_params.get("q", ""), request.query_params.get("method", ""),
                          request.query_params.get("status", ""))
        shown, total = exchanges(self.journal, filters)
        return self.render("requests.html", {"page": "requests", "entries": shown, "total": total, "filters": filters,
                                             "methods": ("GET", "POST", "PUT", "PATCH", "DELETE"),
                                             "classes": STATUS_CLASSES})

    async def webhooks_page(self, request: Request) -> Response:
        return self.render("webhooks.html", {
            "page": "webhooks", "endpoints": self.webhooks.endpoints(),
            "deliveries": self.webhooks.deliveries(last=DELIVERIES_SHOWN)[::-1],
            "retried": request.query_params.get("retried", "")})

    async def retry(self, request: Request) -> Response:
        if await _form(request) is None:
            return self.forbidden()
        delivery_id = request.path_params["id"]
        try:
            self.webhooks.retry(delivery_id)
        except Failure as exc:  # it left the log, or its endpoint was removed
            return self.render("message.html", {"page": "webhooks", "title": "Not retried", "message": exc.message},
                               404 if isinstance(exc, NotFound) else 400)
        return RedirectResponse(f"{PREFIX}/webhooks?retried={quote(delivery_id)}", 303)

    async def state(self, request: Request) -> Response:
        return self.render("state.html", {"page": "state", "counts": self.browser.counts(),
                                          "was_reset": request.query_params.get("reset") == "done"})

    async def reset(self, request: Request) -> Response:
        """Only with the confirmation box ticked, so no stray click drops the state."""
        form = await _form(request)
        if form is None:
            return self.forbidden()
        if form.get("confirm") != "yes":
            return self.render("message.html", {"page": "state", "title": "Not reset",
                                                "message": "Tick the confirmation box to reset the mock."}, 400)
        self.backend.reset()
        return RedirectResponse(f"{PREFIX}/state?reset=done", 303)

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return self.forbidden()
        wanted = form.get("next") or f"{ROOT}/"
        wanted = wanted if wanted.startswith(f"{ROOT}/") and not wanted.startswith("//") else f"{ROOT}/"
        if self.auth.open:
            return RedirectResponse(wanted, 303)
        if not self.auth.accepts(form.get("token", "")):
            return self.render("login.html", {"next": wanted, "wrong": True}, status=401)
        return RedirectResponse(wanted, 303, headers={"set-cookie": self.auth.session_cookie()})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.assets:
            return self.not_found(f"no asset {name}")
        return Response(self.assets[name], media_type=ASSETS[name],
                        headers={"cache-control": "max-age=300", "x-content-type-options": "nosniff"})

    # -- helpers ----------------------------------------------------------------------------------
    def render(self, template: str, context: dict, status: int = 200) -> Response:
        page = self.templates.get_template(template).render(
            clock=self.backend.clock.describe(), token_needed=not self.auth.open, root=ROOT, prefix=PREFIX,
            **{"page": "", **context})
        return Response(page, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS)

    def not_found(self, message: str) -> Response:
        return self.render("message.html", {"title": "Not found", "message": message}, 404)

    def forbidden(self) -> Response:
        return self.render("message.html", {"title": "Refused", "message": "This form was sent from another site."}, 403)

    def _store_label(self) -> str:
        namespace = getattr(self.store, "namespace", None)  # only a shared (Redis) store has one
        return f"Redis, namespace {namespace}" if namespace else "memory (this process)"

    @staticmethod
    def _record_url(entity: str, record_id: str) -> str:
        return f"{PREFIX}/resources/{entity}/{quote(record_id, safe='')}"


async def _form(request: Request) -> dict[str, str] | None:
    """A posted form's fields (URL-encoded), or None when another origin sent it."""
    if not same_origin(request.scope):
        return None
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def _positive(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else 1
