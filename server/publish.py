"""What harvesters read: the DCAT-AP catalogue (``/catalog``), VoID (``/.well-known/void``), the dumps
(``/dumps/…``), the Linked Data Event Stream (``/ldes``), ``/sitemap.xml`` and ``/robots.txt``.

Identities (catalogue, dataset, distributions, stream members) are IRIs under the base IRI; addresses a client
fetches (download URLs, the SPARQL endpoint, LDES pages, sitemap entries) are on the origin the request came to.
Every answer carries ETag and Last-Modified and answers conditional requests with 304; full LDES pages never
change and say so (``Cache-Control: immutable``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, render_template, request, send_file
from werkzeug.exceptions import HTTPException

from next2met.graph import catalogue, void
from next2met.graph.dumps import read_plain
from next2met.graph.errors import NotFound, Preparing
from next2met.graph.formats import GRAPH_ANSWERS, HTML, JSONLD, NQUADS, NTRIPLES, TRIG, TURTLE, Format
from next2met.graph.ldes_pages import page_quads, root_quads
from next2met.graph.prefixes import prefixes
from next2met.graph.releases import list_releases, releases_dir

from .caching import conditional
from .links import iri_to_path
from .negotiation import negotiate
from .preparation import DUMPS, LOG, RETRY_AFTER, Publishing
from .state import KnowledgeGraph, get_kg

log = logging.getLogger(__name__)
bp = Blueprint("publish", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
# LDES pages hold named graphs: quad formats first; Turtle and the like get the member graphs merged.
LDES_OFFERS = (TRIG, NQUADS, JSONLD, TURTLE, NTRIPLES)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
RESOURCES = """SELECT ?s (MAX(STR(?m)) AS ?modified) WHERE {
  ?s a ?type FILTER(isIRI(?s))
  OPTIONAL { ?s <http://purl.org/dc/terms/modified> ?m }
} GROUP BY ?s ORDER BY ?s"""


def init_app(app: Flask, kg: KnowledgeGraph) -> None:
    state = Publishing(kg)
    kg.extensions["publish"] = state
    kg.on_change(state.on_change)
    kg.after_start(state.start)


def _not_ready(kg: KnowledgeGraph, task: str, what: str) -> None:
    """503 with Retry-After while ``task`` is being prepared for the first time (nothing older to serve)."""
    if task in kg.preparing:
        raise Preparing(
            f"{what} are being prepared after the server started or the data changed; try again in a few seconds",
            retry_after=RETRY_AFTER,
        )


def _state() -> Publishing:
    return get_kg().extensions["publish"]


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _origin() -> str:
    """Where the absolute links of the catalogue, dumps, change feed and sitemap point: the request's own origin
    when its Host is one the server answers as (loopback, or ``trusted_hosts``), else the base IRI: a forged
    Host header must not put another site's address into what harvesters store."""
    trusted = _state().kg.settings.trusted_hosts
    hostname = (request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host).strip("[]")
    if hostname.lower() in LOOPBACK or hostname.lower() in trusted or request.host.lower() in trusted:
        return request.url_root.rstrip("/")
    return _state().kg.settings.base_iri.rstrip("/")


def _site(kg: KnowledgeGraph) -> catalogue.Site:
    return catalogue.Site(kg.settings.base_iri, _origin())


def _rdf_response(kg: KnowledgeGraph, body: bytes, fmt: Format) -> Response:
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    return conditional(response, kg, etag=hashlib.sha256(body).hexdigest()[:20])


# -- description ------------------------------------------------------------------------------------------------
@bp.get("/catalog")
@bp.get("/catalog.<suffix>")
def catalog(suffix: str | None = None) -> Response:
    """The DCAT-AP 3 catalogue: Turtle, JSON-LD, RDF/XML, N-Triples (or TriG/N-Quads) by Accept or suffix."""
    kg, dumps = get_kg(), _state().dumps
    fmt = negotiate(GRAPH_ANSWERS, suffix=suffix, param=request.args.getlist("format"), html=True, what="the catalogue")
    if fmt is HTML:
        return _catalogue_page(kg, dumps)
    site = _site(kg)

    releases = list_releases(releases_dir(kg.settings))

    def build() -> bytes:
        triples = catalogue.catalogue(kg.store, site, dumps, releases)
        return catalogue.serialize(triples, fmt)

    written = dumps.written if dumps else 0
    stamp = tuple(r.name for r in releases)
    return _rdf_response(kg, kg.cached(("catalog", site.origin, written, fmt.key, stamp), build), fmt)


def _catalogue_page(kg: KnowledgeGraph, dumps) -> Response:
    """The catalogue for people: what the dataset is, where its RDF descriptions, dumps and services are."""
    body = render_template(
        "catalog.html",
        dumps=dumps,
        origin=_origin(),
        quads=kg.store.count(),
        written=_iso(dumps.written) if dumps else "",
        formats=[(f.suffix, f.content_type) for f in GRAPH_ANSWERS],
    )
    response = Response(body, mimetype="text/html")
    response.vary.add("Accept")
    return conditional(response, kg)


@bp.get("/.well-known/void")
def void_description() -> Response:
    """VoID with statistics measured on the data."""
    kg, dumps = get_kg(), _state().dumps
    fmt = negotiate(GRAPH_ANSWERS, param=request.args.getlist("format"), what="the VoID description")
    site = _site(kg)
    stats = kg.cached(("void-stats",), lambda: void.statistics(kg.store))
    written = dumps.written if dumps else 0
    body = kg.cached(
        ("void", site.origin, written, fmt.key), lambda: catalogue.serialize(void.void(stats, site, dumps), fmt)
    )
    return _rdf_response(kg, body, fmt)


# -- dumps ------------------------------------------------------------------------------------------------------
@bp.get("/dumps")
@bp.get("/dumps/")
def dump_list() -> Response:
    """The dump files with their sizes and checksums, as JSON."""
    kg, dumps = get_kg(), _state().dumps
    if dumps is None:
        _not_ready(kg, DUMPS, "the dumps")
        raise NotFound("the dumps have not been written yet")
    body = {
        "name": dumps.name,
        "written": _iso(dumps.written),
        "generation": dumps.generation,
        "quads": dumps.quads,
        "files": [
            {
                "url": f"{_origin()}/dumps/{f.filename}",
                "format": f.format,
                "mediaType": f.media_type,
                "compressed": f.compressed,
                "bytes": f.size,
                "sha256": f.sha256,
            }
            for f in dumps.files
        ],
        "catalog": f"{_origin()}/catalog",
    }
    from flask import json

    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    return conditional(
        response, kg, etag=hashlib.sha256(response.get_data()).hexdigest()[:20], last_modified=dumps.written
    )


@bp.get("/dumps/<filename>")
def dump_file(filename: str) -> Response:
    """One dump file, streamed from disk (ETag = its SHA-256; Range requests work on the gzip files). An uncompressed
    dump is unzipped from its gzip file while it is sent."""

    state = _state()
    dumps = state.dumps
    if dumps is None:
        _not_ready(get_kg(), DUMPS, "the dumps")
        raise NotFound("the dumps have not been written yet")
    f = dumps.file(filename)
    folder = state.folder / dumps.folder
    if not f.stored:
        return send_file(
            folder / f.filename,
            mimetype=f.served_type,
            conditional=True,
            etag=f.sha256,
            last_modified=dumps.written,
            max_age=60,
            download_name=f.filename,
        )
    response = Response(read_plain(folder / f.stored), mimetype=f.served_type, direct_passthrough=True)
    response.content_length = f.size
    response.set_etag(f.sha256)
    response.last_modified = dt.datetime.fromtimestamp(dumps.written, dt.UTC)
    response.cache_control.public, response.cache_control.max_age = True, 60
    response.headers["Content-Disposition"] = f"attachment; filename={f.filename}"
    response.make_conditional(request)  # a 304 or a 206 (Range) in place
    return response


# -- the event stream -------------------------------------------------------------------------------------------
def _ldes_response(
    kg: KnowledgeGraph, quads: list[ox.Quad], etag: str, last_modified: float, cache_control: str
) -> Response:
    fmt = negotiate(LDES_OFFERS, what="the event stream")
    items = quads if fmt.quads else [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    used = {name: prefixes()[name] for name in ("ldes", "tree", "prov", "dcterms")} if fmt.prefixes else {}
    body = fmt.write(items, prefixes=used)
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.headers["Cache-Control"] = cache_control
    return conditional(response, kg, etag=etag, last_modified=last_modified)


@bp.get("/ldes")
def ldes_root() -> Response:
    """The event stream's description and its first page (``tree:view``)."""
    kg, changes = get_kg(), _state().log
    changes.refresh()
    if not len(changes):
        _not_ready(kg, LOG, "the change log and its pages")
    stream = f"{_origin()}/ldes"
    first = changes.page(0)
    modified = _epoch(first[0].time) if first else kg.modified_at
    return _ldes_response(kg, root_quads(stream, f"{stream}/0"), "ldes-root", modified, "public, max-age=3600")


@bp.get("/ldes/<int:number>")
def ldes_page(number: int) -> Response:
    """Page ``number`` of the stream: immutable once full, the last one grows until it is."""
    kg, changes = get_kg(), _state().log
    changes.refresh()
    if not len(changes):
        _not_ready(kg, LOG, "the change log and its pages")
    if number >= changes.page_count:
        raise NotFound(f"the event stream has {changes.page_count} page(s), numbered from 0")
    stream = f"{_origin()}/ldes"
    entries = changes.page(number)
    full = len(entries) == changes.page_size
    last = entries[-1] if entries else None
    etag = f"ldes-{number}-{len(entries)}-{last.digest[:16] if last else 'empty'}"
    modified = _epoch(last.time) if last else kg.modified_at
    quads = page_quads(changes, number, stream, lambda n: f"{stream}/{n}")
    return _ldes_response(kg, quads, etag, modified, IMMUTABLE if full else "public, max-age=10")


# -- crawlers ---------------------------------------------------------------------------------------------------
@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """Every resource page with its last modification (``dcterms:modified``); an index past 50,000 pages."""
    kg = get_kg()
    entries = kg.cached(("sitemap-entries",), lambda: _sitemap_entries(kg))
    page = request.args.get("page", type=int)
    if len(entries) > SITEMAP_LIMIT and page is None:
        root = ET.Element("sitemapindex", xmlns=SITEMAP_NS)
        for n in range((len(entries) + SITEMAP_LIMIT - 1) // SITEMAP_LIMIT):
            ET.SubElement(ET.SubElement(root, "sitemap"), "loc").text = f"{_origin()}/sitemap.xml?page={n}"
    else:
        chunk = entries[(page or 0) * SITEMAP_LIMIT : ((page or 0) + 1) * SITEMAP_LIMIT]
        if page and not chunk:
            raise NotFound(f"the sitemap has no page {page}")
        root = ET.Element("urlset", xmlns=SITEMAP_NS)
        for path, modified in chunk:
            url = ET.SubElement(root, "url")
            ET.SubElement(url, "loc").text = _origin() + path
            if modified:
                ET.SubElement(url, "lastmod").text = modified
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    response = Response(body, mimetype="application/xml")
    return conditional(response, kg, etag=hashlib.sha256(body).hexdigest()[:20])


def _sitemap_entries(kg: KnowledgeGraph) -> list[tuple[str, str]]:
    """(path, lastmod) of every typed resource that has a page here (fragments are parts of their page)."""
    routes = current_app.url_map.bind("localhost")
    seen: dict[str, str] = {}
    for row in kg.store.query(RESOURCES).rows():
        path = iri_to_path(row["s"].value, kg.settings.base_iri)
        if path is None or "#" in path or path == "/" or not _served(routes, unquote(path)):
            continue
        modified = row["modified"].value[:10] if "modified" in row else ""
        seen[path] = max(seen.get(path, ""), modified)
    return sorted(seen.items())


def _served(routes, path: str) -> bool:
    """True when a route of this app answers GET ``path`` (IRIs without a page, like the shapes, are left out)."""
    try:
        endpoint, _ = routes.match(path, method="GET")
    except HTTPException:
        return False
    return endpoint != "static"


@bp.get("/robots.txt")
def robots() -> Response:
    """Crawlers welcome, except on the query and write endpoints; the sitemap lists every page."""
    body = "\n".join(
        [
            "User-agent: *",
            "Disallow: /sparql",
            "Disallow: /update",
            "Disallow: /api/",
            "Disallow: /validate",
            "Allow: /",
            f"Sitemap: {_origin()}/sitemap.xml",
            "",
        ]
    )
    return conditional(
        Response(body, mimetype="text/plain"), get_kg(), etag=hashlib.sha256(body.encode()).hexdigest()[:20]
    )


@bp.after_request
def _cors(response: Response) -> Response:
    """Harvesting documents are public: any origin may read them (browser-based LDES clients included)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(timestamp: str) -> float:
    return dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()
