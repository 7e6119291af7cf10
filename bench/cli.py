"""`python -m bench`: options, preconditions, the machine header and the printed report.

The report is Markdown so a run can be pasted into docs/benchmarks.md as is; the raw measurements
are also written as JSON under bench/results/ (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from bench import baseline, growth, store_costs, usage_growth
from bench.results import (
    Measurement,
    load_table,
    process_table,
    store_table,
    targets_table,
)
from bench.runs import Plan, execute, smoke_driver, wrk_driver
from bench.servers import (
    DASHBOARD_OPEN,
    HANGING_WEBHOOK,
    REPO_ROOT,
    STARTERS,
    BenchError,
    install_prism,
    prism_version,
)
from bench.stores import (
    MEMORY,
    STORES,
    Backend,
    backends,
    bench_redis,
    redis_version,
    require_redis,
    starter,
)
from bench.workloads import WORKLOADS
from bench.wrk import require_wrk, wrk_version
from tests.redis_server import RedisServer

RESULTS_DIR = REPO_ROOT / "bench" / "results"


def full_spec_path() -> Path:
    """The full Flexprice spec is read where it lies (never copied into the repo)."""
    default = REPO_ROOT.parent / "shared" / "flexprice" / "openapi.json"
    return Path(os.environ.get("FLEXPRICE_FULL_SPEC", default))


def spec_paths(choice: str) -> dict[str, Path]:
    known = {"seed": REPO_ROOT / "openapi.json", "full": full_spec_path()}
    chosen = {label: known[label] for label in known if choice in (label, "both")}
    for label, path in chosen.items():
        if not path.is_file():
            raise BenchError(f"the {label} spec is missing at {path} (set FLEXPRICE_FULL_SPEC)")
    return chosen


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="httpx only, a few requests: checks the plumbing")
    mode.add_argument("--growth", action="store_true",
                      help="cost and memory against store size, and billing reads against stored events, in-process")
    p.add_argument("--spec", choices=("seed", "full", "both"), default="both")
    p.add_argument("--workloads", default="a,b,c", help="comma-separated subset of a,b,c,d")
    p.add_argument("--servers", default="mock,prism", help="comma-separated subset of mock,prism")
    p.add_argument("--store", default=MEMORY,
                   help="comma-separated subset of memory,redis: the stores the mock runs on, side by side "
                        "(redis: the bench starts its own redis-server)")
    p.add_argument("--workers", type=int, default=1,
                   help="also run the mock on Redis with N worker processes on one port")
    p.add_argument("--redis-fsync", choices=("always", "everysec"), default="always",
                   help="the bench Redis's appendfsync: always (every write on disk before it is acknowledged, "
                        "as deploy/compose.yaml) or everysec (Redis's default)")
    p.add_argument("--cost-samples", type=int, default=50,
                   help="calls per median for the reset and invoice-preview costs (with --store)")
    p.add_argument("--baseline", metavar="REV",
                   help="also run the mock at git revision REV, in turn with this checkout's, and compare them")
    p.add_argument("--webhooks", choices=("none", "hang"), default="none",
                   help=f"hang: also run the mock delivering webhooks to a receiver that never answers ({HANGING_WEBHOOK})")
    p.add_argument("--dashboard", choices=("closed", "open"), default="closed",
                   help=f"open: also run the mock while its dashboard is loaded every second ({DASHBOARD_OPEN})")
    p.add_argument("--duration", type=int, default=10, help="seconds of measured load per run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load before each run")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="runs per server, spec and workload")
    p.add_argument("--requests", type=int, default=12, help="requests per run in --smoke mode")
    p.add_argument("--sizes", default="1000,10000,100000", help="store sizes for --growth")
    p.add_argument("--other-events", default="10000,100000,1000000",
                   help="events of other customers for --growth")
    p.add_argument("--own-events", default="1000,10000,100000", help="events of the customer for --growth")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the raw JSON goes")
    return p


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {mem_kb / 1024 ** 2:.1f} GiB RAM"


def git_revision() -> str:
    def git(*args: str) -> str:
        completed = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return completed.stdout.strip()

    revision = git("rev-parse", "--short", "HEAD") or "no commit"
    return revision + (" + uncommitted changes" if git("status", "--porcelain", "--", "mock_server", "bench") else "")


def header(args: argparse.Namespace, servers: list[str], load_before: tuple[float, ...], revision: str,
           redis: bool) -> str:
    lines = [
        f"- command: `{shlex.join(['python', '-m', 'bench', *sys.argv[1:]])}`",
        f"- machine: {machine()}",
        f"- 1-min load average: {load_before[0]:.2f} before the runs, {os.getloadavg()[0]:.2f} after "
        "(anything above ~0 means other processes shared the cores)",
        f"- python {platform.python_version()}, flexprice-mock at {revision} (when the runs began)",
    ]
    if not args.smoke:
        lines.append(f"- load: {wrk_version()}, -t{args.threads} -c{args.connections}, "
                     f"{args.warmup:g} s warm-up + {args.duration:g} s measured per run, {args.rounds} rounds")
    if "prism" in servers:
        lines.append(f"- reference: Stoplight Prism {prism_version()} (`-v silent`), node {node_version()}")
    if redis:
        lines.append(f"- Redis: {redis_version()} on loopback, started by the bench, AOF with "
                     f"`appendfsync {args.redis_fsync}`, emptied before each mock start")
    return "\n".join(lines)


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def save(measurements: list, report: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / time.strftime("run-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps({"report": report, "runs": [m.as_dict() for m in measurements]}, indent=1))
    return path


def choices(value: str, known: Iterable[str], option: str) -> list[str]:
    picked = value.split(",")
    unknown = sorted(set(picked) - set(known))
    if unknown:
        raise BenchError(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(known)})")
    return picked


def with_backends(servers: list[str], runs_on: list[Backend]) -> list[str]:
    """`mock` in --servers stands for the mock on every store asked for, in its place."""
    if "mock" not in servers:
        return servers
    where = servers.index("mock")
    return servers[:where] + [b.name for b in runs_on] + servers[where + 1:]


def compare_stores(measurements: list[Measurement], titles: dict[str, str], runs_on: list[Backend],
                   specs: dict[str, Path], redis: RedisServer | None, samples: int) -> list[str]:
    """Issue 13's tables: each store's load runs against the memory store's, then what a reset and
    an invoice preview cost on each (full spec only: the seed spec has neither)."""
    sections = [store_table(measurements, titles, {b.name: b.label for b in runs_on})]
    if "full" in specs:
        sections.append(store_costs.run(specs["full"], runs_on, redis, samples))
    return sections


def benchmark(args: argparse.Namespace) -> int:
    servers = choices(args.servers, STARTERS, "--servers")
    stores = choices(args.store, STORES, "--store")
    runs_on = backends(stores, args.workers) if "mock" in servers else []
    servers = with_backends(servers, runs_on)
    if args.webhooks == "hang" and HANGING_WEBHOOK not in servers:
        servers.append(HANGING_WEBHOOK)
    if args.dashboard == "open" and DASHBOARD_OPEN not in servers:
        servers.append(DASHBOARD_OPEN)
    revision = baseline.resolve(args.baseline) if args.baseline else None
    if revision:
        servers.append(baseline.name(revision))
    workloads = [WORKLOADS[key] for key in choices(args.workloads, WORKLOADS, "--workloads")]
    specs = spec_paths(args.spec)
    plan = Plan(specs, workloads, servers, 1 if args.smoke else args.rounds)
    if not args.smoke:
        require_wrk()
    compared = [b for b in runs_on if b.store != MEMORY]
    if compared:
        require_redis()
    if "prism" in servers:
        install_prism()
    drive = smoke_driver(args.requests) if args.smoke else wrk_driver(
        args.duration, args.warmup, args.threads, args.connections)
    titles = {w.key: w.title for w in WORKLOADS.values()}
    load_before, checkout = os.getloadavg(), git_revision()
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as logs, \
            bench_redis(bool(compared), args.redis_fsync) as redis:
        starters = {**STARTERS, **{b.name: starter(b, redis) for b in runs_on}}
        if revision:
            starters[baseline.name(revision)] = baseline.starter(revision)
        measurements = execute(plan, drive, Path(logs), starters)
        sections = [header(args, servers, load_before, checkout, bool(compared)), load_table(measurements, titles),
                    process_table(measurements), targets_table(measurements)]
        if revision:
            sections.append(baseline.table(measurements, titles, revision))
        if compared:
            sections += compare_stores(measurements, titles, runs_on, specs, redis,
                                       3 if args.smoke else args.cost_samples)
    report = "\n\n".join(sections)
    print(report)
    print(f"\nraw measurements: {save(measurements, report, args.results_dir)}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.growth:
            full = str(spec_paths("full")["full"])
            growth.main(full, [int(size) for size in args.sizes.split(",")])
            print()
            return usage_growth.main(full, [int(n) for n in args.other_events.split(",")],
                                     [int(n) for n in args.own_events.split(",")])
        return benchmark(args)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
