"""Browse the practices: the home page (counts, charts, latest changes, search box), ``/practices`` (full-text
search with facets, paging; the same page as JSON or CSV), ``/regions`` (the transfer network) and ``/network``
(practices linked to the ones most like them). Every state is a URL."""

from __future__ import annotations

import csv
import io
import logging
import math
import threading

from flask import Blueprint, Flask, Response, g, jsonify, render_template, request

from next2met.graph.errors import InputError
from next2met.graph.formats import CSV, HTML, PLAIN_JSON
from next2met.graph.search import FACETS, SORTS, PracticeIndex, SearchResult

from . import related as why
from .caching import conditional
from .i18n import gettext as _
from .i18n import lazy_gettext as _l
from .i18n import ngettext
from .links import choose_language, href, iri_to_path, lang_path, language_name, url_with
from .negotiation import negotiate
from .page_data import PREFIXES, labels, per_generation, practice_graph, search_index
from .state import KnowledgeGraph, get_kg
from .textfit import fit

bp = Blueprint("browse", __name__)
log = logging.getLogger(__name__)
PAGE_DATA = "page data"


class Warming:
    """What every page reads from the whole data (the names of everything, the related-practices graph, the
    languages, the search index), read once the server listens, in a thread of its own, so that the first visitor
    does not wait for it: at 1M quads the first page after start took 8-21 s. ``/health`` lists it under
    ``preparing`` until it is done; a page asked for meanwhile reads what it needs itself."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.kg.preparing.begin(PAGE_DATA)  # before the thread starts: /health says so from the first moment
        self.thread = threading.Thread(target=self._run, name="next2met-page-data", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        error = None
        try:
            for read in (labels, practice_graph, available_languages, search_index):
                if self.kg.closed:
                    break
                read(self.kg)
        except Exception as e:  # the pages read it themselves then, and say what failed
            if not self.kg.closed:
                log.exception("could not read the page data ahead")
                error = f"{type(e).__name__}: {e}"
        finally:
            self.kg.preparing.end(PAGE_DATA, error)

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join(30)


def init_app(app: Flask, kg: KnowledgeGraph) -> None:
    warming = Warming(kg)
    kg.extensions["page data warming"] = warming
    kg.after_start(warming.start)


FACET_NAMES = {
    "region": _l("Region"),
    "country": _l("Country"),
    "sector": _l("RIS3 sector"),
    "stage": _l("Innovation-chain stage"),
    "measure": _l("Measure type"),
    "stakeholder": _l("Stakeholder type"),
    "year": _l("Start year"),
    "standing": _l("Standing"),
}
SORT_NAMES = {"relevance": _l("relevance"), "title": _l("title"), "modified": _l("last change"), "year": _l("year")}
PER_PAGE, MAX_PER_PAGE = 20, 100
OFFERS = (HTML, PLAIN_JSON, CSV)  # /practices as a page, as JSON, or as a table

# the languages of each graph's practice titles and summaries (GRAPHS: limited to some graphs, or nothing)
LANGUAGES = (
    PREFIXES
    + """
SELECT DISTINCT ?g ?lang WHERE { GRAPHS ?p a n2m:GoodPractice . GRAPH ?g { ?p dcterms:title|dcterms:abstract ?t }
  BIND(lang(?t) AS ?lang) FILTER(?lang != "") }"""
)

COUNTS = (
    PREFIXES
    + """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {
  VALUES ?class { n2m:GoodPractice org:Organization n2m:Region n2m:ActionPlan n2m:Action n2m:LearningEvent
                  n2m:PolicyInstrument n2m:Project }
  ?s a ?class } GROUP BY ?class"""
)

# Practices first among resources modified the same day; our own class (https://w3id.org/...) names the kind.
LATEST = (
    PREFIXES
    + """
