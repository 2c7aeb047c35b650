"""Cut the dataset into *resources* and fingerprint each one, for the change log (``ldes.py``).

A resource is an IRI subject together with its ``#fragment`` nodes (``practice/x`` and ``practice/x#budget-…``)
and the blank nodes only it refers to; its fingerprint is the SHA-256 of its triples as canonical (RDFC-1.0),
sorted N-Triples. Graph names are dropped: a resource is the union of what all graphs say about it.

Reading every resource is a scan of the whole store. After a write that names the graphs it replaced, only the
resources those graphs held before and hold now are read again (by subject, through SPARQL), which keeps a
single-practice write cheap on a large store. The index for that is built by the full scan at start-up; data
with blank nodes (the ontology and shapes, which change only on a rebuild) always takes the full path.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from .store import Store

VALUES_CHUNK = 200


def resource_of(iri: str) -> str:
    """The resource an IRI belongs to: itself without its ``#fragment``."""
    return iri.split("#", 1)[0]


def canonical(triples: set[ox.Triple]) -> tuple[list[ox.Triple], str]:
    """The triples (blank nodes relabelled canonically, and made unique per resource) and their SHA-256 digest."""
    blank = _has_blank(triples)
    if blank:
        ds = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        triples = {ox.Triple(q.subject, q.predicate, q.object) for q in ds}
    ordered = sorted((str(t), t) for t in triples)  # each triple written once: at 1M quads this is most of the time
    digest = hashlib.sha256("\n".join(f"{line} ." for line, _ in ordered).encode()).hexdigest()
    items = [t for _, t in ordered]
    if blank:  # c14n labels restart at 0 in every resource; members share a page, so prefix them
        items = [_prefix_blanks(t, digest[:12]) for t in items]
    return items, digest


def _has_blank(triples: Iterable[ox.Triple]) -> bool:
    return any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples)


def _prefix_blanks(t: ox.Triple, prefix: str) -> ox.Triple:
    def fix(term):
        return ox.BlankNode(f"b{prefix}{term.value}") if isinstance(term, ox.BlankNode) else term

    return ox.Triple(fix(t.subject), t.predicate, fix(t.object))


@dataclass
class Index:
    """Which resources each named graph holds and which IRI subjects make up each resource."""

    graph_resources: dict[str, set[str]] = field(default_factory=dict)
    subjects: dict[str, set[str]] = field(default_factory=dict)
    blank_graphs: set[str] = field(default_factory=set)


def scan(quads: Iterable[ox.Quad], unattached: str) -> tuple[dict[str, set[ox.Triple]], Index]:
    """Every resource's triples, and the index for later incremental reads.

    A blank node belongs to the resource of the nearest IRI subject that refers to it (on a tie, the first in
    sorted order); blank nodes no IRI reaches go to the ``unattached`` pseudo-resource.
    """
    by_subject: dict[Any, set[ox.Triple]] = defaultdict(set)
    index = Index()
    for q in quads:
        by_subject[q.subject].add(ox.Triple(q.subject, q.predicate, q.object))
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if isinstance(q.subject, ox.NamedNode):
            index.graph_resources.setdefault(graph, set()).add(resource_of(q.subject.value))
        if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode):
            index.blank_graphs.add(graph)
    owner: dict[ox.BlankNode, str] = {}
    todo: list[tuple[str, Any]] = sorted(
        ((resource_of(s.value), s) for s in by_subject if isinstance(s, ox.NamedNode)), key=lambda x: x[0]
    )
    while todo:  # breadth first, level by level in sorted order, so ownership never depends on hash order
        nxt = []
        for res, s in todo:
            # only the triples that lead to blank nodes, sorted (sorting every subject's triples cost seconds)
            for t in sorted((t for t in by_subject.get(s, ()) if isinstance(t.object, ox.BlankNode)), key=str):
                node = t.object
                if isinstance(node, ox.BlankNode) and node not in owner:
                    owner[node] = res
                    nxt.append((res, node))
        todo = sorted(nxt, key=lambda x: (x[0], x[1].value))
    out: dict[str, set[ox.Triple]] = defaultdict(set)
    for s, triples in by_subject.items():
        if isinstance(s, ox.NamedNode):
            out[resource_of(s.value)] |= triples
            index.subjects.setdefault(resource_of(s.value), set()).add(s.value)
        else:
            out[owner.get(s, unattached)] |= triples
    return dict(out), index


def read_affected(store: Store, graphs: Iterable[str], index: Index) -> dict[str, set[ox.Triple]] | None:
    """The current triples of every resource the replaced ``graphs`` held before or hold now (an empty set for
    a resource that is gone), updating ``index``; None when blank nodes are involved (then scan everything)."""
    graphs = set(graphs)
    if graphs & index.blank_graphs:
        return None
    resources: set[str] = set()
    subjects: set[str] = set()
    now: dict[str, set[str]] = {}
    for g in graphs:
        resources |= index.graph_resources.get(g, set())
        held = now.setdefault(g, set())
        for q in store.quads(g):
            if not isinstance(q.subject, ox.NamedNode) or isinstance(q.object, ox.BlankNode):
                return None
            held.add(resource_of(q.subject.value))
            subjects.add(q.subject.value)
        resources |= held
    for res in resources:
        subjects |= index.subjects.get(res, {res})
    current: dict[str, set[ox.Triple]] = {res: set() for res in resources}
    ordered = sorted(subjects)
    for i in range(0, len(ordered), VALUES_CHUNK):
        values = " ".join(f"<{s}>" for s in ordered[i : i + VALUES_CHUNK])
        for row in store.query(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} ?s ?p ?o }}").rows():
            if isinstance(row["o"], ox.BlankNode):
                return None
            current.setdefault(resource_of(row["s"].value), set()).add(ox.Triple(row["s"], row["p"], row["o"]))
    for g, held in now.items():
        index.graph_resources[g] = held
    for res, triples in current.items():
        index.subjects[res] = {t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)}
    return current
