"""/.well-known/void: the statistics VoID states are the ones SPARQL COUNT queries (and a count in Python over the
quads) give for the same data."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import RDF

VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
NUTS = "http://data.europa.eu/nuts/code/"
N2M = "https://w3id.org/next2met/ontology#"


@pytest.fixture(scope="module")
def void(app):
    response = app.test_client().get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    g = rdflib.Graph()
    g.parse(data=response.data, format="turtle")
    dataset = next(g.objects(None, rdflib.namespace.FOAF.primaryTopic))
    return g, dataset


@pytest.fixture(scope="module")
def store(app):
    return app.extensions["next2met"].store


def count(store, sparql: str) -> int:
    return int(store.query(sparql).rows()[0]["n"].value)


def stated(g, node, prop) -> int:
    return int(g.value(node, VOID[prop]))


def test_totals_match_sparql_counts(void, store):
    g, ds = void
    assert stated(g, ds, "triples") == count(store, "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }")
    assert stated(g, ds, "classes") == count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) { ?s a ?c }")
    assert stated(g, ds, "properties") == count(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) { ?s ?p ?o }")
    assert stated(g, ds, "distinctSubjects") == count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")
    assert stated(g, ds, "distinctObjects") == count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
    assert stated(g, ds, "entities") == count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s a [] FILTER isIRI(?s) }")


def test_totals_match_a_count_over_the_quads(void, store):
    g, ds = void
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in store.quads()}
    assert stated(g, ds, "triples") == len(triples)
    assert stated(g, ds, "distinctSubjects") == len({t.subject for t in triples})
    assert stated(g, ds, "properties") == len({t.predicate for t in triples})


def test_partitions(void, store):
    g, ds = void
    classes = {g.value(p, VOID["class"]): stated(g, p, "entities") for p in g.objects(ds, VOID.classPartition)}
    assert len(classes) == stated(g, ds, "classes")
    for cls, n in classes.items():
        assert n == count(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s a <{cls}> }}"), cls
    props = {g.value(p, VOID.property): stated(g, p, "triples") for p in g.objects(ds, VOID.propertyPartition)}
    assert len(props) == stated(g, ds, "properties")
    assert sum(props.values()) == stated(g, ds, "triples")
    practice = rdflib.URIRef("https://w3id.org/next2met/ontology#GoodPractice")
    assert classes[practice] == count(store, f"SELECT (COUNT(*) AS ?n) {{ ?s a <{practice}> }}") > 0


def test_named_graphs_are_subsets(void, store):
    g, ds = void
    subsets = {s: stated(g, s, "triples") for s in g.objects(ds, VOID.subset) if (s, RDF.type, VOID.Linkset) not in g}
    assert {str(s) for s in subsets} == set(store.named_graphs())
    for name, n in subsets.items():
        assert n == sum(1 for _ in store.quads(str(name))), name


def test_nuts_linkset(void, store):
    g, ds = void
    linkset = next(s for s in g.objects(ds, VOID.subset) if (s, RDF.type, VOID.Linkset) in g)
    links = {ox.Triple(q.subject, q.predicate, q.object) for q in store.quads()
             if isinstance(q.object, ox.NamedNode) and q.object.value.startswith(NUTS)}
    assert stated(g, linkset, "triples") == len(links) > 0
    by_predicate = {str(g.value(p, VOID.linkPredicate)): stated(g, p, "triples")
                    for p in g.objects(linkset, VOID.subset)}
    predicates = {t.predicate.value for t in links}
    assert by_predicate == {p: sum(1 for t in links if t.predicate.value == p) for p in predicates}


def test_endpoint_dumps_and_vocabularies(void, app):
    g, ds = void
    assert str(g.value(ds, VOID.sparqlEndpoint)) == "http://localhost/sparql"
    dumps = app.extensions["next2met"].extensions["publish"].dumps
    expected = {f"http://localhost/dumps/{f.filename}" for f in dumps.files}
    assert {str(u) for u in g.objects(ds, VOID.dataDump)} == expected
    vocabularies = {str(v) for v in g.objects(ds, VOID.vocabulary)}
    assert {N2M, "http://purl.org/dc/terms/", "http://www.w3.org/ns/dcat#"} <= vocabularies
