"""Headless Chromium for the dashboard's tests and screenshots: Debian's `chromium` driven by its
`chromium-driver` through Selenium, with a fresh profile each time and nothing fetched from the
network (no component updates, no sync, no first-run pages).

Without the two binaries the tests are skipped, or fail where the browser is required (`.ci/run`
installs both and sets FLEXPRICE_MOCK_REQUIRE_BROWSER=1, so CI never skips them).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

REQUIRE_ENV = "FLEXPRICE_MOCK_REQUIRE_BROWSER"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
SIZE = (1280, 800)


def binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver), or None when either is missing."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def require_chromium() -> tuple[str, str]:
    found = binaries()
    if found is None:
        message = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message}, and {REQUIRE_ENV}=1 requires them", pytrace=False)
        pytest.skip(message)
    return found


@contextmanager
def chromium(found: tuple[str, str], size: tuple[int, int] = SIZE) -> Iterator:
    """A headless Chromium of `size` pixels with a profile of its own, quit and removed after."""
    from selenium import webdriver  # imported here: the tests without a browser need none of it
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = found
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            yield driver
        finally:
            driver.quit()
