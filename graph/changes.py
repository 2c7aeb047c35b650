"""Checked writes: replace named graphs only if the whole dataset still conforms to the shapes afterwards.

Used by the write API (and by anything else that edits the store while it is served). The check runs on the
dataset as it would be after the change, and the change is applied as one transaction, so a rejected write
leaves nothing behind and an accepted one is never half-written.
"""

from __future__ import annotations

import time

import pyoxigraph as ox
import rdflib
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from .errors import ShapesInvalid
from .rdfio import rdflib_to_quads
from .store import Store
from .validate import ValidationReport, validate_quads
from .vocab import VOID


def provenance_graph_iri(base: str) -> str:
    return f"{base}graph/provenance"


def describe_written_graph(name: str, quads: list[ox.Quad], how: str) -> list[tuple]:
    """Provenance triples for a graph written through the API (no source file: ``how`` says what wrote it)."""
    node = rdflib.URIRef(name)
    triples = [
        (node, RDF.type, PROV.Entity),
        (node, RDF.type, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#Graph")),
        (node, DCTERMS.identifier, rdflib.Literal(how)),
        (node, PROV.generatedAtTime, rdflib.Literal(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                      datatype=XSD.dateTime)),
        (node, VOID.triples, rdflib.Literal(len(quads), datatype=XSD.integer)),
    ]
    for url in sorted({q.object.value for q in quads if q.predicate.value == str(DCTERMS.source)}):
        triples.append((node, DCTERMS.source, rdflib.URIRef(url)))
    modified = [q.object.value for q in quads if q.predicate.value == str(DCTERMS.modified)]
    if modified:
        triples.append((node, DCTERMS.modified, rdflib.Literal(max(modified), datatype=XSD.date)))
    typed = {q.subject.value for q in quads if q.predicate.value == str(RDF.type)}
    for s in sorted(t for t in typed if "#" not in t):
        triples.append((node, DCTERMS.subject, rdflib.URIRef(s)))
    return triples


def replace_checked(store: Store, graphs: dict[str, list[ox.Quad]], *, base: str, engine: str = "auto",
                    how: str = "written through the API") -> ValidationReport:
    """Replace (or drop, with an empty list) named graphs if the resulting dataset conforms; else ShapesInvalid."""
    prov_name = provenance_graph_iri(base)
    current = list(store.quads())
    old_prov = [q for q in current if _graph(q) == prov_name and q.subject.value not in graphs]
    prov = rdflib.Graph()
    for name, quads in graphs.items():
        if quads:
            for t in describe_written_graph(name, quads, how):
                prov.add(t)
    new_prov = old_prov + rdflib_to_quads(prov, prov_name)
    changed = {**graphs, prov_name: new_prov}
    after = [q for q in current if _graph(q) not in changed] + [q for qs in changed.values() for q in qs]
    report = validate_quads(after, engine=engine, base=base)
    if not report.conforms:
        raise ShapesInvalid(
            f"the change would leave {report.violation_count} violation(s); nothing was written", report
        )
    store.replace_graphs(changed)
    return report


def _graph(q: ox.Quad) -> str:
    return q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
