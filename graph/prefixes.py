"""Prefixes, once: those of the source format (``data/context.jsonld``) and the standard ones of the other
vocabularies we write (SHACL, VoID, the service description, DCAT-AP's vCard and SPDX, LDES).

``curie()`` shortens an IRI for people, ``prologue()`` writes the PREFIX lines of our own SPARQL, and
``used_in()`` picks the prefixes a Turtle or RDF/XML document needs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable

from . import paths

STANDARD = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "sh": "http://www.w3.org/ns/shacl#",
    "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "spdx": "http://spdx.org/rdf/terms#",
    "vann": "http://purl.org/vocab/vann/",
    "ldes": "https://w3id.org/ldes#",
    "tree": "https://w3id.org/tree#",
}


@functools.cache
def prefixes() -> dict[str, str]:
    """Every prefix we know, name → namespace, sorted by name: the context's, then the standard ones it lacks."""
    context = json.loads(paths.CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]
    found = {
        name: value
        for name, value in context.items()
        if isinstance(value, str) and not name.startswith("@") and value.endswith(("/", "#"))
    }
    return dict(sorted({**STANDARD, **found}.items()))


def namespace(name: str) -> str:
    return prefixes()[name]


def curie(iri: str) -> str:
    """``dcterms:title`` for http://purl.org/dc/terms/title; the IRI itself when no prefix fits (the longest
    namespace wins, so a nested one is never cut at its parent)."""
    best = max((ns for ns in prefixes().values() if iri.startswith(ns) and len(iri) > len(ns)), key=len, default="")
    if not best:
        return iri
    name = next(p for p, ns in prefixes().items() if ns == best)
    return f"{name}:{iri[len(best) :]}"


def prologue(*names: str) -> str:
    """The PREFIX lines for ``names`` (every prefix when none is named), one a line, for our own queries."""
    chosen = names or tuple(prefixes())
    return "".join(f"PREFIX {name}: <{prefixes()[name]}>\n" for name in chosen)


def used_in(iris: Iterable[str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The prefixes (ours and ``extra``) whose namespace starts one of ``iris``: what a Turtle document needs."""
    known = {**prefixes(), **(extra or {})}
    seen = set(iris)
    return {name: ns for name, ns in known.items() if any(iri.startswith(ns) for iri in seen)}
