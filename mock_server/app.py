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

from .devtools.admin import AdminMiddleware
from .devtools.admin_auth import AdminAuth
from .devtools.dashboard import Dashboard
from .devtools.fixtures import Fixtures, read
from .devtools.journal import Journal, JournalMiddleware
from .devtools.webhook_payloads import Payloads
from .devtools.webhooks import WebhookOptions, Webhooks
from .domain.backend import Backend
from .domain.clock import Clock
from .domain.replica import Replica
from .http import application
from .http.behaviours import BEHAVIOURS
from .http.endpoint import Wiring
from .http.faults import Faults
from .http.handlers import Api
from .http.limits import DEFAULT_MAX_BODY
from .http.prefer import Prefer
from .http.stubs import Stubs
from .storage.opening import open_store
from .storage.store import Store

DEFAULT_API_KEY = "sk_flexprice_mock_dev_key"


@asynccontextmanager
async def _delivering(webhooks: Webhooks, _app):
    """While the server runs, webhooks are delivered on its own event loop."""
    webhooks.attach(asyncio.get_running_loop())
    try:
        yield
    finally:
        webhooks.detach()


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
) -> application.App:
    """The mock for `spec` (default: the seed spec), with all state in `store`. CORS is off
    unless `cors_origins` names the browser origins allowed to call it. `fixtures` (files or
    folders) are loaded now and after every reset; a bad one raises `fixtures.FixtureError`.
    `clock` is the billing clock (real time by default; `Clock(start)` starts frozen).
    `admin_token`, if given, is the Bearer token every `/_mock/` call must send; `webhooks` the
    endpoints to deliver domain events to from the start, and how to retry. `store` is a `Store`
    or the URL of one (`memory`, `redis://HOST:PORT/DB` with its key `namespace`)."""
    spec = spec if isinstance(spec, Spec) else Spec.load(spec)
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
    stubs = Stubs(spec, model, api.fake)
    lifecycle.on_local_reset(stubs.clear)  # before the fixtures' reload, which sets their stubs again
    loader = Fixtures(backend, [document for path in fixtures for document in read(path)], stubs)
    if faults is not None:
        lifecycle.on_local_reset(faults.reseed)
    # after the fixtures, so its reset hook forgets what reloading them recorded: not news
    payloads = Payloads(spec, backend.schemas, backend.records.get)
    hooks = Webhooks(backend.outbox, lifecycle, payloads, webhooks, seed)
    wiring = Wiring(api, Prefer(api.fake, faults), max_body, strict, stubs)
    auth = AdminAuth(admin_token)
    dashboard = Dashboard(backend, journal, hooks, stubs, faults, auth) if admin else None
    outer = [
        # outermost, so preflights skip auth and routing and error responses carry the headers too
        *([application.cors(cors_origins)] if cors_origins else []),
        *([partial(AdminMiddleware, fixtures=loader, journal=journal, auth=auth, stubs=stubs,
                   webhooks=hooks, dashboard=dashboard)] if admin else []),
        partial(JournalMiddleware, journal=journal),
    ]
    app = application.build(spec, model, wiring, outer, partial(_delivering, hooks))
    app.state = backend  # the in-process runner reaches the domain through this
    app.api, app.journal, app.fixtures, app.stubs, app.webhooks = api, journal, loader, stubs, hooks
    lifecycle.ready()
    return app
