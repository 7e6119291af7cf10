"""`python -m tests.broken DEFECT --spec secrets.json --api-key KEY`: serve one broken server.

Prints its base URL, like `flexprice-mock`, and serves until interrupted; `--list` names the defects.
"""
from __future__ import annotations

import argparse
import threading

from .serve import BY_NAME, broken_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.broken")
    parser.add_argument("defect", nargs="?", choices=sorted(BY_NAME))
    parser.add_argument("--spec", required=False)
    parser.add_argument("--api-key", default="sk_contract_gate_demo")
    parser.add_argument("--list", action="store_true", help="print every defect and the checks that catch it")
    args = parser.parse_args()
    if args.list or not args.defect:
        for name, defect in sorted(BY_NAME.items()):
            print(f"{name:34} {defect.__doc__.strip()}  [caught by: {', '.join(sorted(defect.caught_by))}]")
        return
    with broken_server(args.defect, args.spec, args.api_key) as url:
        print(url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


main()
