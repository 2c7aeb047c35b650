"""The derived graphs follow the data in the background: a write is answered without waiting for them, /health
says they are being derived, a burst of changes costs at most two more rounds of derivation (not one a write),
and once done they describe the last write."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests

from next2met.server.app import create_app
from next2met.server.state import Change
from tests.conftest import LiveServer, data_copy, make_settings, prepared
from tests.test_research.conftest import BASE, LONGFORD, N2M, TOKEN, Served

DCT = "http://purl.org/dc/terms/"
SLUG = "digital-consultations-longford"


@pytest.fixture
def served(store_copy, tmp_path) -> Iterator[Served]:
    """The research server over real HTTP, with a data folder of its own (these writes stay here)."""
    data = data_copy(tmp_path / "data")
    app = prepared(create_app(make_settings(store_copy, update_token=TOKEN, data_dir=str(data))))
    server = LiveServer(app)
    try:
        yield Served(server.url, app.extensions["next2met"])
    finally:
        server.stop()
        app.extensions["next2met"].close()


def quality_of(served, slug: str) -> dict:
    data = requests.get(f"{served.url}/quality.json", timeout=30).json()
    return next(p for p in data["practices"] if p["practice"] == f"{BASE}practice/{slug}")


def test_after_a_burst_of_writes_the_derived_graphs_describe_the_last(served):
    before = quality_of(served, SLUG)
    assert "start year" not in [m["name"] for m in before["missing"]]
    without_start = "\n".join(line for line in LONGFORD.splitlines() if not line.startswith("start_year:"))
    copy = LONGFORD.replace(f"practice/{SLUG}", "practice/burst-copy")
    burst = [
        (SLUG, LONGFORD.replace("title:", "# first edit of the burst\ntitle:", 1), 200),
        ("burst-copy", copy, 201),  # a new practice: it enters the learning network
        (SLUG, without_start, 200),  # the last edit of Longford drops its start year
    ]
    for slug, body, status in burst:
        r = served.write("PUT", slug, body)
        assert r.status_code == status, r.text
    served.derived()  # /health: no longer "derived graphs" under "preparing"
    after = quality_of(served, SLUG)
    assert "start year" in [m["name"] for m in after["missing"]] and after["given"] == before["given"] - 1
    assert served.ask(f"""PREFIX n2m: <{N2M}> ASK {{ GRAPH <{BASE}graph/derived/network> {{
      ?pos n2m:positionOf <{BASE}practice/burst-copy> ; n2m:degree ?d FILTER(?d > 0) }} }}""")
    # the derived graphs name the data they were made from: the data as the last write left it
    from next2met.graph.analysis.derived import data_generation

    generation = served.select(f"""SELECT ?g WHERE {{ GRAPH <{BASE}graph/derived/quality> {{
      <{BASE}graph/derived/quality> <{N2M}dataGeneration> ?g }} }}""")
    assert [row["g"] for row in generation] == [data_generation(served.kg.store, BASE)]


def test_changes_while_a_round_waits_are_coalesced(served):
    kg = served.kg
    deriving = kg.extensions["deriving"]
    rounds = deriving.rounds
    row = kg.store.query(f"SELECT ?p ?g WHERE {{ GRAPH ?g {{ ?p a <{N2M}GoodPractice> }} }} LIMIT 1").rows()[0]
    practice, graph = row["p"], row["g"]
    original = list(kg.store.quads(graph.value))
    with kg.write_lock:  # five changes in a row; a round cannot take its snapshot until they are all made
        for i in range(5):
            quads = [q for q in original if q.predicate.value != DCT + "alternative"]
            quads.append(ox.Quad(practice, ox.NamedNode(DCT + "alternative"), ox.Literal(f"burst {i}", language="en"),
                                 graph))
            kg.store.replace_graphs({graph.value: quads})
            kg.changed(Change((graph.value,), "update"))
        # the changes were made without the derived graphs, which are being made (/health lists kg.preparing)
        assert "derived graphs" in kg.preparing.status()
    served.derived()
    assert 1 <= deriving.rounds - rounds <= 2  # not one round per change
    from next2met.graph.analysis.derived import data_generation, derived_graph, recorded

    current = data_generation(kg.store, BASE)
    assert all(recorded(kg.store, derived_graph(BASE, name))[0] == current for name in ("network", "quality"))
