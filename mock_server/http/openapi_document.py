"""The served document at `{base}/openapi.json` and `.yaml`, for Swagger UI (`{base}/ui/`) and tools.

Connexion would serve its ref-resolved copy, which the recursive Plan/Price schemas make circular
(500 on the full spec) and which it rebuilds on every request. This serves the document as loaded,
`$ref`s intact, with `servers` pointing at the mock so Swagger UI's "Try it out" calls it. The
bytes are built on first request and kept.
"""
from __future__ import annotations

import orjson
import yaml
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flexprice_spec.document import Spec


class OpenApiDocumentMiddleware:
    def __init__(self, app: ASGIApp, spec: Spec) -> None:
        self.app = app
        self.spec = spec
        base = spec.base_path
        self.paths = {f"{base}/openapi.json": "application/json", f"{base}/openapi.yaml": "text/yaml"}
        self.bodies: dict[str, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        media_type = self.paths.get(scope.get("path", "")) if scope["type"] == "http" else None
        if media_type is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        await Response(self.body(media_type), media_type=media_type)(scope, receive, send)

    def body(self, media_type: str) -> bytes:
        found = self.bodies.get(media_type)
        if found is None:
            document = {**self.spec.document, "servers": [{"url": self.spec.base_path or "/"}]}
            found = orjson.dumps(document) if media_type == "application/json" else yaml.safe_dump(
                document, sort_keys=False, allow_unicode=True).encode()
            self.bodies[media_type] = found
        return found
