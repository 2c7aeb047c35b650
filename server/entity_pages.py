"""Build the HTML pages of the resources other than practices: what each states (a table of every statement),
what links to it, and the sections that matter for its kind (an organisation's practices and roles, a region's
practices, partners, RIS3 sectors and learning, a concept's hierarchy and practices, ...)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import pyoxigraph as ox

from next2met.graph.prefixes import curie

from .i18n import lazy_gettext as _l
from .links import NUTS
from .page_data import PREFIXES, Link, Page, pick, practice_graph, search_index
from .state import KnowledgeGraph

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
INCOMING_LIMIT = 300
# Which facet of /practices a concept scheme feeds (scheme name → facet name).
SCHEME_FACETS = {
    "stage": "stage",
    "measure": "measure",
    "ris3": "sector",
    "stakeholder-type": "stakeholder",
    "standing": "standing",
}


@dataclass
class Item:
    link: Link
    detail: str = ""
    via: list[Link] = field(default_factory=list)


@dataclass
class Section:
    heading: str
    items: list[Item]
    note: str = ""
    more: tuple[str, str] | None = None  # (href, words)
    empty: str = _l("None in the data.")


def statements(page: Page) -> list[dict]:
    """Every statement of the resource (and of its #fragment nodes), grouped by property, for the table."""
    rows = []
    for pred in sorted(page.props, key=lambda p: (p != RDF_TYPE, curie(p))):
        values = page.props[pred]
        literals = [v for v in values if isinstance(v, ox.Literal)]
        tagged = [v for v in literals if v.language]
        shown: list[dict] = [{"text": t} for t in pick(tagged, page.lang)]
        shown += [{"literal": v.value, "datatype": curie(v.datatype.value)} for v in literals if not v.language]
        shown += [{"link": link} for link in page.links(pred)]
        rows.append(
            {
                "pred": pred,
                "curie": curie(pred),
                "label": page.label(pred) if page.names.has(pred) else "",
                "values": shown,
                "more_languages": len({v.language for v in tagged}) > 1,
            }
        )
    return rows


def incoming(kg: KnowledgeGraph, page: Page) -> list[dict]:
    """What links to the resource, by property; links from #fragment nodes count for the resource they belong to."""
    sparql = (
        f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {ox.NamedNode(page.iri)} FILTER(isIRI(?s)) }} LIMIT {INCOMING_LIMIT + 1}"
    )
    rows = kg.select(sparql)
    grouped: dict[str, set[str]] = defaultdict(set)
    for r in rows[:INCOMING_LIMIT]:
        grouped[r["p"].value].add(r["s"].value.split("#", 1)[0])
    out = [
        {
            "pred": p,
            "curie": curie(p),
            "label": page.label(p) if page.names.has(p) else "",
            "links": sorted((Link(s, page.label(s)) for s in subjects if s != page.iri), key=lambda x: x.label),
        }
        for p, subjects in sorted(grouped.items(), key=lambda kv: curie(kv[0]))
    ]
    return [o for o in out if o["links"]] + ([{"truncated": True}] if len(rows) > INCOMING_LIMIT else [])


def _links(kg: KnowledgeGraph, page: Page, sparql: str, var: str = "x") -> list[Link]:
    iris = {r[var].value for r in kg.select(PREFIXES + sparql) if var in r}
    return sorted((Link(i, page.label(i)) for i in iris), key=lambda link: link.label.casefold())


def _items(links: list[Link]) -> list[Item]:
    return [Item(link) for link in links]


def _iri(page: Page) -> str:
    return str(ox.NamedNode(page.iri))


