"""The interface in the partners' languages: Flask-Babel with gettext catalogues.

The catalogues are the ``.po`` files of ``server/translations/{lang}/LC_MESSAGES/messages.po``; they are compiled
in memory when the app starts (no ``.mo`` files in the repository or the package, so a fresh clone and an editable
install need no compile step, and two branches that add strings never conflict over a binary file). Babel's
``pybabel extract`` / ``update`` keep them in step with the code; README.md says how.

The reader's language is ``?lang=`` when it names one we offer, else the best match of ``Accept-Language``, else
English. The same choice drives the data shown on a page (with a visible fallback when a value is not written in
that language; see describe.pick), so interface and content never disagree.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask, Response, g
from flask_babel import Babel, Domain, get_locale, gettext, lazy_gettext, ngettext

from .links import UI_LANGUAGES, choose_language, language_name

__all__ = ["UI_LANGUAGES", "gettext", "lazy_gettext", "ngettext", "init_app", "load_catalogues"]

TRANSLATIONS = Path(__file__).parent / "translations"
DOMAIN = "messages"


def load_catalogues(folder: Path = TRANSLATIONS) -> dict[tuple[str, str], Translations]:
    """Compile every ``{lang}/LC_MESSAGES/messages.po`` under ``folder`` in memory (fuzzy entries left out)."""
    catalogues: dict[tuple[str, str], Translations] = {}
    for po in sorted(folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po.parent.parent.name
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        catalogues[(lang, DOMAIN)] = Translations(buffer, domain=DOMAIN)
    catalogues.setdefault(("en", DOMAIN), Translations())  # the source language: the msgids themselves
    return catalogues


class CatalogueDomain(Domain):
    """A gettext domain whose translations are the catalogues compiled at start-up (never read from disk again)."""

    def __init__(self, catalogues: dict[tuple[str, str], Translations]) -> None:
        super().__init__(translation_directories=[str(TRANSLATIONS)], domain=DOMAIN)
        self.cache = catalogues

    def get_translations_cache(self, ctx):
        return self.cache


class CatalogueBabel(Babel):
    """Flask-Babel whose domain is one CatalogueDomain for the app's life (Flask-Babel 4 makes a new domain per
    request context, which would read the catalogues from disk on every request)."""

    def __init__(self, app: Flask, catalogues: dict[tuple[str, str], Translations]) -> None:
        self._domain = CatalogueDomain(catalogues)
        super().__init__(app, locale_selector=select_locale, default_domain=DOMAIN)

    @property
    def domain_instance(self) -> Domain:
        return self._domain


# Words that other layers (graph/, the problem handlers) give in English, shown in the reader's language.
SEVERITIES = {"Violation": lazy_gettext("Violation"), "Warning": lazy_gettext("Warning"), "Info": lazy_gettext("Info")}
PROBLEM_TITLES = {  # by problem slug (see problems.py and graph/errors.py)
    "bad-input": lazy_gettext("Bad input"), "bad-request": lazy_gettext("Bad request"),
    "rdf-syntax": lazy_gettext("RDF syntax error"), "data-file": lazy_gettext("Data file error"),
    "query-syntax": lazy_gettext("Malformed SPARQL"), "query-not-found": lazy_gettext("No such query"),
    "query-parameter": lazy_gettext("Bad query parameter"), "query-refused": lazy_gettext("Query refused"),
    "update-forbidden": lazy_gettext("Updates are not allowed"), "forbidden": lazy_gettext("Forbidden"),
    "unauthorized": lazy_gettext("Authentication required"), "not-found": lazy_gettext("Not found"),
    "not-acceptable": lazy_gettext("Not acceptable"), "payload-too-large": lazy_gettext("Request body too large"),
    "request-entity-too-large": lazy_gettext("Request body too large"),
    "unsupported-media-type": lazy_gettext("Unsupported media type"),
    "shapes-invalid": lazy_gettext("Data does not conform to the shapes"),
    "query-timeout": lazy_gettext("Query timed out"), "overloaded": lazy_gettext("Too many queries at once"),
    "store": lazy_gettext("Store error"), "store-empty": lazy_gettext("The store holds no data yet"),
    "method-not-allowed": lazy_gettext("Method not allowed"), "too-many-requests": lazy_gettext("Too many requests"),
    "conflict": lazy_gettext("Conflict"), "precondition-failed": lazy_gettext("Precondition failed"),
    "precondition-required": lazy_gettext("Precondition required"), "internal": lazy_gettext("Internal server error"),
}
LEGEND = {  # the legend words of graph/layout.py
    "this practice": lazy_gettext("this practice"), "practices like it": lazy_gettext("practices like it"),
    "partner region": lazy_gettext("partner region"), "no region": lazy_gettext("no region"),
    "arrow: the target region learned from the source":
        lazy_gettext("arrow: the target region learned from the source"),
    "region": lazy_gettext("Region"), "organisation": lazy_gettext("Organisation"), "sector": lazy_gettext("Sector"),
    "measure": lazy_gettext("Measure type"), "topic": lazy_gettext("Topic"), "stage": lazy_gettext("Stage"),
    "stakeholder": lazy_gettext("Stakeholder type"), "event": lazy_gettext("Event"), "action": lazy_gettext("Action"),
    "related": lazy_gettext("named together"), "co-related": lazy_gettext("named with the same practice"),
}


ROLE_NAMES = {"contributor": lazy_gettext("contributor"), "reviewer": lazy_gettext("reviewer"),
              "admin": lazy_gettext("administrator")}


def problem_title(problem: dict) -> str:
    """The title of a problem page in the reader's language (the JSON form keeps the English title)."""
    slug = str(problem.get("type", "")).rsplit("#", 1)[-1]
    return str(PROBLEM_TITLES.get(slug, problem.get("title", "")))


def select_locale() -> str:
    """The interface language of this request (see the module docstring)."""
    lang = getattr(g, "lang", None)
    if lang in UI_LANGUAGES:
        return lang
    return choose_language(list(UI_LANGUAGES))[0]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _choose() -> None:
    """Choose the reader's language before the view runs; pages whose data has more languages choose again."""
    if not hasattr(g, "lang"):
        g.lang, g.lang_explicit = choose_language(list(UI_LANGUAGES))


def _mark_language(response: Response) -> Response:
    """HTML in the reader's language says so, and caches keep one copy per language."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Language", getattr(g, "lang", "en"))
        response.vary.add("Accept-Language")
    return response


def switcher() -> dict:
    """What base.html needs on every page: the interface languages and the current one."""
    return {"ui_languages": [(tag, language_name(tag)) for tag in UI_LANGUAGES],
            "current_lang": getattr(g, "lang", "en"), "ui_lang": current_language()}


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the compiled catalogues, the language choice and the switcher."""
    CatalogueBabel(app, load_catalogues())
    app.before_request(_choose)
    app.after_request(_mark_language)
    app.context_processor(switcher)
    app.add_template_global(problem_title, "problem_title")
    app.add_template_global(SEVERITIES, "severity_names")
    app.add_template_global(LEGEND, "legend_words")
    app.add_template_global(ROLE_NAMES, "role_names")
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: whitespace of the template ignored
