"""Take the screenshot of the contract gate's HTML report that docs/contract-gate.md shows.

Runs `flexprice-contract` on the full spec against this project's mock (profile `quick` unless
told otherwise; the docs' picture is `-- --profile default`), writes its `--report` page, and has
headless Chromium render the page's top (the resources, down to /subscriptions).

    python scripts/report_screenshot.py [--spec PATH] [--out PNG] [-- more gate options]

Needs Chromium (`/usr/bin/chromium`, or `--chromium PATH`). The gate's exit code is printed, not
enforced: the page is what is wanted, whatever the verdict.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL_SPEC = Path(os.environ.get("FLEXPRICE_FULL_SPEC", ROOT.parent / "shared" / "flexprice" / "openapi.json"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=FULL_SPEC)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "contract-gate-report.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--size", default="1400,3000", help="window width,height in pixels (default: 1400,3000)")
    parser.add_argument("gate", nargs="*", help="more flexprice-contract options (default: --profile quick)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        gate = [sys.executable, "-m", "contract_tests", "--spec", str(args.spec), "--report", str(page), "--no-progress",
                *(args.gate or ["--profile", "quick"])]
        done = subprocess.run(gate, cwd=ROOT, capture_output=True, text=True)
        print(done.stdout.splitlines()[1] if len(done.stdout.splitlines()) > 1 else done.stdout, f"(exit {done.returncode})")
        if not page.is_file():
            print(done.stderr, file=sys.stderr)
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={args.size}", f"--screenshot={args.out.resolve()}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
