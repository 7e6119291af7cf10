"""Schemathesis's per-operation phases (examples, coverage, fuzzing) on two processes at once.

Schemathesis's own workers are threads: on the full spec they bring nothing, because the run is
bound by the gate's CPU (case generation, `requests`, checks: about 70% of it, py-spy), which one
interpreter lock serializes. Two processes, each testing a share of the operations, use the
second core. The shares are balanced by an operation's size (its parameters and request body with
`$ref`s resolved), which predicts the coverage phase's requests (correlation 0.99 on the full spec:
`POST /subscriptions` alone is a third of them). Schemathesis seeds each operation from the run's
seed and the operation's label, so an operation gets the same cases whichever share it is in; the
shares' findings are merged in share order. The stateful phase, whose scenarios cross operations,
runs after, on the whole document, in the gate's process (`fuzz.py`).
"""
from __future__ import annotations

import multiprocessing
import queue
import time
import traceback
from collections.abc import Callable
from typing import Any

from flexprice_spec.document import HTTP_METHODS

from .report import Failure, Report

SHARDS = 2
SIZE_OF_AN_OPERATION = 10  # what testing any operation costs, in the units of `size`: a GET is not free
EXIT_GRACE = 30.0  # seconds past the budget a share may take to hand its findings back


class ShareBroke(RuntimeError):
    """The gate broke in a share's process; the message has the share's traceback."""


class ShareProgress:
    """The `Progress` a share reports through: one message per operation a phase finished."""

    def __init__(self, index: int, messages: Any) -> None:
        self.index, self.messages = index, messages

    def start(self, phase: str, total: int, unit: str = "operations") -> None:
        pass

    def advance(self, failures: int, steps: int = 1) -> None:
        self.messages.put(("advance", self.index, failures))

    def finish(self, failures: int) -> None:
        pass


def split(document: dict, shares: int = SHARDS) -> list[dict]:
    """`document` as `shares` documents whose operations together are its own, of about equal
    size: the largest operation first, each to the share with the least so far."""
    operations = [(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS]
    weights = {key: size(document["paths"][key[0]][key[1]], document) + SIZE_OF_AN_OPERATION for key in operations}
    loads, members = [0] * shares, [[] for _ in range(shares)]
    for key in sorted(operations, key=lambda key: (-weights[key], key)):
        lightest = loads.index(min(loads))
        loads[lightest] += weights[key]
        members[lightest].append(key)
    return [_with_only(document, set(chosen)) for chosen in members if chosen]


def size(operation: dict, document: dict) -> int:
    """The nodes of an operation's parameters and request body, `$ref`s followed (each once per branch)."""
    return _nodes([operation.get("parameters"), operation.get("requestBody")], document, frozenset())


def _nodes(node: Any, document: dict, seen: frozenset[str]) -> int:
    if isinstance(node, list):
        return sum(_nodes(item, document, seen) for item in node)
    if not isinstance(node, dict):
        return 0
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:
            return 1
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        return _nodes(target, document, seen | {ref})
    return 1 + sum(_nodes(value, document, seen) for value in node.values())


def _with_only(document: dict, chosen: set[tuple[str, str]]) -> dict:
    paths = {}
    for path, item in document["paths"].items():
        kept = {key: value for key, value in item.items() if key not in HTTP_METHODS or (path, key) in chosen}
        if any(method in kept for method in HTTP_METHODS):
            paths[path] = kept
    return {**document, "paths": paths}


def run(shares: list[dict], test: Callable[[dict, Report, Any], None], report: Report, time_left: float,
        progress: Any | None) -> None:
    """Run `test(share, partial_report, progress)` on each share in a process of its own (forked,
    so the hooks, the configuration and the operations given up on come along), and merge what
    each found into `report`, in share order."""
    context = multiprocessing.get_context("fork")
    messages = context.Queue()
    processes = [context.Process(target=_share, args=(index, share, test, messages), daemon=True)
                 for index, share in enumerate(shares)]
    for process in processes:
        process.start()
    give_up_at = time.monotonic() + max(time_left, 0.0) + EXIT_GRACE
    found: dict[int, Report] = {}
    failures = [0] * len(processes)  # each share's own count so far, for the progress line
    try:
        while len(found) < len(processes) and time.monotonic() < give_up_at:
            try:
                message = messages.get(timeout=1.0)
            except queue.Empty:
                if all(not process.is_alive() for process in processes) and messages.empty():
                    break
                continue
            if message[0] == "advance":
                failures[message[1]] = message[2]
                if progress:
                    progress.advance(len(report.failures) + sum(failures))
            elif message[0] == "broke":
                raise ShareBroke(f"Schemathesis share {message[1]} broke:\n{message[2]}")
            else:
                found[message[1]] = message[2]
    except BaseException:  # a share broke, or the run was interrupted: the other shares stop too
        for process in processes:
            process.kill()
        raise
    finally:
        for process in processes:
            process.join(max(give_up_at - time.monotonic(), 0.0))
            if process.is_alive():
                process.kill()
                process.join()
    for index, process in enumerate(processes):
        if index in found:
            _merge(report, found[index])
        else:
            report.add(Failure("transport", "schemathesis",
                               f"a Schemathesis share ended without its findings (exit code {process.exitcode})"))


def _share(index: int, share: dict, test: Callable[[dict, Report, Any], None], messages: Any) -> None:
    partial = Report()
    try:
        test(share, partial, ShareProgress(index, messages))
    except BaseException:  # a bug of the gate's: the gate's process raises it, as it would without shares
        messages.put(("broke", index, traceback.format_exc()))
        return
    messages.put(("report", index, partial))


def _merge(report: Report, partial: Report) -> None:
    report.requests += partial.requests
    report.sent.update(partial.sent)
    for operation, statuses in partial.statuses.items():
        report.statuses[operation].update(statuses)
    for check, operations in partial.ran.items():
        report.ran[check] |= operations
    for failure in partial.failures:
        report.add(failure)
    report.cut = report.cut or partial.cut
