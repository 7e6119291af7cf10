"""Measurements, their aggregation over rounds, the printed tables and the issue-6 target checks.

Per (spec, workload, server) the tables show the median over rounds of req/s, p50 and p99, and the
sum of non-2xx answers and socket errors. Start-up is the median over every start of that server on
that spec; RSS is the largest VmRSS read right after a run's load (VmHWM, the peak, beside it).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass

MIB = 1024
HANGING_WEBHOOK = "mock+hanging-webhook"  # the server name bench.servers gives that run
DASHBOARD_OPEN = "mock+dashboard-open"  # the mock while a viewer refreshes its dashboard


@dataclass(slots=True, frozen=True)
class LoadResult:
    """One load run's summary, from wrk or from the smoke driver."""

    requests: int
    duration_us: int
    p50_us: int
    p99_us: int
    non2xx: int
    socket_errors: int
    server_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s * 1e6 / self.requests if self.requests else 0.0


@dataclass(slots=True, frozen=True)
class Measurement:
    """One fresh server process: started, warmed up, loaded once, memory read, stopped."""

    spec: str
    workload: str
    server: str
    round: int
    load: LoadResult
    startup_s: float
    startup_cpu_s: float
    rss_kb: int
    hwm_kb: int

    def as_dict(self) -> dict:
        return asdict(self) | {"rps": self.load.rps}


@dataclass(slots=True, frozen=True)
class Row:
    """Medians of one (spec, workload, server) group."""

    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    cpu_us: float


def summarise(group: list[Measurement]) -> Row:
    return Row(
        rps=statistics.median(m.load.rps for m in group),
        p50_ms=statistics.median(m.load.p50_us for m in group) / 1000,
        p99_ms=statistics.median(m.load.p99_us for m in group) / 1000,
        non2xx=sum(m.load.non2xx for m in group),
        socket_errors=sum(m.load.socket_errors for m in group),
        cpu_us=statistics.median(m.load.cpu_us_per_request for m in group),
    )


def group_by(measurements: list[Measurement], *keys: str) -> dict[tuple, list[Measurement]]:
    groups: dict[tuple, list[Measurement]] = defaultdict(list)
    for m in measurements:
        groups[tuple(getattr(m, key) for key in keys)].append(m)
    return groups


