"""The pytest example of docs/quickstart.md, run as a user runs it: the `flexprice_mock` fixture,
the official Python SDK, the full spec and the sample fixtures."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart.md"

pytest_plugins = ["pytester"]


def docs_example() -> str:
    """The Python block that starts with `# test_billing.py`."""
    blocks = re.findall(r"```python\n(.*?)```", QUICKSTART.read_text(), flags=re.S)
    (example,) = [block for block in blocks if block.startswith("# test_billing.py")]
    return example


def test_the_quickstart_pytest_example_passes_against_the_full_spec(pytester, full_spec):
    pytester.makepyfile(test_billing=docs_example())
    result = pytester.runpytest("-p", "no:randomly", "--flexprice-spec", str(full_spec),
                                "--flexprice-fixtures", str(ROOT / "fixtures"))
    result.assert_outcomes(passed=3)
