"""The SPARQL 1.1 Service Description of ``/sparql``: languages, result formats, features, the default dataset
and the limits of this server.

The limits have no standard terms, so they use the small namespace ``LIMITS`` below, which the description itself
documents (each term with a label and a comment), apart from our ontology. The dataset's statistics and
distributions are in the VoID description (``/.well-known/void``) and the DCAT catalogue (``/catalog``), which
the description links.
"""

from __future__ import annotations

import pyoxigraph as ox

from next2met.graph.formats import Format
from next2met.graph.void import partition_name, statistics

from .negotiation import TABLES
from .state import KnowledgeGraph

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS_NS = "http://www.w3.org/ns/formats/"  # W3C's IRIs for formats (graph.formats has each one's)
LIMITS = "https://w3id.org/next2met/service#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"

LIMIT_TERMS = {
    "queryTimeout": ("query timeout", "Seconds a query may run; a longer one is stopped and answered with 503."),
    "maxResultRows": (
        "maximum result rows",
        "Most rows (or triples) one answer holds; a longer answer is cut and carries the header "
        "X-Next2Met-Truncated: true.",
    ),
    "maxRequestBytes": ("maximum request size", "Largest request body in bytes; a larger one gets 413."),
    "maxConcurrentQueries": (
        "maximum concurrent queries",
        "Queries running or waiting at once; more get 503 until one finishes.",
    ),
}


