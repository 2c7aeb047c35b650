"""A vocabulary you can find: the data-model page from the shapes, the ontology and the data; vocabulary.json
limited to the terms of the data; the Service Description's VoID partitions and its link to the model."""

from __future__ import annotations

import pyoxigraph as ox
import requests

N2M = "https://w3id.org/next2met/ontology#"
VOID = "http://rdfs.org/ns/void#"


def test_model_page_lists_classes_properties_ranges_cardinalities_examples(live_server):
    classes = requests.get(f"{live_server.url}/model.json", timeout=60).json()
    by_iri = {c["iri"]: c for c in classes}
    practice = by_iri[N2M + "GoodPractice"]
    props = {p["iri"]: p for p in practice["properties"]}
    title = props["http://purl.org/dc/terms/title"]  # reused, required by the shapes
    assert not title["ours"] and title["min"] >= 1 and title["uses"] >= practice["instances"] and title["example"]
    standing = props[N2M + "standing"]  # ours, exactly one
    assert standing["ours"] and standing["cardinality"] == "1..1"
    start = props["https://schema.org/startDate"]  # recommended by a warning, its range from the shapes
    assert start["recommended"] and start["range"] and start["example"]
    assert props[N2M + "mainInstitution"]["range"] == "org:Organization"
    # every class of the data is there, each with the number of its instances
    r = requests.get(f"{live_server.url}/sparql", params={"query": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { "
                     f"?s a <{N2M}GoodPractice> }}"}, headers={"Accept": "application/sparql-results+json"},
                     timeout=30)
    assert practice["instances"] == int(r.json()["results"]["bindings"][0]["n"]["value"])
    assert "http://www.w3.org/ns/dqv#QualityMeasurement" in by_iri  # the derived graphs are data too
    assert "http://www.w3.org/ns/shacl#NodeShape" not in by_iri and "http://www.w3.org/2002/07/owl#Class" not in by_iri
    page = requests.get(f"{live_server.url}/model", headers={"Accept": "text/html"}, timeout=60).text
    assert "n2m:GoodPractice" in page and "dcterms:title" in page and "1..1" in page


def test_vocabulary_json_holds_the_terms_of_the_data(live_server):
    v = requests.get(f"{live_server.url}/sparql/vocabulary.json", timeout=30).json()
    assert N2M + "GoodPractice" in v["classes"] and "http://purl.org/dc/terms/title" in v["properties"]
    assert not [t for t in v["classes"] + v["properties"]
                if t.startswith(("http://www.w3.org/ns/shacl#", "http://www.w3.org/2002/07/owl#"))]
    editor = requests.get(f"{live_server.url}/sparql", headers={"Accept": "text/html"}, timeout=30).text
    assert 'href="/model"' in editor


def test_service_description_advertises_partitions_and_the_model(live_server):
    r = requests.get(f"{live_server.url}/sparql", headers={"Accept": "application/n-triples"}, timeout=30)
    triples = list(ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES))
    classes = {t.object.value for t in triples if t.predicate.value == VOID + "class"}
    properties = {t.object.value for t in triples if t.predicate.value == VOID + "property"}
    assert N2M + "GoodPractice" in classes and N2M + "NetworkPosition" in classes
    assert "http://purl.org/dc/terms/title" in properties
    assert any(t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#seeAlso" and t.object.value.endswith("/model")
               for t in triples)
