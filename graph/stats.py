"""Counts that describe the dataset at a glance (``next2met stats``), and the classes and properties of our data
(the SPARQL editor's completion): what the data uses and our ontology defines, not the terms of the ontology and
shapes graphs themselves (OWL, SHACL)."""

from __future__ import annotations

from dataclasses import dataclass

from . import paths
from .prefixes import prologue
from .store import Store

PREFIXES = prologue("n2m", "skos", "dcterms", "owl", "rdfs", "rdf")
# The data's own graphs: all but the ontology's and the shapes', whose statements are about terms and constraints.
DATA_GRAPHS = (
    "GRAPH ?g {{ {pattern} }} FILTER(?g NOT IN (<{base}graph/ontology/"
    + paths.ONTOLOGY_FILE.stem
    + ">, <{base}graph/ontology/"
    + paths.SHAPES_FILE.stem
    + ">))"
)
META = (
    "FILTER(isIRI(?{var}) && !STRSTARTS(STR(?{var}), STR(owl:)) "
    '&& !STRSTARTS(STR(?{var}), "http://www.w3.org/ns/shacl#"))'
)

CLASS_COUNTS = (
    PREFIXES
    + """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {data} {meta} }}
GROUP BY ?class ORDER BY DESC(?n) ?class
"""
)
CLASSES = (
    PREFIXES
    + """
SELECT DISTINCT ?t WHERE {{ {{ {data} }} UNION {{ ?t a owl:Class FILTER(STRSTARTS(STR(?t), STR(n2m:))) }} {meta} }}"""
)
PROPERTIES = (
    PREFIXES
    + """
SELECT DISTINCT ?p WHERE {{
  {{ {data} }}
  UNION {{ ?p a ?kind VALUES ?kind {{ owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property }}
          FILTER(STRSTARTS(STR(?p), STR(n2m:))) }}
  {meta} }}"""
)

# One query shape for every "practices per X" breakdown; ?key is the concept or region, ?label its English name.
PER = (
    PREFIXES
    + """
SELECT ?key (SAMPLE(?l) AS ?label) (COUNT(DISTINCT ?p) AS ?n) WHERE {{
  ?p a n2m:GoodPractice ; {prop} ?key .
  OPTIONAL {{ ?key skos:prefLabel ?l FILTER(langMatches(lang(?l), "en")) }}
}}
GROUP BY ?key ORDER BY DESC(?n) ?key
"""
)

BREAKDOWNS = {
    "region": "dcterms:spatial",
    "sector": "n2m:ris3Sector",
    "stage": "n2m:innovationStage",
    "measure": "n2m:measureType",
    "standing": "n2m:standing",
}


@dataclass
class Row:
    key: str
    label: str
    count: int


def class_counts(store: Store, base: str) -> list[Row]:
    """Resources per class in the data's graphs."""
    data = DATA_GRAPHS.format(base=base, pattern="?s a ?class")
    rows = store.query(CLASS_COUNTS.format(data=data, meta=META.format(var="class"))).rows()
    return [Row(r["class"].value, _local(r["class"].value), int(r["n"].value)) for r in rows]


def practices_per(store: Store, what: str) -> list[Row]:
    rows = store.query(PER.format(prop=BREAKDOWNS[what])).rows()
    return [
        Row(r["key"].value, r["label"].value if "label" in r else _local(r["key"].value), int(r["n"].value))
        for r in rows
    ]


def vocabulary(store: Store, base: str) -> dict[str, list[str]]:
    """The classes and properties of our data and ontology, sorted: those the data's graphs use and those our
    ontology defines (which the data may not use yet)."""
    classes = CLASSES.format(data=DATA_GRAPHS.format(base=base, pattern="?s a ?t"), meta=META.format(var="t"))
    properties = PROPERTIES.format(data=DATA_GRAPHS.format(base=base, pattern="?s ?p ?o"), meta=META.format(var="p"))
    return {
        "classes": sorted(r["t"].value for r in store.query(classes).rows()),
        "properties": sorted(r["p"].value for r in store.query(properties).rows()),
    }


def statistics(store: Store, base: str) -> dict[str, list[Row]]:
    """Counts per class and practices per region, sector, stage, measure and standing."""
    out = {"class": class_counts(store, base)}
    for what in BREAKDOWNS:
        out[what] = practices_per(store, what)
    return out


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
