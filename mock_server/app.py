"""`create_app`: the mock assembled from its layers, the one place that knows them all.

A spec model and a store make the domain (`domain.backend.Backend` on a `Replica`); the HTTP
layer answers the spec's operations over it (`http.handlers.Api`, `http.endpoint`, assembled by
Connexion in `http.application`); the developer tools wrap it (`devtools`: the admin endpoints,
the journal, fixtures, webhooks), each registering what it rebuilds after a reset.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, infer

from .devtools.admin import AdminMiddleware, endpoints
from .devtools.admin_auth import AdminAuth
from .devtools.dashboard import Dashboard
from .devtools.fixtures import Fixtures, read
from .devtools.journal import Journal, JournalMiddleware
from .devtools.recording import Recorder, Replayer
from .devtools.recording import read as read_recording
from .devtools.webhook_payloads import Payloads
from .devtools.webhooks import WebhookOptions, Webhooks
from .domain.backend import Backend
from .domain.clock import Clock
from .domain.replica import Replica
from .http import application, spec_cache
from .http.behaviours import BEHAVIOURS
from .http.endpoint import Wiring
from .http.faults import FaultRules, Faults
from .http.handlers import Api
from .http.index import IndexMiddleware
from .http.limits import DEFAULT_MAX_BODY
from .http.prefer import Prefer
from .http.proxy import ProxyMiddleware, ProxyOptions, Upstream
from .http.rule_fields import RuleReader
from .http.stubs import Stubs
from .storage.opening import open_store
from .storage.store import Store

DEFAULT_API_KEY = "sk_flexprice_mock_dev_key"


@asynccontextmanager
async def _delivering(webhooks: Webhooks, upstream: Upstream | None, _app):
    """While the server runs, webhooks are delivered on its own event loop; the upstream's
    connections close with it."""
    webhooks.attach(asyncio.get_running_loop())
    try:
        yield
    finally:
        webhooks.detach()
        if upstream is not None:
            await upstream.close()


def _proxy(options: ProxyOptions, spec: Spec, model: Model, max_body: int,
           backend: Backend) -> tuple[partial, Upstream | None]:
    """The proxy middleware `options` ask for (`http/proxy.py`), with its recorder or replayer."""
    upstream = Upstream(options.url, options.key) if options.url else None
    recorder = Recorder(options.recording, options.url) if options.recording and options.mode != "replay" else None
    replayer = Replayer(read_recording(options.recording)) if options.mode == "replay" else None
    return partial(ProxyMiddleware, spec=spec, model=model, mode=options.mode, max_body=max_body, upstream=upstream,
                   recorder=recorder, replayer=replayer, authenticate=backend.keys.authenticate), upstream


def create_app(
    spec: Spec | str | Path | None = None,
    store: Store | str | None = None,
    api_keys: Iterable[str] = (DEFAULT_API_KEY,),
    strict: bool = False,
    seed: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
    cors_origins: Iterable[str] = (),
    fixtures: Iterable[str | Path] = (),
    admin: bool = True,
    faults: Faults | None = None,
    clock: Clock | None = None,
    admin_token: str | None = None,
    webhooks: WebhookOptions | None = None,
    namespace: str = "default",
    proxy: ProxyOptions | None = None,
) -> application.App:
    """The mock for `spec` (default: the seed spec), with all state in `store`. CORS is off
    unless `cors_origins` names the browser origins allowed to call it. `fixtures` (files or
    folders) are loaded now and after every reset; a bad one raises `fixtures.FixtureError`.
    `clock` is the billing clock (real time by default; `Clock(start)` starts frozen).
    `admin_token`, if given, is the Bearer token every `/_mock/` call must send; `webhooks` the
    endpoints to deliver domain events to from the start, and how to retry. `store` is a `Store`
    or the URL of one (`memory`, `redis://HOST:PORT/DB` with its key `namespace`). `proxy` puts
    the mock in front of a real server (forwarding, recording or replaying its exchanges); in
    `replay` its recording is loaded into the state as fixtures are."""
    spec = spec if isinstance(spec, Spec) else Spec.load(spec)
    spec_cache.check(spec)  # a broken document is refused now, not at the first request to reach Connexion
    model: Model = infer(spec)
    if not isinstance(store, Store):
        store = open_store(store, {r.collection: r.unique_keys for r in model.resources.values()}, namespace=namespace)
    backend = Backend(spec, model, Replica(store, clock, seed))
    for key in api_keys:
        backend.keys.add_bootstrap(key)
    api = Api(spec, model, backend, seed=seed)
    api.behaviours.update(BEHAVIOURS)

    lifecycle = backend.lifecycle
    journal = Journal()
    lifecycle.on_local_reset(journal.clear)
    rules = FaultRules(faults)
    reader = RuleReader(spec, model, api.fake, rules, seed)
    stubs = Stubs(reader)
    lifecycle.on_local_reset(rules.reset)  # before the fixtures' reload, which sets their stubs again
    if proxy is not None and proxy.mode == "replay":
        fixtures = [*fixtures, proxy.recording]
    loader = Fixtures(backend, [document for path in fixtures for document in read(path)], stubs)
    # after the fixtures, so its reset hook forgets what reloading them recorded: not news
    payloads = Payloads(spec, backend.schemas, backend.records.get)
    hooks = Webhooks(backend.outbox, lifecycle, payloads, webhooks, seed)
    wiring = Wiring(api, Prefer(api.fake), rules, max_body, strict)
    auth = AdminAuth(admin_token)
    dashboard = Dashboard(backend, journal, hooks, stubs, faults, auth) if admin else None
    outer = [
        # outermost, so preflights skip auth and routing and error responses carry the headers too
        *([application.cors(cors_origins)] if cors_origins else []),
        *([partial(AdminMiddleware, fixtures=loader, journal=journal, auth=auth, stubs=stubs,
                   webhooks=hooks, dashboard=dashboard, faults=reader, max_body=max_body)] if admin else []),
        partial(IndexMiddleware, spec=spec, model=model, admin=[
            f"{method} {path}" for (method, path), _ in endpoints({"stubs", "faults", "webhooks"})] if admin else None,
                dashboard="/_mock/" if admin else None),
        partial(JournalMiddleware, journal=journal),
    ]
    upstream = None
    if proxy is not None:
        forwarding, upstream = _proxy(proxy, spec, model, max_body, backend)
        outer.append(forwarding)
    app = application.build(spec, model, wiring, outer, partial(_delivering, hooks, upstream))
    app.state = backend  # the in-process runner reaches the domain through this
    app.api, app.journal, app.fixtures, app.stubs, app.webhooks = api, journal, loader, stubs, hooks
    app.faults = reader
    lifecycle.ready()
    return app
