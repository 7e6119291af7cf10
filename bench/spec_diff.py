"""`python -m bench.spec_diff`: how long `flexprice-contract diff` takes on the full spec, against
itself (the reference) and against a copy with 50 changes across the rule families.

Each run is the whole console command in a fresh process (`python -m contract_tests diff`), as a
CI job runs it, timed wall-clock; the report gives the median, the fastest and the slowest run of
each, the ratio of the two medians, and the findings the 50 changes produced.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.cli import full_spec_path
from bench.servers import REPO_ROOT
from tests.spec_edits import Edit, edited, setting

CHANGES = 50


def fifty_changes(document: dict) -> list[Edit]:
    """Ten each: an optional property added to a schema, a schema's first property removed, an
    enum value added, an operation's summary edited, a required query parameter added; the
    schemas and operations taken in name order, so every run edits the same places."""
    schemas = document["components"]["schemas"]
    with_properties = sorted(name for name, schema in schemas.items() if schema.get("properties"))
    enums = sorted(name for name, schema in schemas.items() if isinstance(schema.get("enum"), list))
    operations = sorted((path, method) for path, item in document["paths"].items() for method in item
                        if method in ("get", "post", "put", "delete", "patch"))

    def schema(name: str) -> str:
        return "/components/schemas/" + name.replace("~", "~0").replace("/", "~1")

    def operation(path: str, method: str) -> str:
        return "/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method

    def first_removed(properties: dict) -> None:
        properties.pop(next(iter(properties)))

    def required_query(op: dict) -> None:
        op.setdefault("parameters", []).append({"name": "bench", "in": "query", "required": True,
                                                "schema": {"type": "string"}})

    edits: list[tuple[str, Callable]] = []
    edits += [(schema(name) + "/properties", setting(bench_added={"type": "string"})) for name in with_properties[:10]]
    edits += [(schema(name) + "/properties", first_removed) for name in with_properties[10:20]]
    edits += [(schema(name) + "/enum", lambda values: values.append("bench_value")) for name in enums[:10]]
    edits += [(operation(*op), setting(summary="Edited for the benchmark")) for op in operations[:10]]
    edits += [(operation(*op), required_query) for op in operations[10:20]]
    assert len(edits) == CHANGES
    return edits


def timed(old: Path, new: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "contract_tests", "diff", str(old), str(new), "--format", "json"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"diff failed ({done.returncode}): {done.stderr}")
    return elapsed, json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.spec_diff", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="runs of each comparison (default: 5)")
    args = p.parse_args(argv)
    spec = full_spec_path()
    document = json.loads(spec.read_text())
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "openapi-50-changes.json"
        copy.write_text(json.dumps(edited(document, fifty_changes(document)), indent=2))
        runs: dict[str, list[float]] = {"itself": [], "50 changes": []}
        report: dict = {}
        for _ in range(args.runs):
            runs["itself"].append(timed(spec, spec)[0])
            elapsed, report = timed(spec, copy)
            runs["50 changes"].append(elapsed)
    counts = ", ".join(f"{report[level]} {level}" for level in ("error", "warning", "info"))
    print(f"Full spec ({spec.stat().st_size // 1024} KB), {args.runs} runs each, wall-clock seconds of the whole "
          f"`flexprice-contract diff` process:\n")
    print("| against | median | fastest | slowest |\n| --- | --- | --- | --- |")
    for label, seconds in runs.items():
        print(f"| {label} | {statistics.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} |")
    ratio = statistics.median(runs["50 changes"]) / statistics.median(runs["itself"])
    print(f"\n{CHANGES} changes: {len(report['changes'])} findings ({counts}); {ratio:.2f}x the time of the "
          "spec against itself")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
