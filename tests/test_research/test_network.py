"""The learning network as data: the derived graph exists with its provenance, is recomputed after a write,
and gives the same numbers on two runs of the same data; the canned queries and pages read it."""

from __future__ import annotations

import requests

from next2met.server.app import create_app
from tests.conftest import LiveServer, make_settings, prepared
from tests.test_research.conftest import BASE, LONGFORD, N2M

NETWORK = f"{BASE}graph/derived/network"
PREFIXES = f"PREFIX n2m: <{N2M}>\nPREFIX prov: <http://www.w3.org/ns/prov#>\nPREFIX schema: <https://schema.org/>\n"
ANALYTICS = PREFIXES + f"""SELECT ?node ?degree ?betweenness ?pagerank ?rank ?community WHERE {{ GRAPH <{NETWORK}> {{
  ?pos n2m:positionOf ?node ; n2m:degree ?degree ; n2m:betweenness ?betweenness ; n2m:pageRank ?pagerank ;
       n2m:hubRank ?rank . OPTIONAL {{ ?pos n2m:community ?community }} }} }} ORDER BY ?node"""
GENERATION = PREFIXES + f"SELECT ?g WHERE {{ GRAPH <{NETWORK}> {{ <{NETWORK}> n2m:dataGeneration ?g }} }}"


def test_derived_network_graph_with_provenance(served):
    rows = served.select(ANALYTICS)
    practices = [r for r in rows if "/practice/" in r["node"]]
    count = served.select(PREFIXES + "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a n2m:GoodPractice }")
    assert len(practices) == int(count[0]["n"]) > 0  # every practice of the data has its place
    assert any("/organisation/" in r["node"] for r in rows)
    assert any(r["node"].startswith("http://data.europa.eu/nuts/code/") for r in rows)
    assert all("community" in r for r in practices)
    # provenance: the data it came from, networkx and its version, the seeded Louvain plan
    prov = served.select(PREFIXES + f"""SELECT ?generation ?version ?seed WHERE {{ GRAPH <{NETWORK}> {{
      <{NETWORK}> n2m:dataGeneration ?generation ; prov:wasGeneratedBy ?run .
      ?run prov:wasAssociatedWith ?nx . ?nx schema:name "networkx" ; schema:softwareVersion ?version .
      ?run prov:qualifiedAssociation/prov:hadPlan ?plan . ?plan schema:additionalProperty ?p .
      ?p schema:name "seed" ; schema:value ?seed . FILTER(CONTAINS(STR(?plan), "louvain")) }} }}""")
    import networkx

    assert prov and len(prov[0]["generation"]) == 64
    assert prov[0]["version"] == networkx.__version__
    # the region-to-region learning network with counts
    flows = served.select(PREFIXES + """SELECT ?from ?to ?actions WHERE {
      ?f a n2m:LearningFlow ; n2m:fromRegion ?from ; n2m:toRegion ?to ; n2m:actionCount ?actions }""")
    assert flows and all(int(f["actions"]) >= 1 and f["from"] != f["to"] for f in flows)


def test_recomputed_after_a_write(served):
    before = served.select(GENERATION)
    new = LONGFORD.replace("practice/digital-consultations-longford", "practice/network-test-practice")
    r = served.write("PUT", "network-test-practice", new)
    assert r.status_code == 201, r.text
    served.derived()  # in the background, after the write was answered
    after = served.select(GENERATION)
    assert after[0]["g"] != before[0]["g"]
    # the new practice has its place in the network, with the organisations it shares with the one it copies
    assert served.ask(PREFIXES + f"""ASK {{ GRAPH <{NETWORK}> {{
      ?pos n2m:positionOf <{BASE}practice/network-test-practice> ; n2m:degree ?d FILTER(?d > 0) }} }}""")
    r = served.write("DELETE", "network-test-practice")
    assert r.status_code == 204
    served.derived()
    assert not served.ask(PREFIXES + f"ASK {{ ?pos n2m:positionOf <{BASE}practice/network-test-practice> }}")
    final = served.select(GENERATION)
    assert final == before  # the same data again: the same generation


def test_same_numbers_on_two_runs_of_the_same_data(served, tmp_path):
    from next2met.graph.build import build_dataset
    from next2met.graph.store import OxigraphStore

    other = tmp_path / "second"
    settings = make_settings(other)
    store = OxigraphStore(other)
    build_dataset(store, settings)  # a second, separate build of the same files
    store.close()
    app = prepared(create_app(settings))  # the derived graphs are made in the background after start
    server = LiveServer(app)
    try:
        first = served.select(ANALYTICS)
        r = requests.get(f"{server.url}/sparql", params={"query": ANALYTICS},
                         headers={"Accept": "application/sparql-results+json"}, timeout=30)
        second = [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]
        assert first == second and len(first) > 100
        construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{NETWORK}> {{ ?s ?p ?o }} }}"
        a = requests.get(f"{served.url}/sparql", params={"query": construct},
                         headers={"Accept": "application/n-triples"}, timeout=30).text
        b = requests.get(f"{server.url}/sparql", params={"query": construct},
                         headers={"Accept": "application/n-triples"}, timeout=30).text
        assert sorted(a.splitlines()) == sorted(b.splitlines())  # the whole graph, provenance included
    finally:
        server.stop()
        app.extensions["next2met"].close()


def test_canned_queries_and_pages_read_it(served):
    r = requests.get(f"{served.url}/queries/network-hubs", params={"kind": "organisation", "top": "3"},
                     headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert r.status_code == 200, r.text
    rows = r.json()["results"]["bindings"]
    assert [int(b["rank"]["value"]) for b in rows if b["nodeKind"]["value"] == "organisation"] == [1, 2, 3]
    top = next(b["node"]["value"] for b in rows if b["nodeKind"]["value"] == "organisation")
    r = requests.get(f"{served.url}/queries/network-communities", headers={"Accept": "text/csv"}, timeout=30)
    assert r.status_code == 200 and "community-1" in r.text
    page = requests.get(top.replace(BASE, served.url + "/"), timeout=30).text
    assert "the most connected organisation of" in page and "In " in page and " practices" in page
    page = requests.get(f"{served.url}/practice/citicap-lahti", timeout=30).text
    assert "links in the learning network" in page and "in community" in page
