"""Map IRIs to the URLs of this server and back, and choose the reader's language.

The server serves every IRI under ``Settings.base_iri`` at the same path on its own origin (``{base}practice/x``
→ ``/practice/x``), the EU NUTS IRIs we describe at ``/region/{code}``, and our ontology at ``/ontology``. The
RDF keeps the IRIs unchanged.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from flask import current_app, g, request

NUTS = "http://data.europa.eu/nuts/code/"
ONTOLOGY = "https://w3id.org/next2met/ontology"
# Path segments we accept in resource URLs: slugs, NUTS codes and graph paths (no quotes, brackets or spaces,
# so a segment can never break out of an IRI in a query).
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
LANGUAGE_NAMES = {
    "en": "English",
    "fi": "suomi",
    "sv": "svenska",
    "de": "Deutsch",
    "ca": "català",
    "es": "español",
    "pl": "polski",
    "ga": "Gaeilge",
    "fr": "français",
    "it": "italiano",
    "pt": "português",
    "nl": "Nederlands",
}
TAG = re.compile(r"^[a-z]{2,3}$")
# The interface languages (server/i18n.py): the partner regions' languages and English.
UI_LANGUAGES = ("en", "fi", "de", "es", "ca", "pl")


def base_iri() -> str:
    return current_app.config["NEXT2MET_SETTINGS"].base_iri


def iri_to_path(iri: str, base: str | None = None) -> str | None:
    """The local path that serves ``iri``, or None when the IRI is not ours (then link to the IRI itself)."""
    base = base or base_iri()
    if iri == ONTOLOGY or iri.startswith(ONTOLOGY + "#"):
        return "/ontology" + iri[len(ONTOLOGY) :]
    if iri.startswith(NUTS):
        code = iri[len(NUTS) :]
        return "/region/" + code if SEGMENT.match(code) else None
    if iri.startswith(base):
        rest = iri[len(base) :]
        return "/" + quote(rest, safe="/#-._~:@!$&'()*+,;=") if rest else "/"
    return None


def path_to_iri(kind: str, rest: str, base: str | None = None) -> str | None:
    """The IRI a resource URL stands for, or None when a segment has characters no IRI of ours has."""
    if not all(SEGMENT.match(part) for part in rest.split("/")):
        return None
    if kind == "region":
        return NUTS + rest
    return f"{base or base_iri()}{kind}/{rest}"


def href(iri: str) -> str:
    """Where a link to ``iri`` should point: our page (keeping an explicit ?lang=) or the IRI itself."""
    path = iri_to_path(iri)
    return iri if path is None else lang_path(path)


def url_with(**changes: object) -> str:
    """The current URL with some query parameters replaced (None removes one); lists become repeated keys."""
    args: dict[str, list[str]] = {k: request.args.getlist(k) for k in request.args}
    for key, value in changes.items():
        if value is None or value == [] or value == "":
            args.pop(key, None)
        elif isinstance(value, list | tuple):
            args[key] = [str(v) for v in value]
        else:
            args[key] = [str(value)]
    query = urlencode([(k, v) for k, values in args.items() for v in values])
    return request.path + ("?" + query if query else "")


def choose_language(available: list[str]) -> tuple[str, bool]:
    """The language to show: ``?lang=`` if the interface or the data has it, else the best of Accept-Language,
    else English. Values missing in that language are shown in another, marked (see describe.pick).

    Returns the tag and whether the reader chose it explicitly (then our links keep it).
    """
    offered = list(UI_LANGUAGES) + [t for t in available if t not in UI_LANGUAGES]
    asked = request.args.get("lang", "").strip().lower()
    if TAG.match(asked) and asked in offered:
        return asked, True
    # By quality, each tag by its primary subtag ("de-AT" is German): werkzeug's best_match would prefer an exact
    # "en;q=0.5" to a "de-AT" of quality 1.
    for tag, _quality in request.accept_languages:
        primary = tag.split("-")[0].lower()
        if primary in offered:
            return primary, False
    return "en", False


def lang_path(path: str) -> str:
    """A link to one of our pages that keeps the reader's explicit ``?lang=``."""
    lang = getattr(g, "lang", None)
    if lang and getattr(g, "lang_explicit", False):
        page, _, fragment = path.partition("#")
        joiner = "&" if "?" in page else "?"
        return page + joiner + urlencode({"lang": lang}) + ("#" + fragment if fragment else "")
    return path


def language_name(tag: str) -> str:
    return LANGUAGE_NAMES.get(tag, tag)
