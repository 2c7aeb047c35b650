"""Build the HTML page of a good practice: every template field in the reader's language, the learning chain it
started, its provenance, the practices like it, and schema.org JSON-LD for search engines."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pyoxigraph as ox
from flask import request
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, SKOS

from next2met.graph.vocab import N2M, SCHEMA

from . import related as why
from .i18n import gettext as _
from .i18n import lazy_gettext as _l
from .links import iri_to_path, language_name
from .page_data import PREFIXES, Link, Page, Text, definition, practice_graph
from .state import KnowledgeGraph

# The text fields of the Interreg Europe template: key, predicate, heading.
TEXT_FIELDS = [
    ("summary", DCTERMS.abstract, _l("Summary")),
    ("description", DCTERMS.description, _l("Detailed description")),
    ("location", N2M.locationNote, _l("Location")),
    ("theme", N2M.theme, _l("Theme")),
    ("resources", N2M.resourcesNeeded, _l("Resources needed")),
    ("evidence", N2M.evidenceOfSuccess, _l("Evidence of success")),
    ("difficulties", N2M.difficulties, _l("Difficulties encountered")),
    ("transfer_potential", N2M.transferPotential, _l("Potential for learning or transfer")),
]
LINK_FIELDS = [
    ("regions", DCTERMS.spatial),
    ("main_institutions", N2M.mainInstitution),
    ("stages", N2M.innovationStage),
    ("measures", N2M.measureType),
    ("sectors", N2M.ris3Sector),
    ("topics", N2M.programmeTopic),
    ("standing", N2M.standing),
    ("source_project", N2M.sourceProject),
    ("submitted_by", N2M.submittedBy),
    ("presented_at", N2M.presentedAt),
    ("related", DCTERMS.relation),
    ("part_of", DCTERMS.isPartOf),
    ("confidence", N2M.confidence),
]

ACTIONS = (
    PREFIXES
    + """
SELECT ?action ?how ?plan ?region ?instrument WHERE {{
  {{ ?action n2m:inspiredBy {p} BIND("stated" AS ?how) }}
  UNION {{ ?action n2m:plausiblyInspiredBy {p} BIND("inferred" AS ?how) }}
  UNION {{ ?action dcterms:relation {p} ; a n2m:Action BIND("named" AS ?how) }}
  OPTIONAL {{ ?action dcterms:isPartOf ?plan . OPTIONAL {{ ?plan dcterms:spatial ?region }} }}
  OPTIONAL {{ ?action n2m:improves ?instrument }}
}}"""
)

GRAPH = (
    PREFIXES
    + """
SELECT ?g ?file WHERE {{ GRAPH ?g {{ {p} a ?type }} OPTIONAL {{ ?g dcterms:identifier ?file }} }}"""
)

DATES = (
    PREFIXES
    + """
