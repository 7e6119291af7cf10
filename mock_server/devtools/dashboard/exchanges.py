"""The request journal as the dashboard shows it: filtered, newest first, each request with its
headers and bodies (masked by `journal.py`) and the same request as a curl command.

The curl command sends the API key as `$FLEXPRICE_API_KEY`, never the masked one, and the body
as the journal shows it: a masked secret (`***`) or a clipped body (`... (N bytes in all)`) is
plain to see, and is what would be replayed.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from itertools import islice

from ..journal import Journal

SHOWN = 100
LEFT_OUT = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent", "accept"})
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")


@dataclass(slots=True)
class Filters:
    text: str = ""
    method: str = ""
    status: str = ""  # a class such as 4xx

    def wants(self, entry: dict) -> bool:
        if self.method and entry["method"] != self.method:
            return False
        if self.status and str(entry["status"])[0] != self.status[0]:
            return False
        if self.text:
            needle = self.text.lower()
            haystack = (entry["path"], entry["query"], entry["operation_id"] or "", entry["request_body"] or "",
                        entry["response_body"] or "")
            return any(needle in part.lower() for part in haystack)
        return True


def exchanges(journal: Journal, filters: Filters) -> tuple[list[dict], int]:
    """The newest `SHOWN` matching requests, newest first, each with its `curl`; and how many
    the journal holds in all. Only what is read to find them is formatted."""
    shown = islice(filter(filters.wants, journal.newest()), SHOWN)
    return [{**entry, "curl": curl(entry)} for entry in shown], len(journal)


def curl(entry: dict) -> str:
    headers = entry["request_headers"]
    url = f"http://{headers.get('host', '127.0.0.1')}{entry['path']}" + (f"?{entry['query']}" if entry["query"] else "")
    parts = ["curl", "-X", entry["method"], shlex.quote(url)]
    for name, value in headers.items():
        if name in LEFT_OUT:
            continue
        if name == "x-api-key":
            parts += ["-H", '"x-api-key: $FLEXPRICE_API_KEY"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if entry["request_body"] is not None:
        parts += ["--data-raw", shlex.quote(entry["request_body"])]
    return " ".join(parts)
