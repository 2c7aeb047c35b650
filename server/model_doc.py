"""``/model``: the data model generated from the shapes, the ontology and the data itself (``graph/model.py``):
every class with its properties, ours and reused, their ranges, cardinalities and an example value; also as JSON
(``/model.json``). Linked from the query editor and the Service Description."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, render_template

from next2met.graph.model import model
from next2met.graph.prefixes import curie

from .links import href
from .state import KnowledgeGraph, get_kg

bp = Blueprint("model_doc", __name__)


def classes(kg: KnowledgeGraph):
    return kg.cached(("data-model",), lambda: model(kg.store, kg.settings.base_iri))


@bp.get("/model")
def page() -> Response:
    kg = get_kg()
    html = render_template("model.html", classes=classes(kg), curie=curie, href=href)
    return Response(html, mimetype="text/html")


@bp.get("/model.json")
def as_json() -> Response:
    return jsonify(
        [
            {**asdict(c), "properties": [{**asdict(p), "cardinality": p.cardinality} for p in c.properties]}
            for c in classes(get_kg())
        ]
    )
