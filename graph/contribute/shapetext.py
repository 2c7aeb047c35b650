"""The words of the practice form that come from the shapes (section labels, ``sh:name``, ``sh:description`` and the
``sh:message`` of every shape the form's data can meet), for the gettext catalogues of the interface.

``pybabel extract`` calls :func:`extract` on ``ontology/shapes.ttl`` (see babel.cfg), so a field added to the shapes
brings its words into ``messages.pot`` like any string of a template, and the i18n test asks for their translation
in every catalogue. The server shows them through ``gettext``; a message is looked up without its hint at the YAML
key, the way the form shows it.
"""

from __future__ import annotations

from collections.abc import Iterator

import rdflib

from .form import Form, build_form
from .formdata import plain_message


def strings(form: Form) -> list[str]:
    """Every text of the form that a reader sees, each once, in the form's order."""
    found: list[str] = [g.label for g in form.groups]
    for f in form.fields:
        found += [f.name, f.description]
        for sub in f.subfields:
            found += [sub.name, sub.description]
    found += [plain_message(m) for m in form.messages.values()]
    seen: set[str] = set()
    return [s for s in found if s and not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]


def extract(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor of a shapes file: yields (line, funcname, message, comments)."""
    from ..rdfio import quads_to_rdflib
    from ..sources import load_context
    from ..validate import reference_quads
    from .form import Concepts

    g = rdflib.Graph()
    g.parse(data=fileobj.read().decode("utf-8"), format="turtle")
    form = build_form(g, load_context("https://w3id.org/next2met/"), Concepts(quads_to_rdflib(reference_quads())))
    for text in strings(form):
        yield 0, "_", text, ["from the SHACL shapes (the practice form)"]
