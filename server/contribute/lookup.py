"""Search among our own resources for the form's search fields (organisations, regions, projects, events): the
options a field offers (all of them, for the page's datalist that works without JavaScript), the typeahead answer
(``/practices/lookup``) and the reading of what a person typed (a name, a code or an address) as the reference the
YAML takes."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, Response, jsonify, request

from next2met.graph.contribute.form import Field
from next2met.graph.errors import InputError

from . import common

bp = Blueprint("lookup", __name__)
LABELS = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2004/02/skos/core#altLabel",
          "http://www.w3.org/2000/01/rdf-schema#label", "http://purl.org/dc/terms/title",
          "http://www.w3.org/2004/02/skos/core#notation")


def fold(text: str) -> str:
    """Lower case without accents: 'Päijät-Häme' is found by 'paijat'."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _term(f: Field) -> dict:
    spec = common.context().get(f.key)
    return spec if isinstance(spec, dict) else {}


def ref_of(f: Field, iri: str) -> str:
    """How the YAML writes a link to ``iri`` in this field: a code under the term's ``@vocab`` (NUTS), or an IRI
    relative to the base (``organisation/emra``)."""
    spec = _term(f)
    vocab = (spec.get("@context") or {}).get("@vocab") if spec.get("@type") == "@vocab" else None
    if vocab and iri.startswith(vocab):
        return iri[len(vocab):]
    base = common.kg().settings.base_iri
    return iri[len(base):] if iri.startswith(base) else iri


def entries(f: Field) -> list[dict]:
    """Every instance of the field's class: its reference, its label in the reader's language and what it is
    found by (every label, in every language, and the code)."""
    k = common.kg()
    predicates = ", ".join(f"<{p}>" for p in LABELS)
    rows = k.select(f"SELECT ?s ?p ?l WHERE {{ ?s a <{f.lookup}> . "
                    f"OPTIONAL {{ ?s ?p ?l FILTER (?p IN ({predicates})) }} }}")
    found: dict[str, dict] = {}
    lang = common.ui_lang()
    for r in rows:
        iri = r["s"].value
        entry = found.setdefault(iri, {"value": ref_of(f, iri), "labels": {}, "words": set()})
        label = r.get("l")
        if label is None:
            continue
        entry["words"].add(fold(label.value))
        if r["p"].value != LABELS[-1] and r["p"].value != LABELS[1]:
            entry["labels"].setdefault(getattr(label, "language", "") or "en", label.value)
    out = []
    for entry in found.values():
        names = entry["labels"]
        name = names.get(lang) or names.get("en") or next(iter(names.values()), entry["value"])
        out.append({"value": entry["value"], "label": name, "words": entry["words"] | {fold(entry["value"])}})
    return sorted(out, key=lambda e: fold(e["label"]))


def resolver(f: Field, text: str) -> str:
    """What a person typed into a search field, as the YAML's reference: an exact reference stays, a name or code
    of one of our resources becomes its reference, an address of ours becomes relative; anything else stays as
    typed (the shapes then say that it is not one of ours)."""
    if not f.lookup:
        return text
    folded = fold(text.strip())
    options = entries(f)
    for e in options:
        if e["value"] == text.strip():
            return e["value"]
    for e in options:
        if folded == fold(e["label"]) or folded in e["words"]:
            return e["value"]
    return ref_of(f, text.strip())


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
    q = fold(request.args.get("q", "").strip())[:100]
    found = [e for e in entries(f) if not q or any(q in w for w in e["words"])]
    found.sort(key=lambda e: (not fold(e["label"]).startswith(q), fold(e["label"])))
    response = jsonify([{"value": e["value"], "label": e["label"]} for e in found[:20]])
    response.headers["Cache-Control"] = "no-cache"
    return response
