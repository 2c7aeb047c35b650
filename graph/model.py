"""The data model as it is: every class of the data, the properties its instances carry (ours and reused), their
ranges and cardinalities from the shapes and the ontology, how often each is used, and an example value from the
data. What the ``/model`` page shows.

The data is every named graph except the ontology's and the shapes' (whose OWL and SHACL terms describe the
vocabulary rather than use it); the SKOS schemes, the provenance graph and the derived graphs are data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDFS

from . import paths
from .prefixes import curie
from .rdfio import Term
from .store import Store
from .validate import shapes_graph

N2M = "https://w3id.org/next2met/ontology#"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def vocabulary_graphs(base: str) -> tuple[str, str]:
    """The graphs that hold the vocabulary (left out of 'the data')."""
    return f"{base}graph/ontology/next2met", f"{base}graph/ontology/shapes"


@dataclass
class Property:
    iri: str
    ours: bool
    uses: int = 0  # statements in the data
    example: str = ""
    range: str = ""  # from the shapes (sh:class, sh:datatype, sh:nodeKind, sh:in), else rdfs:range, else observed
    min: int = 0
    max: int | None = None
    recommended: bool = False  # a warning asks for it (sh:minCount with sh:severity sh:Warning)
    description: str = ""

    @property
    def cardinality(self) -> str:
        top = "*" if self.max is None else str(self.max)
        return f"{self.min}..{top}"


@dataclass
class ClassInfo:
    iri: str
    ours: bool
    instances: int = 0
    description: str = ""
    properties: list[Property] = field(default_factory=list)


def _data_filter(base: str) -> str:
    onto, shapes = vocabulary_graphs(base)
    return f"FILTER(?g != <{onto}> && ?g != <{shapes}>)"


def model(store: Store, base: str) -> list[ClassInfo]:
    """Every class of the data with the properties of its instances."""
    where = _data_filter(base)
    counts = {
        r["c"].value: int(r["n"].value)
        for r in store.query(
            f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a ?c }} {where} FILTER(isIRI(?c)) }} "
            "GROUP BY ?c"
        ).rows()
    }
    used: dict[str, dict[str, tuple[int, Term | None]]] = defaultdict(dict)
    for r in store.query(f"""SELECT ?c ?p (COUNT(*) AS ?n) (MIN(?o) AS ?ex) WHERE {{
        GRAPH ?g {{ ?s a ?c ; ?p ?o }} {where} FILTER(isIRI(?c) && ?p != <{RDF_TYPE}>) }} GROUP BY ?c ?p""").rows():
        used[r["c"].value][r["p"].value] = (int(r["n"].value), r.get("ex"))
    shapes = _shape_properties(base)
    ontology = _ontology()
    out = []
    for cls in sorted(counts, key=lambda c: (not c.startswith(N2M), curie(c))):
        info = ClassInfo(cls, cls.startswith(N2M), counts[cls], _comment(ontology, cls))
        props: dict[str, Property] = {}
        for path, constraint in shapes.get(cls, {}).items():
            props[path] = constraint
        for p, (n, example) in used.get(cls, {}).items():
            prop = props.setdefault(p, Property(p, p.startswith(N2M)))
            prop.uses, prop.example = n, _show(example)
        for prop in props.values():
            prop.ours = prop.iri.startswith(N2M)
            if not prop.range:
                rng = ontology.value(rdflib.URIRef(prop.iri), RDFS.range)
                prop.range = curie(str(rng)) if rng is not None else ""
            if not prop.description:
                prop.description = _comment(ontology, prop.iri)
        info.properties = sorted(props.values(), key=lambda p: (-p.min, not p.recommended, curie(p.iri)))
        out.append(info)
    return out


def _shape_properties(base: str) -> dict[str, dict[str, Property]]:
    """class -> property -> what the shapes say of it (range, cardinality, recommended, description)."""
    g = shapes_graph(base)
    out: dict[str, dict[str, Property]] = defaultdict(dict)
    for shape, cls in g.subject_objects(SH.targetClass):
        for ps in g.objects(shape, SH.property):
            path = g.value(ps, SH.path)
            if not isinstance(path, rdflib.URIRef):
                continue
            prop = out[str(cls)].setdefault(str(path), Property(str(path), str(path).startswith(N2M)))
            warning = g.value(ps, SH.severity) == SH.Warning
            low, high = g.value(ps, SH.minCount), g.value(ps, SH.maxCount)
            if low is not None:
                if warning:
                    prop.recommended = True
                else:
                    prop.min = max(prop.min, int(str(low)))
            if high is not None:
                prop.max = int(str(high)) if prop.max is None else min(prop.max, int(str(high)))
            for key in (SH["class"], SH.datatype, SH.nodeKind):
                value = g.value(ps, key)
                if value is not None and not prop.range:
                    prop.range = curie(str(value))
            if g.value(ps, SH["in"]) is not None and not prop.range:
                prop.range = "one of a list"
            either = g.value(ps, SH["or"])
            if either is not None and not prop.range:  # sh:or ( [ sh:datatype A ] [ sh:datatype B ] )
                ranges = [g.value(m, SH.datatype) or g.value(m, SH["class"]) for m in Collection(g, either)]
                prop.range = " or ".join(curie(str(r)) for r in ranges if r is not None)
            description = g.value(ps, SH.description)
            if description is not None and not prop.description:
                prop.description = str(description)
    return out


def _ontology() -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(paths.ONTOLOGY_FILE, format="turtle")
    return g


def _comment(g: rdflib.Graph, iri: str) -> str:
    for p in (RDFS.comment, rdflib.URIRef("http://www.w3.org/2004/02/skos/core#definition")):
        for value in g.objects(rdflib.URIRef(iri), p):
            if getattr(value, "language", None) in (None, "en"):
                return " ".join(str(value).split())
    return ""


def _show(term: Term | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return curie(term.value)
    if isinstance(term, ox.Literal):
        text = term.value if len(term.value) <= 80 else term.value[:79] + "…"
        return f'"{text}"' + (f"@{term.language}" if term.language else "")
    return "[blank node]"
