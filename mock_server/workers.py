"""`--workers N`: N processes serving one port, over one shared store.

The CLI builds the app once in its own process first: that checks every option and sets the
shared store's namespace up (fixtures are loaded there, once). Then uvicorn's supervisor spawns
the workers, which share the bound socket; each builds its app from the same options, read from
the environment (`app` is the factory uvicorn imports), and joins the state the first build set
up. The supervisor restarts a worker that dies and stops them all on Ctrl-C or SIGTERM. The
readiness line is printed once the port answers.
"""
from __future__ import annotations

import gc
import os
import socket
import threading
import time

import httpx
import orjson
import uvicorn
from uvicorn.supervisors import Multiprocess

from flexprice_spec.document import Spec

from . import logs
from .app import create_app
from .core.times import parse_instant
from .devtools.webhooks import WebhookOptions
from .domain.clock import Clock
from .http.faults import Faults
from .http.limits import GuardedHttpProtocol
from .http.proxy import ProxyOptions

OPTIONS = "FLEXPRICE_MOCK_WORKER_OPTIONS"  # the CLI's options, as JSON, for the spawned workers
READY_WAIT = 120.0  # seconds the announcement waits for the port to answer


def build(options: dict, spec: Spec | None = None):
    """The app the options describe (`spec`: theirs, loaded already): in the CLI's process and
    in every worker alike."""
    spec = spec or Spec.load(options["spec"], options["overlays"])
    clock = Clock(parse_instant(options["clock"], "clock")) if options["clock"] else None
    faults = Faults.parse(options["latency"], options["error_rate"], options["seed"])
    webhooks = options["webhooks"]
    proxy = ProxyOptions(**options["proxy"]) if options.get("proxy") else None
    return create_app(spec, clock=clock, faults=faults, webhooks=WebhookOptions(**{**webhooks, "urls": tuple(webhooks["urls"])}),
                      proxy=proxy, **options["app"])


def app():
    """uvicorn's factory in a worker: the app, with what start-up built out of the GC's reach
    (as the single-process server does, `runner.AnnouncingServer`)."""
    options = orjson.loads(os.environ[OPTIONS])
    logs.configure(options["log_level"], options["log_format"])
    built = build(options)
    gc.collect()
    gc.freeze()
    return built


def serve(sock: socket.socket, workers: int, options: dict, announce: str) -> None:
    """Run `workers` processes on `sock` until interrupted."""
    os.environ[OPTIONS] = orjson.dumps(options).decode()
    config = uvicorn.Config("mock_server.workers:app", factory=True, workers=workers, log_level=options["log_level"],
                            access_log=False, lifespan="on", http=GuardedHttpProtocol, ws="none")
    threading.Thread(target=_announce_when_served, args=(sock.getsockname()[:2], announce), daemon=True).start()
    Multiprocess(config, sockets=[sock]).run()


def _announce_when_served(address: tuple[str, int], announce: str) -> None:
    host, port = address
    host = f"[{host}]" if ":" in host else host
    deadline = time.monotonic() + READY_WAIT
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://{host}:{port}/_mock/ready", timeout=1.0)
        except httpx.HTTPError:
            time.sleep(0.1)
            continue
        print(announce, flush=True)
        return
