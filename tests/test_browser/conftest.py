"""A real headless Chromium (Debian's ``chromium``) driven by Playwright, for the browser tests.

Never runs ``playwright install``: the system browser is used through ``executable_path``. The tests are
skipped, with the reason, when Playwright or the browser is missing (CI installs ``chromium`` with apt).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"]


def chromium_path() -> str | None:
    """The browser binary: $CHROMIUM_PATH, else Debian's (the real binary avoids the wrapper's shell noise)."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((p for p in CANDIDATES if Path(p).exists()), shutil.which("chromium"))


@pytest.fixture(scope="session")
def chromium_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install playwright pytest-playwright); browser tests skipped")
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set CHROMIUM_PATH); browser tests skipped")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--no-first-run"],
        )
        yield browser
        browser.close()


class Watched:
    """A page that records console errors, uncaught exceptions and every request it makes."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.origin) and not u.startswith(("data:", "about:"))]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def web(chromium_browser, live_server) -> Iterator[Watched]:
    """A fresh desktop-sized page on the live server."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    watched = Watched(context.new_page(), live_server.url)
    yield watched
    context.close()


@pytest.fixture
def phone(chromium_browser, live_server) -> Iterator[Watched]:
    """A fresh phone-sized page (390 × 844, touch) on the live server."""
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                           device_scale_factor=1, base_url=live_server.url)
    watched = Watched(context.new_page(), live_server.url)
    yield watched
    context.close()
