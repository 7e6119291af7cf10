"""`--baseline REV`: the mock at another git revision, measured beside this checkout's in one run.

The revision is exported once (`git archive`) into the bench cache with a venv of its own, so its
mock runs exactly as that revision shipped; every later run reuses it. Both mocks then take turns
in every round, so the machine's load falls on both alike and their ratio is what a change cost.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench.results import Measurement, group_by, summarise
from bench.servers import (
    REPO_ROOT,
    BenchError,
    ProbeRequest,
    Server,
    Starter,
    cache_dir,
    start_mock,
)


def resolve(revision: str) -> str:
    completed = subprocess.run(["git", "rev-parse", "--short", f"{revision}^{{commit}}"], cwd=REPO_ROOT,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise BenchError(f"--baseline: {revision!r} is no commit of this repository")
    return completed.stdout.strip()


def name(revision: str) -> str:
    return f"mock@{revision}"


def prepare(revision: str) -> tuple[Path, Path]:
    """(its interpreter, its source folder), installed on first use."""
    home = cache_dir() / f"baseline-{revision}"
    source, python = home / "src", home / "venv" / "bin" / "python"
    if python.is_file():
        return python, source
    print(f"installing the mock at {revision} into {home} ...", file=sys.stderr)
    source.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "archive", revision], cwd=REPO_ROOT, stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(source, filter="data")
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", str(source)],
                   check=True, stdout=subprocess.DEVNULL)
    return python, source


def starter(revision: str) -> Starter:
    python, source = prepare(revision)

    def start(spec: Path, probe: ProbeRequest, log_dir: Path) -> Server:
        return start_mock(spec, probe, log_dir, name(revision), python=str(python), cwd=source)

    return start


def table(measurements: list[Measurement], titles: dict[str, str], revision: str) -> str:
    """This checkout's mock against the baseline's, workload by workload, from the same rounds."""
    rows = [f"| spec | workload | req/s now | req/s at {revision} | req/s now/then | CPU µs/req now "
            f"| CPU µs/req then | CPU now/then |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    groups = group_by(measurements, "spec", "workload", "server")
    for (spec, workload, server), group in groups.items():
        then = groups.get((spec, workload, name(revision)))
        if server != "mock" or not then:
            continue
        now, old = summarise(group), summarise(then)
        rows.append(f"| {spec} | ({workload}) {titles[workload]} | {now.rps:,.0f} | {old.rps:,.0f} "
                    f"| {_ratio(now.rps, old.rps)} | {now.cpu_us:,.0f} | {old.cpu_us:,.0f} "
                    f"| {_ratio(now.cpu_us, old.cpu_us)} |")
    return "\n".join(rows)


def _ratio(now: float, then: float) -> str:
    """`now/then`, blank where a smoke run was too short to measure `then` (0 CPU ticks)."""
    return f"{now / then:.2f}x" if then else ""
