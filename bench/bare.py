"""The bare limit: a uvicorn app that reads each request's body and answers the bytes the mock
answered to that request (recorded by `bench.peers.record`), with no routing framework, no
validation and no state. What it costs per request is what uvicorn, the event loop and the
sockets cost the mock too: the floor under any Python server on this machine.

`python -m bench.bare ANSWERS.json` serves on a free loopback port with the mock's uvicorn
settings (httptools, uvloop, no access log, no lifespan) and prints its base URL when ready.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import uvicorn

from mock_server.runner import AnnouncingServer, bind


class BareApp:
    """Answers by method and path pattern, first match wins; anything else is a 404."""

    def __init__(self, answers: list[dict]) -> None:
        self.answers = [(a["method"], re.compile(a["pattern"]), a["status"],
                         [(b"content-length", str(len(a["body"].encode())).encode()),
                          (b"content-type", b"application/json")], a["body"].encode()) for a in answers]

    async def __call__(self, scope, receive, send) -> None:
        more = True
        while more:  # every server reads the body it is sent
            message = await receive()
            more = message.get("more_body", False)
        method, path = scope["method"], scope["path"]
        for wanted, pattern, status, headers, body in self.answers:
            if wanted == method and pattern.fullmatch(path):
                break
        else:
            status, headers, body = 404, [(b"content-length", b"0")], b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str]) -> None:
    answers = json.loads(Path(argv[0]).read_text())
    sock = bind("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(BareApp(answers), log_level="warning", access_log=False, lifespan="off", ws="none")
    server = AnnouncingServer(config)
    server.announce = f"http://{host}:{port}/v1"
    server.run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
