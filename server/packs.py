"""Evidence packs over HTTP: ``/practices/evidence.zip`` (the search and facets of ``/practices``) and
``/queries/{name}/evidence.zip`` (a research question with its parameters); both take ``release=NAME`` to run on a
release as it was. ``graph/packs.py`` makes the zip."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from next2met.graph.analysis.derived import derived_graph, recorded
from next2met.graph.errors import InputError
from next2met.graph.packs import (
    Pack,
    Table,
    practices_in,
    practices_jsonld,
    practices_table,
    run_table,
    write_zip,
)
from next2met.graph.queries import get_query
from next2met.graph.releases import citation_text, get_release, list_releases, releases_dir
from next2met.graph.search import FACETS, SORTS, PracticeIndex
from next2met.graph.store import OxigraphStore, Store

from .charts import Bar, bar_chart
from .i18n import gettext as _
from .page_data import search_index
from .state import get_kg

bp = Blueprint("packs", __name__)
RESERVED = {"format", "lang", "release"}
REPORT_ROWS = 50
CHART_ROWS = 30
AUTHOR, TITLE = "next2met-kg developers", "Next2Met good practices knowledge graph"


@contextlib.contextmanager
def _data() -> Iterator[tuple[Store, dict, str, dict[str, str], object]]:
    """The store to run on (a release's, or the live one), what the pack says of it, its citation and files."""
    kg = get_kg()
    name = request.args.get("release")
    folder = releases_dir(kg.settings)
    if name:
        release = get_release(folder, name)
        store = OxigraphStore(release.store_path, read_only=True)
        try:
            extra = {f: (release.path / f).read_text(encoding="utf-8") for f in ("CITATION.cff", "CITATION.bib")}
            data = {
                "release": release.name,
                "dataGeneration": release.generation,
                "sparqlEndpoint": f"{request.url_root}sparql?release={release.name}",
            }
            yield store, data, citation_text(release, kg.settings.base_iri), extra, release
        finally:
            store.close()
        return
    made = recorded(kg.store, derived_graph(kg.settings.base_iri, "network"))
    generation = made[0] if made else ""
    same = next((r for r in list_releases(folder) if r.generation == generation), None)
    data = {
        "release": same.name if same else None,
        "dataGeneration": generation,
        "sparqlEndpoint": f"{request.url_root}sparql" + (f"?release={same.name}" if same else ""),
    }
    if same:
        citation = citation_text(same, kg.settings.base_iri)
    else:
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        citation = (
            f"{AUTHOR}. {TITLE} [dataset], data generation {generation[:12]}, retrieved {today}. {request.url_root}"
        )
    yield kg.store, data, citation, {}, same


def _respond(pack: Pack, store: Store, filename: str) -> Response:
    pack.report_html = render_template("evidence_report.html", pack=pack, preview=REPORT_ROWS)
    body = write_zip(pack, practices_jsonld(store, pack.practices))
    return Response(
        body, mimetype="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@bp.get("/practices/evidence.zip")
def practices_pack() -> Response:
    """The practices that a search and its facets select, with the SPARQL that lists them."""
    query = request.args.get("q", "").strip()[:500]
    filters = {f: request.args.getlist(f) for f in FACETS if request.args.getlist(f)}
    sort = request.args.get("sort", "")
    if sort and sort not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    with _data() as (store, data, citation, extra, release):
        index = search_index(get_kg()) if release is None or store is get_kg().store else PracticeIndex.build(store)
        result = index.search(query, filters, sort, "en")
        chosen = [doc.iri for doc, _score in result.hits]
        table = run_table(store, practices_table(chosen))
        regions = Counter(row["region"].value.rsplit("/", 1)[-1] if "region" in row else "?" for row in table.rows)
        chart = bar_chart(
            _("Selected practices per region"),
            [Bar(code, n, str(n)) for code, n in sorted(regions.items(), key=lambda x: (-x[1], x[0]))],
        )
        pack = Pack(
            title=_("Evidence pack: %(num)d practices selected on /practices", num=len(chosen)),
            selection={"search": {"q": query, **filters, **({"sort": sort} if sort else {})}},
            tables=[table],
            practices=chosen,
            data=data,
            citation=citation,
            charts={"practices-per-region.svg": str(chart)},
            extra=extra,
        )
        return _respond(pack, store, "evidence-practices.zip")


@bp.get("/queries/<name>/evidence.zip")
def query_pack(name: str) -> Response:
    """A research question run with its parameters: its rows, its exact SPARQL, the practices in its rows."""
    q = get_query(name)
    if q.form != "select":
        raise InputError(f"an evidence pack needs a table: {name} is a {q.form.upper()} query")
    own = {p.name for p in q.params}
    values = {k: v for k, v in request.args.items() if k in own or k not in RESERVED}
    kg = get_kg()
    sparql = q.bind(values, kg.settings.base_iri)
    with _data() as (store, data, citation, extra, _release):
        table = run_table(store, Table(q.name, q.title, sparql))
        practices = practices_in([table], kg.settings.base_iri)
        charts = {}
        chart = _chart(table)
        if chart is not None:
            charts[f"{q.name}.svg"] = str(chart)
        pack = Pack(
            title=_("Evidence pack: %(title)s", title=q.title),
            selection={"query": q.name, "parameters": {k: v for k, v in values.items() if v != ""}},
            tables=[table],
            practices=practices,
            data=data,
            citation=citation,
            charts=charts,
            extra=extra,
        )
        return _respond(pack, store, f"evidence-{q.name}.zip")


def _chart(table: Table):
    """A bar chart of the first numeric column by the first text column, when the table has both."""
    if not table.rows or len(table.rows) > CHART_ROWS:
        return None

    def numeric(term) -> bool:
        return isinstance(term, ox.Literal) and term.datatype.value.rsplit("#", 1)[-1] in (
            "integer",
            "decimal",
            "double",
            "float",
        )

    first = table.rows[0]
    number = next((v for v in table.variables if v in first and numeric(first[v])), None)
    label = next((v for v in table.variables if v in first and not numeric(first[v])), None)
    if number is None or label is None:
        return None
    bars = []
    for row in table.rows:
        if number in row and numeric(row[number]):
            text = row[label].value.rsplit("/", 1)[-1] if label in row else "?"
            bars.append(Bar(text, float(row[number].value), row[number].value))
    return bar_chart(f"{table.title}: {number}", bars) if bars else None
