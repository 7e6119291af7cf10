"""`--write-tests DIR`: each failing check as a standalone pytest file that reproduces it.

A file holds one test per failure of its check (at most `PER_CHECK`): the requests that led to the
failure, with their bodies, replayed in order against the same base URL (or
`$FLEXPRICE_CONTRACT_BASE_URL`, or the older `$FLEXPRICE_BASE_URL`), then the assertion that
failed, over the last answer. It imports only pytest and the standard library: the rules it
asserts (`billing_rules.py`, `expectations.py`) are copied into it. A replay makes its own records, so it translates, as it goes:

* ids: an id (or created key) an earlier answer carried is replaced wherever it was sent later
  by the one the replay's answer carries at the same place;
* the gate's unique values (`gate-0-7-...`) get a suffix of the replay's own, so unique keys are
  free again;
* times sent are moved by how much later the replay sends them (events land in the new period).

The gate's key is read from the variable it came from (`$FLEXPRICE_CONTRACT_API_KEY` by default); a test
without it is skipped. Failures with no trace (Schemathesis's) are listed in `README.txt` with
their curl instead.
"""
from __future__ import annotations

import ast
import inspect
import json
import pprint
import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from . import billing_rules, expectations
from .report import Failure, Report

PER_CHECK = 5
ID_KEYS = re.compile(r"^(id|api_key|.*_id)$")
MAX_IDS_PER_ANSWER = 200


def write_tests(report: Report, folder: Path, base_url: str, api_key: str, key_variable: str) -> list[Path]:
    """Write the files; return them (README.txt last when some failure could not be written)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_check: dict[str, list[Failure]] = defaultdict(list)
    unwritable: list[Failure] = []
    for failure in report.failures:
        (by_check[failure.check] if failure.trace and failure.assertion else unwritable).append(failure)
    written = []
    for check, failures in sorted(by_check.items()):
        path = folder / f"test_{re.sub(r'[^0-9a-zA-Z_]', '_', check)}.py"
        path.write_text(render(check, failures[:PER_CHECK], base_url, api_key, key_variable), encoding="utf-8")
        written.append(path)
    if unwritable:
        lines = ["Failures the gate cannot write as a test (found by Schemathesis, or without a trace): replay each with its curl.", ""]
        for failure in unwritable:
            lines += [f"[{failure.check}] {failure.operation}", failure.message.strip(), failure.curl, ""]
        (folder / "README.txt").write_text("\n".join(lines), encoding="utf-8")
        written.append(folder / "README.txt")
    return written


def render(check: str, failures: list[Failure], base_url: str, api_key: str, key_variable: str) -> str:
    tests = "\n\n".join(_test(check, n, failure, base_url, api_key) for n, failure in enumerate(failures, 1))
    first = failures[0]
    return TEMPLATE.format(
        check=check, operation=first.operation, count=len(failures),
        message="\n".join("    " + line for line in first.message.strip().splitlines()[:6]),
        base_url=base_url, key_variable=key_variable, rules=_rules(), runtime=RUNTIME, tests=tests,
    )


def _test(check: str, n: int, failure: Failure, base_url: str, api_key: str) -> str:
    steps = [_step(exchange, base_url, api_key) for exchange in failure.trace]
    first_line = failure.message.strip().splitlines()[0]
    return (
        f"STEPS_{n} = {pprint.pformat(steps, width=120, sort_dicts=False)}\n\n\n"
        f"def test_{re.sub(r'[^0-9a-zA-Z_]', '_', check)}_{n}() -> None:\n"
        f"    {json.dumps(first_line)}\n"
        f"    status, body = replay(STEPS_{n})\n"
        f"    assert {failure.assertion}, {json.dumps(failure.message.strip()[:500])}\n"
    )


def _step(exchange, base_url: str, api_key: str) -> dict:
    """One request as data: method, path below the base URL, query, body, which key, when sent,
    and where the answer carried ids (so the replay can map them)."""
    url = urlsplit(exchange.url)
    base_path = urlsplit(base_url).path.rstrip("/")
    sent_key = exchange.headers.get("x-api-key")
    key = "gate" if sent_key == api_key else sent_key
    try:
        body = json.loads(exchange.body) if exchange.body else None
    except ValueError:
        body = exchange.body.decode("utf-8", "replace")
    return {
        "method": exchange.method, "path": url.path[len(base_path):] if url.path.startswith(base_path) else url.path,
        "query": url.query, "body": body, "raw": isinstance(body, str), "key": key, "at": exchange.at,
        "ids": _ids(exchange.json()),
    }


def _ids(payload, pointer: str = "", found: dict | None = None) -> dict[str, str]:
    found = {} if found is None else found
    if len(found) >= MAX_IDS_PER_ANSWER:
        return found
    if isinstance(payload, dict):
        for key, value in payload.items():
            if isinstance(value, str) and ID_KEYS.match(key) and value:
                found[f"{pointer}/{key}"] = value
            elif isinstance(value, (dict, list)):
                _ids(value, f"{pointer}/{key}", found)
    elif isinstance(payload, list):
        for index, item in enumerate(payload):
            _ids(item, f"{pointer}/{index}", found)
    return found


def _rules() -> str:
    """The gate's rule modules, as plain code: no docstring, no relative or __future__ import."""
    parts = []
    for module in (billing_rules, expectations):
        tree = ast.parse(inspect.getsource(module))
        tree.body = [node for node in tree.body if not (
            isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)
            or isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__")
        )]
        parts.append(f"# from contract_tests/{module.__name__.rsplit('.', 1)[-1]}.py\n{ast.unparse(tree)}")
    return "\n\n\n".join(parts)


