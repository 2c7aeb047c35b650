"""The derived graphs on the server: recomputed in the background after changes (``deriving.py``: coalesced, off
the write's request; the dumps, the change log and the caches hear of them when they are written), and read
back to say on the pages, in words, where a practice, an organisation or a region stands in the learning
network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Flask

from next2met.graph.analysis.derived import derived_graph, refresh

from .deriving import Deriving
from .i18n import gettext as _
from .i18n import ngettext
from .state import Change, KnowledgeGraph

bp = Blueprint("analytics", __name__)

N2M = "https://w3id.org/next2met/ontology#"


def init_app(app: Flask, kg: KnowledgeGraph) -> None:
    def derive(kg: KnowledgeGraph, change: Change) -> tuple[str, ...]:
        return tuple(refresh(kg.store, kg.settings.base_iri))

    kg.derive_with(derive)
    deriving = Deriving(kg)  # in the background after each change, coalesced
    kg.extensions["deriving"] = deriving
    kg.on_change(deriving.on_change)
    kg.after_start(deriving.start)


def position(kg: KnowledgeGraph, iri: str) -> dict | None:
    """What the network graph says of a node: degree, betweenness, PageRank, rank, how many of its kind, and
    for a practice its community, the other members and the communities it bridges."""
    graph = derived_graph(kg.settings.base_iri, "network")
    node = ox.NamedNode(iri)
    rows = kg.select(f"""PREFIX n2m: <{N2M}>
