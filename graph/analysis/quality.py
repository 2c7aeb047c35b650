"""Data quality as data: completeness and confidence per practice, per partner region, per template field and for
the whole dataset, stored with the W3C Data Quality Vocabulary in ``graph/derived/quality``.

The numbers come from the SHACL report and the records' own ``confidence``, nothing else:

* **template fields** are the property shapes of the practice shape that recommend a field with ``sh:minCount``
  and ``sh:severity sh:Warning`` (the Interreg Europe template's fields); a practice lacks a field exactly when the
  shapes warn about it;
* **warnings** are every ``sh:Warning`` of the report, counted for the resource its focus node belongs to (a
  ``#fragment`` counts for its resource), so that the dataset's count is the report's count;
* **confidence** is the record's ``n2m:confidence``: high 1, medium 0.5, low 0.

The metrics (``n2m:templateCompleteness``, ``n2m:meanConfidence``, ``n2m:warningCount``) are defined once, in the
ontology; each measurement here is a ``dqv:QualityMeasurement`` ``dqv:computedOn`` a practice, a region, a property
(a template field) or the dataset.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib

from ..analyse import PracticeGraph
from ..store import Store
from ..validate import ValidationReport, shapes_graph, validate_text
from .derived import N2M, Plan, Triples, derived_graph, deriver, describe_computation
from .network import fragment

DQV = "http://www.w3.org/ns/dqv#"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
CONFIDENCE = {"high": 1.0, "medium": 0.5, "low": 0.0}
NO_REGION = "none"
RDFS_RESOURCE = "http://www.w3.org/2000/01/rdf-schema#Resource"  # the class of untyped focus nodes
SHACL_DOCS = "https://www.w3.org/TR/shacl/#validation-report"


@dataclass(frozen=True)
class Field:
    shape: str  # the property shape's IRI
    path: str  # the property's IRI
    name: str  # "start year"


@dataclass
class PracticeQuality:
    iri: str
    region: str  # partner region IRI, or NO_REGION
    confidence: float | None
    missing: list[Field] = field(default_factory=list)
    warnings: int = 0

    def completeness(self, fields: int) -> float:
        return (fields - len(self.missing)) / fields if fields else 1.0


@dataclass
class Quality:
    """Everything the quality graph and the /quality page say."""

    fields: list[Field]
    practices: dict[str, PracticeQuality]
    other_warnings: dict[str, int]  # class -> warnings about resources that are not practices
    total_warnings: int

    def regions(self) -> dict[str, list[PracticeQuality]]:
        out: dict[str, list[PracticeQuality]] = defaultdict(list)
        for p in self.practices.values():
            out[p.region].append(p)
        return dict(sorted(out.items()))


def template_fields(base: str) -> list[Field]:
    """The recommended template fields: warning property shapes of the practice shape with sh:minCount."""
    g = shapes_graph(base)
    practice = rdflib.URIRef(N2M + "GoodPractice")
    out = []
    for node_shape in g.subjects(SH.targetClass, practice):
        for prop in g.objects(node_shape, SH.property):
            if g.value(prop, SH.severity) == SH.Warning and g.value(prop, SH.minCount) is not None:
                path = g.value(prop, SH.path)
                if isinstance(path, rdflib.URIRef):
                    name = str(g.value(prop, SH.name) or path).removesuffix(" (recommended)")
                    out.append(Field(str(prop), str(path), name))
    return sorted(out, key=lambda f: f.name)


def assess(store: Store, base: str, report: ValidationReport, pg: PracticeGraph) -> Quality:
    """Gather the quality of every practice (and the warnings about the other records) from the report."""
    fields = template_fields(base)
    by_shape = {f.shape: f for f in fields}
    confidence = {
        r["p"].value: CONFIDENCE.get(r["c"].value.rsplit("/", 1)[-1])
        for r in store.query(f"SELECT ?p ?c WHERE {{ ?p a <{N2M}GoodPractice> ; <{N2M}confidence> ?c }}").rows()
    }
    practices: dict[str, PracticeQuality] = {}
    for p in pg.practices:
        regions = sorted({pg.partner_region_of(n) for n in pg.graph[p] if pg.graph.edges[p, n]["kind"] == "region"})
        practices[p] = PracticeQuality(p, regions[0] if regions else NO_REGION, confidence.get(p))
    types = _types(store)
    other: dict[str, int] = defaultdict(int)
    total = 0
    for r in report.results:
        if r.severity != "Warning":
            continue
        total += 1
        resource = r.focus.split("#", 1)[0]
        if resource in practices:
            practices[resource].warnings += 1
            if r.shape in by_shape and r.focus == resource:
                practices[resource].missing.append(by_shape[r.shape])
        else:
            other[types.get(resource, RDFS_RESOURCE)] += 1
    for p in practices.values():
        p.missing = sorted(set(p.missing), key=lambda f: f.name)
    return Quality(fields, practices, dict(sorted(other.items())), total)


def _types(store: Store) -> dict[str, str]:
    """A class of each typed IRI (the first in sorted order), for grouping the warnings about other records."""
    out: dict[str, str] = {}
    for r in store.query("SELECT ?s (MIN(STR(?t)) AS ?type) WHERE { ?s a ?t FILTER(isIRI(?s)) } GROUP BY ?s").rows():
        out[r["s"].value] = r["type"].value
    return out


def mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


@deriver("quality")
def quality_quads(store: Store, base: str, generation: str, context: dict) -> list[ox.Quad]:
    """The derived graph of the quality measurements."""
    report = context.get("report") or validate_text(
        store.triples_text(), engine=context.get("engine", "auto"), base=base
    )
    pg = context.get("practice_graph") or PracticeGraph.build(store)
    q = assess(store, base, report, pg)
    t = Triples(derived_graph(base, "quality"))
    describe_computation(
        t,
        "data quality: completeness and confidence",
        generation,
        [
            Plan(
                "shacl",
                "SHACL validation with the shapes of the data",
                SHACL_DOCS,
                {"engine": report.engine, "template fields": len(q.fields)},
            ),
        ],
        software=("pyshacl-turbo",) if report.engine == "turbo" else ("pyshacl",),
    )
    n = len(q.fields)

    def measure(on: str, key: str, metric: str, value: float | int | None) -> str | None:
        if value is None:
            return None
        node = t.node(f"{key}-{metric}")
        t.a(node, DQV + "QualityMeasurement")
        t.add(node, DQV + "computedOn", on)
        t.add(node, DQV + "isMeasurementOf", N2M + metric)
        if isinstance(value, int):
            t.integer(node, DQV + "value", value)
        else:
            t.decimal(node, DQV + "value", value, digits=4)
        return node

    for p in q.practices.values():
        key = fragment(p.iri, base)
        node = measure(p.iri, key, "templateCompleteness", p.completeness(n))
        for f in p.missing:
            t.add(node, N2M + "missingProperty", f.path)  # type: ignore[arg-type]
        measure(p.iri, key, "meanConfidence", p.confidence)
        measure(p.iri, key, "warningCount", p.warnings)
    for region, members in q.regions().items():
        if region == NO_REGION:
            continue
        key = fragment(region, base)
        measure(region, key, "templateCompleteness", mean([m.completeness(n) for m in members]))
        measure(region, key, "meanConfidence", mean([m.confidence for m in members]))
        measure(region, key, "warningCount", sum(m.warnings for m in members))
    for f in q.fields:
        key = "field-" + f.shape.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        lacking = [p for p in q.practices.values() if f in p.missing]
        giving = [p for p in q.practices.values() if f not in p.missing]
        measure(f.path, key, "templateCompleteness", len(giving) / len(q.practices) if q.practices else None)
        measure(f.path, key, "meanConfidence", mean([p.confidence for p in giving]))
        measure(f.path, key, "warningCount", len(lacking))
    for cls, count in q.other_warnings.items():  # the records that are not practices, by class
        measure(cls, "class-" + fragment(cls, base), "warningCount", count)
    practice_warnings = sum(p.warnings for p in q.practices.values())
    measure(N2M + "GoodPractice", "class-practices", "warningCount", practice_warnings)
    dataset = f"{base}dataset/next2met"
    measure(dataset, "dataset", "templateCompleteness", mean([p.completeness(n) for p in q.practices.values()]))
    measure(dataset, "dataset", "meanConfidence", mean([p.confidence for p in q.practices.values()]))
    measure(dataset, "dataset", "warningCount", q.total_warnings)
    return t.quads()
