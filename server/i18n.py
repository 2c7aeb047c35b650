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
    "bad-input": lazy_gettext("Bad input"),
    "bad-request": lazy_gettext("Bad request"),
    "rdf-syntax": lazy_gettext("RDF syntax error"),
    "data-file": lazy_gettext("Data file error"),
    "query-syntax": lazy_gettext("Malformed SPARQL"),
    "query-not-found": lazy_gettext("No such query"),
    "query-parameter": lazy_gettext("Bad query parameter"),
    "query-refused": lazy_gettext("Query refused"),
    "update-forbidden": lazy_gettext("Updates are not allowed"),
    "forbidden": lazy_gettext("Forbidden"),
    "unauthorized": lazy_gettext("Authentication required"),
    "not-found": lazy_gettext("Not found"),
    "not-acceptable": lazy_gettext("Not acceptable"),
    "payload-too-large": lazy_gettext("Request body too large"),
    "request-entity-too-large": lazy_gettext("Request body too large"),
    "unsupported-media-type": lazy_gettext("Unsupported media type"),
    "shapes-invalid": lazy_gettext("Data does not conform to the shapes"),
    "query-timeout": lazy_gettext("Query timed out"),
    "overloaded": lazy_gettext("Too many queries at once"),
    "preparing": lazy_gettext("Being prepared"),
    "store": lazy_gettext("Store error"),
    "method-not-allowed": lazy_gettext("Method not allowed"),
    "too-many-requests": lazy_gettext("Too many requests"),
    "conflict": lazy_gettext("Conflict"),
    "precondition-failed": lazy_gettext("Precondition failed"),
    "precondition-required": lazy_gettext("Precondition required"),
    "internal": lazy_gettext("Internal server error"),
    "config": lazy_gettext("Configuration error"),
    "insufficient-storage": lazy_gettext("The store cannot be written"),
    "memory-limit": lazy_gettext("Not enough memory for this request"),
    "query-too-deep": lazy_gettext("Query nested too deeply"),
    "requested-range-not-satisfiable": lazy_gettext("Range not satisfiable"),
    "data-folder-unwritable": lazy_gettext("The data folder cannot be written"),
    "write-back-refused": lazy_gettext("The change cannot be written to its source file"),
}
# What each problem means and what to do about it: the page /docs/problems, where every problem's type points.
PROBLEM_HELP = {
    "bad-input": lazy_gettext(
        "The request was read, but something in it is wrong: the detail names the parameter "
        "or the part of the body to correct."
    ),
    "bad-request": lazy_gettext("The request itself cannot be read, for example a form body that is cut off."),
    "config": lazy_gettext("The server is set up with a setting it cannot use; its operator must correct it."),
    "conflict": lazy_gettext(
        "The change clashes with what is there, for example a practice that exists already; the detail says how."
    ),
    "data-file": lazy_gettext(
        "A source file of the data cannot be read or mapped to RDF; the detail names the file, the line and the key."
    ),
    "forbidden": lazy_gettext("Your account is known, but its role or scope does not allow this request."),
    "insufficient-storage": lazy_gettext(
        "The store could not write: its disk is full, read-only or over its quota. "
        "Nothing was changed; try again once there is room."
    ),
    "internal": lazy_gettext("The server failed; the error has been logged for its operator."),
    "memory-limit": lazy_gettext(
        "The answer needed more memory than a worker may use; ask for less at once (a "
        "LIMIT, fewer results, a smaller body)."
    ),
    "method-not-allowed": lazy_gettext(
        "This address does not take this HTTP method; the Allow header lists those it takes."
    ),
    "not-acceptable": lazy_gettext(
        "None of the formats your Accept header asks for is on offer here; the problem lists those that are."
    ),
    "not-found": lazy_gettext("There is nothing at this address: no such resource, page, file or route."),
    "overloaded": lazy_gettext(
        "Every worker is busy with other requests; try again after the time that Retry-After gives."
    ),
    "payload-too-large": lazy_gettext(
        "The request body is larger than this server takes, in bytes or in triples; send less at once."
    ),
    "preparing": lazy_gettext(
        "The server is still making this (the dumps or the change feed, after it started or "
        "the data changed) and answers queries meanwhile; try again after the time that "
        "Retry-After gives."
    ),
    "precondition-failed": lazy_gettext(
        "The resource changed since you read it (If-Match no longer matches its "
        "ETag): read it again and make your change on the new version."
    ),
    "precondition-required": lazy_gettext(
        "A change of this resource must name the version it replaces: send If-Match with the ETag you read."
    ),
    "query-not-found": lazy_gettext("There is no research question of this name; /queries lists them."),
    "query-parameter": lazy_gettext(
        "A parameter of a research question has a value of the wrong kind; the detail says what it takes."
    ),
    "query-refused": lazy_gettext(
        "The query or update is well formed but not allowed here, for example SERVICE to "
        "an endpoint that is not on the allow-list, or LOAD."
    ),
    "query-syntax": lazy_gettext(
        "The SPARQL text does not parse; the detail gives the line and the column, what is "
        "there and what SPARQL expects."
    ),
    "query-timeout": lazy_gettext(
        "The query ran past the time limit and was stopped; narrow it down with a LIMIT or more specific patterns."
    ),
    "query-too-deep": lazy_gettext(
        "The query nests groups or expressions more deeply than this server reads; write it flatter."
    ),
    "rdf-syntax": lazy_gettext(
        "The RDF does not parse in the format that its media type or file name gives; the detail names the line."
    ),
    "requested-range-not-satisfiable": lazy_gettext("The byte range asked for lies outside the file."),
    "request-entity-too-large": lazy_gettext(
        "The request body is larger than this server takes, in bytes or in triples; send less at once."
    ),
    "shapes-invalid": lazy_gettext(
        "The data would not conform to the SHACL shapes, so nothing was written; the "
        "report lists each violation with its resource and property."
    ),
    "store": lazy_gettext("The store behind this server failed or did not answer; try again later."),
    "too-many-requests": lazy_gettext(
        "This client has as many requests running as it may at once; wait for one "
        "to finish (Retry-After says how long)."
    ),
    "unauthorized": lazy_gettext("This needs a valid token: send it as Authorization: Bearer <token>."),
    "unsupported-media-type": lazy_gettext(
        "The body's Content-Type is not one this address reads; the detail lists those it reads."
    ),
    "update-forbidden": lazy_gettext("This server takes no writes: it has no update token."),
    "data-folder-unwritable": lazy_gettext(
        "The data folder, where changes are written back to their source files, "
        "is read-only, full or gone; nothing was changed."
    ),
    "write-back-refused": lazy_gettext(
        "The change touches a graph compiled from a source file whose format cannot "
        "hold it; the detail names the file. Edit the file instead."
    ),
}
LEGEND = {  # the legend words of graph/layout.py
    "this practice": lazy_gettext("this practice"),
    "practices like it": lazy_gettext("practices like it"),
    "partner region": lazy_gettext("partner region"),
    "no region": lazy_gettext("no region"),
    "arrow: the target region learned from the source": lazy_gettext(
        "arrow: the target region learned from the source"
    ),
    "region": lazy_gettext("Region"),
    "organisation": lazy_gettext("Organisation"),
    "sector": lazy_gettext("Sector"),
    "measure": lazy_gettext("Measure type"),
    "topic": lazy_gettext("Topic"),
    "stage": lazy_gettext("Stage"),
    "stakeholder": lazy_gettext("Stakeholder type"),
    "event": lazy_gettext("Event"),
    "action": lazy_gettext("Action"),
    "related": lazy_gettext("named together"),
    "co-related": lazy_gettext("named with the same practice"),
}


ROLE_NAMES = {
    "contributor": lazy_gettext("contributor"),
    "reviewer": lazy_gettext("reviewer"),
    "admin": lazy_gettext("administrator"),
}


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
    return {
        "ui_languages": [(tag, language_name(tag)) for tag in UI_LANGUAGES],
        "current_lang": getattr(g, "lang", "en"),
        "ui_lang": current_language(),
    }


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the compiled catalogues, the language choice and the switcher."""
    CatalogueBabel(app, load_catalogues())
    app.before_request(_choose)
    app.after_request(_mark_language)
    app.context_processor(switcher)
    app.add_template_global(problem_title, "problem_title")
    app.jinja_env.globals.update(severity_names=SEVERITIES, legend_words=LEGEND, role_names=ROLE_NAMES)
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: whitespace of the template ignored
