"""What a build says of each named graph: the facts gathered from its quads or its N-Triples text (size, last
change, web sources, the resources it describes), the provenance graph made of them for the source files (through
the write path's one builder, ``changes/provenance.py``), and the graphs without a source file that a rebuild keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib.namespace import DCTERMS, RDF

from .errors import DataFileError
from .sources import SourceFile


@dataclass
class GraphFacts:
    """What the provenance graph says of one named graph, gathered from its quads."""

    triples: int = 0
    modified: str | None = None
    sources: set[str] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)  # typed IRIs without a #fragment: the resources described

    @classmethod
    def of(cls, quads: list[ox.Quad]) -> GraphFacts:
        facts = cls(triples=len(quads))
        modified, source, rdf_type = str(DCTERMS.modified), str(DCTERMS.source), str(RDF.type)
        for q in quads:
            p = q.predicate.value
            if p == rdf_type:
                if isinstance(q.subject, ox.NamedNode) and "#" not in q.subject.value:
                    facts.subjects.add(q.subject.value)
            elif p == modified:
                facts.modified = max(facts.modified or "", q.object.value)
            elif p == source:
                facts.sources.add(q.object.value)
        return facts

    @classmethod
    def of_ntriples(cls, data: bytes) -> GraphFacts:
        """The facts of N-Triples text without reading every triple into Python: the statements are counted (a
        line of N-Triples holds at most one) and only the lines that mention the three predicates above are parsed
        (a superset: the parsed triples are checked as in :meth:`of`)."""
        facts = cls.of(list(ox.parse(b"\n".join(_lines_with(data, _FACT_PREDICATES)), format=ox.RdfFormat.N_TRIPLES)))
        facts.triples = _statements(data)
        return facts


_FACT_PREDICATES = tuple(f"<{p}>".encode() for p in (RDF.type, DCTERMS.modified, DCTERMS.source))


def _lines_with(text: bytes, needles: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of ``text`` that contain one of ``needles`` (str.find: at 1M triples a regular expression over the
    whole text took 3 s)."""
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            end = text.find(b"\n", at)
            end = len(text) if end < 0 else end
            yield text[text.rfind(b"\n", 0, at) + 1 : end]
            at = text.find(needle, end)


def _statements(text: bytes) -> int:
    """The number of statements of N-Triples text: lines that start with a subject (<iri>, <<triple>>, _:b)."""
    count = text.count(b"\n<") + text.count(b"\n_:") + (text[:1] == b"<" or text[:2] == b"_:")
    if b"\n " in text or b"\n\t" in text or text[:1] in (b" ", b"\t"):
        count += len(re.findall(rb"^[ \t]+(?:<|_:)", text, re.M))
    return count


def provenance(sources: list[SourceFile], facts: dict[str, GraphFacts], base: str) -> list[ox.Quad]:
    """Describe each named graph: the file it came from (and its checksum), the web sources of its facts, its size,
    its date (the write path's one builder, ``changes/provenance.py``)."""
    from .changes.provenance import checksum, describe_activity, describe_graph

    quads = describe_activity(base)
    for src in sources:
        name = src.graph_iri(base)
        try:
            digest = checksum(src.path.read_bytes())
        except OSError as e:
            raise DataFileError(f"{src.relative}: cannot read: {e}") from None
        quads += describe_graph(name, facts.get(name) or GraphFacts(), base, file=src.relative, digest=digest)
    return quads


def harvested_quads(store, base: str) -> list[ox.Quad]:
    """The graphs that have no source file (harvested, derived, written under a name of their own), with their
    provenance: a rebuild from the sources keeps them."""
    if store is None or store.is_empty():
        return []
    prov = f"{base}graph/provenance"
    rows = store.query(
        f"SELECT ?g WHERE {{ GRAPH <{prov}> {{ ?g <http://www.w3.org/ns/prov#wasGeneratedBy> ?made }} "
        f"FILTER (?made != <{prov}#build>) }}"
    ).rows()
    kept_graphs = {r["g"].value for r in rows}
    kept = [q for g in sorted(kept_graphs) for q in store.quads(g)]
    made = {
        q.object.value
        for q in store.quads(prov)
        if q.subject.value in kept_graphs and q.predicate.value == "http://www.w3.org/ns/prov#wasGeneratedBy"
    }
    return kept + [q for q in store.quads(prov) if q.subject.value in kept_graphs | made]
