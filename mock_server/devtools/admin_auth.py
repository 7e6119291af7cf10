"""Who may use `/_mock/`: the admin endpoints and the dashboard share one rule.

Without an admin token everything is open (the CLI binds loopback only unless given a token or
`--no-admin`). With a token a call needs `Authorization: Bearer TOKEN`, or, from a browser, the
dashboard's session cookie, which its login form sets once the token is typed in. The cookie holds
an HMAC of the token, never the token itself; it is `HttpOnly`, `SameSite=Strict` and scoped to
`/_mock`. A browser request that changes something (any method but GET and HEAD) and came from
another origin is refused even with the cookie, so another page the developer has open cannot
drive the mock through it. Every comparison is constant time.
"""
from __future__ import annotations

import hashlib
import hmac

from starlette.requests import cookie_parser
from starlette.types import Scope

from ..http.asgi import header

COOKIE = "flexprice_mock_admin"
SESSION_CONTEXT = b"flexprice-mock dashboard session"
SAFE_METHODS = frozenset({"GET", "HEAD"})


class AdminAuth:
    def __init__(self, token: str | None = None) -> None:
        self._bearer = f"Bearer {token}".encode() if token else None
        self._token = token.encode() if token else None
        self._session = hmac.new(token.encode(), SESSION_CONTEXT, hashlib.sha256).hexdigest().encode() if token else None

    @property
    def open(self) -> bool:
        """No token: anyone who reaches the address may call."""
        return self._bearer is None

    def allows(self, scope: Scope) -> bool:
        """The Bearer token, or the session cookie on a same-origin (or read-only) request."""
        if self._bearer is None:
            return True
        given = header(scope["headers"], b"authorization")
        if given is not None:
            return hmac.compare_digest(given.encode("latin-1"), self._bearer)
        session = cookie_parser(header(scope["headers"], b"cookie") or "").get(COOKIE)
        return (session is not None and hmac.compare_digest(session.encode("latin-1"), self._session)
                and (scope["method"] in SAFE_METHODS or same_origin(scope)))

    def accepts(self, token: str) -> bool:
        """Whether a token typed into the login form is the admin token."""
        return self._token is not None and hmac.compare_digest(token.encode("utf-8", "replace"), self._token)

    def session_cookie(self) -> str:
        """The `Set-Cookie` value that lets a browser in after a good login."""
        return f"{COOKIE}={self._session.decode()}; Path=/_mock; HttpOnly; SameSite=Strict"


def same_origin(scope: Scope) -> bool:
    """Whether a browser sent the request from a page of this server: its `Origin`, when there
    is one (browsers send it with every POST), names the host the request was sent to."""
    origin = header(scope["headers"], b"origin")
    if origin is None:
        return True
    host = header(scope["headers"], b"host") or ""
    return origin in (f"http://{host}", f"https://{host}")