def load_table(measurements: list[Measurement], titles: dict[str, str]) -> str:
    rows = [
        "| spec | workload | server | req/s | p50 ms | p99 ms | non-2xx | socket errors | req/s mock/Prism "
        "| server CPU µs/req | CPU/req Prism/mock |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    groups = group_by(measurements, "spec", "workload", "server")
    for (spec, workload, server), group in groups.items():
        row = summarise(group)
        rows.append(
            f"| {spec} | ({workload}) {titles[workload]} | {server} | {row.rps:,.0f} | {row.p50_ms:.2f} "
            f"| {row.p99_ms:.2f} | {row.non2xx} | {row.socket_errors} | {_ratio(groups, spec, workload, server)} "
            f"| {row.cpu_us:,.0f} | {_cpu_ratio(groups, spec, workload, server)} |"
        )
    return "\n".join(rows)


def _ratio(groups: dict[tuple, list[Measurement]], spec: str, workload: str, server: str) -> str:
    prism = groups.get((spec, workload, "prism"))
    mock = groups.get((spec, workload, "mock"))
    if server != "mock" or not (prism and mock):
        return ""
    return f"{summarise(mock).rps / summarise(prism).rps:.2f}x"


def _cpu_ratio(groups: dict[tuple, list[Measurement]], spec: str, workload: str, server: str) -> str:
    """Prism's CPU per request over the mock's: how much less work the mock does per answer,
    a figure that other load on the machine disturbs far less than req/s."""
    prism = groups.get((spec, workload, "prism"))
    mock = groups.get((spec, workload, "mock"))
    if server != "mock" or not (prism and mock) or not summarise(mock).cpu_us:
        return ""
    return f"{summarise(prism).cpu_us / summarise(mock).cpu_us:.2f}x"


def process_table(measurements: list[Measurement]) -> str:
    rows = [
        "| spec | server | starts | time to first answer s (median) | start-up CPU s (median) "
        "| RSS after load MiB (max) | peak RSS MiB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (spec, server), group in group_by(measurements, "spec", "server").items():
        startup = statistics.median(m.startup_s for m in group)
        startup_cpu = statistics.median(m.startup_cpu_s for m in group)
        rss = max(m.rss_kb for m in group) / MIB
        hwm = max(m.hwm_kb for m in group) / MIB
        rows.append(f"| {spec} | {server} | {len(group)} | {startup:.2f} | {startup_cpu:.2f} | {rss:.1f} | {hwm:.1f} |")
    return "\n".join(rows)


def target_checks(measurements: list[Measurement]) -> list[tuple[str, bool | None, str]]:
    """Issue 6's targets as (target, met, evidence); met is None when a side was not measured."""
    groups = group_by(measurements, "spec", "workload", "server")
    checks = []
    for spec, workload, floor in (("full", "a", 2.0), ("full", "b", 2.0), ("seed", "b", 1.0)):
        mock, prism = groups.get((spec, workload, "mock")), groups.get((spec, workload, "prism"))
        name = f"{spec} ({workload}) req/s mock >= {floor:g}x Prism"
        if not (mock and prism):
            checks.append((name, None, "not measured"))
            continue
        ratio = summarise(mock).rps / summarise(prism).rps
        checks.append((name, ratio >= floor, f"{ratio:.2f}x"))
    for (spec, workload, server), group in groups.items():
        prism = groups.get((spec, workload, "prism"))
        if server == "mock" and prism:
            mine, theirs = summarise(group).p99_ms, summarise(prism).p99_ms
            checks.append((f"{spec} ({workload}) p99 mock <= Prism", mine <= theirs,
                           f"{mine:.2f} ms vs {theirs:.2f} ms"))
    checks.extend(_webhook_checks(groups))
    checks.extend(_dashboard_checks(groups))
    mock_full = [m for m in measurements if m.server == "mock" and m.spec == "full"]
    if mock_full:
        startup = statistics.median(m.startup_s for m in mock_full)
        checks.append(("full-spec start-up < 1.5 s", startup < 1.5, f"{startup:.2f} s"))
    mock_all = [m for m in measurements if m.server == "mock"]
    if mock_all:
        rss = max(m.rss_kb for m in mock_all) / MIB
        checks.append(("mock RSS after load < 120 MiB", rss < 120, f"{rss:.1f} MiB"))
    return checks


def _webhook_checks(groups: dict[tuple, list[Measurement]]) -> list[tuple[str, bool | None, str]]:
    """Issue 16's: a receiver that hangs costs the API's p99 at most 10%."""
    checks = []
    for (spec, workload, server), group in groups.items():
        plain = groups.get((spec, workload, "mock"))
        if server == HANGING_WEBHOOK and plain:
            hanging, without = summarise(group).p99_ms, summarise(plain).p99_ms
            checks.append((f"{spec} ({workload}) p99 with a hanging webhook receiver <= 1.1x without",
                           hanging <= 1.1 * without, f"{hanging:.2f} ms vs {without:.2f} ms"))
    return checks


def _dashboard_checks(groups: dict[tuple, list[Measurement]]) -> list[tuple[str, bool | None, str]]:
    """Issue 26's: the API's throughput unchanged (within 5%) with the dashboard open and
    refreshing. The server CPU per request beside it says the same with far less noise from
    other work on the machine: the pages' rendering is charged to the API's requests there."""
    checks = []
    for (spec, workload, server), group in groups.items():
        plain = groups.get((spec, workload, "mock"))
        if server == DASHBOARD_OPEN and plain:
            viewed, without = summarise(group), summarise(plain)
            checks.append((f"{spec} ({workload}) req/s with the dashboard open and refreshing >= 0.95x without",
                           viewed.rps >= 0.95 * without.rps,
                           f"{viewed.rps / without.rps:.2f}x ({viewed.rps:,.0f} vs {without.rps:,.0f} req/s); "
                           f"server CPU per request {viewed.cpu_us / without.cpu_us:.2f}x "
                           f"({viewed.cpu_us:,.0f} vs {without.cpu_us:,.0f} µs)"))
    return checks


def targets_table(measurements: list[Measurement]) -> str:
    rows = ["| target | met | measured |", "| --- | --- | --- |"]
    verdicts = {True: "yes", False: "**no**", None: "-"}
    for name, met, evidence in target_checks(measurements):
        rows.append(f"| {name} | {verdicts[met]} | {evidence} |")
    return "\n".join(rows)


def store_table(measurements: list[Measurement], titles: dict[str, str], labels: dict[str, str]) -> str:
    """Issue 13's comparison: the mock on each store (`labels`: server name -> store and
    processes), each row against the memory store's (`mock`) in the same run. CPU per request
    includes redis-server's for the Redis rows."""
    rows = [
        "| spec | workload | store | req/s | p50 ms | p99 ms | non-2xx | req/s vs memory | p99 vs memory "
        "| CPU µs/req (mock + Redis) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    groups = group_by(measurements, "spec", "workload", "server")
    for (spec, workload, server), group in groups.items():
        if server not in labels:
            continue
        row, memory = summarise(group), groups.get((spec, workload, "mock"))
        base = summarise(memory) if memory else None
        rps_ratio = f"{row.rps / base.rps:.2f}x" if base and base.rps else ""
        p99_ratio = f"{row.p99_ms / base.p99_ms:.2f}x" if base and base.p99_ms else ""
        rows.append(
            f"| {spec} | ({workload}) {titles[workload]} | {labels[server]} | {row.rps:,.0f} | {row.p50_ms:.2f} "
            f"| {row.p99_ms:.2f} | {row.non2xx} | {rps_ratio} | {p99_ratio} | {row.cpu_us:,.0f} |"
        )
    return "\n".join(rows)
