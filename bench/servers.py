"""The servers under test: installing Prism, starting either server, timing its first answer, RSS.

Each run gets a fresh process, so no run inherits another's store. Start-up is timed from spawning
the process until the first successful API request (not the first open socket), and memory is read
from `/proc/PID/status` of the server processes themselves: the `node` process for Prism, the
Python interpreters for the mock (one, or the supervisor and its workers with `--workers N`),
found by executable name in the spawned process tree. CPU time adds the processes a server relies
on (`helper_pids`: the redis-server of a mock on the Redis store), since their work is part of
every answer; memory does not.
"""
from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.results import DASHBOARD_OPEN, HANGING_WEBHOOK
from mock_server.devtools.webhook_receiver import WebhookReceiver

REPO_ROOT = Path(__file__).resolve().parent.parent
PRISM_PACKAGE = "@stoplight/prism-cli@5"
API_KEY = "bench-key"
START_TIMEOUT = 90.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A precondition or a server failed; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("FLEXPRICE_BENCH_CACHE", REPO_ROOT / "bench" / ".cache"))


def prism_prefix() -> Path:
    """The npm prefix Prism is installed into."""
    return cache_dir() / "prism"


def prism_entry() -> Path:
    return prism_prefix() / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"


NPM_TIMEOUT_S = 300


def install_prism() -> Path:
    """Install Prism 5 from npm into the cache folder once; later calls reuse it."""
    entry = prism_entry()
    if entry.is_file():
        return entry
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        raise BenchError("Prism needs Node.js and npm: install them (apt-get install nodejs npm)")
    prefix = prism_prefix()
    prefix.mkdir(parents=True, exist_ok=True)
    print(f"installing {PRISM_PACKAGE} into {prefix} ...", file=sys.stderr)
    subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent", PRISM_PACKAGE],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=NPM_TIMEOUT_S,
    )
    if not entry.is_file():
        raise BenchError(f"npm finished but {entry} is missing")
    return entry