def describe_service(kg: KnowledgeGraph, endpoint: str, root: str, fmt: Format, prefixes: dict[str, str]) -> bytes:
    """Serialise the service description of ``endpoint`` in ``fmt``."""
    settings = kg.settings
    service = ox.NamedNode(endpoint)
    dataset = ox.NamedNode(endpoint + "#dataset")
    default_graph = ox.BlankNode("defaultGraph")
    triples: list[tuple] = [
        (service, _rdf("type"), _sd("Service")),
        (service, _sd("endpoint"), service),
        (service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        (service, _sd("feature"), _sd("UnionDefaultGraph")),
        (service, _sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        (service, _sd("defaultDataset"), dataset),
        (service, ox.NamedNode(DCTERMS + "title"), ox.Literal("next2met-kg SPARQL endpoint", language="en")),
        (service, ox.NamedNode(RDFS + "seeAlso"), ox.NamedNode(root + ".well-known/void")),
        (service, ox.NamedNode(RDFS + "seeAlso"), ox.NamedNode(root + "catalog")),
    ]
    accepts = (
        "SPARQL 1.1 queries (SELECT, ASK, CONSTRUCT, DESCRIBE) by GET with query=, or by POST as "
        "application/x-www-form-urlencoded or application/sparql-query; default-graph-uri and "
        "named-graph-uri set the dataset. Updates are not taken here"
    )
    if settings.update_token:
        updates = ox.NamedNode(root + "update")
        accepts += f": send them to {updates.value}."
        triples += [
            (service, ox.NamedNode(RDFS + "seeAlso"), updates),
            (updates, _rdf("type"), _sd("Service")),
            (updates, _sd("endpoint"), updates),
            (updates, _sd("supportedLanguage"), _sd("SPARQL11Update")),
            (updates, _sd("defaultDataset"), dataset),
            (updates, ox.NamedNode(DCTERMS + "title"), ox.Literal("next2met-kg SPARQL update endpoint", language="en")),
            (
                updates,
                ox.NamedNode(DCTERMS + "description"),
                ox.Literal(
                    "SPARQL 1.1 Update by POST as application/sparql-update or application/x-www-form-urlencoded "
                    "(update=), with 'Authorization: Bearer <token>'; using-graph-uri and using-named-graph-uri set "
                    "the dataset; LOAD and SERVICE are refused, and an update whose result would not conform to the "
                    "SHACL shapes is refused with the report (422), nothing changed.",
                    language="en",
                ),
            ),
        ]
    else:
        accepts += ": this server takes none."
    triples.append((service, ox.NamedNode(DCTERMS + "description"), ox.Literal(accepts, language="en")))
    if settings.service_allowlist:
        triples.append((service, _sd("feature"), _sd("BasicFederatedQuery")))
    for f in dict.fromkeys((*TABLES["select"], *TABLES["graph"])):
        if f.iri:
            triples.append((service, _sd("resultFormat"), ox.NamedNode(f.iri)))
    limits = {
        "queryTimeout": ox.Literal(f"{settings.query_timeout:g}", datatype=ox.NamedNode(XSD + "decimal")),
        "maxResultRows": _integer(settings.max_rows),
        "maxRequestBytes": _integer(settings.max_body),
        "maxConcurrentQueries": _integer(settings.max_concurrent_queries),
    }
    for name, value in limits.items():
        triples.append((service, ox.NamedNode(LIMITS + name), value))
    for name, (label, comment) in LIMIT_TERMS.items():
        term = ox.NamedNode(LIMITS + name)
        triples += [
            (term, _rdf("type"), _rdf("Property")),
            (term, ox.NamedNode(RDFS + "label"), ox.Literal(label, language="en")),
            (term, ox.NamedNode(RDFS + "comment"), ox.Literal(comment, language="en")),
            (term, ox.NamedNode(RDFS + "isDefinedBy"), ox.NamedNode(LIMITS)),
        ]
    count = kg.cached(("sd-count",), kg.store.count)
    triples += [
        (dataset, _rdf("type"), _sd("Dataset")),
        (dataset, ox.NamedNode(RDFS + "seeAlso"), ox.NamedNode(root + ".well-known/void")),
        (dataset, _sd("defaultGraph"), default_graph),
        (default_graph, _rdf("type"), _sd("Graph")),
        (default_graph, ox.NamedNode(VOID + "triples"), _integer(count)),
        (
            default_graph,
            ox.NamedNode(DCTERMS + "description"),
            ox.Literal("The union of all named graphs (queries that name no dataset see everything).", language="en"),
        ),
    ]
    # the classes and properties in use, as VoID partitions of the default graph (the counts of /.well-known/void)
    stats = kg.cached(("void-stats",), lambda: statistics(kg.store))
    for cls, n in sorted(stats.classes.items()):
        part = ox.NamedNode(f"{endpoint}#class-{partition_name(cls)}")
        triples += [
            (default_graph, ox.NamedNode(VOID + "classPartition"), part),
            (part, ox.NamedNode(VOID + "class"), ox.NamedNode(cls)),
            (part, ox.NamedNode(VOID + "entities"), _integer(n)),
        ]
    for prop, n in sorted(stats.properties.items()):
        part = ox.NamedNode(f"{endpoint}#property-{partition_name(prop)}")
        triples += [
            (default_graph, ox.NamedNode(VOID + "propertyPartition"), part),
            (part, ox.NamedNode(VOID + "property"), ox.NamedNode(prop)),
            (part, ox.NamedNode(VOID + "triples"), _integer(n)),
        ]
    triples.append((service, ox.NamedNode(RDFS + "seeAlso"), ox.NamedNode(root + "model")))
    for i, name in enumerate(kg.cached(("sd-graphs",), kg.store.named_graphs)):
        node = ox.BlankNode(f"graph{i}")
        triples += [
            (dataset, _sd("namedGraph"), node),
            (node, _rdf("type"), _sd("NamedGraph")),
            (node, _sd("name"), ox.NamedNode(name)),
        ]
    used = {**prefixes, "sd": SD, "formats": FORMATS_NS, "limits": LIMITS, "void": VOID}
    body = fmt.write_triples([ox.Triple(*t) for t in triples], prefixes=used)
    assert body is not None
    return body


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def _rdf(name: str) -> ox.NamedNode:
    return ox.NamedNode(RDF + name)


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