SELECT ?pos ?degree ?betweenness ?pagerank ?rank ?community WHERE {{
  GRAPH <{graph}> {{
    ?pos n2m:positionOf {node} ; n2m:degree ?degree ; n2m:betweenness ?betweenness ; n2m:pageRank ?pagerank ;
         n2m:hubRank ?rank .
    OPTIONAL {{ ?pos n2m:community ?community }}
  }}
}}""")
    if not rows:
        return None
    row = rows[0]
    out: dict[str, Any] = {
        "degree": int(row["degree"].value),
        "betweenness": float(row["betweenness"].value),
        "pagerank": float(row["pagerank"].value),
        "rank": int(row["rank"].value),
        "of": _ranked(kg, graph).get(_kind_of(row["pos"].value), 0),
        "community": row["community"].value if "community" in row else None,
        "peers": [],
        "bridges": [],
    }
    if out["community"]:
        members = kg.select(f"""SELECT ?m WHERE {{ GRAPH <{graph}> {{
  <{out["community"]}> <http://www.w3.org/2004/02/skos/core#member> ?m FILTER(?m != {node}) }} }} ORDER BY ?m""")
        out["peers"] = [r["m"].value for r in members]
    bridges = kg.select(f"""PREFIX n2m: <{N2M}>
SELECT ?c WHERE {{ GRAPH <{graph}> {{ <{row["pos"].value}> n2m:bridgesCommunity ?c }} }} ORDER BY ?c""")
    out["bridges"] = [r["c"].value for r in bridges]
    return out


def _kind_of(position: str) -> str:
    """The kind a position's fragment names: ``…#organisation-x`` → ``organisation``."""
    return position.partition("#")[2].partition("-")[0]


def _ranked(kg: KnowledgeGraph, graph: str) -> dict[str, int]:
    """How many nodes of each kind the network graph ranks, counted once for each version of the graph (the data
    generation it states it was made from): counted for each page, it read every position at each page view (0.4 s
    at 1M), and a change of the data that the graph has not followed yet would count them all again."""
    made = kg.select(f"SELECT ?d WHERE {{ GRAPH <{graph}> {{ <{graph}> <{N2M}dataGeneration> ?d }} }}")
    key = (graph, made[0]["d"].value if made else "")
    counts = kg.extensions.get("network ranked")
    if counts is None or counts[0] != key:
        rows = kg.query(f"""PREFIX n2m: <{N2M}>
SELECT ?kind (COUNT(?pos) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?pos n2m:positionOf ?node }}
  BIND(STRBEFORE(STRAFTER(STR(?pos), "#"), "-") AS ?kind) }} GROUP BY ?kind""").rows()
        counts = (key, {r["kind"].value: int(r["n"].value) for r in rows})
        kg.extensions["network ranked"] = counts
    return counts[1]


def in_words(kg: KnowledgeGraph, iri: str, kind: str) -> str | None:
    """One sentence on the node's place in the learning network, or None when the network graph lacks it."""
    found = position(kg, iri)
    if found is None or kind not in STANDINGS:
        return None
    rank, of = found["rank"], found["of"]
    standing = STANDINGS[kind][rank](of) if rank <= 3 and of > 3 else STANDINGS[kind][0](rank, of)
    if kind == "organisation":  # its links are practices: say how many, and across how many regions
        practices, regions = _reach(kg, iri)
        lead = ngettext("in %(num)d practice", "in %(num)d practices", practices)
        if regions > 1:
            lead += " " + ngettext("across %(num)d region", "across %(num)d regions", regions)
        parts = [lead + ": " + standing]
    else:
        parts = [
            ngettext("%(num)d link in the learning network", "%(num)d links in the learning network", found["degree"])
            + ": "
            + standing
        ]
    if found["betweenness"] > 0:
        value = format(found["betweenness"], ".3f")
        parts.append(_("betweenness %(value)s", value=value))
    if found["community"]:
        parts.append(
            ngettext(
                "in community %(name)s with %(num)d other practice",
                "in community %(name)s with %(num)d other practices",
                len(found["peers"]),
                name=found["community"].rsplit("-", 1)[-1],
            )
        )
        if found["bridges"]:
            names = ", ".join(b.rsplit("-", 1)[-1] for b in found["bridges"])
            parts.append(
                ngettext(
                    "a bridge to community %(names)s",
                    "a bridge to communities %(names)s",
                    len(found["bridges"]),
                    names=names,
                )
            )
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _reach(kg: KnowledgeGraph, organisation: str) -> tuple[int, int]:
    """(practices an organisation runs, joins or submitted; the regions those practices are in)."""
    node = ox.NamedNode(organisation)
    rows = kg.select(f"""PREFIX n2m: <{N2M}> PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT (COUNT(DISTINCT ?p) AS ?practices) (COUNT(DISTINCT ?r) AS ?regions) WHERE {{
  ?p a n2m:GoodPractice ; n2m:mainInstitution|n2m:submittedBy|prov:qualifiedAttribution/prov:agent {node} .
  OPTIONAL {{ ?p <http://purl.org/dc/terms/spatial> ?r }} }}""")
    return (int(rows[0]["practices"].value), int(rows[0]["regions"].value)) if rows else (0, 0)


# What to say of a node's rank, per kind: [other ranks, first, second, third]. Whole phrases, so that each language
# can word them (and inflect the kind) as it needs.
STANDINGS: dict[str, list[Callable[..., str]]] = {
    "practice": [
        lambda rank, of: _("number %(rank)d of %(of)d practices by connections", rank=rank, of=of),
        lambda of: _("the most connected practice of %(of)d", of=of),
        lambda of: _("the second most connected practice of %(of)d", of=of),
        lambda of: _("the third most connected practice of %(of)d", of=of),
    ],
    "organisation": [
        lambda rank, of: _("number %(rank)d of %(of)d organisations by connections", rank=rank, of=of),
        lambda of: _("the most connected organisation of %(of)d", of=of),
        lambda of: _("the second most connected organisation of %(of)d", of=of),
        lambda of: _("the third most connected organisation of %(of)d", of=of),
    ],
    "region": [
        lambda rank, of: _("number %(rank)d of %(of)d regions by connections", rank=rank, of=of),
        lambda of: _("the most connected region of %(of)d", of=of),
        lambda of: _("the second most connected region of %(of)d", of=of),
        lambda of: _("the third most connected region of %(of)d", of=of),
    ],
}
