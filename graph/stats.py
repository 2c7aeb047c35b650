"""Counts that describe the dataset at a glance (``next2met stats`` and the home page)."""

from __future__ import annotations

from dataclasses import dataclass

from .prefixes import prologue
from .store import Store

PREFIXES = prologue("n2m", "skos", "dcterms")

CLASS_COUNTS = PREFIXES + """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class }
GROUP BY ?class ORDER BY DESC(?n) ?class
"""

# One query shape for every "practices per X" breakdown; ?key is the concept or region, ?label its English name.
PER = PREFIXES + """
SELECT ?key (SAMPLE(?l) AS ?label) (COUNT(DISTINCT ?p) AS ?n) WHERE {{
  ?p a n2m:GoodPractice ; {prop} ?key .
  OPTIONAL {{ ?key skos:prefLabel ?l FILTER(langMatches(lang(?l), "en")) }}
}}
GROUP BY ?key ORDER BY DESC(?n) ?key
"""

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


def class_counts(store: Store) -> list[Row]:
    rows = store.query(CLASS_COUNTS).rows()
    return [Row(r["class"].value, _local(r["class"].value), int(r["n"].value)) for r in rows]


def practices_per(store: Store, what: str) -> list[Row]:
    rows = store.query(PER.format(prop=BREAKDOWNS[what])).rows()
    return [
        Row(r["key"].value, r["label"].value if "label" in r else _local(r["key"].value), int(r["n"].value))
        for r in rows
    ]


def statistics(store: Store) -> dict[str, list[Row]]:
    """Counts per class and practices per region, sector, stage, measure and standing."""
    out = {"class": class_counts(store)}
    for what in BREAKDOWNS:
        out[what] = practices_per(store, what)
    return out


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
