"""Evidence packs: what a finding rests on, in one zip that can be cited and re-run.

A pack holds, for each table, the rows as CSV (W3C SPARQL 1.1 CSV results, as ``/sparql`` writes them) and the
exact SPARQL that produced them; the practices involved as JSON-LD; the charts as SVG; a short HTML report; the
data it was run on (a release, or the data generation of the live data) and how to cite it; and ``manifest.json``
that lists all of it. Running a packed query against the release it names (``/sparql?release=NAME``) gives the
same CSV.

A search on ``/practices`` selects practices with our own full-text index, which SPARQL cannot repeat; so the
pack's table is made by a SPARQL query that names the selected practices (``VALUES``), and the report records the
search that selected them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass, field

import pyoxigraph as ox

from .formats import JSONLD
from .prefixes import prologue
from .rdfio import Term, serialize_quads
from .store import Store

PRACTICE_COLUMNS = (
    prologue("n2m", "dcterms", "schema", "skos")
    + """
SELECT ?practice ?title ?region ?standing ?confidence ?startYear WHERE {{
  VALUES ?practice {{ {values} }}
  OPTIONAL {{ ?practice dcterms:title ?title FILTER(langMatches(lang(?title), "en")) }}
  OPTIONAL {{ SELECT ?practice (MIN(STR(?r)) AS ?region) WHERE {{ VALUES ?practice {{ {values} }}
    ?practice dcterms:spatial ?r }} GROUP BY ?practice }}
  OPTIONAL {{ ?practice n2m:standing/skos:notation ?standing }}
  OPTIONAL {{ ?practice n2m:confidence/skos:notation ?confidence }}
  OPTIONAL {{ ?practice schema:startDate ?start BIND(SUBSTR(STR(?start), 1, 4) AS ?startYear) }}
}}
ORDER BY ?practice"""
)


@dataclass
class Table:
    name: str  # file stem: practices, query
    title: str
    sparql: str
    csv: bytes = b""
    rows: list[dict[str, Term]] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)


@dataclass
class Pack:
    title: str
    selection: dict  # what selected the data: {"search": {...}} or {"query": name, "parameters": {...}}
    tables: list[Table]
    practices: list[str]
    data: dict  # {"release": name or None, "dataGeneration": digest, "endpoint": url}
    citation: str
    charts: dict[str, str] = field(default_factory=dict)  # file name -> SVG
    report_html: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # further files (CITATION.cff, CITATION.bib)
    made: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def practices_table(practices: list[str]) -> Table:
    values = " ".join(f"<{p}>" for p in sorted(practices)) or "<urn:x-next2met:none>"
    return Table("practices", "The selected practices", PRACTICE_COLUMNS.format(values=values))


def run_table(store: Store, table: Table) -> Table:
    """Run the table's SPARQL on ``store``: its rows and its CSV."""
    result = store.query(table.sparql)
    if result.kind != "select":
        raise ValueError("an evidence pack table needs a SELECT query")
    table.variables = result.variables
    table.rows = result.rows()
    again = store.query(table.sparql)
    assert isinstance(again.value, ox.QuerySolutions)
    table.csv = again.value.serialize(format=ox.QueryResultsFormat.CSV) or b""
    return table


def practices_in(tables: list[Table], base: str) -> list[str]:
    """The practice IRIs that appear in the tables' rows."""
    prefix = f"{base}practice/"
    found = {
        t.value
        for table in tables
        for row in table.rows
        for t in row.values()
        if isinstance(t, ox.NamedNode) and t.value.startswith(prefix) and "#" not in t.value
    }
    return sorted(found)


def practices_jsonld(store: Store, practices: list[str]) -> bytes:
    """The practices' own statements (and their #fragment nodes) as JSON-LD."""
    if not practices:
        return b"[]"
    values = " ".join(f"<{p}>" for p in practices)
    result = store.query(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?practice {{ {values} }}
        {{ ?practice ?p ?o BIND(?practice AS ?s) }} UNION {{ ?practice ?link ?s . ?s ?p ?o
        FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?practice), "#"))) }} }}""")
    quads = [ox.Quad(t.subject, t.predicate, t.object) for t in dict.fromkeys(result.triples())]
    buffer = io.BytesIO()
    serialize_quads(sorted(quads, key=str), JSONLD, buffer)
    return buffer.getvalue()


def write_zip(pack: Pack, practices_doc: bytes) -> bytes:
    """The pack as zip bytes (fixed file times, so the same pack gives the same bytes)."""
    manifest = {
        "title": pack.title,
        "made": pack.made,
        "selection": pack.selection,
        "data": pack.data,
        "citation": pack.citation,
        "tables": [
            {
                "name": t.name,
                "title": t.title,
                "csv": f"tables/{t.name}.csv",
                "sparql": f"queries/{t.name}.rq",
                "rows": len(t.rows),
            }
            for t in pack.tables
        ],
        "practices": {"file": "practices.jsonld", "count": len(pack.practices)},
        "charts": [f"charts/{name}" for name in pack.charts],
        "report": "report.html",
    }
    files: dict[str, bytes] = {
        "manifest.json": json.dumps(manifest, indent=1, ensure_ascii=False).encode(),
        "report.html": pack.report_html.encode(),
        "practices.jsonld": practices_doc,
    }
    for t in pack.tables:
        files[f"tables/{t.name}.csv"] = t.csv
        files[f"queries/{t.name}.rq"] = t.sparql.encode()
    for name, svg in pack.charts.items():
        files[f"charts/{name}"] = svg.encode()
    for name, text in pack.extra.items():
        files[name] = text.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"evidence-pack/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[name])
    return buffer.getvalue()
