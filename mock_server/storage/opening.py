"""`open_store(url)`: the backend a URL names, so nothing above storage imports a backend."""
from __future__ import annotations

from .store import Store

MEMORY = "memory"


def open_store(url: str | None = None, unique_keys: dict[str, tuple[str, ...]] | None = None,
               namespace: str = "default") -> Store:
    """`memory` (or None), or `redis://HOST:PORT/DB`. `namespace` prefixes every Redis key, so
    several mocks share one Redis without seeing each other."""
    if url in (None, "", MEMORY):
        from .memory_store import MemoryStore

        return MemoryStore(unique_keys)
    from .redis_store import RedisStore

    return RedisStore(url, unique_keys, namespace=namespace)