TEMPLATE = '''"""Written by `flexprice-contract --write-tests`: {count} failure(s) of `{check}`, first on {operation}:

{message}

Each test replays the requests that led to its failure, with their bodies, then asserts what the
gate asserted. Run `pytest this_file.py`; FLEXPRICE_CONTRACT_BASE_URL (default {base_url}) and
${key_variable} (the API key) pick the target. Ids, the gate's unique values and times are mapped
to the replay's own as it goes.
"""
from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest

BASE_URL = (os.environ.get("FLEXPRICE_CONTRACT_BASE_URL") or os.environ.get("FLEXPRICE_BASE_URL")
            or {base_url!r}).rstrip("/")
KEY_VARIABLE = {key_variable!r}

{rules}


{runtime}


{tests}'''


RUNTIME = '''# the replay
RUN = uuid.uuid4().hex[:6]
TAG = re.compile(r"\\bgate([-_])(\\d+)\\1(\\d+)")
TIME = re.compile(r"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$")
MAPPED: dict = {}


def D(value):
    return Decimal(str(value))


def T(value):
    """A value of the original run as this replay knows it: ids mapped, gate values re-tagged."""
    if isinstance(value, dict):
        return {T(k): T(v) for k, v in value.items()}
    if isinstance(value, list):
        return [T(v) for v in value]
    if not isinstance(value, str):
        return value
    if value in MAPPED:
        return MAPPED[value]
    for old, new in MAPPED.items():
        value = value.replace(old, new)
    return TAG.sub(lambda m: f"{m.group(0)}{m.group(1)}r{RUN}", value)


def shifted(value, seconds):
    """Times sent move as much later as the replay sends them."""
    if isinstance(value, dict):
        return {k: shifted(v, seconds) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, seconds) for v in value]
    if isinstance(value, str) and TIME.match(value):
        moment = parse_time(value) + timedelta(seconds=seconds)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return value


def at(body, pointer):
    for step in [p for p in pointer.split("/") if p]:
        body = body[int(step)] if isinstance(body, list) else body[step]
    return body


def items(body):
    return body if isinstance(body, list) else (body or {}).get("items") or []


def ids(body):
    return [item.get("id") for item in items(body) if isinstance(item, dict)]


def record(body):
    """The record in an answer: the answer, or the one object in it with an id."""
    if isinstance(body, dict) and "id" not in body:
        return next((v for v in body.values() if isinstance(v, dict) and "id" in v), body)
    return body


def is_active(item):
    return str(item.get("status", "published")).lower() not in ("deleted", "archived") and not item.get("end_date")


def send(step):
    key = os.environ.get(KEY_VARIABLE) if step["key"] == "gate" else step["key"]
    if step["key"] == "gate" and not key:
        pytest.skip(f"set ${KEY_VARIABLE} to the API key the gate used")
    body = step["body"]
    if body is not None and not step["raw"]:
        body = json.dumps(shifted(T(body), time.time() - step["at"])).encode()
    elif body is not None:
        body = T(body).encode()
    headers = {"accept": "application/json", **({"content-type": "application/json"} if body is not None else {})}
    if key:
        headers["x-api-key"] = T(key)
    query = "?" + T(step["query"]) if step["query"] else ""
    request = urllib.request.Request(BASE_URL + T(step["path"]) + query, data=body, method=step["method"], headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def replay(steps):
    """Send every step, mapping the ids each answer carries to those of the original run."""
    status, body = 0, None
    for step in steps:
        status, body = send(step)
        for pointer, original in step["ids"].items():
            try:
                new = at(body, pointer)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            if isinstance(new, str) and new != original:
                MAPPED.setdefault(original, new)
    return status, body'''
