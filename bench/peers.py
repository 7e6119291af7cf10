"""The references the mock is measured against besides Prism: the bare limit and WireMock.

Both answer with the bytes the mock itself answered to each workload's requests, recorded once
per spec from a mock in this process (`record`): same status, same body, same headers but the
server's own. So a run against them costs what serving those bytes costs without the mock's work.

- **bare** (`bench/bare.py`): a uvicorn app that reads the body and writes the recorded answer,
  with the mock's uvicorn settings. The floor for any Python server here.
- **wiremock**: WireMock standalone (Java), one hand-written stub per recorded answer, started
  with `--no-request-journal` (its journal of every request is what slows it down most) and
  `--disable-banner`. It comes from npm's `wiremock` package, which ships the standalone jar
  (`build/wiremock-standalone-*.jar`); the bench installs it into its cache folder once and
  runs the jar with `java` (17 or later).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.servers import (
    START_TIMEOUT,
    BenchError,
    ProbeRequest,
    Server,
    _spawn,
    auth_headers,
    cache_dir,
    free_port,
    server_pids,
    start_announcing,
    wait_first_answer,
)
from bench.workloads import CREATE_KEY, WORKLOADS
from mock_server import MockServer

WIREMOCK_PACKAGE = "wiremock@3"
NPM_TIMEOUT_S = 300
_recorded: dict[Path, Path] = {}


def record(spec: Path, folder: Path) -> Path:
    """The mock's answers to every workload's sample requests on `spec`, as a JSON file in
    `folder`: `[{method, pattern, status, body}]`, the probe first (as a fresh server meets it).
    A sample whose operation the spec lacks (the seed spec has no events) is left out."""
    if spec in _recorded:
        return _recorded[spec]
    samples = {(CREATE_KEY.method, "/secrets/api/keys"): CREATE_KEY}
    for workload in WORKLOADS.values():
        samples.update({(request.method, pattern): request for request, pattern in workload.samples})
    answers, last_id = [], ""
    with MockServer(spec=spec, api_key=auth_headers()["x-api-key"]) as mock, httpx.Client(timeout=10) as client:
        for (method, pattern), request in samples.items():
            response = ProbeRequest(method, request.path.replace("{id}", last_id), request.body).send(client, mock.url)
            if response.status_code == 404 and response.json().get("message") == "route not found":
                continue
            if not response.is_success:
                raise BenchError(f"the mock refused the sample {method} {request.path}: {response.text}")
            answers.append({"method": method, "pattern": "/v1" + pattern, "status": response.status_code,
                            "body": response.text})
            body = response.json()
            last_id = body["id"] if isinstance(body, dict) and "id" in body else last_id
    path = folder / f"answers-{len(_recorded)}.json"
    path.write_text(json.dumps(answers))
    _recorded[spec] = path
    return path


def start_bare(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
    answers = record(spec, log_dir)
    return start_announcing("bare", [sys.executable, "-m", "bench.bare", str(answers)], probe, log_dir)


def wiremock_jar() -> Path | None:
    found = sorted((cache_dir() / "wiremock" / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    return found[-1] if found else None


def install_wiremock() -> Path:
    """WireMock's standalone jar, from npm's `wiremock` package into the cache folder, once."""
    jar = wiremock_jar()
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if not (npm and shutil.which("java")):
        raise BenchError("WireMock needs Java 11+ and npm (its jar comes from npm's `wiremock` package): "
                         "install them (apt-get install default-jre-headless npm)")
    prefix = cache_dir() / "wiremock"
    prefix.mkdir(parents=True, exist_ok=True)
    print(f"installing {WIREMOCK_PACKAGE} into {prefix} ...", file=sys.stderr)
    subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent", WIREMOCK_PACKAGE],
                   check=True, stdout=subprocess.DEVNULL, timeout=NPM_TIMEOUT_S)
    jar = wiremock_jar()
    if jar is None:
        raise BenchError(f"npm installed {WIREMOCK_PACKAGE} but no standalone jar is in {prefix}")
    return jar


def wiremock_version() -> str:
    jar = wiremock_jar()
    match = re.search(r"standalone-(.+)\.jar$", jar.name) if jar else None
    return match.group(1) if match else "?"


def java_version() -> str:
    completed = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return (completed.stderr or completed.stdout).splitlines()[0] if (completed.stderr or completed.stdout) else "?"


def stubs(answers: Path, root: Path) -> None:
    """One WireMock mapping per recorded answer, in WireMock's `mappings/` folder under `root`."""
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    for number, answer in enumerate(json.loads(answers.read_text())):
        mapping = {"priority": number + 1,
                   "request": {"method": answer["method"], "urlPathPattern": answer["pattern"]},
                   "response": {"status": answer["status"], "body": answer["body"],
                                "headers": {"Content-Type": "application/json"}}}
        (mappings / f"{number:02d}.json").write_text(json.dumps(mapping))


def start_wiremock(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
    jar = install_wiremock()
    root = log_dir / f"wiremock-{time.time_ns()}"
    stubs(record(spec, log_dir), root)
    port = free_port()
    command = [shutil.which("java") or "java", "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
               "--root-dir", str(root), "--no-request-journal", "--disable-banner"]
    started = time.perf_counter()
    process = _spawn(command, root.with_suffix(".log"), subprocess.DEVNULL)
    server = Server("wiremock", process, f"http://127.0.0.1:{port}/v1", root.with_suffix(".log"))
    try:
        server.startup_s = wait_first_answer(server, started, probe, started + START_TIMEOUT)
        server.pids = server_pids(process.pid, "java")
    except BaseException:
        server.stop()
        raise
    return server