SELECT ?s (MAX(?m) AS ?modified) (MIN(?rank) AS ?order) (MAX(STR(?type)) AS ?kind) WHERE {
  ?s dcterms:modified ?m ; a ?type .
  FILTER(isIRI(?s) && !CONTAINS(STR(?s), "#") && !STRSTARTS(STR(?s), {graphs}))
  BIND(IF(?type = n2m:GoodPractice, 0, 1) AS ?rank)
} GROUP BY ?s ORDER BY DESC(?modified) ?order ?s LIMIT 12"""
)

CLASS_LINKS = {"GoodPractice": "/practices", "Region": "/regions"}


def class_words(cls: str, n: int) -> str:
    """How the home page counts the instances of a class, in the reader's language."""
    return {
        "GoodPractice": ngettext("practice", "practices", n),
        "Organization": ngettext("organisation", "organisations", n),
        "Region": ngettext("region", "regions", n),
        "ActionPlan": ngettext("action plan", "action plans", n),
        "Action": ngettext("action", "actions", n),
        "LearningEvent": ngettext("learning event", "learning events", n),
        "PolicyInstrument": ngettext("policy instrument", "policy instruments", n),
        "Project": ngettext("project", "projects", n),
    }[cls]


CLASSES = [
    "GoodPractice",
    "Organization",
    "Region",
    "ActionPlan",
    "Action",
    "LearningEvent",
    "PolicyInstrument",
    "Project",
]


class Languages:
    """The languages the practices are written in, by the graph that writes them: a change of some graphs reads
    only theirs again (a read of every title and summary took about 2 s at 1M quads, in a thread that shared the
    interpreter with the pages)."""

    def __init__(self, by_graph: dict[str, frozenset[str]]) -> None:
        self.by_graph = by_graph
        found = set().union(*by_graph.values())
        self.list = ["en"] + sorted(found - {"en"})

    @classmethod
    def read(cls, kg: KnowledgeGraph, graphs: list[str] | None = None) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        chunks = [None] if graphs is None else [graphs[i : i + 300] for i in range(0, len(graphs), 300)]
        for chunk in chunks:
            values = "" if chunk is None else "VALUES ?g { " + " ".join(f"<{g}>" for g in chunk) + " }"
            for r in kg.query(LANGUAGES.replace("GRAPHS", values)).rows():
                found.setdefault(r["g"].value, set()).add(r["lang"].value.lower())
        return {g: frozenset(langs) for g, langs in found.items()}

    @classmethod
    def build(cls, kg: KnowledgeGraph) -> Languages:
        return cls(cls.read(kg))

    def update(self, kg: KnowledgeGraph, graphs: set[str]) -> Languages:
        changed = sorted(g for g in graphs if g)
        kept = {g: langs for g, langs in self.by_graph.items() if g not in graphs}
        return Languages(kept | self.read(kg, changed)) if changed else Languages(kept)


def available_languages(kg: KnowledgeGraph) -> list[str]:
    """The languages the practices are written in (English first)."""
    value = per_generation(kg, "languages", Languages.build, update=lambda old, kg, graphs: old.update(kg, graphs))
    return value.list


def _language(kg: KnowledgeGraph) -> str:
    g.lang, g.lang_explicit = choose_language(available_languages(kg))
    return g.lang


bp.add_app_template_global(href, "href")
bp.add_app_template_global(url_with, "url_with")
bp.add_app_template_global(lang_path, "lang_path")
bp.add_app_template_filter(fit, "fit")
bp.add_app_template_global(language_name, "language_name")


def bar_rows(index: PracticeIndex, result: SearchResult, facet: str, lang: str, top_only: bool = False) -> list[dict]:
    """Rows of a bar chart: one facet's values with their counts, each a link to the filtered search."""
    rows = []
    for v in result.facets.get(facet, []):
        if top_only and v.iri and index.broader.get(v.iri):
            continue  # only the shared top level, so sectors compare across regions
        rows.append(
            {
                "label": index.label(v.iri, lang) if v.iri else v.key,
                "count": v.count,
                "href": lang_path(f"/practices?{facet}={v.key}"),
            }
        )
    return rows