def prism_version() -> str:
    package = prism_entry().parents[1] / "package.json"
    return json.loads(package.read_text())["version"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(slots=True)
class Server:
    """One running server process and what was learnt while starting it."""

    name: str
    process: subprocess.Popen
    base_url: str
    log_path: Path
    pids: list[int] = field(default_factory=list)
    helper_pids: list[int] = field(default_factory=list)
    startup_s: float = 0.0
    companions: list = field(default_factory=list)  # what runs beside it for the run (a receiver, a viewer): stopped with it
    commands: Callable[[], int] | None = None  # commands its store (Redis) has run so far

    def rss_kb(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak) of the server processes, summed, in kB."""
        fields = {"VmRSS": 0, "VmHWM": 0}
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in fields:
                    fields[key] += int(value.split()[0])
        return fields

    def cpu_seconds(self, helpers: bool = True) -> float:
        """User + system CPU time the server processes (all their threads), and their helpers'
        unless told not to (a helper outlives one server: its total is no server's start-up)."""
        return sum(_cpu_seconds(pid) for pid in self.pids + (self.helper_pids if helpers else []))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for companion in self.companions:
            companion.stop()

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc (no psutil needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def server_pids(root: int, executable: str) -> list[int]:
    """The processes in the tree under `root` whose executable is named like `executable`."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        try:
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            exe = ""
        if exe.startswith(executable):
            found.append(pid)
        queue.extend(_children(pid))
    if not found:
        raise BenchError(f"no {executable} process under pid {root}")
    return found


def _spawn(command: list[str], log: Path, stdout: int, cwd: Path = REPO_ROOT) -> subprocess.Popen:
    with log.open("wb") as stderr:
        return subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)


def _read_first_line(server: Server, deadline: float) -> str:
    """The base URL line the mock prints when ready; the rest of stdout is drained and dropped."""
    process = server.process
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                break
            if selector.select(timeout=0.05):
                line = process.stdout.readline().decode().strip()
                if line:
                    return line
    raise BenchError(f"the mock printed no base URL:\n{server.log_tail()}")


def _discard(stream) -> None:
    for _ in stream:
        pass


def _drain(stream) -> None:
    """Keep reading the mock's stdout so a chatty server never blocks on a full pipe."""
    threading.Thread(target=_discard, args=(stream,), daemon=True).start()


@dataclass(slots=True, frozen=True)
class ProbeRequest:
    """A request that any spec under test serves with a 2xx: proves the server is really up."""

    method: str
    path: str
    body: dict | None

    def send(self, client: httpx.Client, base_url: str) -> httpx.Response:
        return client.request(self.method, base_url + self.path, json=self.body, headers=auth_headers())


def auth_headers() -> dict[str, str]:
    return {"x-api-key": API_KEY}


def wait_first_answer(server: Server, started: float, probe: ProbeRequest, deadline: float) -> float:
    """Poll the probe request until it succeeds; seconds since `started`."""
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if server.process.poll() is not None:
                raise BenchError(f"{server.name} exited early:\n{server.log_tail()}")
            try:
                response = probe.send(client, server.base_url)
                if response.is_success:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    raise BenchError(f"{server.name} did not answer within {START_TIMEOUT:.0f} s:\n{server.log_tail()}")


def start_mock(spec: Path, probe: ProbeRequest, log_dir: Path, name: str = "mock", options: tuple[str, ...] = (),
               python: str = sys.executable, cwd: Path = REPO_ROOT) -> Server:
    """This checkout's mock, or (`python`, `cwd`) another revision's installed beside it."""
    command = [python, "-m", "mock_server", "--spec", str(spec), "--host", "127.0.0.1",
               "--port", "0", "--api-key", API_KEY, *options]
    return start_announcing(name, command, probe, log_dir, cwd)


def start_announcing(name: str, command: list[str], probe: ProbeRequest, log_dir: Path,
                     cwd: Path = REPO_ROOT) -> Server:
    """A Python server that prints its base URL as its first line; its start-up time is until
    `probe` first succeeds."""
    started = time.perf_counter()
    deadline = started + START_TIMEOUT
    log = log_dir / f"{name.replace('/', '-')}-{time.time_ns()}.log"
    process = _spawn(command, log, subprocess.PIPE, cwd)
    server = Server(name, process, "", log)
    try:
        server.base_url = _read_first_line(server, deadline).rstrip("/")
        _drain(process.stdout)
        server.startup_s = wait_first_answer(server, started, probe, deadline)
        server.pids = server_pids(process.pid, "python")
    except BaseException:
        server.stop()
        raise
    return server


def start_mock_hanging_webhook(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
    """The mock delivering every change to a receiver that never answers (each attempt holds its
    5 s timeout): what webhooks cost the API when a receiver is at its worst."""
    receiver = WebhookReceiver(hang=True).start()
    try:
        server = start_mock(spec, probe, log_dir, HANGING_WEBHOOK, ("--webhook-url", receiver.url))
    except BaseException:
        receiver.stop()
        raise
    server.companions.append(receiver)
    return server


class DashboardViewer:
    """A developer with the dashboard open: every `interval` seconds the overview, the request
    journal and the webhooks page are loaded with their assets, as a browser that refreshes them
    does (the page's own refresh is every 5 s; this is harsher). It counts what it loaded, so a
    run can show the pages were really served while the API was under load."""

    PAGES = ("/_mock/", "/_mock/dashboard/static/dashboard.css", "/_mock/dashboard/static/dashboard.js",
             "/_mock/dashboard/requests", "/_mock/dashboard/webhooks")

    def __init__(self, base_url: str, interval: float = 1.0) -> None:
        self.root = base_url.removesuffix("/v1")
        self.interval = interval
        self.loaded = self.failed = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._view, name="dashboard-viewer", daemon=True)

    def start(self) -> DashboardViewer:
        self._thread.start()
        return self

    def _view(self) -> None:
        with httpx.Client(base_url=self.root, timeout=10.0) as client:
            while not self._stopping.wait(self.interval):
                for page in self.PAGES:
                    try:
                        ok = client.get(page).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.loaded, self.failed = self.loaded + ok, self.failed + (not ok)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(15)
        print(f"  dashboard viewer: {self.loaded} pages loaded, {self.failed} failed", file=sys.stderr, flush=True)


def start_mock_dashboard_open(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
    """The mock while its dashboard is open and refreshing (`DashboardViewer`)."""
    server = start_mock(spec, probe, log_dir, DASHBOARD_OPEN)
    server.companions.append(DashboardViewer(server.base_url).start())
    return server


def start_prism(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
    entry = install_prism()
    port = free_port()
    command = [shutil.which("node") or "node", str(entry), "mock", str(spec), "-p", str(port),
               "-h", "127.0.0.1", "-v", "silent"]
    log = log_dir / f"prism-{time.time_ns()}.log"
    started = time.perf_counter()
    process = _spawn(command, log, subprocess.DEVNULL)
    server = Server("prism", process, f"http://127.0.0.1:{port}", log)
    try:
        server.startup_s = wait_first_answer(server, started, probe, started + START_TIMEOUT)
        server.pids = server_pids(process.pid, "node")
    except BaseException:
        server.stop()
        raise
    return server


Starter = Callable[[Path, ProbeRequest, Path], Server]
STARTERS: dict[str, Starter] = {"mock": start_mock, "prism": start_prism, HANGING_WEBHOOK: start_mock_hanging_webhook,
                                DASHBOARD_OPEN: start_mock_dashboard_open}