def organisation(kg: KnowledgeGraph, page: Page) -> dict:
    o = _iri(page)
    rows = kg.select(
        PREFIXES
        + f"""
SELECT ?p ?how ?role WHERE {{ ?p a n2m:GoodPractice .
  {{ ?p n2m:mainInstitution {o} BIND("main institution" AS ?how) }}
  UNION {{ ?p n2m:submittedBy {o} BIND("submitted the practice" AS ?how) }}
  UNION {{ ?p prov:qualifiedAttribution ?q . ?q prov:agent {o} BIND("stakeholder" AS ?how)
           OPTIONAL {{ ?q dcat:hadRole ?role }} }} }}"""
    )
    roles: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        roles[r["p"].value].add(page.label(r["role"].value) if "role" in r else r["how"].value)
    practices = sorted(
        (Item(Link(p, page.label(p)), ", ".join(sorted(rs))) for p, rs in roles.items()),
        key=lambda i: i.link.label.casefold(),
    )
    members = kg.select(
        PREFIXES
        + f"""
SELECT ?m ?project ?role WHERE {{ ?m org:member {o} ; org:organization ?project OPTIONAL {{ ?m org:role ?role }} }}"""
    )
    memberships = [
        Item(
            Link(r["project"].value, page.label(r["project"].value)),
            page.label(r["role"].value) if "role" in r else "",
            [Link(r["m"].value, page.label(r["m"].value))],
        )
        for r in members
    ]
    return {
        "sections": [
            Section(
                _l("Practices it runs or takes part in"),
                practices,
                _l(
                    "Role in brackets: main institution, the role the practice states for it (lead, partner, funder, "
                    "provider, user), or that it submitted the practice."
                ),
            ),
            Section(_l("Project partnerships"), memberships),
            Section(
                _l("Sub-organisations"), _items(_links(kg, page, f"SELECT ?x WHERE {{ ?x org:subOrganizationOf {o} }}"))
            ),
            Section(_l("Events it hosted"), _items(_links(kg, page, f"SELECT ?x WHERE {{ ?x n2m:host {o} }}"))),
            Section(
                _l("Action plans it prepared"),
                _items(_links(kg, page, f"SELECT ?x WHERE {{ ?x a n2m:ActionPlan ; prov:wasAttributedTo {o} }}")),
            ),
        ]
    }


def region(kg: KnowledgeGraph, page: Page) -> dict:
    r = _iri(page)
    within = f"?r skos:broader* {r}"
    around = f"{{ ?r skos:broader* {r} }} UNION {{ {r} skos:broader+ ?r }}"
    practices = []
    located = f"SELECT DISTINCT ?p ?r WHERE {{ ?p a n2m:GoodPractice ; dcterms:spatial ?r . {within} }}"
    for row in kg.select(PREFIXES + located):
        where = row["r"].value
        practices.append(
            Item(
                Link(row["p"].value, page.label(row["p"].value)), "" if where == page.iri else f"in {page.label(where)}"
            )
        )
    practices.sort(key=lambda i: i.link.label.casefold())
    level = page.literal("https://w3id.org/next2met/ontology#nutsLevel")
    facet = "country" if level == "0" else "region"
    code = page.iri[len(NUTS) :]
    pg = practice_graph(kg)
    mine = {page.iri, pg.partner_region_of(page.iri)}

    def inside(x: str) -> bool:
        return x in mine or page.iri in pg.ancestors(x)

    learned = [t for t in pg.transfers if inside(t.learner) and not inside(t.teacher)]
    taught = [t for t in pg.transfers if inside(t.teacher) and not inside(t.learner)]

    def transfer_items(transfers, other: str) -> list[Item]:
        return [
            Item(
                Link(getattr(t, other), page.label(getattr(t, other))),
                "through " + "; ".join(page.label(a) for a in t.actions),
                [Link(p, page.label(p)) for p in t.practices],
            )
            for t in transfers
        ]

    partners = kg.select(
        PREFIXES + "SELECT ?m ?org ?r WHERE { ?m n2m:representsRegion ?r ; org:member ?org . " + around + " }"
    )
    return {
        "sections": [
            Section(
                _l("Practices located here (%(num)s)", num=len(practices)),
                practices,
                _l("Including the regions within it."),
                (f"/practices?{facet}={code}", _l("Search and filter these practices")),
            ),
            Section(_l("Regions within it"), _items(_links(kg, page, f"SELECT ?x WHERE {{ ?x skos:broader {r} }}"))),
            Section(
                _l("Project partner for this region"),
                [
                    Item(
                        Link(p["org"].value, page.label(p["org"].value)),
                        "",
                        [Link(p["m"].value, page.label(p["m"].value))],
                    )
                    for p in partners
                ],
            ),
            Section(
                _l("RIS3 priority sectors"),
                _items(
                    _links(
                        kg,
                        page,
                        "SELECT ?x WHERE { ?x a skos:Concept ; dcterms:spatial ?r . "
                        f"FILTER NOT EXISTS {{ ?x a n2m:Region }} {around} }}",
                    )
                ),
            ),
            Section(
                _l("What it learned from other regions"),
                transfer_items(learned, "teacher"),
                _l("Actions of its action plan that name another region or a practice of it as their source."),
            ),
            Section(_l("What other regions learned from it"), transfer_items(taught, "learner")),
            Section(
                _l("Action plans"),
                _items(_links(kg, page, f"SELECT ?x WHERE {{ ?x a n2m:ActionPlan ; dcterms:spatial ?r . {within} }}")),
            ),
            Section(
                _l("Organisations located here"),
                _items(
                    _links(kg, page, f"SELECT ?x WHERE {{ ?x a org:Organization ; dcterms:spatial ?r . {within} }}")
                ),
            ),
            Section(
                _l("Learning events held here"),
                _items(
                    _links(kg, page, f"SELECT ?x WHERE {{ ?x a n2m:LearningEvent ; dcterms:spatial ?r . {within} }}")
                ),
            ),
        ],
        "network_link": ("/regions", _l("The transfer network between all regions")),
    }


