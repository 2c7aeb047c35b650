"""SHACL for a change: validate what the change can affect, against the whole data, not the whole graph again.

The store conforms before a change (every write was validated, and so was the build). What a shape says about a
node depends, in our shapes (``ontology/shapes.ttl``), on the node's own triples, its ``#fragment`` parts (targets
of ``sh:targetObjectsOf``), the nodes it links to (``sh:class`` reads their type, ``sh:node`` and the SPARQL
constraints read their notation or scheme: two hops at most), the triples that point at it (``sh:inversePath``)
and the ontology (``rdfs:subClassOf``, the creators of ontologies in a SPARQL target). So after a change only these
nodes can change their verdict:

- every resource the changed graphs describe, before or after the change;
- every resource that links to one of them (it may read their type or notation);
- every resource a changed triple points at (a new target of ``sh:targetObjectsOf``, an inverse path).

Their neighbourhood in the data after the change (their triples, the triples of what they link to, the types one
hop further, the triples that point at them) plus the ontology and the SKOS schemes is validated with the build's
engine, and the results about them are the verdict; results about other nodes are unchanged by construction.
``tests/test_graph/test_incremental.py`` checks the verdict against a full validation on planted violations, and
that the shapes use no constraint this reasoning does not cover. Blank nodes (harvested RDF) make the
neighbourhood unbounded to compute by subject: such changes, and stores other than the embedded one, are
validated in full.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import lru_cache

import pyoxigraph as ox

from ..settings import Settings
from ..store import Store
from ..validate import ValidationReport, nquads_text, reference_quads, shapes_graph, validate_quads, validate_text
from .provenance import provenance_graph_iri

log = logging.getLogger(__name__)
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
CHUNK = 300


def resource_of(iri: str) -> str:
    return iri.split("#", 1)[0]


def validate_change(
    store: Store,
    replaced: dict[str, list[ox.Quad]],
    settings: Settings,
    *,
    engine: str = "auto",
    full: bool = False,
    provenance: Callable[[], list[ox.Quad]] | None = None,
) -> ValidationReport:
    """Validate the dataset as it would be after replacing these graphs; ShapesInvalid when it would not conform.

    ``provenance`` gives the provenance graph as the change leaves it, when a full validation needs it (the
    bounded one leaves that graph out)."""
    from ..errors import ShapesInvalid

    report = None if full else bounded_report(store, replaced, settings.base_iri, engine)
    if report is None:
        if provenance is not None:
            replaced = {**replaced, provenance_graph_iri(settings.base_iri): provenance()}
        report = full_report(store, replaced, settings.base_iri, engine)
    if not report.conforms:
        raise ShapesInvalid(
            f"the change would leave {report.violation_count} violation(s); nothing was changed", report
        )
    return report


def full_report(store: Store, replaced: dict[str, list[ox.Quad]], base: str, engine: str) -> ValidationReport:
    """Validate every triple of the dataset after the change."""
    kept = (q for q in store.quads() if _graph(q) not in replaced)
    return validate_quads([*kept, *(q for qs in replaced.values() for q in qs)], engine=engine, base=base)


def bounded_report(store: Store, replaced: dict[str, list[ox.Quad]], base: str, engine: str) -> ValidationReport | None:
    """The report about the nodes the change can affect, or None when the neighbourhood cannot be bounded.

    The provenance graph is left out: no shape targets what it describes (graphs, files, activities), which
    ``tests/test_graph/test_incremental.py`` checks."""
    if getattr(store, "kind", "") != "oxigraph":
        return None
    prov = provenance_graph_iri(base)
    data_graphs = {g: q for g, q in replaced.items() if g != prov}
    view = _View(store, replaced, skip=prov)
    old = [q for g in data_graphs for q in store.quads(g)]
    new = [q for qs in data_graphs.values() for q in qs]
    if _has_blank(old) or _has_blank(new):
        return None
    changed = {ox.Triple(q.subject, q.predicate, q.object) for q in old} ^ {
        ox.Triple(q.subject, q.predicate, q.object) for q in new
    }
    readers = object_readers(base)
    focus = {resource_of(q.subject.value) for q in (*old, *new)}
    focus |= {
        resource_of(t.object.value)
        for t in changed
        if isinstance(t.object, ox.NamedNode) and t.predicate.value in readers
    }
    members, own = view.resources(focus)
    inbound = view.pointing_at(members)
    if own is None or inbound is None:
        return None
    extra = {resource_of(t.subject.value) for t in inbound} - focus
    if extra:
        focus |= extra
        members, own = view.resources(focus)
        if own is None:
            return None
    linked = {t.object.value for t in own if isinstance(t.object, ox.NamedNode)} - members
    hop = view.about(linked)
    pointing = view.pointing_at(members)
    if hop is None or pointing is None:
        return None
    further = {t.object.value for t in hop if isinstance(t.object, ox.NamedNode)} - members - linked
    types = view.about(further, predicate=RDF_TYPE)
    if types is None:
        return None
    reference, reference_text = _reference(base)
    data = {*own, *hop, *pointing, *types} - reference
    text = nquads_text(ox.Quad(t.subject, t.predicate, t.object) for t in data) + reference_text
    report = validate_text(text, engine=engine, base=base)
    return report.only_focus(focus)


@lru_cache(maxsize=4)
def _reference(base: str) -> tuple[frozenset[ox.Triple], str]:
    """The ontology and the SKOS schemes every neighbourhood is validated with, as triples and as the N-Quads
    text of the validator's input (made once: 1,600 quads, a third of a small change's validation)."""
    quads = reference_quads(base)
    return frozenset(ox.Triple(q.subject, q.predicate, q.object) for q in quads), nquads_text(quads)


@lru_cache(maxsize=4)
def object_readers(base: str) -> frozenset[str]:
    """Predicates whose objects a shape reads as focus nodes: ``sh:targetObjectsOf`` and ``sh:inversePath``."""
    rows = shapes_graph(base).query(
        "PREFIX sh: <http://www.w3.org/ns/shacl#> SELECT ?p WHERE { { ?s sh:targetObjectsOf ?p } "
        "UNION { ?s sh:inversePath ?p } }"
    )
    return frozenset(str(row[0]) for row in rows)  # type: ignore[index]  # rdflib: a SELECT gives rows


class _View:
    """The store as it would be after the change, read by subject or object through SPARQL (the ``skip`` graph
    left out)."""

    def __init__(self, store: Store, replaced: dict[str, list[ox.Quad]], skip: str) -> None:
        self.store = store
        self.new = [ox.Triple(q.subject, q.predicate, q.object) for g, qs in replaced.items() if g != skip for q in qs]
        self.excluded = ", ".join(f"<{g}>" for g in {*replaced, skip} if g)

    def _rows(self, pattern: str, values: str, iris: Iterable[str]):
        ordered = sorted(iris)
        for i in range(0, len(ordered), CHUNK):
            chunk = " ".join(f"<{s}>" for s in ordered[i : i + CHUNK])
            query = (
                f"SELECT ?s ?p ?o WHERE {{ VALUES ?{values} {{ {chunk} }} GRAPH ?g {{ {pattern} }} "
                f"FILTER (?g NOT IN ({self.excluded})) }}"
            )
            yield from self.store.query(query).rows()

    def resources(self, resources: set[str]) -> tuple[set[str], set[ox.Triple] | None]:
        """The IRIs that make up the resources (each and its ``#fragment`` parts, found through the links that
        hold them) and their triples."""
        members = set(resources)
        triples: set[ox.Triple] = set()
        todo = set(members)
        while todo:
            found = self.about(todo)
            if found is None:
                return members, None
            triples |= found
            todo = {
                t.object.value
                for t in found
                if isinstance(t.object, ox.NamedNode)
                and "#" in t.object.value
                and resource_of(t.object.value) in resources
            } - members
            members |= todo
        return members, triples

    def about(self, subjects: set[str], predicate: str | None = None) -> set[ox.Triple] | None:
        """Every triple whose subject is one of ``subjects`` (only ``predicate`` when given)."""
        if not subjects:
            return set()
        pattern = f"?s <{predicate}> ?o BIND (<{predicate}> AS ?p)" if predicate else "?s ?p ?o"
        found = set()
        for row in self._rows(pattern, "s", subjects):
            if isinstance(row["o"], ox.BlankNode):
                return None
            found.add(ox.Triple(row["s"], row["p"], row["o"]))
        found |= {
            t for t in self.new if t.subject.value in subjects and (predicate is None or t.predicate.value == predicate)
        }
        return found

    def pointing_at(self, objects: set[str]) -> set[ox.Triple] | None:
        """Every triple whose object is one of ``objects``."""
        if not objects:
            return set()
        found = set()
        for row in self._rows("?s ?p ?o", "o", objects):
            if isinstance(row["s"], ox.BlankNode):
                return None
            found.add(ox.Triple(row["s"], row["p"], row["o"]))
        found |= {t for t in self.new if isinstance(t.object, ox.NamedNode) and t.object.value in objects}
        return found


def _has_blank(quads: Iterable[ox.Quad]) -> bool:
    return any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode) for q in quads)


def _graph(q: ox.Quad) -> str:
    return q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