@bp.get("/")
def home() -> Response:
    kg = get_kg()
    lang = _language(kg)
    index = search_index(kg)
    everything = index.search(lang=lang)
    counts = {r["class"].value.rsplit("#", 1)[-1]: int(r["n"].value) for r in kg.select(COUNTS)}
    base = kg.settings.base_iri
    latest_rows = kg.select(LATEST.replace("{graphs}", f'"{base}graph/"'))
    names = labels(kg)
    latest = [
        {
            "href": href(r["s"].value),
            "label": names.get(r["s"].value, lang),
            "modified": r["modified"].value,
            "kind": names.get(r["kind"].value, lang) if names.has(r["kind"].value) else "",
        }
        for r in latest_rows
    ]
    html = render_template(
        "home.html",
        lang=lang,
        counts=[
            (
                counts.get(cls, 0),
                class_words(cls, counts.get(cls, 0)),
                lang_path(CLASS_LINKS[cls]) if cls in CLASS_LINKS else "",
            )
            for cls in CLASSES
        ],
        triples=kg.cached(("count",), kg.store.count),
        charts=[
            (_("Practices per country"), bar_rows(index, everything, "country", lang)),
            (_("Practices per RIS3 sector (shared sectors)"), bar_rows(index, everything, "sector", lang, True)),
            (_("Practices per innovation-chain stage"), bar_rows(index, everything, "stage", lang)),
        ],
        latest=latest,
    )
    return _html(kg, html)