def concept(kg: KnowledgeGraph, page: Page) -> dict:
    c = _iri(page)
    rows = kg.select(
        PREFIXES
        + f"""
SELECT DISTINCT ?p ?c WHERE {{ ?p a n2m:GoodPractice . ?c skos:broader* {c} .
  {{ ?p n2m:innovationStage|n2m:measureType|n2m:ris3Sector|n2m:programmeTopic|n2m:standing|n2m:confidence ?c }}
  UNION {{ ?p prov:qualifiedAttribution/n2m:stakeholderType ?c }} }}"""
    )
    via: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        via[row["p"].value].add(row["c"].value)
    practices = sorted(
        (
            Item(Link(p, page.label(p)), "", [Link(x, page.label(x)) for x in sorted(cs) if x != page.iri])
            for p, cs in via.items()
        ),
        key=lambda i: i.link.label.casefold(),
    )
    scheme, _, code = page.iri.rpartition("/")
    facet = SCHEME_FACETS.get(scheme.rsplit("/", 1)[-1])
    more = (f"/practices?{facet}={code}", _l("Search and filter these practices")) if facet and practices else None
    return {
        "definition": page.text("http://www.w3.org/2004/02/skos/core#definition"),
        "sections": [
            Section(_l("Broader"), _items(page.links("http://www.w3.org/2004/02/skos/core#broader"))),
            Section(_l("Narrower"), _items(_links(kg, page, f"SELECT ?x WHERE {{ ?x skos:broader {c} }}"))),
            Section(
                _l("Practices (%(num)s)", num=len(practices)),
                practices,
                _l("Including those of its narrower concepts (named after the practice)."),
                more,
            ),
            Section(
                _l("Organisations of this type"),
                _items(
                    _links(
                        kg,
                        page,
                        f"SELECT ?x WHERE {{ ?x a org:Organization ; n2m:stakeholderType ?t . ?t skos:broader* {c} }}",
                    )
                ),
            ),
        ],
    }


