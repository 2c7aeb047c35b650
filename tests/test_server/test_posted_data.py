"""Posted data never makes the server reach out: a body's ``@context`` (or any JSON-LD keyword) is refused with 400
naming the key, no URL is fetched and no file opened; YAML alias bombs are refused before they expand."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from next2met.graph import paths
from next2met.server.app import create_app
from tests.conftest import LiveServer, make_settings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LONGFORD = (paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()


class Listener:
    """A TCP listener on loopback that counts the connections made to it (the server must make none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/context.jsonld"
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    lis = Listener()
    yield lis
    lis.close()


@pytest.fixture
def server(store_copy):
    app = create_app(make_settings(store_copy, update_token=TOKEN))
    live = LiveServer(app)
    yield live
    live.stop()
    app.extensions["next2met"].close()


def bodies(target: str) -> dict[str, tuple[str, str]]:
    """Ways of naming something to load, in YAML and JSON, at the top and nested."""
    return {
        "yaml top-level @context": ("application/yaml", f'id: practice/x\n"@context": "{target}"\n'),
        "yaml nested @context": ("application/yaml",
                                 f'id: practice/x\nbudget:\n  "@context": "{target}"\n  amount: 1\n'),
        "yaml @import in a list item": ("application/yaml",
                                        f'id: practice/x\nstakeholders:\n- "@context": {{"@import": "{target}"}}\n'),
        "json @context": ("application/json", json.dumps({"id": "practice/x", "@context": target})),
        "json @id": ("application/json", json.dumps({"id": "practice/x", "@id": target})),
        "local file": ("application/yaml", 'id: practice/x\n"@context": "file:///etc/passwd"\n'),
    }


@pytest.mark.parametrize("route", ["/validate", "/api/practices"])
def test_a_posted_keyword_is_refused_and_nothing_is_fetched(server, listener, route):
    for name, (mimetype, body) in bodies(listener.url).items():
        r = requests.post(server.url + route, data=body.encode(), timeout=10,
                          headers={"Content-Type": mimetype, "Accept": "application/json", **AUTH})
        assert r.status_code == 400, (name, r.status_code, r.text[:300])
        problem = r.json()
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert "'@" in problem["detail"] and "not allowed" in problem["detail"], (name, problem)
    time.sleep(0.3)
    assert listener.connections == 0


def test_the_refusal_names_the_key_and_where_it_is(server, listener):
    _, body = bodies(listener.url)["yaml nested @context"]
    r = requests.post(server.url + "/validate", data=body.encode(), timeout=10,
                      headers={"Content-Type": "application/yaml", "Accept": "application/json"})
    assert r.status_code == 400
    assert "'@context' in budget" in r.json()["detail"]


def test_a_yaml_alias_bomb_is_refused_quickly(server):
    levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = "id: practice/x\n" + "\n".join(levels) + "\n"
    assert len(bomb) < 1000
    r = requests.post(server.url + "/validate", data=bomb.encode(), timeout=30,
                      headers={"Content-Type": "application/yaml", "Accept": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert "expands to more than" in r.json()["detail"]
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


def test_real_data_with_aliases_still_reads(server):
    """A few aliases, as in data/organisations/es.yaml, stay welcome."""
    text = (paths.DATA_DIR / "organisations" / "es.yaml").read_text()
    assert "*sup-pilot-sources" in text
    r = requests.post(server.url + "/validate", data=text.encode(), timeout=60,
                      headers={"Content-Type": "application/yaml", "Accept": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["violations"] == 0