def _html(kg: KnowledgeGraph, html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = g.lang
    response.headers["Vary"] = "Accept, Accept-Language"
    return conditional(response, kg)


def _int(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, not {raw!r}") from None
    if value < low:
        raise InputError(f"{name} must be at least {low}")
    return min(value, high) if high else value


@bp.get("/practices")
@bp.get("/practices.<any(json, csv, html):suffix>")
def practices(suffix: str | None = None) -> Response:
    kg = get_kg()
    lang = _language(kg)
    fmt = negotiate(OFFERS, suffix=suffix, what="/practices").key
    index = search_index(kg)
    query = request.args.get("q", "").strip()[:500]
    filters = {f: request.args.getlist(f) for f in FACETS if request.args.getlist(f)}
    sort = request.args.get("sort", "")
    if sort and sort not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    result = index.search(query, filters, sort, lang)
    per_page = _int("per_page", PER_PAGE, 1, MAX_PER_PAGE)
    page = _int("page", 1, 1)
    pages = max(1, math.ceil(result.total / per_page))
    hits = result.hits[(page - 1) * per_page : page * per_page]
    rows = [_row(index, doc, score, lang) for doc, score in hits]
    if fmt == "csv":
        return _csv(kg, [_row(index, doc, score, lang) for doc, score in result.hits])
    facets = {
        f: [
            {
                "key": v.key,
                "label": index.label(v.iri, lang) if v.iri else v.key,
                "count": v.count,
                "selected": v.selected,
                "href": href(v.iri) if v.iri else None,
                "toggle": _toggle(f, v.key, v.selected),
            }
            for v in values
        ]
        for f, values in result.facets.items()
    }
    state = {
        "query": query,
        "filters": result.filters,
        "unknown_filters": result.unknown_filters,
        "sort": sort or ("relevance" if query else "title"),
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "language": lang,
    }
    links = {
        "self": url_with(),
        "html": _as("html"),
        "json": _as("json"),
        "csv": _as("csv"),
        "evidence": "/practices/evidence.zip" + (("?" + request.query_string.decode()) if request.query_string else ""),
        "next": url_with(page=page + 1) if page < pages else None,
        "prev": url_with(page=page - 1) if page > 1 else None,
    }
    if fmt == "json":
        response = jsonify({**state, "results": rows, "facets": facets, "links": links})
        response.headers["Vary"] = "Accept, Accept-Language"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return conditional(response, kg)
    html = render_template(
        "practices.html",
        lang=lang,
        state=state,
        rows=rows,
        facets=facets,
        links=links,
        facet_names=FACET_NAMES,
        sorts=SORTS,
        sort_names=SORT_NAMES,
        removals=[(f, k, _toggle(f, k, True)) for f, keys in result.filters.items() for k in keys],
        labels_of=lambda f, k: next((v["label"] for v in facets.get(f, []) if v["key"] == k), k),
    )
    return _html(kg, html)


def _as(fmt: str) -> str:
    """The current search as another format (the suffix form, so the link works without an Accept header)."""
    page = url_with()
    path, _sep, query = page.partition("?")
    return "/practices" + ("" if fmt == "html" else "." + fmt) + ("?" + query if query else "")


def _toggle(facet: str, key: str, selected: bool) -> str:
    values = request.args.getlist(facet)
    values = [v for v in values if v != key] if selected else values + [key]
    return (
        url_with(**{facet: values, "page": None})
        .replace("/practices.json", "/practices")
        .replace("/practices.csv", "/practices")
    )


def _row(index: PracticeIndex, doc, score: float, lang: str) -> dict:
    title, title_lang = doc.text("title", lang)
    summary, summary_lang = doc.text("abstract", lang)

    def names(facet: str) -> list[str]:
        return [index.label(index.facet_iris[facet][k], lang) for k in sorted(doc.facets.get(facet, ()))]

    return {
        "iri": doc.iri,
        "url": iri_to_path(doc.iri) or doc.iri,
        "title": title,
        "title_lang": title_lang,
        "summary": summary,
        "summary_lang": summary_lang,
        "score": round(score, 3),
        "region": [index.label(r, lang) for r in doc.regions],
        "country": sorted(doc.facets.get("country", ())),
        "year": doc.year,
        "standing": names("standing"),
        "stages": names("stage"),
        "modified": doc.modified,
    }


def _csv(kg: KnowledgeGraph, rows: list[dict]) -> Response:
    out = io.StringIO()
    columns = ["iri", "title", "title_lang", "summary", "region", "country", "year", "stages", "standing", "modified"]
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="practices.csv"'
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return conditional(response, kg)


@bp.get("/regions")
def regions() -> Response:
    from next2met.graph import layout  # networkx: imported when first drawn, not at start-up (0.6-0.9 s)

    kg = get_kg()
    lang = _language(kg)
    pg = practice_graph(kg)
    names = labels(kg)
    index = search_index(kg)
    counts = {v.iri: v.count for f in ("region", "country") for v in index.search().facets.get(f, [])}
    partner_regions = [
        {"href": href(r), "label": names.get(r, lang), "count": counts.get(r, 0), "code": r.rsplit("/", 1)[-1]}
        for r in sorted(pg.partner_regions, key=lambda r: names.get(r, lang))
    ]
    transfers = [
        {
            "teacher": (href(t.teacher), names.get(t.teacher, lang)),
            "learner": (href(t.learner), names.get(t.learner, lang)),
            "actions": [(href(a), names.get(a, lang)) for a in t.actions],
            "practices": [(href(p), names.get(p, lang)) for p in t.practices],
        }
        for t in pg.transfers
    ]
    html = render_template(
        "regions.html",
        lang=lang,
        regions=partner_regions,
        transfers=transfers,
        network=layout.transfer_network(pg, lang),
    )
    return _html(kg, html)


@bp.get("/network")
def network() -> Response:
    kg = get_kg()
    lang = _language(kg)
    view = per_generation(kg, f"practice-network-{lang}", lambda kg: _practice_network(kg, lang))
    return _html(kg, render_template("network.html", lang=lang, **view))


def _practice_network(kg: KnowledgeGraph, lang: str) -> dict:
    """The drawing and its text twin; computed once per data generation and language (it ranks every practice)."""
    from next2met.graph import layout  # networkx: imported when first drawn, not at start-up (0.6-0.9 s)

    pg = practice_graph(kg)
    names = labels(kg)
    net = layout.practice_network(pg, lang)
    drawn = sorted((n.id for n in net.nodes), key=lambda p: names.get(p, lang).casefold())
    listing = [
        {
            "iri": p,
            "label": names.get(p, lang),
            "related": [
                (r.iri, names.get(r.iri, lang), why.sentence(pg.reasons(r), lambda n: names.get(n, lang)))
                for r in pg.related(p, 2)
            ],
        }
        for p in drawn
    ]
    return {"network": net, "listing": listing, "total": len(pg.practices)}
