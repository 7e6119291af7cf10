"""API keys: a key you create authenticates until it is deleted or expires; the raw key is seen
once, in its create answer, and kept only as its SHA-256 digest.

Bootstrap keys (given on the command line) are this process's own: written again after every reset, whichever
process made it, so a shared state that was reset or lost still lets every replica's keys in.
Expiry is checked against wall time, not the billing clock, as the real server's auth does.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ulid import ULID

from ..core.failures import Invalid
from ..storage.store import ApiKey, Store, digest

PREFIXES = {"private_key": "sk", "publishable_key": "pk"}


class ApiKeys:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._bootstrap: list[bytes] = []

    def add_bootstrap(self, raw: str) -> None:
        self._bootstrap.append(digest(raw))
        self.store.put_key(digest(raw), "", None)

    def restore_bootstrap(self) -> None:
        for key in self._bootstrap:
            self.store.put_key(key, "", None)

    def issue(self, kind: str, secret_id: str, expires_at: datetime | None) -> str:
        """A new raw `sk_<ULID>`/`pk_<ULID>` key for a secret (`kind` as `checked_kind` said)."""
        raw = f"{PREFIXES[kind]}_{ULID()}"
        self.store.put_key(digest(raw), secret_id, expires_at)
        return raw

    def add_digest(self, sha256: str, secret_id: str = "", expires_at: datetime | None = None) -> None:
        """A key known by its SHA-256 (hex) only (fixtures, replayed state): no raw key is ever needed."""
        self.store.put_key(bytes.fromhex(sha256), secret_id, expires_at)

    def authenticate(self, raw: str | None) -> bool:
        """Whether `raw` is a live key. Keys are looked up by the SHA-256 of the presented key,
        never compared as raw strings, so timing reveals nothing about a stored key."""
        if not raw:
            return False
        found = self.store.key(digest(raw))
        return found is not None and (found.expires_at is None or found.expires_at > datetime.now(timezone.utc))

    def revoke(self, secret_id: str) -> None:
        self.store.revoke_keys_of(secret_id)

    def digests(self) -> list[tuple[str, ApiKey]]:
        """Every key as (SHA-256 in hex, owner and expiry), for state export (never a raw key)."""
        return self.store.key_digests()


def checked_kind(kind: object) -> str:
    """`private_key` or `publishable_key`: `integration` is in the spec's enum, but the real
    server refuses it."""
    if kind not in PREFIXES:
        raise Invalid("type", f"type must be one of {sorted(PREFIXES)}, got {kind!r}")
    return kind


def expiry(value: object) -> datetime | None:
    """A key's `expires_at`: an RFC 3339 date-time with a zone, or none."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("expires_at", f"expires_at must be an RFC 3339 date-time, got {value!r}") from None
    if parsed.tzinfo is None:
        raise Invalid("expires_at", "expires_at must carry a time zone (RFC 3339)")
    return parsed
