"""Headless Chromium for the report's tests: Debian's chromium and chromium-driver, driven by Selenium.

.ci/run installs them (apt-get install chromium chromium-driver); elsewhere a test that needs them is skipped
with the command that installs them, except under CI (CI=true), where their absence fails the test.
"""
import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# As root in a sandbox with no network but the package registries: no sandbox, no background connections.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000"]
# Runs before the page's own scripts: the moment after the first frame that follows the page's start-up scripts
# (the runs table's first rows), in ms from the navigation's start.
MARK_TABLE_PAINTED = ("document.addEventListener('DOMContentLoaded', () => requestAnimationFrame(() => "
                      "setTimeout(() => { window.__tablePainted = performance.now(); })));")


def require_chromium():
    missing = [path for path in (CHROMIUM, DRIVER) if not os.path.exists(path)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -r requirements-dev.txt)")
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CI needs {', '.join(missing)}: .ci/run installs them")
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: apt-get install chromium chromium-driver")


@pytest.fixture(scope="module")
def browser():
    """Give a headless Chromium (Selenium WebDriver) that records the page's console."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARK_TABLE_PAINTED})
    yield driver
    driver.quit()


def console_errors(driver):
    """Give the page's console errors and uncaught exceptions since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def load_seconds(driver, page):
    """Give the seconds from navigating to `page` to its runs table on screen, in a browser that has opened a page
    before (as a Kaggler's has)."""
    driver.get("data:text/html,<p>warm</p>")
    driver.get(page.as_uri())
    driver.execute_script("return new Promise(done => (function wait() { window.__tablePainted ? done() : "
                          "setTimeout(wait, 10); })())")
    return driver.execute_script("return window.__tablePainted") / 1000