SELECT ?e ?start ?end WHERE {{
  VALUES ?e {{ {events} }} ?e schema:startDate ?start OPTIONAL {{ ?e schema:endDate ?end }}
}}"""
)


def number(value: str) -> str:
    """``234677.84`` → ``234,677.84``; ``155000`` → ``155,000`` (what the data says, grouped for reading)."""
    try:
        d = Decimal(value)
    except InvalidOperation:
        return value
    return f"{d:,f}" if d != d.to_integral_value() else f"{int(d):,}"


def _nested(page: Page, pred) -> list[dict]:
    out = []
    for node in page.nested(str(pred)):
        out.append(
            {
                "id": node.fragment,
                "value": number(node.literal(str(SCHEMA.value))) if node.literal(str(SCHEMA.value)) else "",
                "currency": node.literal(str(SCHEMA.currency)),
                "covers": node.text(str(SCHEMA.description)),
                "unit": node.text(str(SCHEMA.unitText)),
                "when": node.literal(str(DCTERMS.date)),
                "date": node.literal(str(SCHEMA.startDate)),
                "label": node.text("http://www.w3.org/2000/01/rdf-schema#label"),
                "agent": next(iter(node.links(str(PROV.agent))), None),
                "type": next(iter(node.links(str(N2M.stakeholderType))), None),
                "role": next(iter(node.links(str(DCAT.hadRole))), None),
            }
        )
    return out


def actions(kg: KnowledgeGraph, page: Page) -> list[dict]:
    """The actions of action plans that this practice inspired (stated), plausibly inspired, or is named by."""
    rows = kg.select(ACTIONS.format(p=ox.NamedNode(page.iri)))
    seen: dict[str, dict] = {}
    for r in rows:
        a = r["action"].value
        entry = seen.setdefault(
            a, {"action": Link(a, page.label(a)), "how": set(), "plan": None, "region": None, "instrument": None}
        )
        entry["how"].add(r["how"].value)
        for key in ("plan", "region", "instrument"):
            if key in r and entry[key] is None:
                entry[key] = Link(r[key].value, page.label(r[key].value))
    order = {"stated": 0, "inferred": 1, "named": 2}
    for entry in seen.values():
        entry["how"] = min(entry["how"], key=order.__getitem__)
    return sorted(seen.values(), key=lambda e: (order[e["how"]], e["action"].label))


def provenance(kg: KnowledgeGraph, page: Page) -> dict:
    rows = kg.select(GRAPH.format(p=ox.NamedNode(page.iri)))
    graphs = sorted({(r["g"].value, r["file"].value if "file" in r else "") for r in rows})
    return {
        "sources": sorted(v.value for v in page.values(str(DCTERMS.source))),
        "confidence": next(iter(page.links(str(N2M.confidence))), None),
        "confidence_note": page.text(str(N2M.confidenceNote)),
        "modified": page.literal(str(DCTERMS.modified)),
        "graphs": [{"link": Link(gr, file or page.label(gr)), "file": file} for gr, file in graphs],
    }


def event_dates(kg: KnowledgeGraph, events: list[Link]) -> dict[str, str]:
    if not events:
        return {}
    rows = kg.select(DATES.format(events=" ".join(str(ox.NamedNode(e.iri)) for e in events)))
    return {r["e"].value: r["start"].value + (f" – {r['end'].value}" if "end" in r else "") for r in rows}


def schema_org(
    page: Page, texts: dict[str, Text | None], links: dict[str, list[Link]], keywords: list[Text], prov: dict
) -> dict:
    """A schema.org description for search engines (CreativeWork: a described practice)."""
    title = page.text(str(DCTERMS.title))
    path = iri_to_path(page.iri) or ""
    doc: dict = {
        "@context": "https://schema.org",
        "@type": "CreativeWork",
        "@id": page.iri,
        "url": request.host_url.rstrip("/") + path,
        "name": title.value if title else page.label(page.iri),
        "inLanguage": title.lang if title else page.lang,
    }
    if summary := texts.get("summary"):
        doc["abstract"] = summary.value
    if description := texts.get("description"):
        doc["description"] = description.value
    if keywords:
        doc["keywords"] = ", ".join(k.value for k in keywords)
    awards = page.texts(str(SCHEMA.award))
    if awards:
        doc["award"] = [a.value for a in awards]
    if prov["modified"]:
        doc["dateModified"] = prov["modified"]
    start, end = page.literal(str(SCHEMA.startDate)), page.literal(str(SCHEMA.endDate))
    if start:
        doc["temporalCoverage"] = f"{start}/{end or '..'}"
    if links["regions"]:
        doc["spatialCoverage"] = [{"@type": "Place", "@id": r.iri, "name": r.label} for r in links["regions"]]
    if links["main_institutions"]:
        doc["sourceOrganization"] = [
            {"@type": "Organization", "@id": o.iri, "name": o.label} for o in links["main_institutions"]
        ]
    about = links["measures"] + links["sectors"] + links["stages"]
    if about:
        doc["about"] = [{"@type": "DefinedTerm", "@id": c.iri, "name": c.label} for c in about]
    if prov["sources"]:
        doc["isBasedOn"] = prov["sources"]
    return doc


def context(kg: KnowledgeGraph, page: Page) -> dict:
    """Everything practice.html shows."""
    from next2met.graph import layout  # networkx: imported when first drawn, not at start-up (0.6-0.9 s)

    texts = {key: page.text(str(pred)) for key, pred, _ in TEXT_FIELDS}
    links = {key: page.links(str(pred)) for key, pred in LINK_FIELDS}
    keywords = page.texts(str(DCAT.keyword))
    title = page.text(str(DCTERMS.title))
    headings = {key: heading for key, _, heading in TEXT_FIELDS}
    fallbacks = [str(headings[k]) for k, t in texts.items() if t and t.fallback]
    if title and title.fallback:
        fallbacks.insert(0, _("Title"))
    if keywords and keywords[0].fallback:
        fallbacks.append(_("Keywords"))
    in_languages = sorted({t.lang for t in _all_langs(page, str(DCTERMS.title))} - {""})
    prov = provenance(kg, page)
    standing = links["standing"][0] if links["standing"] else None
    pg = practice_graph(kg)
    related = [
        {"link": Link(r.iri, page.label(r.iri)), "score": r.score, "reason": why.sentence(pg.reasons(r), page.label)}
        for r in pg.related(page.iri, why.LIMIT)
    ]
    milestones = sorted(_nested(page, N2M.milestone), key=lambda m: m["date"] or "9999")
    return {
        "title": title.value if title else page.label(page.iri),
        "title_text": title,
        "texts": texts,
        "headings": headings,
        "text_fields": TEXT_FIELDS,
        "links": links,
        "keywords": keywords,
        "also_known_as": page.texts(str(SKOS.altLabel)),
        "notes": page.texts(str(SKOS.note)),
        "fallbacks": fallbacks,
        "shown_language": language_name(page.lang),
        "in_languages": in_languages,
        "start": page.literal(str(SCHEMA.startDate)),
        "end": page.literal(str(SCHEMA.endDate)),
        "budgets": _nested(page, N2M.budget),
        "indicators": _nested(page, N2M.successIndicator),
        "awards": page.texts(str(SCHEMA.award)),
        "milestones": milestones,
        "stakeholders": _nested(page, PROV.qualifiedAttribution),
        "further": sorted({v.value for p in (FOAF.page, FOAF.homepage) for v in page.values(str(p))}),
        "gp_pages": sorted(v.value for v in page.values(str(N2M.goodPracticeDatabasePage))),
        "standing_link": standing,
        "standing_meaning": definition(kg, standing.iri, page.lang) if standing else None,
        "event_dates": event_dates(kg, links["presented_at"]),
        "actions": actions(kg, page),
        "prov": prov,
        "related": related,
        "network": layout.neighbourhood(pg, page.iri, page.lang),
        "weights_doc": True,
        "jsonld": schema_org(page, texts, links, keywords, prov),
    }


def _all_langs(page: Page, pred: str) -> list[Text]:
    return [Text(v.value, v.language or "", False) for v in page.values(pred) if isinstance(v, ox.Literal)]
