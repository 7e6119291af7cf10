"""Smoke runs of the benchmark harness (`python -m bench --smoke`): plumbing only, no timings.

Each run starts the real server process the way the benchmark does, proves it answers, sends a
dozen requests of every workload with httpx and reads the process's memory. wrk is not needed;
Prism is checked only where Node.js and npm exist (installed into the bench cache once, as setup).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.servers import BenchError, install_prism
from bench.stores import REDIS_HINT
from bench.wrk import INSTALL_HINT

from .redis_server import require_redis_server

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 12


def run_bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def smoke(results: Path, *args: str) -> list[dict]:
    completed = run_bench("--smoke", "--requests", str(REQUESTS), "--results-dir", str(results), *args)
    assert completed.returncode == 0, completed.stderr
    (saved,) = results.glob("run-*.json")
    return json.loads(saved.read_text())["runs"]


def assert_all_answered(runs: list[dict], expected: set[tuple[str, str, str]]) -> None:
    assert {(r["spec"], r["workload"], r["server"]) for r in runs} == expected
    for run in runs:
        assert run["load"]["requests"] == REQUESTS
        assert run["load"]["non2xx"] == 0
        assert run["startup_s"] > 0
        assert run["rss_kb"] > 0


def test_smoke_run_on_the_seed_spec_serves_every_create_from_a_fresh_mock(tmp_path: Path) -> None:
    runs = smoke(tmp_path, "--spec", "seed", "--servers", "mock")
    assert_all_answered(runs, {("seed", "b", "mock")})


def test_smoke_run_on_the_full_spec_serves_all_three_workloads(tmp_path: Path, full_spec: Path) -> None:
    runs = smoke(tmp_path, "--spec", "full", "--servers", "mock")
    assert_all_answered(runs, {("full", "a", "mock"), ("full", "b", "mock"), ("full", "c", "mock")})


@pytest.fixture(scope="session")
def prism() -> Path:
    """Prism in the bench cache; installing it (npm, once per checkout) is setup, not the smoke run."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("Prism needs Node.js and npm, which this machine lacks")
    try:
        return install_prism()
    except (subprocess.SubprocessError, BenchError) as exc:  # the registry is a third party's
        pytest.skip(f"Prism could not be installed from npm: {exc}")


def test_smoke_run_drives_prism_at_its_root_path_with_the_same_workload(tmp_path: Path, prism: Path) -> None:
    runs = smoke(tmp_path, "--spec", "seed", "--servers", "prism")
    assert_all_answered(runs, {("seed", "b", "prism")})


def test_missing_wrk_is_reported_with_the_command_that_installs_it(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    completed = run_bench("--spec", "seed", "--servers", "mock", env=env)
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"bench: {INSTALL_HINT}"


def test_more_workers_without_the_redis_store_is_a_usage_error(tmp_path: Path) -> None:
    completed = run_bench("--smoke", "--spec", "seed", "--servers", "mock", "--workers", "2",
                          "--results-dir", str(tmp_path))
    assert completed.returncode == 2
    assert completed.stderr.strip() == "bench: --workers N > 1 needs --store redis: the memory store lives in one process"


def test_a_missing_redis_server_is_reported_with_the_command_that_installs_it(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    completed = run_bench("--smoke", "--spec", "seed", "--servers", "mock", "--store", "memory,redis",
                          "--results-dir", str(tmp_path), env=env)
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"bench: {REDIS_HINT}"


def test_smoke_run_on_both_stores_compares_redis_with_memory_side_by_side(tmp_path: Path, full_spec: Path) -> None:
    require_redis_server()
    runs = smoke(tmp_path, "--spec", "full", "--servers", "mock", "--store", "memory,redis", "--workers", "2",
                 "--workloads", "a,c")
    servers = ("mock", "mock/redis", "mock/redis x2")
    assert_all_answered(runs, {("full", workload, server) for workload in "ac" for server in servers})
    (saved,) = tmp_path.glob("run-*.json")
    report = json.loads(saved.read_text())["report"]
    assert "| full | (c) create+get+search customer | redis, 2 workers |" in report
    assert "| memory | " in report and "| redis | " in report  # the reset and preview costs


def test_spec_diff_bench_times_the_full_spec_against_fifty_changes(full_spec: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "bench.spec_diff", "--runs", "1"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120,
                               env={**os.environ, "FLEXPRICE_FULL_SPEC": str(full_spec)})
    assert completed.returncode == 0, completed.stderr
    rows = [line.split("|")[1].strip() for line in completed.stdout.splitlines() if line.startswith("| ")]
    assert rows == ["against", "---", "itself", "50 changes"]
    assert re.search(r"^50 changes: [1-9]\d* findings \(\d+ error, \d+ warning, \d+ info\); [\d.]+x the time",
                     completed.stdout, re.MULTILINE), completed.stdout
