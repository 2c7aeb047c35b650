"""The history of a practice over HTTP: ``/practice/{slug}/history`` (HTML, JSON, or RDF with each version as a
``prov:Activity``), ``/practice/{slug}/diff?from=V1&to=V2`` (what changed, in words, per field and language) and
the content of a version, which ``/practice/{slug}?version=V`` shows and ``POST /api/practices/{slug}/revert``
restores. The versions themselves are kept by the write path (``next2met.graph.changes.history``)."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, jsonify, render_template, request

from next2met.graph.changes import History
from next2met.graph.changes.diff import resource_changes
from next2met.graph.errors import InputError, NotFound
from next2met.graph.formats import HTML, PLAIN_JSON, RDF_FORMATS
from next2met.graph.sources import load_context

from .negotiation import negotiate
from .resources import serialize
from .state import KnowledgeGraph, get_kg

bp = Blueprint("history", __name__)
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _iri(slug: str) -> str:
    from .api import _practice_iri

    return _practice_iri(slug)


def _graphs(kg: KnowledgeGraph, history: History, iri: str) -> list[str]:
    """The graphs that held the practice at some version (its own graph first)."""
    own = f"{kg.settings.base_iri}graph/practices/{iri.rsplit('/', 1)[-1]}"
    seen = [own]
    for v in history.versions():
        if iri in v.subjects:
            seen += [g.graph for g in v.graphs if g.graph not in seen and not g.graph.endswith("/provenance")]
    return seen


def versions_of(kg: KnowledgeGraph, iri: str):
    """The versions that changed the practice, oldest first."""
    history = History(kg.settings.data_path)
    graphs = set(_graphs(kg, history, iri))
    return [
        v
        for v in history.versions()
        if iri in v.subjects or any(g.graph in graphs and iri in v.fields for g in v.graphs)
    ]


def practice_at(kg: KnowledgeGraph, iri: str, number: int) -> list[ox.Triple] | None:
    """The practice's triples (itself and its #fragments) after version ``number`` (0: before its first recorded
    change); None when it did not exist then. NotFound for a version the history does not know."""
    history = History(kg.settings.data_path)
    if number < 0 or (number > 0 and history.get(number) is None):
        raise NotFound(f"there is no version {number}; see /practice/{iri.rsplit('/', 1)[-1]}/history")
    for graph in _graphs(kg, history, iri):
        known, triples = history.content_at(graph, number)
        if known:
            own = [t for t in triples or () if t.subject.value.split("#", 1)[0] == iri]
            if own or triples is None:
                return own or None
    # never changed through the write path: every version of it is the one the store has
    found = kg.store.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
        f'FILTER (?s = <{iri}> || STRSTARTS(STR(?s), "{iri}#")) }}'
    ).triples()
    return list(found) or None


@bp.get("/practice/<slug>/history")
def history(slug: str) -> Response:
    kg, iri = get_kg(), _iri(slug)
    versions = versions_of(kg, iri)
    if not versions and not kg.store.ask(f"ASK {{ <{iri}> ?p ?o }}"):
        raise NotFound(f"there is no practice {iri}")
    fmt = negotiate((HTML, PLAIN_JSON, *RDF_FORMATS), what="the history of a practice")
    if fmt in RDF_FORMATS:
        return Response(serialize(_activities(kg, iri, versions), fmt), mimetype=fmt.media_type)
    rows = [{**v.as_json(), "changes": v.fields.get(iri, [])} for v in reversed(versions)]
    if fmt is PLAIN_JSON:
        return jsonify({"practice": iri, "versions": rows})
    return Response(render_template("history.html", iri=iri, slug=slug, versions=rows), mimetype=HTML.media_type)


def _activities(kg: KnowledgeGraph, iri: str, versions) -> list[ox.Triple]:
    """Each version as a prov:Activity that used the practice's previous state and generated the new one."""
    base = kg.settings.base_iri
    out = []
    for v in versions:
        act = ox.NamedNode(f"{iri}/history#version-{v.number}")
        out += [
            ox.Triple(act, ox.NamedNode(RDF_TYPE), ox.NamedNode(PROV + "Activity")),
            ox.Triple(
                act, ox.NamedNode(PROV + "endedAtTime"), ox.Literal(v.at, datatype=ox.NamedNode(XSD + "dateTime"))
            ),
            ox.Triple(
                act,
                ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                ox.Literal(f"version {v.number}: {v.message or v.channel}", language="en"),
            ),
            ox.Triple(act, ox.NamedNode(PROV + "wasAssociatedWith"), ox.NamedNode(f"{base}agent/{_slugify(v.author)}")),
            ox.Triple(
                ox.NamedNode(f"{base}agent/{_slugify(v.author)}"),
                ox.NamedNode("http://xmlns.com/foaf/0.1/name"),
                ox.Literal(v.author),
            ),
            ox.Triple(act, ox.NamedNode(PROV + "generated"), ox.NamedNode(f"{iri}?version={v.number}")),
            ox.Triple(
                ox.NamedNode(f"{iri}?version={v.number}"), ox.NamedNode(PROV + "specializationOf"), ox.NamedNode(iri)
            ),
        ]
        earlier = [w for w in versions if w.number < v.number]
        used = f"{iri}?version={earlier[-1].number}" if earlier else f"{iri}?version=0"
        out.append(ox.Triple(act, ox.NamedNode(PROV + "used"), ox.NamedNode(used)))
    return out


def _slugify(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "anonymous"


@bp.get("/practice/<slug>/diff")
def diff(slug: str) -> Response:
    kg, iri = get_kg(), _iri(slug)
    versions = versions_of(kg, iri)
    try:
        to = int(request.args.get("to") or (versions[-1].number if versions else 0))
        earlier = [v.number for v in versions if v.number < to]
        start = int(request.args.get("from") or (earlier[-1] if earlier else 0))
    except ValueError:
        raise InputError("from and to are version numbers, as listed on the history page") from None
    old, new = practice_at(kg, iri, start), practice_at(kg, iri, to)
    context = load_context(kg.settings.base_iri, kg.settings.data_path)
    changes = resource_changes(old, new, iri, context, kg.settings.base_iri)
    body = {"practice": iri, "from": start, "to": to, "changes": [c.as_json() for c in changes]}
    if negotiate((HTML, PLAIN_JSON), what="a comparison of versions") is HTML:
        return Response(render_template("diff.html", iri=iri, slug=slug, diff=body), mimetype="text/html")
    return jsonify(body)
