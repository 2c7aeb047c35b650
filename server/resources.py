"""Dereferenceable resources: every IRI under the base IRI (and the NUTS regions we describe) has a page.

One URL per resource, content negotiation on it (``Vary: Accept``): HTML for people, Turtle, JSON-LD, RDF/XML
and N-Triples for machines; a suffix (``.html .ttl .jsonld .rdf .nt``) forces a format. The RDF is an explicit
CONSTRUCT (the resource, its ``#fragment`` nodes, the labels of what it links to), the same triples the HTML
page is made from. Unknown IRIs get 404, an Accept header we cannot satisfy 406.
"""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, g, render_template, request

from next2met.graph.errors import NotFound
from next2met.graph.formats import HTML, TRIPLE_FORMATS, Format
from next2met.graph.prefixes import curie, used_in

from . import analytics, entity_pages, practice_page, quality
from .caching import conditional
from .links import choose_language, iri_to_path, language_name, path_to_iri, url_with
from .negotiation import negotiate
from .page_data import Page, construct, labels
from .state import KnowledgeGraph, get_kg

bp = Blueprint("resources", __name__)

# What a resource is offered as, in order of preference for "*/*": its page first, then its RDF.
OFFERS: tuple[Format, ...] = (HTML, *TRIPLE_FORMATS)
KINDS = ["practice", "organisation", "instrument", "action-plan", "action", "project", "partner", "event"]
TEMPLATES = {"practice": "practice.html", "scheme": "scheme.html"}


def split_suffix(rest: str) -> tuple[str, str | None]:
    """``x.ttl`` → (``x``, ``ttl``); a dot that is not one of our suffixes stays part of the name."""
    stem, dot, ext = rest.rpartition(".")
    if dot and stem and any(f.suffix == ext for f in OFFERS):
        return stem, ext
    return rest, None


def serialize(triples: list[ox.Triple], fmt: Format, first: str = "") -> bytes:
    """Write the triples in ``fmt``, the resource ``first`` and its fragments at the top."""
    triples = sorted(
        triples,
        key=lambda t: (
            not t.subject.value.startswith(first) if first else False,
            t.subject.value,
            t.predicate.value,
            str(t.object),
        ),
    )
    body = fmt.write_triples(triples, prefixes=used_in(t.predicate.value for t in triples))
    assert body is not None
    return body


def rdf_links(page_path: str) -> list[dict[str, str]]:
    """Links to the RDF of a page, one per format (the same URL with a suffix)."""
    return [{"href": f"{page_path}.{f.suffix}", "label": f.label, "type": f.media_type} for f in TRIPLE_FORMATS]


def query_link(iri: str) -> str:
    """Open the SPARQL editor with a DESCRIBE of the resource."""
    return "/sparql?query=" + quote(f"DESCRIBE <{iri}>", safe="")


def set_language(kg: KnowledgeGraph) -> str:
    """Choose the reader's language (see links.choose_language) and remember it for links and templates."""
    from .browse import available_languages

    g.lang, g.lang_explicit = choose_language(available_languages(kg))
    return g.lang


def respond(
    kg: KnowledgeGraph, iri: str, fmt: Format, render_html, kind: str = "", version: list[ox.Triple] | None = None
) -> Response:
    """Answer for one resource in the negotiated format; ``render_html(page)`` makes the HTML; ``version``: the
    triples of a past version to show instead of the current ones."""
    if fmt is HTML:
        page = Page(kg, iri, set_language(kg), in_graph=kind == "graph", triples=version)
        if not page.exists:
            raise NotFound(f"There is no resource {iri} in this knowledge graph.")
        response = Response(render_html(page), mimetype=HTML.media_type)
        response.headers["Content-Language"] = g.lang
    else:
        triples = construct(kg, iri, in_graph=kind == "graph") if version is None else version
        if not triples:
            raise NotFound(f"There is no resource {iri} in this knowledge graph.")
        response = Response(serialize(triples, fmt, iri), mimetype=fmt.media_type)
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Access-Control-Allow-Origin"] = "*"  # linked data is for everybody's scripts
    path = (iri_to_path(iri) or "").partition("#")[0]
    response.headers["Link"] = ", ".join(
        [f'<{link["href"]}>; rel="alternate"; type="{link["type"]}"' for link in rdf_links(path)]
        + [f'<{iri}>; rel="canonical"']
    )
    return conditional(response, kg)


def page_context(kg: KnowledgeGraph, page: Page, kind: str) -> dict:
    """What every resource template gets: the page, its statements and incoming links, the RDF links."""
    return {
        "page": page,
        "kind": kind,
        "iri": page.iri,
        "lang": page.lang,
        "title": page.label(page.iri),
        "rdf_links": rdf_links((iri_to_path(page.iri) or "").partition("#")[0]),
        "query_link": query_link(page.iri),
        "statements": entity_pages.statements(page),
        "incoming": entity_pages.incoming(kg, page),
        "types": [page.label(t) if labels(kg).has(t) else curie(t) for t in page.types()],
        "language_name": language_name,
        "url_with": url_with,
    }


def show(kind: str, rest: str) -> Response:
    kg = get_kg()
    rest, suffix = split_suffix(rest)
    if kind == "concept" and "/" not in rest:
        kind = "scheme"
    iri = path_to_iri("concept" if kind == "scheme" else kind, rest)
    if iri is None:
        raise NotFound(f"{request.path} is not the address of a resource here.")
    fmt = negotiate(OFFERS, suffix=suffix)

    version = _version(kg, iri) if kind == "practice" and request.args.get("version") else None

    def render(page: Page) -> str:
        context = page_context(kg, page, kind)
        builder = practice_page.context if kind == "practice" else entity_pages.BUILDERS.get(kind)
        if builder is not None:
            context.update(builder(kg, page))
        context["network_words"] = analytics.in_words(kg, page.iri, kind)
        if kind == "practice":
            context["quality"] = quality.badge(kg, page.iri)
        if version is not None:
            context["version"] = request.args.get("version")
        return render_template(TEMPLATES.get(kind, "resource.html"), **context)

    return respond(kg, iri, fmt, render, kind, version)


def _version(kg: KnowledgeGraph, iri: str) -> list[ox.Triple]:
    """The triples of the practice at ``?version=`` (with the current labels of what it links to)."""
    from .history import practice_at

    try:
        number = int(request.args.get("version", ""))
    except ValueError:
        raise NotFound("?version= takes a version number, as listed on the practice's history page") from None
    own = practice_at(kg, iri, number)
    if not own:
        raise NotFound(f"{iri} did not exist at version {number}")
    current = construct(kg, iri)
    return own + [t for t in current if t.subject.value.split("#", 1)[0] != iri]


for _kind in KINDS + ["region"]:
    bp.add_url_rule(f"/{_kind}/<rest>", endpoint=_kind.replace("-", "_"), view_func=show, defaults={"kind": _kind})
bp.add_url_rule("/concept/<path:rest>", endpoint="concept", view_func=show, defaults={"kind": "concept"})
bp.add_url_rule("/graph/<path:rest>", endpoint="graph", view_func=show, defaults={"kind": "graph"})
