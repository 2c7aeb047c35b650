"""Why two practices are related, in the reader's language.

The graph layer says which links two practices share, as data (``graph.analyse.PracticeGraph.reasons``: a kind of
link and the organisations, concepts, regions, events, actions or practices it runs through). This module phrases
each kind with gettext, in the plural form that the number of things named asks for, names the things in the
reader's language with the labels' usual fallback (English, then a value without language), and joins the lists
the way the language does (``babel.lists.format_list``). The practice page and the network page show the sentence;
``/practice/{slug}/related`` gives both the data and the sentences as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from babel.lists import format_list
from flask import Blueprint, Response, g, jsonify

from next2met.graph.errors import NotFound

from .caching import conditional
from .i18n import current_language, ngettext
from .i18n import gettext as _
from .links import choose_language
from .page_data import labels, practice_graph
from .state import get_kg

if TYPE_CHECKING:  # networkx, under graph.analyse, is imported when first needed, not at start-up
    from next2met.graph.analyse import PracticeGraph, Reason, Related

bp = Blueprint("related", __name__)
NAMED = 3  # things of one kind named in a sentence; the rest are counted ("and 2 more")
LIMIT = 8  # related practices on a practice page and in its JSON

Label = Callable[[str], str]


def _names(reason: Reason, label: Label) -> str:
    shown = [label(n) for n in reason.nodes[:NAMED]]
    if len(reason.nodes) > NAMED:
        rest = len(reason.nodes) - NAMED
        shown.append(ngettext("%(num)d more", "%(num)d more", rest))
    return format_list(shown, locale=current_language())


def clause(reason: Reason, label: Label) -> str:
    """One reason in words, in the reader's language."""
    n, names = len(reason.nodes), _names(reason, label) if reason.nodes else ""
    kind = reason.kind
    if kind == "related":
        return _("the sources name the two together")
    if kind == "co-related":
        return ngettext(
            "both are named with the practice %(names)s", "both are named with the practices %(names)s", n, names=names
        )
    if kind == "action":
        return ngettext("linked through the action %(names)s", "linked through the actions %(names)s", n, names=names)
    if kind == "sector":
        return ngettext("shares the sector %(names)s", "shares the sectors %(names)s", n, names=names)
    if kind == "measure":
        return ngettext("shares the measure type %(names)s", "shares the measure types %(names)s", n, names=names)
    if kind == "topic":
        return ngettext("shares the programme topic %(names)s", "shares the programme topics %(names)s", n, names=names)
    if kind == "organisation":
        return ngettext(
            "both work with the organisation %(names)s", "both work with the organisations %(names)s", n, names=names
        )
    if kind == "event":
        return ngettext(
            "both were presented at the event %(names)s", "both were presented at the events %(names)s", n, names=names
        )
    if kind == "region":
        return ngettext("both are in the region %(names)s", "both are in the regions %(names)s", n, names=names)
    if kind == "stakeholder":
        return ngettext(
            "both involve the stakeholder type %(names)s",
            "both involve the stakeholder types %(names)s",
            n,
            names=names,
        )
    if kind == "stage":
        return ngettext(
            "both act at the innovation stage %(names)s", "both act at the innovation stages %(names)s", n, names=names
        )
    raise ValueError(f"no words for the kind of link {kind!r}")


def sentence(reasons: list[Reason], label: Label) -> str:
    """Every reason in one sentence: the clauses joined by semicolons, the first letter capitalised."""
    text = "; ".join(clause(r, label) for r in reasons)
    return text[:1].upper() + text[1:]


def as_json(pg: PracticeGraph, related: Related, label: Label) -> dict:
    """A related practice for programs: the reasons as data (kind, and the IRI and label of each thing) with each
    one's words, and the whole sentence as the page shows it."""
    reasons = pg.reasons(related)
    return {
        "practice": related.iri,
        "label": label(related.iri),
        "score": related.score,
        "reason": sentence(reasons, label),
        "reasons": [
            {
                "kind": r.kind,
                "nodes": [{"iri": n, "label": label(n)} for n in r.nodes],
                "text": clause(r, label),
            }
            for r in reasons
        ],
    }


@bp.get("/practice/<slug>/related")
def related(slug: str) -> Response:
    """The practices most like this one, with why, as JSON in the reader's language (``?lang=``,
    ``Accept-Language``)."""
    from .browse import available_languages

    kg = get_kg()
    iri = f"{kg.settings.base_iri}practice/{slug}"
    pg = practice_graph(kg)
    if iri not in pg.features:
        raise NotFound(f"there is no practice {iri}")
    g.lang, g.lang_explicit = choose_language(available_languages(kg))
    names = labels(kg)

    def label(node: str) -> str:
        return names.get(node, g.lang)

    response = jsonify(
        {
            "practice": iri,
            "language": current_language(),
            "related": [as_json(pg, r, label) for r in pg.related(iri, LIMIT)],
        }
    )
    response.headers["Content-Language"] = current_language()  # and so the ETag differs by language
    response.headers["Vary"] = "Accept-Language"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return conditional(response, kg)
