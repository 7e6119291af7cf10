"""Running wrk: one bounded invocation per measurement, its JSON summary line parsed.

The numbers come from wrk's own `done()` callback (see lua/report.lua), not from scraping its
human-readable output. wrk counts a response with status >= 400 as a status error; that count is
reported as non-2xx (no workload here can get a 3xx).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid

from bench.results import LoadResult
from bench.servers import API_KEY, BenchError
from bench.workloads import Workload

INSTALL_HINT = "wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu) and run again"


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise BenchError(INSTALL_HINT)
    return path


def wrk_version() -> str:
    completed = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True)
    return (completed.stdout + completed.stderr).split("[", 1)[0].strip()


def run_wrk(workload: Workload, base_url: str, seconds: int, threads: int, connections: int) -> LoadResult:
    """Drive `base_url` for `seconds`; wrk stops by itself, the subprocess timeout is a backstop.

    Every invocation gets a fresh run tag (first script argument) for ids that must not repeat.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix=f"bench-{workload.key}-") as script:
        script.write(workload.lua())
        script.flush()
        command = [
            require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "-H", f"x-api-key: {API_KEY}", "-H", "content-type: application/json",
            "-s", script.name, base_url, "--", uuid.uuid4().hex[:8], *workload.wrk_args,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    return parse_summary(completed.stdout, completed.stderr)


def parse_summary(stdout: str, stderr: str) -> LoadResult:
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"bench"'):
            fields = json.loads(line)
            fields.pop("bench")
            return LoadResult(**fields)
    raise BenchError(f"wrk printed no summary:\n{stdout}\n{stderr}")

