"""Small readers of raw ASGI scopes, shared by the middlewares that run before Starlette's
request objects exist (building one per request would cost more than the lookup)."""
from __future__ import annotations


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header `name` (lower-case bytes, as ASGI gives names), or None."""
    return next((value.decode("latin-1") for key, value in headers if key == name), None)
