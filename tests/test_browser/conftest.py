"""A real headless Chromium (Debian's ``chromium``) driven by Playwright, for the browser tests.

Never runs ``playwright install``: the system browser is used through ``executable_path``. The tests are
skipped, with the reason, when Playwright or the browser is missing (CI installs ``chromium`` with apt).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


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
