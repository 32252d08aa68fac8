"""The dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by selenium)
against a real server over a real index: sign in with a key, index a folder from the page, watch the progress
and the throughput chart move while the job runs, read the failure's reason, search and see thumbnails.
Screenshots go to docs/screenshots/ (the README shows them) when PIXEL_DETECTIVE_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.api.keys import KeyStore, Scope
from bridge.api.server import ApiServer, ApiSettings
from bridge.host import EngineHost
from bridge.settings import Settings
from tests.bridge.conftest import make_photos

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (scripts/setup.sh --dev installs them)",
)
webdriver = pytest.importorskip("selenium.webdriver")

DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
# The README's images are refreshed only on request (a test run must not dirty the working tree):
#   PIXEL_DETECTIVE_UPDATE_SCREENSHOTS=1 scripts/test.sh tests/bridge/api/test_dashboard.py
UPDATE = os.environ.get("PIXEL_DETECTIVE_UPDATE_SCREENSHOTS") == "1"
PHOTOS = 400  # enough that the job runs for a few seconds under the tiny model
LINE_RGB = (37, 99, 235)  # chart.js LINE: the throughput series


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service(str(DRIVER)))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[ApiServer, str, Path]]:
    folder = tmp_path / "photos"
    make_photos(folder, PHOTOS, size=(320, 240))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    key = KeyStore(settings.data_dir).create("dashboard test", Scope.INDEX)[1]
    host = EngineHost(settings)
    try:
        with ApiServer(host, ApiSettings(port=0), local_token=lambda: None) as server:
            yield server, key, folder
    finally:
        host.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def line_pixels(driver: Any) -> int:
    """Pixels of the chart drawn in the series colour."""
    return int(
        driver.execute_script(
            """const [r, g, b] = arguments[0];
            const c = document.querySelector('#chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4)
              if (d[i + 3] > 200 && Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40) n++;
            return n;""",
            list(LINE_RGB),
        )
    )


def test_dashboard_progress_failures_and_search(
    browser: Any, served: tuple[ApiServer, str, Path], tmp_path: Path
) -> None:
    shots = DOCS if UPDATE else tmp_path
    from selenium.webdriver.common.by import By

    server, key, folder = served
    d = browser
    d.get(server.url + "/")
    find = d.find_element

    # a wrong key is refused with the API's reason and the sign-in form stays
    find(By.ID, "key").send_keys("pd_not-a-real-key")
    find(By.CSS_SELECTOR, "#key-form button").click()
    wait_for("the refusal", lambda: "invalid" in find(By.ID, "key-error").text)
    assert find(By.ID, "login").is_displayed() and not find(By.ID, "jobs").is_displayed()

    find(By.ID, "key").send_keys(key)
    find(By.CSS_SELECTOR, "#key-form button").click()
    wait_for("the jobs panel", lambda: find(By.ID, "jobs").is_displayed())
    assert d.execute_script("return sessionStorage.getItem('pixel-detective.key')") == key
    wait_for("the event stream", lambda: find(By.ID, "state").text.startswith("service:"))

    find(By.ID, "folder").send_keys(str(folder))
    find(By.CSS_SELECTOR, "#job-form button").click()

    # while the job runs, the progress the page shows (from the event stream) moves
    read = "const p = document.querySelector('#progress-text'); return [p.dataset.status, p.textContent, +p.dataset.done];"
    seen: list[tuple[str, str, int]] = []
    shot = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status, text, done = d.execute_script(read)
        seen.append((status, text, done))
        if status == "completed":
            break
        if status == "running" and "indexing" in text and done >= PHOTOS * 3 // 4 and not shot:
            wait_for("the throughput line", lambda: line_pixels(d) > 30, timeout=5)
            d.save_screenshot(str(shots / "dashboard-progress.png"))
            shot = True
        time.sleep(0.05)
    else:
        raise AssertionError(f"the job did not complete; last seen {seen[-1]}")
    running = {t for s, t, _ in seen if s == "running" and "indexing" in t}
    assert len(running) >= 3, f"the progress text changed too rarely while indexing: {sorted(running)}"
    dones = [n for s, t, n in seen if s == "running" and "indexing" in t]
    assert dones == sorted(dones) and dones[-1] > dones[0]
    assert shot, "no screenshot while indexing past three quarters"
    assert f"{PHOTOS + 1} / {PHOTOS + 1} files, 1 failed" in seen[-1][1]
    assert "files/s" in find(By.ID, "rate-text").text

    # the failed file is listed with its reason
    wait_for("the failure row", lambda: "broken.jpg" in find(By.ID, "failure-table").text)
    rows = [
        [c.text for c in r.find_elements(By.TAG_NAME, "td")]
        for r in d.find_elements(By.CSS_SELECTOR, "#failure-table tbody tr")
    ]
    assert "decode" in {r[1] for r in rows}, rows
    assert find(By.ID, "failure-count").text == f"({len(rows)})"
    assert all(r[0].endswith("broken.jpg") and all(r[1:3]) for r in rows), rows

    # a search shows a grid of thumbnails that loaded
    find(By.CSS_SELECTOR, ".tab[data-tab=search]").click()
    find(By.ID, "q").send_keys("a colourful blurry photo")
    find(By.CSS_SELECTOR, "#search-form button").click()
    loaded = (
        "return [...document.querySelectorAll('#results img')].map(i => i.complete ? i.naturalWidth : 0);"
    )
    widths = wait_for("the thumbnails", lambda: (w := d.execute_script(loaded)) and all(w) and w)
    assert len(widths) == 24 and min(widths) > 0
    assert find(By.ID, "search-status").text.startswith("24 photos")
    first = find(By.CSS_SELECTOR, "#results img").get_attribute("src")
    assert first.startswith("blob:")  # fetched with the key, not a bare URL
    d.save_screenshot(str(shots / "dashboard-search.png"))
