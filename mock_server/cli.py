"""The `flexprice-mock` command: serve a spec, or report what the mock infers from it."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from flexprice_cli.program import DEFAULT_SEED, Program, SpecSource, UsageProblem, option
from flexprice_spec.document import Spec, SpecError
from flexprice_spec.overlays import OverlayError
from flexprice_spec.remote import is_url
from flexprice_spec.resources import infer

from . import config, logs
from .app import DEFAULT_API_KEY
from .core.failures import Invalid, Unavailable
from .core.times import parse_instant
from .devtools.fixtures import FixtureError
from .domain.clock import Clock
from .http.faults import Faults
from .http.limits import DEFAULT_MAX_BODY
from .http.proxy import MODES, ProxyOptions
from .runner import base_url, bind, server_for
from .schemas.checks import Schemas
from .schemas.synth import Synth
from .state_file import DEFAULT_INTERVAL, StateFile, StateFileError
from .storage.opening import MEMORY
from .workers import build, serve

SPEC_HELP = ("OpenAPI document to serve: a file, or an http(s) URL (downloaded once, cached in the user's cache "
             "folder, served from there offline). Default: the seed spec shipped with the package.")
OVERLAY_HELP = "OpenAPI Overlay 1.0 file applied to the spec in memory (repeatable, in order); the spec file is not changed."

def overlay_option(command):
    return option("--overlay", "overlay_paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
                        metavar="FILE", help=OVERLAY_HELP)(command)


def load_spec(spec_path: str | None, overlay_paths: tuple[str, ...]) -> Spec:
    """The spec with its overlays applied; what each overlay did, and any action that selected
    nothing, goes to stderr (a stale target is worth knowing about)."""
    try:
        spec = Spec.load(spec_path, overlay_paths)
    except (OverlayError, SpecError) as exc:  # a document the mock cannot serve: a usage error
        raise UsageProblem(str(exc)) from None
    if spec.note:
        click.echo(f"warning: {spec.source}: {spec.note}", err=True)
    for applied in spec.overlays:
        click.echo(applied.summary(), err=True)
        for line in applied.unmatched():
            click.echo(f"warning: overlay {applied.overlay.source}: {line}", err=True)
    return spec


def apply_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """`--config FILE` (or the working directory's pyproject) as the defaults of every option;
    eager, so it runs before the options it sets are read."""
    path = Path(value) if value else config.discovered()
    if path is None:
        return
    try:
        table = config.read(path)
        if table is None:
            raise config.ConfigError(f"{path}: no [tool.flexprice-mock] table")
        ctx.default_map = config.default_map(ctx.command, table, path)
    except config.ConfigError as exc:
        raise UsageProblem(str(exc)) from None


@contextmanager
def explained(spec: Spec) -> Iterator[None]:
    """`Spec.explaining` as one usage line (a fixture's error has its own)."""
    try:
        with spec.explaining(FixtureError):
            yield
    except SpecError as problem:
        raise UsageProblem(str(problem)) from None


@click.group("flexprice-mock", cls=Program, prefix="FLEXPRICE_MOCK", noun="mock", invoke_without_command=True)
@option("--config", type=click.Path(dir_okay=False), is_eager=True, expose_value=False, callback=apply_config,
              metavar="FILE", help="TOML file of option defaults (a pyproject.toml: its [tool.flexprice-mock]); "
                                   "flags given here win. Default: ./pyproject.toml if it has that table.")
@option("--spec", "spec_path", type=SpecSource(), metavar="PATH|URL", help=SPEC_HELP)
@overlay_option
@option("--host", default="127.0.0.1", help="Address to bind; 0.0.0.0 exposes the mock to the network.")
@option("--port", default=8080, type=click.IntRange(0, 65535),
              help="Port to bind; 0 picks a free one.")
@option("--accept-key", "--api-key", "api_keys", multiple=True, metavar="KEY",
              help=f"An API key this mock accepts from the start (repeatable; default {DEFAULT_API_KEY}); "
                   "keys made through the API are accepted too. --api-key is the older name.")
@option("--strict", is_flag=True, help="Validate every response the mock sends; log violations loudly.")
@option("--seed", default=DEFAULT_SEED, help="Seed for ids and fake data: the same seed replays the same run.")
@option("--log-level", default="warning",
              type=click.Choice(["debug", "info", "warning", "error"]))
@option("--max-body", default=DEFAULT_MAX_BODY, type=click.IntRange(min=1),
              help="Largest request body in bytes; larger ones get 413.")
@option("--cors", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Allow browser calls from ORIGIN (repeatable; '*' for any). CORS is off without it.")
@option("--log-format", default="text", type=click.Choice(["text", "json"]),
              help="Log lines as text or one JSON object each; --log-level info logs every request.")
@option("--fixtures", "fixture_paths", multiple=True, metavar="PATH",
              help="Data fixtures to start with and to reset to (YAML/JSON file or folder, repeatable; "
                   "'sample' for the sample set shipped with the package).")
@option("--no-admin", is_flag=True, help="Leave out the /_mock/ admin endpoints (reset, state, journal).")
@option("--admin-token", default=None, metavar="TOKEN",
              help="Require 'Authorization: Bearer TOKEN' on /_mock/; needed to bind anything but loopback, "
                   "unless --no-admin.")
@option("--latency", default=None, metavar="DURATION",
              help="Delay every API response: 50ms, 1s, or a seeded range 20ms-80ms.")
@option("--error-rate", default=0.0, type=click.FloatRange(0, 1),
              help="Share of API requests answered with an injected 500 (503 where 500 is undocumented).")
@option("--clock", "clock_start", default=None, metavar="RFC3339",
              help="Start the billing clock frozen at this instant (e.g. 2026-01-01T00:00:00Z); "
                   "move it with POST /_mock/clock. Default: real time.")
@option("--webhook-url", "webhook_urls", multiple=True, metavar="URL",
              help="Deliver every domain event to URL as the real server's webhooks (repeatable).")
@option("--webhook-secret", default=None, metavar="whsec_...",
              help="Sign deliveries to --webhook-url as Svix does; unsigned without.")
@option("--webhook-retries", default=5, type=click.IntRange(min=0),
              help="Retries of a delivery the receiver refused, failed or timed out (5 s an attempt).")
@option("--webhook-backoff", default=1.0, type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS", help="First retry delay; each further retry waits twice as long.")
@option("--store", "store_url", default=MEMORY, metavar="URL",
              help="Where the state lives: memory (this process), or redis://HOST:PORT/DB, shared by every mock "
                   "pointed at it.")
@option("--namespace", default="default",
              help="Prefix of every Redis key: mocks on one Redis with different namespaces do not see each "
                   "other's state.")
@option("--workers", default=1, type=click.IntRange(min=1),
              help="Processes serving the port; more than one needs a shared store (--store redis://...).")
@option("--proxy", "proxy_url", default=None, metavar="URL",
              help="A real Flexprice server's base URL (https://api.example/v1) to forward to: what --proxy-mode says.")
@option("--proxy-key", default=None, metavar="KEY",
              help="The API key forwarded requests carry to --proxy, in place of the client's; never recorded "
                   "or logged.")
@option("--proxy-mode", default="fallback", type=click.Choice(MODES),
              help="fallback: serve what the mock models, forward the rest; record: forward everything and save "
                   "each exchange to --recording; replay: answer from --recording, the mock where nothing matches.")
@option("--recording", default=None, metavar="PATH", type=click.Path(dir_okay=False),
              help="The recording file (JSON Lines, keys and secrets masked) that record appends to and replay "
                   "answers from; with fallback, forwarded exchanges are saved there too.")
@option("--state-file", default=None, metavar="PATH", type=click.Path(dir_okay=False),
              help="Keep the state in PATH: restored at start if it exists, saved every --state-interval seconds "
                   "and at shutdown (atomically: a killed mock leaves the last whole snapshot).")
@option("--state-interval", default=DEFAULT_INTERVAL, metavar="SECONDS",
              type=click.FloatRange(min=0, min_open=True), help="Seconds between saves of --state-file.")
@click.pass_context
def main(ctx: click.Context, spec_path, overlay_paths, host, port, api_keys, strict, seed, log_level, max_body,
         cors_origins, log_format, fixture_paths, no_admin, admin_token, latency, error_rate, clock_start,
         webhook_urls, webhook_secret, webhook_retries, webhook_backoff, store_url, namespace, workers,
         proxy_url, proxy_key, proxy_mode, recording, state_file, state_interval) -> None:
    """Serve the Flexprice API statefully from its OpenAPI spec."""
    if ctx.invoked_subcommand is not None:
        return
    if exposed(host):
        if not (no_admin or admin_token):
            raise UsageProblem(f"binding {host} would put the unauthenticated /_mock/ admin endpoints on the "
                               "network: pass --admin-token TOKEN (or FLEXPRICE_MOCK_ADMIN_TOKEN), or --no-admin")
        click.echo(f"warning: binding {host} exposes the mock to the network", err=True)
    if workers > 1 and store_url == MEMORY:
        raise UsageProblem(f"--workers {workers} needs a shared store: the memory store lives in one process; "
                           "pass --store redis://HOST:PORT/DB")
    proxy = proxy_options(proxy_url, proxy_key, proxy_mode, recording)
    spec = load_spec(spec_path, overlay_paths)
    try:
        Faults.parse(latency, error_rate, seed)
    except ValueError as exc:
        raise UsageProblem(f"--latency: {exc}") from None
    try:
        if clock_start:
            Clock(parse_instant(clock_start, "clock"))  # refused past the clock's horizon too
    except Invalid as exc:
        raise click.BadParameter(exc.message, param_hint="--clock") from None
    options = {
        "spec": spec_path, "overlays": list(overlay_paths), "clock": clock_start, "latency": latency,
        "error_rate": error_rate, "seed": seed, "log_level": log_level, "log_format": log_format,
        "webhooks": {"urls": list(webhook_urls), "secret": webhook_secret, "retries": webhook_retries,
                     "backoff": webhook_backoff},
        "proxy": None if proxy is None else asdict(proxy),
        "app": {"api_keys": list(api_keys or (DEFAULT_API_KEY,)), "strict": strict, "seed": seed, "max_body": max_body,
                "cors_origins": list(cors_origins), "fixtures": list(fixture_paths), "admin": not no_admin,
                "admin_token": admin_token, "store": store_url, "namespace": namespace},
    }
    try:
        with explained(spec):
            app = build(options, spec)
    except FixtureError as exc:
        raise click.ClickException(str(exc)) from None
    except Unavailable as exc:
        raise click.ClickException(f"cannot use the store at {redacted(store_url)}: {exc.message}") from None
    except Invalid as exc:  # a webhook URL or secret (never repeated), the store URL or namespace
        hint = f"--{exc.field}" if exc.field in ("store", "namespace") else f"--webhook-{exc.field}"
        raise click.BadParameter(exc.message, param_hint=hint) from None
    saver = StateFile(state_file, app.state, state_interval) if state_file else None
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot bind {host}:{port}: {exc.strerror}") from exc
    with persisted(saver):
        if workers > 1:
            if saver is None:
                app.state.store.close()  # the workers build their own; this one only set the state up
            serve(sock, workers, options, base_url(sock, spec))
            return
        server = server_for(app, log_level=log_level, announce=base_url(sock, spec))
        logs.configure(log_level, log_format)  # after uvicorn's Config, which sets its own up
        server.run(sockets=[sock])


@contextmanager
def persisted(saver: StateFile | None) -> Iterator[None]:
    """`--state-file`: its snapshot restored, saved in the background while the server runs and
    once more when it stops."""
    if saver is None:
        yield
        return
    try:
        saver.load()
        saver.start()
    except StateFileError as exc:
        raise UsageProblem(f"--state-file {exc}") from None
    try:
        yield
    finally:
        saver.stop()


def proxy_options(url: str | None, key: str | None, mode: str, recording: str | None) -> ProxyOptions | None:
    """What `--proxy`, `--proxy-key`, `--proxy-mode` and `--recording` ask for, or a usage error
    saying what is missing."""
    if url is None and recording is None:
        return None
    if url is not None and not is_url(url):
        raise click.BadParameter(f"{url!r} is not an http(s) URL (e.g. https://api.example/v1)", param_hint="--proxy")
    if mode != "replay" and url is None:
        raise UsageProblem(f"--proxy-mode {mode} forwards to a real server: pass --proxy URL")
    if mode in ("record", "replay") and recording is None:
        raise UsageProblem(f"--proxy-mode {mode} needs --recording PATH")
    if mode == "replay" and not Path(recording).is_file():
        raise UsageProblem(f"--recording {recording}: no such file to replay (record one with --proxy-mode record)")
    return ProxyOptions(mode, url, key, recording)


def redacted(url: str) -> str:
    """A store URL fit to print: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{parts.hostname}:{parts.port or 6379}"))


def exposed(host: str) -> bool:
    """Whether binding `host` lets other machines reach the mock: anything but loopback does
    (`0.0.0.0` and `::` on every interface; a host name may resolve anywhere)."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


@main.command()
@option("--spec", "spec_path", type=SpecSource(), metavar="PATH|URL", help=SPEC_HELP)
@overlay_option
@option("--markdown", is_flag=True, help="Print a Markdown table (what docs/coverage.md holds).")
def routes(spec_path, overlay_paths, markdown) -> None:
    """List every operation with the role and resource the mock inferred for it."""
    spec = load_spec(spec_path, overlay_paths)
    with explained(spec):
        model = infer(spec)
    rows = [(op.method.upper(), op.path, op.operation_id, op.role,
             op.resource.collection if op.resource else "-") for op in model.operations]
    header = ("method", "path", "operationId", "role", "resource")
    if markdown:
        click.echo("| " + " | ".join(header) + " |")
        click.echo("|" + "---|" * len(header))
        for row in rows:
            click.echo("| " + " | ".join(f"`{c}`" if i in (1, 2) else c for i, c in enumerate(row)) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@main.command()
@option("--spec", "spec_path", type=SpecSource(), metavar="PATH|URL", help=SPEC_HELP)
@option("--strict", is_flag=True, help="Exit 1 on any defect, even one the mock works around.")
@overlay_option
def lint(spec_path, overlay_paths, strict) -> int:
    """List defects of the spec that the mock works around (unsatisfiable schemas).

    Exit 0 when the mock works around every defect (all it reports today), 1 with --strict and
    any defect, 2 when the spec cannot be served at all."""
    spec = load_spec(spec_path, overlay_paths)
    with explained(spec):
        spec.check_schema()  # a linter checks the whole document, not only what the mock reads
        defects = Synth(spec, Schemas(spec)).defects()
    for line in defects:
        click.echo(line)
    click.echo(f"{len(defects)} defect(s) in {spec.source}, all worked around by the mock", err=True)
    return 1 if strict and defects else 0
