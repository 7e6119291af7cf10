"""The run plan: which spec, workload, round and server, in which order, and one run's life cycle.

Runs are interleaved (mock, mock on Redis, Prism, mock, ...) so a drift of the machine over time
hits every side alike. Every run starts a fresh server process, times its first answer, warms it
up, loads it once, reads its memory and stops it.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bench.results import LoadResult, Measurement
from bench.servers import Server, Starter
from bench.workloads import CREATE_KEY, Workload
from bench.wrk import run_wrk

Driver = Callable[[Workload, Server], LoadResult]


@dataclass(slots=True, frozen=True)
class Plan:
    specs: dict[str, Path]
    workloads: list[Workload]
    servers: list[str]
    rounds: int


def runs(plan: Plan) -> Iterator[tuple[str, Path, Workload, int, str]]:
    """(spec label, spec path, workload, round, server) in execution order."""
    for label, path in plan.specs.items():
        for workload in plan.workloads:
            if workload.full_spec_only and label != "full":
                continue
            for round_no in range(1, plan.rounds + 1):
                for server in plan.servers:
                    yield label, path, workload, round_no, server


def execute(plan: Plan, drive: Driver, log_dir: Path, starters: Mapping[str, Starter]) -> list[Measurement]:
    measurements = []
    for label, path, workload, round_no, name in runs(plan):
        server = starters[name](path, CREATE_KEY, log_dir)
        startup_cpu = server.cpu_seconds(helpers=False)
        try:
            load = drive(workload, server)
            memory = server.rss_kb()
        finally:
            server.stop()
        measurement = Measurement(label, workload.key, name, round_no, load, server.startup_s, startup_cpu,
                                  memory["VmRSS"], memory["VmHWM"])
        measurements.append(measurement)
        print(f"  {label} ({workload.key}) {name} round {round_no}: {load.rps:,.0f} req/s, "
              f"p99 {load.p99_us / 1000:.2f} ms, non-2xx {load.non2xx}, {load.cpu_us_per_request:,.0f} CPU µs/req, "
              f"start {server.startup_s:.2f} s ({startup_cpu:.2f} s CPU), "
              f"RSS {memory['VmRSS'] / 1024:.1f} MiB", file=sys.stderr, flush=True)
    return measurements


def wrk_driver(duration: int, warmup: int, threads: int, connections: int) -> Driver:
    """Warm up with the same workload, then the measured run; both bounded by wrk's -d. The
    server's CPU time is read around the measured run only."""
    def drive(workload: Workload, server: Server) -> LoadResult:
        if warmup > 0:
            run_wrk(workload, server.base_url, warmup, threads, connections)
        cpu_before, commands_before = server.cpu_seconds(), server.commands() if server.commands else 0
        load = run_wrk(workload, server.base_url, duration, threads, connections)
        commands = server.commands() - commands_before - 1 if server.commands else 0  # less the first INFO
        return replace(load, server_cpu_s=server.cpu_seconds() - cpu_before, store_commands=commands)

    return drive


def smoke_driver(requests: int) -> Driver:
    """A handful of sequential httpx requests: proves the plumbing, measures nothing of note."""
    def drive(workload: Workload, server: Server) -> LoadResult:
        started, cpu_before = time.perf_counter(), server.cpu_seconds()
        with httpx.Client(timeout=10.0) as client:
            responses = workload.smoke(client, server.base_url, requests)
        elapsed = sorted(r.elapsed.total_seconds() * 1e6 for r in responses)
        return LoadResult(
            requests=len(responses),
            duration_us=int((time.perf_counter() - started) * 1e6),
            p50_us=int(_percentile(elapsed, 0.50)),
            p99_us=int(_percentile(elapsed, 0.99)),
            non2xx=sum(1 for r in responses if not r.is_success),
            socket_errors=0,
            server_cpu_s=server.cpu_seconds() - cpu_before,
        )

    return drive


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0
