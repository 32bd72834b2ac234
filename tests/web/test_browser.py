"""The pages in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium): the
review flow end to end, keyboard shortcuts, and a screenshot of each page at desktop and phone widths
(saved under test-artifacts/web/, which git ignores)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.web import WebOptions, create_app
from storage.store import Store
from tests.web.conftest import Archive, build_archive

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver", "chromium-driver")
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = pytest.mark.timeout(180)


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


def _require_browser() -> tuple[str, str]:
    browser, driver = _find(CHROMIUM), _find(DRIVER)
    if browser and driver:
        return browser, driver
    message = (
        "headless Chromium is needed: apt-get install -y chromium chromium-driver (.ci/run installs them)"
    )
    if os.environ.get("TELEWATCH_ALLOW_SKIP") == "1":
        pytest.skip(message)
    pytest.fail(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving the app on a free loopback port, in a thread with its own event loop."""

    def __init__(self, archive: Archive) -> None:
        import uvicorn

        self.port = _free_port()
        options = WebOptions(db_path=archive.db, config_path=archive.config, environ={})
        app = create_app(options, lambda: Store.open(archive.db))
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("web-archive")
    with pytest.MonkeyPatch.context() as mp:
        archive = build_archive(root, mp)
    with LiveServer(archive) as server:
        yield server


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser, chromedriver = _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="telewatch-chromium-")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--window-size=1280,900",
    ):  # fmt: skip
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, check: Any, timeout: float = 10.0) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(check)


def test_review_flow_search_post_diff_mark_precision(site: LiveServer, driver: Any) -> None:
    """Search → open a post → see its edit diff → mark an alert relevant → precision changes on Rules."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d = driver
    d.get(site.url + "/")
    box = d.find_element(By.NAME, "q")
    box.send_keys("эвакуация", Keys.ENTER)
    _wait(d, lambda drv: "Объявлена" in drv.find_element(By.ID, "results").text)
    assert "q=" in d.current_url  # htmx pushed a permalink
    d.find_element(By.PARTIAL_LINK_TEXT, "Объявлена").click()
    _wait(d, lambda drv: "Edit history" in drv.page_source)
    inserted = d.find_elements(By.CSS_SELECTOR, ".diff ins")
    assert any("Объявлена" in i.text for i in inserted)

    d.get(site.url + "/rules")
    card = d.find_element(By.ID, "rule-evacuation")
    assert "none reviewed" in card.text
    d.get(site.url + "/alerts?rule=evacuation")
    first = d.find_elements(By.CSS_SELECTOR, ".alert-row")[0]
    first_id = first.get_attribute("id")
    first.find_element(By.CSS_SELECTOR, "button.btn-relevant").click()
    _wait(d, lambda drv: "✓ relevant" in drv.find_element(By.ID, first_id).text)
    d.get(site.url + "/rules")
    assert "precision 100%" in d.find_element(By.ID, "rule-evacuation").text


def test_keyboard_shortcuts_mark_the_selected_alert(site: LiveServer, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    d = driver
    d.get(site.url + "/alerts?rule=shelling")
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    selected = d.find_element(By.CSS_SELECTOR, ".alert-row.selected")
    row_id = selected.get_attribute("id")
    body.send_keys("f")
    _wait(d, lambda drv: "✗ false positive" in drv.find_element(By.ID, row_id).text)


def test_hostile_text_renders_as_text_in_the_browser(site: LiveServer, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    d = driver
    d.get(site.url + "/search?channel=@media_test")
    text = d.find_element(By.ID, "results").text
    assert '<script>alert("x")</script> &amp; &lt;b&gt;' in text
    assert d.execute_script("return document.querySelectorAll('#results script, #results img').length") == 0


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshot_of_every_page(site: LiveServer, driver: Any, size: str) -> None:
    """Every page renders without a server error and is saved as a PNG artifact at this width."""
    from selenium.webdriver.common.by import By

    d = driver
    width, height = SIZES[size]
    d.set_window_size(width, height)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "search": "/search?q=суджи OR обстрел",
        "post": "/search?q=Объявлена",
        "alerts": "/alerts",
        "rules": "/rules",
        "channels": "/channels",
        "charts": "/charts?q=суджи OR обстрел OR эвакуация",
        "rule-new": "/rules/new?q=обстрел OR эвакуация",
    }
    for name, path in pages.items():
        d.get(site.url + path)
        if name == "post":
            d.find_element(By.CSS_SELECTOR, ".results a.snippet").click()
        title = d.title
        assert "Error" not in title, name
        assert "Not found" not in title, name
        # The page's own width fits the window: nothing runs off the side on a phone.
        overflow = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow}px wider than a {width}px window"
        full = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(width, min(max(height, int(full) + 120), 4000))
        path_png = ARTIFACTS / f"{name}-{size}.png"
        assert d.save_screenshot(str(path_png)), name
        assert path_png.stat().st_size > 5000
        d.set_window_size(width, height)
