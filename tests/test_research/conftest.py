"""A writable server over real HTTP on a private copy of the built store, for the research features."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from next2met.graph import paths
from next2met.server.app import create_app
from tests.conftest import LiveServer, derived, make_settings, prepared

TOKEN = "research-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N2M = "https://w3id.org/next2met/ontology#"
BASE = "https://w3id.org/next2met/"
LONGFORD = (paths.DATA_DIR / "practices" / "digital-consultations-longford.yaml").read_text()


@dataclass
class Served:
    url: str
    kg: object
    app: object = None

    def select(self, query: str, **params) -> list[dict[str, str]]:
        """Run a SELECT over HTTP and return rows of plain values."""
        r = requests.get(f"{self.url}/sparql", params={"query": query, **params},
                         headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert r.status_code == 200, r.text
        return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]

    def write(self, method: str, slug: str, body: str | None = None) -> requests.Response:
        """PUT or DELETE a practice through the write API, with the If-Match of its current version."""
        url = f"{self.url}/api/practices/{slug}"
        headers = dict(AUTH)
        current = requests.get(url, timeout=30)
        if current.status_code == 200:
            headers["If-Match"] = current.headers["ETag"]
        if body is not None:
            headers["Content-Type"] = "application/yaml"
        return requests.request(method, url, data=body.encode() if body is not None else None, headers=headers,
                                timeout=60)

    def derived(self) -> None:
        """Wait until the derived graphs follow the last write (made in the background; /health says when)."""
        derived(self.url)

    def ask(self, query: str, **params) -> bool:
        r = requests.get(f"{self.url}/sparql", params={"query": query, **params},
                         headers={"Accept": "application/sparql-results+json"}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["boolean"]


@pytest.fixture
def served(store_copy) -> Iterator[Served]:
    """The real app with writes on, over real HTTP, on a private copy of the built store."""
    app = prepared(create_app(make_settings(store_copy, update_token=TOKEN)))  # dumps made in the background
    server = LiveServer(app)
    try:
        yield Served(server.url, app.extensions["next2met"], app)
    finally:
        server.stop()
        app.extensions["next2met"].close()