def scheme(kg: KnowledgeGraph, page: Page) -> dict:
    rows = kg.select(
        PREFIXES + f"SELECT ?c ?b WHERE {{ ?c skos:inScheme|skos:topConceptOf {_iri(page)} "
        f"OPTIONAL {{ ?c skos:broader ?b }} }}"
    )
    members = {r["c"].value for r in rows}
    children: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if "b" in r and r["b"].value in members:
            children[r["b"].value].add(r["c"].value)
    tops = members - {c for kids in children.values() for c in kids}
    facet = SCHEME_FACETS.get(page.iri.rstrip("/").rsplit("/", 1)[-1])
    counts = {v.key: v.count for v in search_index(kg).search().facets.get(facet, [])} if facet else {}

    def tree(nodes) -> list[dict]:
        return [
            {
                "link": Link(n, page.label(n)),
                "count": counts.get(n.rsplit("/", 1)[-1]),
                "facet": facet,
                "code": n.rsplit("/", 1)[-1],
                "children": tree(children.get(n, ())),
            }
            for n in sorted(nodes, key=lambda n: page.label(n).casefold())
        ]

    return {"tree": tree(tops), "size": len(members)}


def _simple(*sections: tuple[str, str]) -> Callable[[KnowledgeGraph, Page], dict]:
    """A builder whose sections are each one query for ``?x`` (``{s}`` stands for the resource)."""

    def build(kg: KnowledgeGraph, page: Page) -> dict:
        return {
            "sections": [
                Section(h, _items(_links(kg, page, "SELECT ?x WHERE { " + q.replace("{s}", _iri(page)) + " }")))
                for h, q in sections
            ]
        }

    return build


BUILDERS: dict[str, Callable[[KnowledgeGraph, Page], dict]] = {
    "organisation": organisation,
    "region": region,
    "concept": concept,
    "scheme": scheme,
    "action-plan": _simple(
        (_l("Actions"), "?x a n2m:Action ; dcterms:isPartOf {s}"),
        (_l("Practices that inspired its actions"), "?a dcterms:isPartOf {s} ; n2m:inspiredBy ?x"),
        (
            _l("Practices that plausibly inspired its actions (inferred, not stated by the sources)"),
            "?a dcterms:isPartOf {s} ; n2m:plausiblyInspiredBy ?x",
        ),
    ),
    "action": _simple(
        (_l("Inspired by (stated in the sources)"), "{s} n2m:inspiredBy ?x"),
        (_l("Plausibly inspired by (inferred, not stated by the sources)"), "{s} n2m:plausiblyInspiredBy ?x"),
        (_l("Learned from the region"), "{s} n2m:learnedFrom ?x"),
        (_l("Improves the policy instrument"), "{s} n2m:improves ?x"),
        (_l("Region of its action plan"), "{s} dcterms:isPartOf/dcterms:spatial ?x"),
    ),
    "instrument": _simple((_l("Action plans and actions that improve it"), "?x n2m:improves {s}")),
    "event": _simple((_l("Practices presented here"), "?x n2m:presentedAt {s}"), (_l("Hosted by"), "{s} n2m:host ?x")),
    "project": _simple(
        (_l("Partners"), "?m org:organization {s} ; org:member ?x"),
        (_l("Practices from this project"), "?x n2m:sourceProject {s}"),
        (_l("Events"), "?x a n2m:LearningEvent ; dcterms:isPartOf {s}"),
        (_l("Action plans"), "?x a n2m:ActionPlan ; dcterms:isPartOf {s}"),
    ),
}


def named_graph(kg: KnowledgeGraph, page: Page) -> dict:
    """A named graph: its provenance (the statements table) and the resources it describes."""
    content = "/sparql?query=" + quote(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{page.iri}> {{ ?s ?p ?o }} }}", safe=""
    )
    built = _simple((_l("Resources described in this graph"), "{s} dcterms:subject ?x"))(kg, page)
    return {**built, "extra_links": [(content, _l("Query the content of this graph"))]}


BUILDERS["graph"] = named_graph
