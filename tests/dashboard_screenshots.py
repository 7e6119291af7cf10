"""`python -m tests.dashboard_screenshots`: the screenshots in docs/dashboard.md, taken from the
scripted scenario (`dashboard_scenario.py`) in headless Chromium at 1280x800, one per view.

Run from the checkout root with the test extras installed; the full spec is read from
FLEXPRICE_FULL_SPEC (default ../shared/flexprice/openapi.json). The images are written to
docs/img/dashboard/, replacing those there.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By

from . import dashboard_scenario as scenario
from .browser import binaries, chromium
from .conftest import FULL_SPEC, ROOT

OUT = ROOT / "docs" / "img" / "dashboard"
WIDTH, MAX_HEIGHT = 1280, 2000
CHROME = 143  # what the headless window keeps above the page
# (file, path under the mock's address, what to open on the page before the shot)
VIEWS = (
    ("overview.png", "/_mock/", None),
    ("resources.png", "/_mock/dashboard/resources/customer", None),
    ("record.png", "/_mock/dashboard/resources/subscription/{subscription}", None),
    ("timeline.png", f"/_mock/dashboard/customers/{scenario.CUSTOMER}", None),
    ("requests.png", "/_mock/dashboard/requests", "tbody.exchange details"),
    ("webhooks.png", "/_mock/dashboard/webhooks", "tbody.delivery details"),
    ("state.png", "/_mock/dashboard/state", None),
)


def shoot(driver, url: str | None, path: Path, unfold: str | None = None) -> None:
    """The page at `url` (None: the one open), with the first `unfold` details opened."""
    driver.set_window_size(WIDTH, 800)
    if url is not None:
        driver.get(url)
    if unfold:
        driver.execute_script("document.querySelector(arguments[0]).open = true", unfold)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(max(height + CHROME, 800), MAX_HEIGHT))  # the whole page, as far as it is readable
    time.sleep(0.2)  # layout settles
    driver.save_screenshot(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    found = binaries()
    if found is None:
        print("chromium and chromedriver are needed (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    with scenario.receiver() as receiver, scenario.mock_server(FULL_SPEC) as mock, chromium(found) as driver:
        world = scenario.build(mock, receiver)
        receiver.wait_for(3)
        subscription = next(s["id"] for s in mock.store.select("/subscriptions") if s["customer_id"] == scenario.CUSTOMER)
        for name, path, unfold in VIEWS:
            shoot(driver, world.base + path.format(subscription=subscription), OUT / name, unfold)
        driver.get(world.base + "/_mock/dashboard/clock")
        driver.find_element(By.ID, "advance-P1M").click()
        shoot(driver, None, OUT / "clock.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
