"""The learning network as data: who learned from whom, which practices, organisations and regions are its hubs,
which practices form communities, and which practices bridge them.

Two graphs are read from the dataset through ``analyse.PracticeGraph`` (what the pages already use):

* the **learning network**: practices linked to their organisations, partner regions, learning events, the
  practices the sources name with them, and the actions they inspired, each action linked to the partner region
  whose plan holds it. Regions are taken at partner-region level, so that practices placed in a NUTS 3 area and
  in the NUTS 2 region above it meet in one node. Degree, betweenness and PageRank are computed on it for every
  node; the graph stores them for practices, organisations and regions.
* the **practice similarity network**: each practice linked to its ``NEIGHBOURS`` most related practices (the
  "practices like this one" of the pages, with their scores as weights). Louvain community detection, seeded,
  groups the practices; a practice with at least ``BRIDGE_SHARE`` of its link weight going into another
  community is a bridge to it.

Every graph is built in sorted order and every algorithm is seeded, so that the same data always gives the same
numbers (the values are also rounded to six places).
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import pyoxigraph as ox

from ..analyse import PracticeGraph
from ..store import Store
from .derived import N2M, RDFS, Plan, Triples, derived_graph, deriver, describe_computation

SKOS_MEMBER = "http://www.w3.org/2004/02/skos/core#member"
NEIGHBOURS = 5
SEED = 16
RESOLUTION = 1.0
BRIDGE_SHARE = 0.25
ALPHA = 0.85
EXACT_BETWEENNESS_NODES = 2000  # above this, betweenness is estimated from a seeded sample of nodes (pivots)
# The sample's size: as many pivots as fit in this many node and edge visits (one breadth-first search from each
# pivot), between MIN_PIVOTS and EXACT_BETWEENNESS_NODES. At 1M quads (18.8k nodes, 62k edges) 2,000 pivots took
# 220 s of one core, the budget's 246 about 27 s.
PIVOT_VISITS = 20_000_000
MIN_PIVOTS = 200
STORED_KINDS = ("practice", "organisation", "region")
NETWORK_KINDS = {"practice", "organisation", "region", "event", "action"}
NX_DOCS = "https://networkx.org/documentation/stable/reference/algorithms/generated/"


def learning_network(pg: PracticeGraph) -> nx.Graph:
    """Practices, organisations, partner regions, events and actions, with the links the data states."""
    edges: set[tuple[str, str]] = set()
    kinds: dict[str, str] = {}
    for practice in pg.practices:
        kinds[practice] = "practice"
        for node in pg.graph[practice]:
            kind = pg.graph.nodes[node].get("kind")
            if kind not in NETWORK_KINDS:
                continue
            if kind == "region":
                node = pg.partner_region_of(node)
            kinds.setdefault(node, kind)
            if node != practice:
                edges.add(tuple(sorted((practice, node))))
    for transfer in pg.transfers:  # an action belongs to the region that learned through it
        for action in transfer.actions:
            kinds.setdefault(action, "action")
            kinds.setdefault(transfer.learner, "region")
            first, second = sorted((action, transfer.learner))
            edges.add((first, second))
    g = nx.Graph()
    for node in sorted(kinds):
        g.add_node(node, kind=kinds[node])
    g.add_edges_from(sorted(edges))
    return g


def similarity_network(pg: PracticeGraph, neighbours: int = NEIGHBOURS) -> nx.Graph:
    """Each practice linked to its nearest related practices, weighted by the larger of the two scores."""
    weights: dict[tuple[str, str], float] = {}
    for practice in pg.practices:
        for rel in pg.related(practice, neighbours):
            key = tuple(sorted((practice, rel.iri)))
            weights[key] = max(weights.get(key, 0.0), rel.score)
    g = nx.Graph()
    g.add_nodes_from(pg.practices)
    for (a, b), w in sorted(weights.items()):
        g.add_edge(a, b, weight=w)
    return g


def communities(similar: nx.Graph) -> list[list[str]]:
    """Louvain communities, largest first (ties by their first member), each sorted."""
    found = nx.community.louvain_communities(similar, weight="weight", resolution=RESOLUTION, seed=SEED)
    return sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))


def bridged(similar: nx.Graph, practice: str, community_of: dict[str, str]) -> list[str]:
    """The other communities that hold at least ``BRIDGE_SHARE`` of the practice's link weight to its nearest
    related practices: a practice that is about as close to another community as to its own bridges the two."""
    total = sum(d["weight"] for _, _, d in similar.edges(practice, data=True))
    to: dict[str, float] = defaultdict(float)
    for _, other, d in similar.edges(practice, data=True):
        if other in community_of:
            to[community_of[other]] += d["weight"]
    own = community_of.get(practice)
    return sorted(c for c, w in to.items() if c != own and total and w / total >= BRIDGE_SHARE)


def pivots(g: nx.Graph) -> int | None:
    """How many nodes betweenness is estimated from (None: computed exactly, from every node)."""
    n = g.number_of_nodes()
    if n <= EXACT_BETWEENNESS_NODES:
        return None
    return max(MIN_PIVOTS, min(EXACT_BETWEENNESS_NODES, PIVOT_VISITS // (n + g.number_of_edges())))


def centrality(g: nx.Graph) -> tuple[dict[str, float], dict[str, float]]:
    """(betweenness, PageRank) of every node; betweenness from a seeded sample on large networks."""
    k = pivots(g)
    betweenness = nx.betweenness_centrality(g, k=k, normalized=True, seed=SEED if k else None)
    pagerank = nx.pagerank(g, alpha=ALPHA) if g.number_of_edges() else {n: 1 / max(1, len(g)) for n in g}
    return betweenness, pagerank


def fragment(iri: str, base: str) -> str:
    """A readable fragment name for a node: ``practice-x``, ``organisation-y``, ``region-FI1C3``."""
    if iri.startswith(base):
        return iri[len(base) :].replace("/", "-").replace("#", "-")
    if iri.startswith("http://data.europa.eu/nuts/code/"):
        return "region-" + iri.rsplit("/", 1)[-1]
    return "node-" + iri.rstrip("/").rsplit("/", 1)[-1].replace("#", "-")


@deriver("network")
def network_quads(store: Store, base: str, generation: str, context: dict) -> list[ox.Quad]:
    """The derived graph of the learning network."""
    pg = context.get("practice_graph") or PracticeGraph.build(store)
    net = learning_network(pg)
    sampled = pivots(net)
    graph = derived_graph(base, "network")
    t = Triples(graph)
    describe_computation(
        t,
        "the learning network: hubs, communities and who learned from whom",
        generation,
        [
            Plan("degree", "degree", NX_DOCS + "networkx.classes.function.degree.html"),
            Plan(
                "betweenness",
                "betweenness centrality",
                NX_DOCS + "networkx.algorithms.centrality.betweenness_centrality.html",
                {
                    "normalized": True,
                    "exact up to nodes": EXACT_BETWEENNESS_NODES,
                    "seed": SEED,
                    **({"pivots": sampled} if sampled else {}),
                },
            ),
            Plan(
                "pagerank",
                "PageRank",
                NX_DOCS + "networkx.algorithms.link_analysis.pagerank_alg.pagerank.html",
                {"alpha": ALPHA},
            ),
            Plan(
                "louvain",
                "Louvain community detection",
                NX_DOCS + "networkx.algorithms.community.louvain.louvain_communities.html",
                {"resolution": RESOLUTION, "seed": SEED, "weight": "score", "nearest related practices": NEIGHBOURS},
            ),
        ],
    )
    betweenness, pagerank = centrality(net)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for node, data in net.nodes(data=True):
        by_kind[data["kind"]].append(node)
    position: dict[str, str] = {}
    for kind in STORED_KINDS:
        ranked = sorted(
            by_kind.get(kind, []), key=lambda n: (-net.degree(n), -round(betweenness[n], 9), -round(pagerank[n], 9), n)
        )
        for rank, node in enumerate(ranked, 1):
            pos = t.node(fragment(node, base))
            position[node] = pos
            t.a(pos, N2M + "NetworkPosition")
            t.add(pos, N2M + "positionOf", node)
            t.integer(pos, N2M + "degree", net.degree(node))
            t.decimal(pos, N2M + "betweenness", betweenness[node])
            t.decimal(pos, N2M + "pageRank", pagerank[node])
            t.integer(pos, N2M + "hubRank", rank)
    similar = similarity_network(pg)
    groups = communities(similar)
    community_of: dict[str, str] = {}
    for i, members in enumerate(groups, 1):
        node = t.node(f"community-{i}")
        t.a(node, N2M + "Community")
        t.text(node, RDFS + "label", f"community {i}")
        for member in members:
            t.add(node, SKOS_MEMBER, member)
            community_of[member] = node
    for practice in pg.practices:
        placed = position.get(practice)
        if placed is None:
            continue
        pos = placed
        own = community_of.get(practice)
        if own:
            t.add(pos, N2M + "community", own)
        for theirs in bridged(similar, practice, community_of):
            t.add(pos, N2M + "bridgesCommunity", theirs)
    for transfer in pg.transfers:
        flow = t.node(
            "flow-"
            + fragment(transfer.teacher, base).removeprefix("region-")
            + "-to-"
            + fragment(transfer.learner, base).removeprefix("region-")
        )
        t.a(flow, N2M + "LearningFlow")
        t.add(flow, N2M + "fromRegion", transfer.teacher)
        t.add(flow, N2M + "toRegion", transfer.learner)
        for action in sorted(set(transfer.actions)):
            t.add(flow, N2M + "viaAction", action)
        for practice in sorted(set(transfer.practices)):
            t.add(flow, N2M + "viaPractice", practice)
        t.integer(flow, N2M + "actionCount", len(set(transfer.actions)))
        t.integer(flow, N2M + "practiceCount", len(set(transfer.practices)))
    return t.quads()
