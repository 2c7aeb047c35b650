"""The typeahead of the form's search fields (``/practices/lookup``) and the reading of what a person typed into
them, over our own data (``next2met.graph.contribute.lookups``), with the store's answers cached until it changes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from next2met.graph.contribute.form import Field
from next2met.graph.contribute.lookups import Lookups
from next2met.graph.errors import InputError

from . import common

bp = Blueprint("lookup", __name__)


def lookups() -> Lookups:
    k = common.kg()
    return Lookups(k.select, common.context(), k.settings.base_iri)


def entries(f: Field) -> list[dict]:
    return lookups().entries(f, common.ui_lang())


def resolver(f: Field, text: str) -> str:
    return lookups().resolve(f, text)


@bp.get("/practices/lookup")
def lookup() -> Response:
    """Typeahead: ``?field=main_institution&q=lahti`` (``field`` may name a group's field: stakeholders.organisation)
    -> up to 20 ``{value, label}``, those whose name starts with the words first."""
    key = request.args.get("field", "")
    group, _, sub = key.partition(".")
    f = common.form().field(group)
    f = f.sub(sub) if f is not None and sub else f
    if f is None or not f.lookup:
        raise InputError(f"{key!r} is not a search field of the practice form")
    response = jsonify(lookups().search(f, request.args.get("q", ""), common.ui_lang()))
    response.headers["Cache-Control"] = "no-cache"
    return response
