"""The first answer a newcomer gets: `GET /` and `GET {base}` (`/v1`) describe the mock.

What spec is served (title, version, where it came from, how many operations), where the
Swagger UI and the document are, the dashboard and the admin endpoints, how to authenticate and, on the seed
spec, how to serve the whole Flexprice API. JSON by default; a readable HTML page when the
client accepts `text/html` (a browser). A spec that has an operation of its own at its base
path keeps it: the index then answers at `/` only.
"""
from __future__ import annotations

import html
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flexprice_spec.document import Spec, default_spec_path
from flexprice_spec.resources import Model

from .asgi import header

FULL_SPEC_HINT = ("Flexprice publishes its OpenAPI document in its repository, github.com/flexprice/flexprice, "
                  "as docs/swagger/swagger-3-0.json")


def _mock_version() -> str:
    try:
        return version("flexprice-mock")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


class IndexMiddleware:
    def __init__(self, app: ASGIApp, spec: Spec, model: Model, admin: list[str] | None,
                 dashboard: str | None = None) -> None:
        self.app = app
        base = spec.base_path
        own = any(op.method == "get" and op.path in ("", "/") for op in model.operations)
        self.paths = {"/"} | (set() if own or not base else {base, base + "/"})
        self.index = describe(spec, model, admin, dashboard)
        self.json = orjson.dumps(self.index, option=orjson.OPT_INDENT_2)
        self.html = render(self.index).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        wants_html = "text/html" in (header(scope["headers"], b"accept") or "")
        body, media_type = (self.html, "text/html; charset=utf-8") if wants_html else (self.json, "application/json")
        await Response(body, media_type=media_type)(scope, receive, send)


def describe(spec: Spec, model: Model, admin: list[str] | None, dashboard: str | None = None) -> dict:
    """The index as data: what the JSON answer holds and the page shows."""
    base = spec.base_path
    info = spec.document.get("info", {})
    seed = Path(spec.source).resolve() == default_spec_path().resolve() if "://" not in spec.source else False
    index = {
        "service": "flexprice-mock",
        "version": _mock_version(),
        "spec": {"title": info.get("title"), "version": info.get("version"), "source": spec.source,
                 "operations": len(model.operations), "seed": seed},
        "api": base or "/",
        "authentication": "send an API key in the x-api-key header: one given with --accept-key, or the development "
                          "key sk_flexprice_mock_dev_key when none is",
        "swagger_ui": f"{base}/ui/",
        "openapi": f"{base}/openapi.json",
        "dashboard": dashboard,
        "admin": admin if admin is not None else "off (--no-admin)",
    }
    if seed:
        index["full_api"] = (f"This is the seed spec ({len(model.operations)} operation). Serve the whole Flexprice "
                             "API with: flexprice-mock --spec PATH_OR_URL, naming Flexprice's OpenAPI document (a "
                             f"file, or an http(s) URL, downloaded once and cached). {FULL_SPEC_HINT}.")
    return index


def render(index: dict) -> str:
    """The index as a small page: the same facts, the links clickable."""
    spec = index["spec"]
    esc = html.escape
    admin = index["admin"]
    admin_items = "".join(f"<li><code>{esc(line)}</code></li>" for line in admin) if isinstance(admin, list) else (
        f"<li>{esc(admin)}</li>")
    full = f"<h2>The full API</h2><p>{esc(index['full_api'])}</p>" if "full_api" in index else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flexprice-mock</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
code{{background:#f3f3f3;padding:0 .2rem}}</style></head>
<body>
<h1>flexprice-mock {esc(index["version"])}</h1>
<p>Serving <strong>{esc(str(spec["title"]))} {esc(str(spec["version"]))}</strong>: {spec["operations"]} operations
from <code>{esc(spec["source"])}</code>, under <code>{esc(index["api"])}</code>.</p>
<ul>
<li><a href="{esc(index["swagger_ui"])}">Swagger UI</a>: try every operation</li>
<li><a href="{esc(index["openapi"])}">The OpenAPI document</a></li>
{f'<li><a href="{esc(index["dashboard"])}">The dashboard</a>: records, requests, webhooks, the clock</li>'
   if index["dashboard"] else ""}
<li>Authentication: {esc(index["authentication"])}</li>
</ul>
{full}
<h2>Admin endpoints</h2>
<ul>{admin_items}</ul>
</body></html>
"""
