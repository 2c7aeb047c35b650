"""Ready at once: the server answers /health and queries before its dumps and change log are made; meanwhile the
routes that need them answer 503 with Retry-After (or serve the previous generation), /health says what is being
prepared, and once it is done they answer."""

from __future__ import annotations

import time

import pyoxigraph as ox
import pytest
import requests

from next2met.server.app import create_app
from next2met.server.state import Change
from tests.conftest import LiveServer, make_settings

N2M = "https://w3id.org/next2met/ontology#"
DCT = "http://purl.org/dc/terms/"


@pytest.fixture
def unstarted(store_copy):
    """The app as ``next2met serve`` has it before it begins preparing: on a store with no dumps or change log."""
    application = create_app(make_settings(store_copy), start=False)
    server = LiveServer(application)
    yield application, server.url
    server.stop()
    application.extensions["next2met"].close()


def test_queries_are_answered_and_the_rest_is_503_until_prepared(unstarted):
    application, url = unstarted
    kg = application.extensions["next2met"]
    health = requests.get(url + "/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert {"dumps", "change log"} <= set(health.json()["preparing"])
    answer = requests.post(url + "/sparql", data={"query": f"ASK {{ ?p a <{N2M}GoodPractice> }}"},
                           headers={"Accept": "application/sparql-results+json"}, timeout=60)
    assert answer.status_code == 200 and answer.json()["boolean"] is True
    for path in ("/dumps", "/dumps/next2met.nq.gz", "/dumps/next2met.ttl", "/ldes", "/ldes/0"):
        r = requests.get(url + path, timeout=30)
        assert r.status_code == 503, path
        assert int(r.headers["Retry-After"]) > 0
        assert r.headers["Content-Type"] == "application/problem+json"
        assert "being prepared" in r.json()["detail"]
    kg.start()
    assert kg.preparing.wait(120)
    deadline = time.monotonic() + 60  # the workers' copies in memory are made in the background too
    while (preparing := requests.get(url + "/health", timeout=30).json()["preparing"]) != {}:
        assert set(preparing) == {"memory copies"} and time.monotonic() < deadline, preparing
        time.sleep(0.2)
    for path in ("/dumps", "/dumps/next2met.nq.gz", "/dumps/next2met.ttl", "/ldes", "/ldes/0"):
        assert requests.get(url + path, timeout=60).status_code == 200, path


def test_after_a_change_the_previous_dumps_are_served_until_the_new_ones_are_made(unstarted):
    application, _ = unstarted
    kg, client = application.extensions["next2met"], application.test_client()
    kg.start()
    assert kg.preparing.wait(120)
    before = client.get("/dumps").get_json()
    row = kg.store.query(f"SELECT ?p ?g WHERE {{ GRAPH ?g {{ ?p a <{N2M}GoodPractice> }} }} LIMIT 1").rows()[0]
    quads = [*kg.store.quads(row["g"].value),
             ox.Quad(row["p"], ox.NamedNode(DCT + "alternative"), ox.Literal("prepared again", language="en"),
                     row["g"])]
    with kg.write_lock:  # held: the dumps cannot be snapshot yet, so they are still being prepared
        kg.store.replace_graphs({row["g"].value: quads})
        kg.changed(Change((), "build"))
        health = client.get("/health").get_json()
        assert "dumps" in health["preparing"] and "change log" in health["preparing"]
        during = client.get("/dumps")
        assert during.status_code == 200 and during.get_json()["generation"] == before["generation"]
        assert client.get("/ldes/0").status_code == 200  # the stream as recorded so far
    assert kg.preparing.wait(120)
    after = client.get("/dumps").get_json()
    assert after["generation"] == kg.store.generation != before["generation"]
    assert kg.extensions["publish"].log.generation == kg.store.generation


def test_a_failed_preparation_is_reported_and_the_server_keeps_serving(unstarted):
    application, url = unstarted
    kg = application.extensions["next2met"]
    harvest = kg.extensions["publish"]
    harvest.folder.parent.mkdir(parents=True, exist_ok=True)
    harvest.folder.write_text("not a folder")  # the dumps cannot be written where they should go
    kg.start()
    assert kg.preparing.wait(120)
    health = requests.get(url + "/health", timeout=30).json()
    assert "last_error" in health["preparing"]["dumps"]
    assert requests.get(url + "/dumps", timeout=30).status_code == 404
    assert requests.get(url + "/ldes/0", timeout=30).status_code == 200


def test_the_page_data_is_read_once_the_server_listens(unstarted):
    """The names, the related-practices graph, the languages and the search index every page reads are read in the
    background as the server starts (the first page at 1M waited 8-21 s for them), before any page asks."""
    application, _ = unstarted
    kg = application.extensions["next2met"]
    holders = ("labels", "related practices", "languages", "search-index")
    assert not any(kg.extensions.get(name) for name in holders)  # nothing read before the start
    kg.start()
    assert kg.preparing.wait(120)
    for name in holders:
        holder = kg.extensions.get(name)
        assert holder is not None and holder.value is not None, name
        assert holder.generation == kg.store.generation, name
