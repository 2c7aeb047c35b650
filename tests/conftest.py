"""Shared fixtures: settings in a temporary folder, a store built once from the real data, the Flask app and
its test client, and a live server on a free loopback port for tests that speak real HTTP."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from next2met.graph.build import build_dataset
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore

ROOT = Path(__file__).resolve().parents[1]
# The throw-away Virtuoso of the remote-store tests (fixtures `virtuoso`, `virtuoso_built`; skipped when absent).
pytest_plugins = ["tests.virtuoso"]


_DATA_COPY: list[Path] = []
CHECKOUT_DATA = Path(__file__).resolve().parents[1] / "data"


def data_copy(target: Path | None = None) -> Path:
    """A copy of the curated data folder: ``target``, or one shared copy per session (never the checkout's data/,
    which writes through the API would change)."""
    import tempfile

    if target is not None:
        shutil.copytree(CHECKOUT_DATA, target, ignore=shutil.ignore_patterns(".next2met", "__pycache__"))
        return target
    if not _DATA_COPY:
        _DATA_COPY.append(data_copy(Path(tempfile.mkdtemp(prefix="next2met-data-")) / "data"))
    return _DATA_COPY[0]


@pytest.fixture(scope="session", autouse=True)
def _data_folder_is_a_copy():
    """Settings made without a data folder (``Settings()``) name the checkout's data/ as the data folder, and every
    accepted write (the API, /update, a harvest's history) goes there: in tests, they name a copy instead."""
    from next2met.graph import paths

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paths, "DATA_DIR", data_copy())
        yield


def make_settings(store: Path, **changes) -> Settings:
    """Settings that ignore the caller's environment: everything under ``store``, and a copy of the data folder
    (so that no test writes into the checkout's data/)."""
    changes.setdefault("data_dir", str(data_copy()))
    return Settings(store=str(store), **changes)


@pytest.fixture(scope="session")
def built_store(tmp_path_factory) -> Path:
    """A store folder holding the real dataset and its derived graphs, built once per session, as ``next2met build``
    makes it. Treat as read-only: copy to write."""
    from next2met.graph.analysis.derived import refresh

    path = tmp_path_factory.mktemp("built") / "store"
    settings = make_settings(path)
    store = OxigraphStore(path)
    build_dataset(store, settings)
    refresh(store, settings.base_iri)
    store.close()
    return path


@pytest.fixture
def store_copy(built_store, tmp_path) -> Path:
    """A private, writable copy of the built store."""
    target = tmp_path / "store"
    shutil.copytree(built_store, target, symlinks=True)
    return target


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "store")


def prepared(application):
    """The app once its dumps and change log are made (in the background after it starts)."""
    assert application.extensions["next2met"].preparing.wait(120), "dumps and change log not prepared in 2 min"
    return application


@pytest.fixture(scope="session")
def app(built_store, tmp_path_factory):
    """The real app over a session copy of the built store (read-only use)."""
    from next2met.server.app import create_app

    target = tmp_path_factory.mktemp("app") / "store"
    shutil.copytree(built_store, target, symlinks=True)
    application = create_app(make_settings(target))
    application.config["TESTING"] = True
    yield prepared(application)
    application.extensions["next2met"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def derived(url: str, timeout: float = 300) -> None:
    """Wait until the server's derived graphs (learning network, quality) follow the last write: they are derived
    in the background, and ``/health`` lists "derived graphs" under ``preparing`` until they are written."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while "derived graphs" in (preparing := requests.get(f"{url}/health", timeout=30).json()["preparing"]):
        assert "last_error" not in preparing["derived graphs"], preparing
        assert time.monotonic() < deadline, f"the derived graphs were still being made after {timeout} s"
        time.sleep(0.1)
    assert "last_error" not in preparing.get("derived graphs", {}), preparing


class LiveServer:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[LiveServer]:
    """The session app served over real HTTP on a free loopback port."""
    server = LiveServer(app)
    yield server
    server.stop()


def pytest_addoption(parser):
    parser.addoption("--public-endpoints", action="store_true", help="run tests that reach the network")


# -- a real headless Chromium --------------------------------------------------------------------------------------
# One Playwright session for the whole run: Playwright's sync API refuses a second one while the first is open.
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
