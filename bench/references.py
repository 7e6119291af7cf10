"""Issue 28's tables: the mock against its references in the same run, ratio by ratio per round.

Runs are interleaved (every server once per round, in turn), so round r of the mock and round r
of a reference met about the same machine; each ratio is taken within a round, then the median
of the rounds is given with the lowest and highest beside it. Two figures per pair: req/s (the
mock's over the reference's: above 1 is faster) and CPU per request (the reference's over the
mock's: above 1 means the mock works less per answer), the second being the one a loaded machine
disturbs least. A bulk's figures are also given per event.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable

from bench.results import Measurement, group_by

MOCK, REDIS, BARE, WIREMOCK, PRISM = "mock", "mock/redis", "bare", "wiremock", "prism"
REFERENCES = (BARE, WIREMOCK, PRISM)


def rounds(measurements: list[Measurement], spec: str, workload: str, server: str) -> dict[int, Measurement]:
    return {m.round: m for m in measurements if (m.spec, m.workload, m.server) == (spec, workload, server)}


def per_round(mine: dict[int, Measurement], theirs: dict[int, Measurement],
              figure: Callable[[Measurement, Measurement], float]) -> list[float]:
    return [figure(mine[r], theirs[r]) for r in sorted(mine.keys() & theirs.keys())]


def rps_ratio(mine: Measurement, theirs: Measurement) -> float:
    return mine.load.rps / theirs.load.rps if theirs.load.rps else 0.0


def cpu_ratio(mine: Measurement, theirs: Measurement) -> float:
    return theirs.load.cpu_us_per_request / mine.load.cpu_us_per_request if mine.load.cpu_us_per_request else 0.0


def spread(ratios: list[float]) -> str:
    """`0.62x (0.58-0.66)`: the median of the rounds' ratios, the lowest and the highest."""
    if not ratios:
        return "-"
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}x"
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def median(ratios: list[float]) -> float | None:
    return statistics.median(ratios) if ratios else None


def servers_table(measurements: list[Measurement], titles: dict[str, str], per_request: dict[str, int]) -> str:
    """Every server's medians, a bulk's also per event, Redis commands per request where a
    store counted them."""
    rows = ["| spec | workload | server | req/s | events/s | p99 ms | non-2xx | CPU µs/req | CPU µs/event "
            "| Redis commands/req |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (spec, workload, server), group in group_by(measurements, "spec", "workload", "server").items():
        units = per_request.get(workload, 1)
        rps = statistics.median(m.load.rps for m in group)
        cpu = statistics.median(m.load.cpu_us_per_request for m in group)
        p99 = statistics.median(m.load.p99_us for m in group) / 1000
        commands = statistics.median(m.load.commands_per_request for m in group)
        rows.append(f"| {spec} | ({workload}) {titles[workload]} | {server} | {rps:,.0f} "
                    f"| {rps * units:,.0f} | {p99:.2f} | {sum(m.load.non2xx for m in group)} | {cpu:,.0f} "
                    f"| {cpu / units:,.2f} | {f'{commands:.1f}' if commands else ''} |")
    return "\n".join(rows)


def ratios_table(measurements: list[Measurement], titles: dict[str, str]) -> str:
    """The mock (memory store) against each reference, and the mock on Redis against the mock."""
    pairs = [(MOCK, ref) for ref in REFERENCES] + [(REDIS, MOCK)]
    rows = ["| spec | workload | compared | req/s ratio per round: median (range) | CPU/req ratio per round |",
            "| --- | --- | --- | ---: | ---: |"]
    for spec, workload in {(m.spec, m.workload): None for m in measurements}:
        for mine, reference in pairs:
            a, b = rounds(measurements, spec, workload, mine), rounds(measurements, spec, workload, reference)
            if a and b:
                rows.append(f"| {spec} | ({workload}) {titles[workload]} | {mine} / {reference} "
                            f"| {spread(per_round(a, b, rps_ratio))} | {spread(per_round(a, b, cpu_ratio))} |")
    return "\n".join(rows)


def startup_ratio(measurements: list[Measurement], spec: str = "full") -> float | None:
    """The mock's median time to first answer over Prism's, from the same run's starts."""
    mock = [m.startup_s for m in measurements if m.spec == spec and m.server == MOCK]
    prism = [m.startup_s for m in measurements if m.spec == spec and m.server == PRISM]
    return statistics.median(mock) / statistics.median(prism) if mock and prism else None


def target_checks(measurements: list[Measurement]) -> list[tuple[str, bool | None, str]]:
    """Issue 28's load targets as (target, met, evidence): medians of per-round ratios."""
    def ratio(workload: str, mine: str, theirs: str, figure=rps_ratio) -> float | None:
        return median(per_round(rounds(measurements, "full", workload, mine),
                                rounds(measurements, "full", workload, theirs), figure))

    checks = []
    for name, workload, mine, theirs, floor, figure in (
            ("GET >= 0.6x the bare limit (req/s)", "a", MOCK, BARE, 0.6, rps_ratio),
            ("GET ahead of WireMock without its journal (req/s)", "a", MOCK, WIREMOCK, 1.0, rps_ratio),
            ("POST /customers >= 0.5x the bare limit (req/s)", "d", MOCK, BARE, 0.5, rps_ratio),
            ("single event ingest >= 0.5x the bare limit (req/s)", "e", MOCK, BARE, 0.5, rps_ratio),
            ("bulk ingest CPU per event <= 3x the limit's", "f", MOCK, BARE, 1 / 3, cpu_ratio),
            ("Redis >= 0.5x memory: GET (req/s)", "a", REDIS, MOCK, 0.5, rps_ratio),
            ("Redis >= 0.5x memory: POST /customers (req/s)", "d", REDIS, MOCK, 0.5, rps_ratio),
            ("Redis >= 0.5x memory: event ingest (req/s)", "e", REDIS, MOCK, 0.5, rps_ratio),
            ("Redis >= 0.5x memory: bulk ingest (req/s)", "f", REDIS, MOCK, 0.5, rps_ratio)):
        found = ratio(workload, mine, theirs, figure)
        if found is None:
            evidence = "not measured"
        elif figure is cpu_ratio:
            evidence = f"{1 / found:.2f}x the limit's CPU" if found else "no CPU measured"
        else:
            evidence = f"{found:.2f}x"
        checks.append((name, None if found is None else found >= floor, evidence))
    startup = startup_ratio(measurements)
    checks.append(("start-up (time to first answer) <= 0.15x Prism's", None if startup is None else startup <= 0.15,
                   "not measured" if startup is None else f"{startup:.2f}x"))
    return checks
