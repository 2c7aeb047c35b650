"""``/ontology``: documentation of our ontology generated from the store's ontology graph (classes, properties,
the SKOS concept schemes), or the ontology itself as RDF by content negotiation (``.ttl`` etc. force a format).

Term IRIs ``https://w3id.org/next2met/ontology#X`` point at the anchor ``/ontology#X`` of this page.
"""

from __future__ import annotations

from collections import defaultdict

import pyoxigraph as ox
from flask import Blueprint, Response, g, render_template

from next2met.graph.errors import NotFound
from next2met.graph.formats import HTML
from next2met.graph.prefixes import curie

from .caching import conditional
from .i18n import lazy_gettext as _l
from .links import ONTOLOGY, choose_language
from .negotiation import negotiate
from .page_data import PREFIXES, Link, labels, pick
from .resources import OFFERS, query_link, rdf_links, serialize
from .state import get_kg

bp = Blueprint("ontology_doc", __name__)

OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
KINDS = [
    (OWL + "Class", _l("Classes"), "class"),
    (OWL + "ObjectProperty", _l("Object properties"), "object"),
    (OWL + "DatatypeProperty", _l("Datatype properties"), "datatype"),
    (OWL + "AnnotationProperty", _l("Annotation properties"), "annotation"),
]
DETAILS = [
    (RDFS + "subClassOf", _l("Subclass of")),
    (RDFS + "subPropertyOf", _l("Subproperty of")),
    (RDFS + "domain", _l("Domain")),
    (RDFS + "range", _l("Range")),
    (OWL + "inverseOf", _l("Inverse of")),
    (OWL + "equivalentClass", _l("Equivalent to")),
    (OWL + "equivalentProperty", _l("Equivalent to")),
]
META = [
    ("http://purl.org/dc/terms/description", _l("Description")),
    (OWL + "versionInfo", _l("Version")),
    (OWL + "versionIRI", _l("Version IRI")),
    ("http://purl.org/dc/terms/license", _l("Licence")),
    ("http://purl.org/dc/terms/created", _l("Created")),
    ("http://purl.org/dc/terms/modified", _l("Modified")),
    ("http://purl.org/vocab/vann/preferredNamespacePrefix", _l("Preferred prefix")),
    ("http://purl.org/vocab/vann/preferredNamespaceUri", _l("Namespace")),
]

GRAPH = PREFIXES + f"SELECT ?g WHERE {{ GRAPH ?g {{ <{ONTOLOGY}> a <{OWL}Ontology> }} }}"
SCHEMES = (
    PREFIXES
    + """
SELECT ?s (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a skos:ConceptScheme OPTIONAL { ?c skos:inScheme ?s } }
GROUP BY ?s"""
)


def ontology_graph(kg) -> str:
    rows = kg.select(GRAPH)
    if not rows:
        raise NotFound("The ontology is not loaded in this store.")
    return rows[0]["g"].value


def triples(kg, graph: str) -> list[ox.Triple]:
    sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"
    return kg.cached(("ontology", graph), lambda: list(kg.query(sparql).triples()))


def document(kg, found: list[ox.Triple], lang: str) -> dict:
    """Group the ontology's triples into the sections of the page."""
    by_subject: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for t in found:
        by_subject[t.subject.value][t.predicate.value].append(t.object)
    names = labels(kg)

    def link(iri: str) -> Link:
        return Link(iri, names.get(iri, lang) if names.has(iri) else curie(iri))

    def term(iri: str, props: dict) -> dict:
        label_texts = pick([v for v in props.get(RDFS + "label", []) if isinstance(v, ox.Literal)], lang)
        return {
            "iri": iri,
            "anchor": iri.rsplit("#", 1)[-1],
            "curie": curie(iri),
            "label": label_texts[0] if label_texts else None,
            "labels": sorted(
                {(v.language or "", v.value) for v in props.get(RDFS + "label", []) if isinstance(v, ox.Literal)}
            ),
            "comment": next(
                iter(pick([v for v in props.get(RDFS + "comment", []) if isinstance(v, ox.Literal)], lang)), None
            ),
            "details": [
                (words, [link(v.value) for v in props.get(p, []) if isinstance(v, ox.NamedNode)])
                for p, words in DETAILS
                if props.get(p)
            ],
            "used_by": [],
        }

    sections = []
    for cls, heading, css in KINDS:
        terms = [
            term(s, p)
            for s, p in by_subject.items()
            if any(v.value == cls for v in p.get(RDF_TYPE, [])) and s.startswith(ONTOLOGY + "#")
        ]
        if terms:
            sections.append({"heading": heading, "css": css, "terms": sorted(terms, key=lambda t: t["anchor"].lower())})
    domains: dict[str, list[Link]] = defaultdict(list)
    for s, props in by_subject.items():
        for d in props.get(RDFS + "domain", []):
            domains[d.value].append(link(s))
    for section in sections:
        for t in section["terms"]:
            t["used_by"] = sorted(domains.get(t["iri"], []), key=lambda x: x.label)
    head = by_subject.get(ONTOLOGY, {})
    meta = []
    for p, words in META:
        values = head.get(p, [])
        texts = pick([v for v in values if isinstance(v, ox.Literal) and v.language], lang)
        shown = [t.value for t in texts] + [v.value for v in values if not (isinstance(v, ox.Literal) and v.language)]
        if shown:
            meta.append((words, shown))
    title = pick([v for v in head.get("http://purl.org/dc/terms/title", []) if isinstance(v, ox.Literal)], lang)
    counted = [(link(r["s"].value), int(r["n"].value)) for r in kg.select(SCHEMES)]
    schemes = [{"link": lk, "count": n} for lk, n in sorted(counted, key=lambda s: str(s[0].label).casefold())]
    return {"title": title[0].value if title else "Ontology", "meta": meta, "sections": sections, "schemes": schemes}


def show(suffix: str | None = None) -> Response:
    kg = get_kg()
    fmt = negotiate(OFFERS, suffix=suffix)
    graph = ontology_graph(kg)
    found = triples(kg, graph)
    if fmt is not HTML:
        response = Response(serialize(found, fmt), mimetype=fmt.media_type)
    else:
        from .browse import available_languages

        g.lang, g.lang_explicit = choose_language(available_languages(kg))
        doc = document(kg, found, g.lang)
        html = render_template(
            "ontology.html",
            lang=g.lang,
            iri=ONTOLOGY,
            graph=graph,
            query_link=query_link(ONTOLOGY),
            rdf_links=rdf_links("/ontology"),
            **doc,
        )
        response = Response(html, mimetype="text/html")
        response.headers["Content-Language"] = g.lang
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return conditional(response, kg)


bp.add_url_rule("/ontology", view_func=show, endpoint="ontology")
bp.add_url_rule("/ontology.<suffix>", view_func=show, endpoint="ontology_as")
