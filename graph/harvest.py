"""Harvest RDF from elsewhere into its own named graph: a SPARQL endpoint (read in pages that follow each other
by key, ``remote_pages.py``), a dump (URL or file) or the Linked Data Event Stream of another next2met-kg server.

Harvested data is untrusted, and so is where a source points: every request goes through one ``Fetcher``
(``http.py``) that stays on the source's origin (redirects and LDES links elsewhere are refused unless their host
is allowed), refuses private addresses unless allowed, and bounds each body (after decompression) and the whole
harvest in time. RDF/XML is parsed by pyoxigraph after its DOCTYPE check (``rdfio.py``). The data is checked
against the harvest profile (``profile.py``: absolute IRIs, valid literals, bounded sizes, never one of our own
graphs; plus the user's ``--shapes``), and validated with our SHACL shapes merged with the store's other graphs (so
links to our organisations and concepts resolve; the shapes judge only our own data, so another knowledge base's
schemes and organisations pass as they are) before anything is written. On a violation nothing is written and
ShapesInvalid carries the report. On success
the graph is replaced and the provenance graph says where it came from (the URL asked for, and the URL the data
was read from after redirects), when, and how many triples it holds, in one store transaction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox

from . import profile
from .backend import open_store
from .changes import Change, Edit, apply_change
from .errors import InputError, ShapesInvalid, StoreError
from .formats import RDF_FORMATS, guess_format
from .http import DEFAULT_MAX_BYTES, Fetched, Fetcher, FetchPolicy, check_url, gunzip
from .ldes import TREE
from .ldes_reader import read_ldes
from .profile import is_own_graph
from .rdfio import parse_bytes
from .remote_pages import Row, TriplePages, readable_blank_labels
from .settings import Settings
from .store import Result, Store
from .validate import ValidationReport

KINDS = ("sparql", "dump", "ldes")
RDF_ACCEPT = (
    "application/n-quads, application/trig;q=0.95, application/n-triples;q=0.9, text/turtle;q=0.9, "
    "application/ld+json;q=0.8, application/rdf+xml;q=0.7"
)
PAGE_SIZE = 5000
MAX_TRIPLES = 5_000_000
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
SD_GRAPH = "http://www.w3.org/ns/sparql-service-description#Graph"
FORMAT_OF = {f.ox_format: f for f in RDF_FORMATS}
Progress = Callable[[int], None]  # told how many triples have been read so far
RESULTS_JSON = "application/sparql-results+json"


@dataclass
class HarvestResult:
    source: str
    kind: str
    graph: str
    triples: int
    report: ValidationReport
    seconds: float

    def summary(self) -> str:
        return (
            f"Harvested {self.triples} triples from {self.source} ({self.kind}) into <{self.graph}>; "
            f"SHACL: {self.report.violation_count} violations, {self.report.warning_count} warnings; "
            f"{self.seconds:.1f}s."
        )


def harvest(
    settings: Settings,
    source: str,
    kind: str = "auto",
    graph: str | None = None,
    engine: str | None = None,
    *,
    store: Store | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    page_size: int = PAGE_SIZE,
    policy: FetchPolicy | None = None,
    author: str = "next2met harvest",
    notify=None,
    shapes: Path | None = None,
    progress: Progress | None = None,
) -> HarvestResult:
    """Pull RDF from ``source`` into the named graph ``graph`` through the write path (SHACL, provenance, history).

    ``policy`` says where the harvest may go and how long it may take (default: the source's origin only, public
    addresses only, ``max_bytes`` a body); ``shapes``, a SHACL file of the user's own that the harvested data must
    also conform to; ``progress``, called with the number of triples read so far after each page of a SPARQL
    endpoint."""
    started = time.perf_counter()
    if kind not in ("auto", *KINDS):
        raise InputError(f"unknown kind {kind!r}; use auto, {', '.join(KINDS)}")
    graph = graph or default_graph(settings.base_iri, source)
    if is_own_graph(graph, settings.base_iri):
        raise InputError(
            f"<{graph}> is one of the project's own graphs; harvest into a graph of its own (the "
            f"default is under {settings.base_iri}graph/harvested/)"
        )
    fetcher = Fetcher(policy or FetchPolicy(max_bytes=max_bytes))
    if kind == "auto":
        kind, triples = _detect_and_read(source, fetcher, page_size, progress)
    else:
        triples = read_source(source, kind, fetcher=fetcher, page_size=page_size, progress=progress)
    if not triples:
        raise InputError(f"{source}: no triples to harvest")
    quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in sorted(triples, key=str)]
    found = profile.report(quads, base=settings.base_iri, allowed_graph=graph, shapes=shapes)
    if not found.conforms:
        raise ShapesInvalid(
            f"the data harvested from {source} does not fit the harvest profile "
            f"({found.violation_count} violations); nothing was written:\n{_shown(found)}",
            found,
        )
    read_from = _read_from(source, kind, fetcher)
    target = store if store is not None else open_store(settings)
    try:
        applied = apply_change(
            target,
            settings,
            Change(
                [Edit(graph, quads)],
                channel="harvest",
                author=author,
                message=f"harvest {source}",
                origin=source,
                read_from=read_from if read_from != source else None,
            ),
            engine=engine,
            notify=notify,
        )
    except ShapesInvalid as e:
        shown = e.report.text(severities=("Violation",)).splitlines() if e.report is not None else []
        text = "\n".join(shown[:40] + (["…"] if len(shown) > 40 else []))
        raise ShapesInvalid(
            f"the data harvested from {source} does not conform to the shapes "
            f"({e.report.violation_count if e.report else 'some'} violations); nothing was written:\n{text}",
            e.report,
        ) from None
    finally:
        if store is None:
            target.close()
    report = applied.report or ValidationReport([])
    return HarvestResult(source, kind, graph, len(quads), report, time.perf_counter() - started)


def _shown(report: ValidationReport, lines: int = 40) -> str:
    shown = report.text(severities=("Violation",)).splitlines()
    return "\n".join(shown[:lines] + (["…"] if len(shown) > lines else []))


def _read_from(source: str, kind: str, fetcher: Fetcher) -> str:
    """The URL the data was read from: the source itself, or where its first request was redirected."""
    if not fetcher.final_urls:
        return source
    final = fetcher.final_urls[0]
    if kind == "sparql":  # pages are the endpoint with ?query=...: only a moved endpoint counts
        return source if final.startswith(source) else final.split("?", 1)[0]
    return final


def default_graph(base: str, source: str) -> str:
    """``{base}graph/harvested/{host-and-path}`` for a URL, ``…/{file name}`` for a file."""
    parts = urlsplit(source)
    name = f"{parts.netloc}{parts.path}" if parts.scheme in ("http", "https") else Path(source).name
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-").lower() or "source"
    return f"{base}graph/harvested/{slug}"


# -- reading each kind of source ---------------------------------------------------------------------------------
def read_source(
    source: str,
    kind: str,
    *,
    fetcher: Fetcher | None = None,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> set[ox.Triple]:
    """The distinct triples a source holds (graph names are dropped: they all go to one graph here)."""
    fetcher = fetcher or Fetcher()
    if kind == "sparql":
        return read_sparql(source, page_size=page_size, fetcher=fetcher, progress=progress)
    if kind == "ldes":
        return read_ldes(
            source,
            get=lambda u: fetcher.fetch(
                u, accept="application/trig, application/n-quads;q=0.9, application/ld+json;q=0.8"
            ),
        ).triples()
    return read_dump(source, fetcher=fetcher)


def read_dump(source: str, *, fetcher: Fetcher | None = None, fetched: Fetched | None = None) -> set[ox.Triple]:
    """A dump from a URL or a local file, in any RDF format (gzipped or not)."""
    fetcher = fetcher or Fetcher()
    max_bytes = fetcher.policy.max_bytes
    if fetched is None and urlsplit(source).scheme not in ("http", "https"):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source}: no such file (and not an http(s) URL)")
        if path.stat().st_size > max_bytes:
            raise InputError(f"{source}: larger than the limit of {max_bytes} bytes")
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gunzip(data, max_bytes, source)
        fmt = guess_format(path)
        if fmt is None:
            raise InputError(f"{source}: cannot tell the RDF format from the file name")
        return _triples(parse_bytes(data, fmt, source=source, base_iri=path.resolve().as_uri()))
    doc = fetched or fetcher.fetch(source, accept=RDF_ACCEPT)
    return _triples(_parse_fetched(doc))


def _parse_fetched(doc: Fetched) -> list[ox.Quad]:
    ox_format = ox.RdfFormat.from_media_type(doc.content_type)
    info = guess_format(Path(urlsplit(doc.url).path)) if ox_format is None else None
    if ox_format is None and info is None:
        raise InputError(f"{doc.url}: {doc.content_type or 'no content type'} is not an RDF format")
    fmt = FORMAT_OF.get(ox_format) if ox_format is not None else info
    if fmt is None:
        raise InputError(f"{doc.url}: {doc.content_type} is not an RDF format read here")
    return parse_bytes(doc.body, fmt, source=doc.url, base_iri=doc.url)


def _triples(quads: list[ox.Quad]) -> set[ox.Triple]:
    return {ox.Triple(q.subject, q.predicate, q.object) for q in quads}


def read_sparql(
    endpoint: str, *, page_size: int = PAGE_SIZE, fetcher: Fetcher | None = None, progress: Progress | None = None
) -> set[ox.Triple]:
    """Every distinct triple of an endpoint's default graph (the endpoint URL may name it with
    ``default-graph-uri``), read by SELECT pages that follow each other by key (``remote_pages.py``), each
    fetched under the harvest's policy (a GET of the SPARQL 1.1 Protocol).

    Not ORDER BY + OFFSET: Virtuoso (the commonest public endpoint) refuses a sorted page that ends past row 10000
    (SR353, MaxSortedTopRows), so nothing larger could be harvested from it. Blank nodes keep the labels the
    endpoint gives them, which Oxigraph and Virtuoso keep stable between queries.
    """
    fetcher = fetcher or Fetcher()
    check_url(endpoint)
    out: set[ox.Triple] = set()
    where = {"url": endpoint}  # where the pages are asked: moves once if the endpoint redirects (and is allowed)

    def select(query: str) -> tuple[list[Row], bool]:
        base = where["url"]
        asked = f"{urlencode({'query': query})}"
        url = f"{base}{'&' if urlsplit(base).query else '?'}{asked}"
        doc = fetcher.fetch(url, accept=RESULTS_JSON)
        if doc.url != url:  # a redirect the policy allowed: go on from there, keeping the endpoint's own parameters
            where["url"] = doc.url[: -len(asked) - 1] if doc.url.endswith(asked) else doc.url.split("?", 1)[0]
        if progress is not None and out:
            progress(len(out))
        return _rows(doc), doc.truncated

    try:
        for row in TriplePages(select, "?s ?p ?o", page_size, name=endpoint, distinct=True).rows():
            out.add(_triple(row, endpoint))
            if len(out) > MAX_TRIPLES:
                raise InputError(f"{endpoint}: more than {MAX_TRIPLES} triples; harvest a dump instead")
    except StoreError as e:
        raise InputError(f"{endpoint}: {e.detail}") from None
    return out


def _rows(doc: Fetched) -> list[Row]:
    """The solutions of a SPARQL JSON answer, as rows of pyoxigraph terms."""
    if doc.content_type not in (RESULTS_JSON, "application/json"):
        raise InputError(f"{doc.url}: the endpoint answered {doc.content_type or 'no content type'}, not SPARQL JSON")
    try:
        parsed = ox.parse_query_results(readable_blank_labels(doc.body), format=ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as e:
        raise InputError(f"{doc.url}: the endpoint's SPARQL JSON does not parse: {e}") from None
    if not isinstance(parsed, ox.QuerySolutions):
        raise InputError(f"{doc.url}: the endpoint answered a SELECT with a boolean")
    return Result("select", parsed).rows()


def _triple(row: Row, endpoint: str) -> ox.Triple:
    try:
        return ox.Triple(row["s"], row["p"], row["o"])
    except (KeyError, TypeError):
        shown = ", ".join(f"?{k} = {v}" for k, v in row.items())
        raise InputError(f"{endpoint}: the endpoint answered a row that is not an RDF triple: {shown[:300]}") from None


def _detect_and_read(
    source: str, fetcher: Fetcher, page_size: int, progress: Progress | None
) -> tuple[str, set[ox.Triple]]:
    """Tell what a source is: a file or an RDF-named URL is a dump; otherwise look at what the URL returns."""
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https"):
        return "dump", read_dump(source, fetcher=fetcher)
    if guess_format(Path(parts.path)) is not None:
        return "dump", read_dump(source, fetcher=fetcher)
    if parts.path.rstrip("/").endswith("sparql"):
        return "sparql", read_sparql(source, page_size=page_size, fetcher=fetcher, progress=progress)
    doc = fetcher.fetch(source, accept=f"application/trig, {RDF_ACCEPT}")
    quads = _parse_fetched(doc)
    if any(q.predicate.value == TREE + "view" for q in quads):
        return "ldes", read_source(doc.url, "ldes", fetcher=fetcher)
    if any(q.predicate.value == "http://www.w3.org/ns/sparql-service-description#endpoint" for q in quads):
        return "sparql", read_sparql(source, page_size=page_size, fetcher=fetcher, progress=progress)
    return "dump", _triples(quads)
