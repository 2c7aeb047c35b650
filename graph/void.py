"""A VoID description of the dataset with statistics measured by SPARQL over the union of the named graphs.

Counts are over distinct triples (a triple stated in two source files counts once); the named graphs are
subsets with their own triple counts. The links to the EU NUTS regions are a ``void:Linkset`` (one subset per
link predicate), so a harvester can see how the data joins the EU's regional statistics.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyoxigraph as ox

from .catalogue import DCT, FOAF, NUTS, XSD, Graph, Site
from .dumps import DumpSet
from .formats import rdf_format
from .store import Store

VOID = "http://rdfs.org/ns/void#"
SD = "http://www.w3.org/ns/sparql-service-description#"
DISTINCT = "{ SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"

STATISTICS = {
    "triples": f"SELECT (COUNT(*) AS ?n) WHERE {DISTINCT}",
    "entities": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?s)) }",
    "classes": "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }",
    "properties": "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }",
    "distinctSubjects": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }",
    "distinctObjects": "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }",
}
CLASS_PARTITIONS = "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c"
PROPERTY_PARTITIONS = f"SELECT ?p (COUNT(*) AS ?n) WHERE {DISTINCT} GROUP BY ?p"
GRAPHS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
NUTS_LINKS = (
    "SELECT ?p (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o "
    f'FILTER(isIRI(?o) && STRSTARTS(STR(?o), "{NUTS}")) }} }} GROUP BY ?p'
)


@dataclass(frozen=True)
class Statistics:
    """The numbers VoID states about the dataset."""

    totals: dict[str, int]
    classes: dict[str, int]  # class IRI -> entities
    properties: dict[str, int]  # property IRI -> triples
    graphs: dict[str, int]  # named graph -> triples
    nuts_links: dict[str, int]  # link predicate -> triples whose object is a NUTS region

    @property
    def vocabularies(self) -> list[str]:
        """The namespaces of the classes and properties used."""
        return sorted({namespace(iri) for iri in [*self.classes, *self.properties]})


def statistics(store: Store) -> Statistics:
    """Measure the dataset with SPARQL COUNT queries."""
    totals = {name: int(store.query(q).rows()[0]["n"].value) for name, q in STATISTICS.items()}

    def grouped(sparql: str, key: str) -> dict[str, int]:
        return {r[key].value: int(r["n"].value) for r in store.query(sparql).rows() if isinstance(r[key], ox.NamedNode)}

    return Statistics(
        totals,
        grouped(CLASS_PARTITIONS, "c"),
        grouped(PROPERTY_PARTITIONS, "p"),
        grouped(GRAPHS, "g"),
        grouped(NUTS_LINKS, "p"),
    )


def namespace(iri: str) -> str:
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1] if cut > 0 else iri


def void(stats: Statistics, site: Site, dumps: DumpSet | None) -> list[ox.Triple]:
    """The VoID description: the dataset, its statistics and partitions, its dumps, subsets and NUTS linkset."""
    g = Graph()
    ds = site.dataset
    doc = f"{site.origin}/.well-known/void"
    g.a(doc, VOID + "DatasetDescription")
    g.text(doc, DCT + "title", "VoID description of the Next2Met good practices knowledge graph", "en")
    g.add(doc, FOAF + "primaryTopic", ds)

    g.a(ds, VOID + "Dataset")
    g.text(ds, DCT + "title", "Next2Met good practices knowledge graph", "en")
    g.add(ds, DCT + "publisher", site.publisher)
    g.add(ds, DCT + "license", "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")
    g.add(ds, VOID + "sparqlEndpoint", site.sparql_url)
    g.text(ds, VOID + "uriSpace", site.base)
    for f in dumps.files if dumps else ():
        g.add(ds, VOID + "dataDump", site.dump_url(f.filename))
        feature = rdf_format(f.format).iri  # the serialisations the dumps offer
        if feature:
            g.add(ds, VOID + "feature", feature)
    for vocabulary in stats.vocabularies:
        g.add(ds, VOID + "vocabulary", vocabulary)
    for name, value in stats.totals.items():
        g.typed(ds, VOID + name, value, XSD + "integer")
    for cls, n in stats.classes.items():
        part = f"{ds}#class-{partition_name(cls)}"
        g.add(ds, VOID + "classPartition", part)
        g.add(part, VOID + "class", cls)
        g.typed(part, VOID + "entities", n, XSD + "integer")
    for prop, n in stats.properties.items():
        part = f"{ds}#property-{partition_name(prop)}"
        g.add(ds, VOID + "propertyPartition", part)
        g.add(part, VOID + "property", prop)
        g.typed(part, VOID + "triples", n, XSD + "integer")
    for graph, n in stats.graphs.items():
        g.add(ds, VOID + "subset", graph)
        g.a(graph, VOID + "Dataset", SD + "Graph")
        g.typed(graph, VOID + "triples", n, XSD + "integer")
    _linkset(g, ds, stats)
    return g.sorted()


def _linkset(g: Graph, ds: str, stats: Statistics) -> None:
    nuts = "http://data.europa.eu/nuts"
    g.a(nuts, VOID + "Dataset")
    g.text(nuts, DCT + "title", "NUTS - Nomenclature of territorial units for statistics", "en")
    g.text(nuts, VOID + "uriSpace", NUTS)
    links = f"{ds}#nuts-links"
    g.add(ds, VOID + "subset", links)
    g.a(links, VOID + "Linkset")
    g.add(links, VOID + "subjectsTarget", ds)
    g.add(links, VOID + "objectsTarget", nuts)
    g.typed(links, VOID + "triples", sum(stats.nuts_links.values()), XSD + "integer")
    for prop, n in stats.nuts_links.items():
        part = f"{links}-{partition_name(prop)}"
        g.add(links, VOID + "subset", part)
        g.a(part, VOID + "Linkset")
        g.add(part, VOID + "linkPredicate", prop)
        g.add(part, VOID + "subjectsTarget", ds)
        g.add(part, VOID + "objectsTarget", nuts)
        g.typed(part, VOID + "triples", n, XSD + "integer")


def partition_name(iri: str) -> str:
    """A stable fragment for a partition: the local name and a short hash (two vocabularies may share names)."""
    local = iri[len(namespace(iri)) :] or "x"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in local)
    return f"{safe}-{hashlib.sha1(iri.encode()).hexdigest()[:6]}"
