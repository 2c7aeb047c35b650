"""graph.analyse: the networkx graph of practices, "practices like this one" with the reasons as data, the transfer
network between regions, and the layouts of the network views. Expectations come from data/*.yaml."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from next2met.graph import analyse, layout
from next2met.graph.analyse import PracticeGraph
from next2met.graph.store import OxigraphStore
from tests.sources import as_list, records

BASE = "https://w3id.org/next2met/"
NUTS = "http://data.europa.eu/nuts/code/"


def organisations_of(record: dict) -> set[str]:
    return set(as_list(record.get("main_institution")) + as_list(record.get("submitted_by"))
               + [s["organisation"] for s in record.get("stakeholders", []) if s.get("organisation")])


@pytest.fixture(scope="module")
def graph(built_store) -> PracticeGraph:
    store = OxigraphStore(built_store, read_only=True)
    try:
        return PracticeGraph.build(store)
    finally:
        store.close()


def test_graph_has_every_practice_and_its_links(graph):
    practices = records("data/practices/*.yaml")
    assert set(graph.practices) == {BASE + r["id"] for r in practices}
    for r in practices:
        neighbours = set(graph.graph[BASE + r["id"]])
        assert {BASE + o for o in organisations_of(r)} <= neighbours
        assert {NUTS + c for c in as_list(r.get("region"))} <= neighbours


def test_practices_sharing_an_organisation_are_related_and_say_so(graph):
    practices = records("data/practices/*.yaml")
    checked = 0
    for a in practices:
        for b in practices:
            shared = organisations_of(a) & organisations_of(b)
            if a["id"] >= b["id"] or not shared:
                continue
            related = {r.iri: r for r in graph.related(BASE + a["id"], limit=len(practices))}
            assert BASE + b["id"] in related
            reasons = {r.kind: r.nodes for r in graph.reasons(related[BASE + b["id"]])}
            assert {BASE + o for o in shared} <= set(reasons["organisation"]), reasons
            checked += 1
    assert checked


def test_related_is_ranked_stable_and_never_itself(graph):
    for p in graph.practices:
        related = graph.related(p, limit=8)
        assert p not in {r.iri for r in related}
        scores = [r.score for r in related]
        assert scores == sorted(scores, reverse=True)
        assert related == graph.related(p, limit=8)
        for r in related:
            reasons = graph.reasons(r)
            assert reasons and r.shared
            kinds = [x.kind for x in reasons]
            assert kinds == [k for k in analyse.REASON_KINDS if k in kinds]  # strongest evidence first, once each
            for reason in reasons:  # the most specific things only, never also their broader parents
                assert not set(reason.nodes) & set().union(*(graph.ancestors(n) for n in reason.nodes))
                assert all(n in graph.graph or n in graph.broader or graph.labels.get(n) for n in reason.nodes)


def test_stated_relations_rank_first(graph):
    for r in records("data/practices/*.yaml"):
        for other in as_list(r.get("related")):
            if other.startswith("practice/"):
                related = graph.related(BASE + r["id"], limit=3)
                assert BASE + other in {x.iri for x in related}
                reasons = graph.reasons(next(x for x in related if x.iri == BASE + other))
                assert reasons[0] == analyse.Reason("related", ())


def test_shared_sectors_meet_in_the_shared_top_level(graph):
    """Two practices of different regions with sectors under the same shared sector score through it."""
    sector = "https://w3id.org/next2met/concept/ris3/"
    by_top: dict[str, list[str]] = {}
    for p in graph.practices:
        for node, kind in graph.features[p].items():
            if kind == "sector" and not graph.broader.get(node):
                by_top.setdefault(node, []).append(p)
    pairs = [(top, ps) for top, ps in by_top.items() if len(ps) > 1 and top.startswith(sector)]
    assert pairs, "no two practices share a top-level sector"
    top, (a, b, *_) = pairs[0]
    related = {r.iri: r for r in graph.related(a, limit=len(graph.practices))}
    assert ("sector", top) in related[b].shared


def test_weights_are_documented():
    for kind in analyse.WEIGHTS:
        assert re.search(rf"^{re.escape(kind)}\b", analyse.__doc__, re.M) or kind in analyse.__doc__, kind


def test_transfer_network_follows_the_action_plans(graph):
    plans = {r["id"]: r for r in records("data/action-plans/*.yaml") if r["type"] == "ActionPlan"}
    practices = {r["id"]: r for r in records("data/practices/*.yaml")}
    expected = set()
    for action in records("data/action-plans/*.yaml"):
        if action["type"] != "Action" or action.get("part_of") not in plans:
            continue
        learner = graph.partner_region_of(NUTS + str(plans[action["part_of"]]["region"]))
        teachers = as_list(action.get("learned_from")) + [
            str(c) for p in as_list(action.get("inspired_by")) + as_list(action.get("plausibly_inspired_by"))
            for c in as_list(practices[p].get("region"))]
        for t in teachers:
            teacher = graph.partner_region_of(NUTS + t)
            if teacher != learner:
                expected.add((teacher, learner))
    assert {(t.teacher, t.learner) for t in graph.transfers} == expected
    assert expected


def test_layouts_fit_their_view_box(graph):
    views = [layout.neighbourhood(graph, graph.practices[0]), layout.transfer_network(graph),
             layout.practice_network(graph)]
    for net in views:
        assert net.nodes
        for n in net.nodes:
            assert 0 <= n.x <= net.width and 0 <= n.y <= net.height and n.label
        ids = {n.id for n in net.nodes}
        assert all(e.source in ids and e.target in ids for e in net.edges)
    assert len(views[2].nodes) == min(60, len(graph.practices))
    assert {n.id for n in views[1].nodes} >= graph.partner_regions


def test_graph_is_rebuilt_after_a_data_change(store_copy):
    """The server's practice graph follows kg.on_change: rebuilt in the background, a new practice appears in it."""
    from next2met.graph.settings import Settings
    from next2met.server.page_data import practice_graph
    from next2met.server.state import Change, KnowledgeGraph

    kg = KnowledgeGraph(Settings(store=str(store_copy)))
    try:
        before = practice_graph(kg)
        iri = BASE + "practice/quuxbridge"
        first = before.practices[0]
        region = next(n for n in before.graph[first] if before.graph.edges[first, n]["kind"] == "region")
        with kg.write_lock:
            kg.store.update(
                f"INSERT DATA {{ GRAPH <{BASE}graph/practices/quuxbridge> {{ <{iri}> a "
                "<https://w3id.org/next2met/ontology#GoodPractice> ; "
                f"<http://purl.org/dc/terms/spatial> <{region}> }} }}")
            kg.changed(Change((BASE + "graph/practices/quuxbridge",), "update"))
            assert "related practices" in kg.preparing.status()  # rebuilt in the background, not by a page
        assert kg.preparing.wait(60)
        after = practice_graph(kg)
        assert after is not before and iri in after.practices and iri not in before.practices
        assert iri in {r.iri for r in after.related(first, limit=len(after.practices))}
    finally:
        kg.close()


def test_names_follow_a_change_of_named_graphs(store_copy, tmp_path):
    """The page names (server/page_data.py) are read whole once; after a change of named graphs only the names of
    what those graphs name are read again, and they equal a fresh reading of the whole data."""
    from next2met.graph.settings import Settings
    from next2met.server.page_data import Labels, labels
    from next2met.server.state import Change, KnowledgeGraph
    from tests.conftest import data_copy

    kg = KnowledgeGraph(Settings(store=str(store_copy), data_dir=str(data_copy(tmp_path / "data"))))
    try:
        before = labels(kg)
        first = "SELECT ?p ?g WHERE { GRAPH ?g { ?p a <https://w3id.org/next2met/ontology#GoodPractice> } } LIMIT 1"
        row = kg.store.query(first).rows()[0]
        practice, graph = row["p"].value, row["g"].value
        title = "http://purl.org/dc/terms/title"
        new = BASE + "practice/named-anew"
        with kg.write_lock:  # the practice renamed in English, and a new practice named in its own graph
            kg.store.update(f"""DELETE {{ GRAPH <{graph}> {{ <{practice}> <{title}> ?t }} }}
                WHERE {{ GRAPH <{graph}> {{ <{practice}> <{title}> ?t FILTER(LANG(?t) = "en") }} }} ;
                INSERT DATA {{ GRAPH <{graph}> {{ <{practice}> <{title}> "Named anew"@en }}
                               GRAPH <{BASE}graph/practices/named-anew> {{ <{new}> <{title}> "A new one"@en }} }}""")
            kg.changed(Change((graph, BASE + "graph/practices/named-anew"), "update"))
        after = labels(kg)
        assert after is before  # brought up to date, not read whole again
        assert after.get(practice) == "Named anew" and after.get(new) == "A new one"
        assert after.names == Labels(kg).names
        with kg.write_lock:  # the new practice dropped: its name goes
            kg.store.update(f"DROP GRAPH <{BASE}graph/practices/named-anew>")
            kg.changed(Change((BASE + "graph/practices/named-anew",), "update"))
        assert not labels(kg).has(new) and labels(kg).names == Labels(kg).names
        # through the write path: the practice's graph and its description in the provenance graph
        from next2met.graph.changes import Change as Write
        from next2met.graph.changes import Edit

        quads = [q for q in kg.store.quads(graph) if not (q.predicate.value == title and q.object.language == "en")]
        quads.append(ox.Quad(ox.NamedNode(practice), ox.NamedNode(title), ox.Literal("Written anew", language="en"),
                             ox.NamedNode(graph)))
        kg.apply(Write(edits=[Edit(graph, quads)], channel="api"))
        assert labels(kg) is before and labels(kg).get(practice) == "Written anew"
        assert labels(kg).names == Labels(kg).names
    finally:
        kg.close()


def plain_rank(pg: PracticeGraph, practice: str) -> list[analyse.Related]:
    """The ranking written as a loop over every member of every shared node: the definition the vectorised
    ``related`` must match exactly (scores, order, what is shared)."""
    from collections import defaultdict

    mine = pg.features.get(practice) or {}
    scores: dict[str, float] = defaultdict(float)
    shared: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for n, kind in mine.items():
        kind = "co-related" if kind == "related" else kind
        for other in sorted(pg.members[n]):
            if other != practice and other != n:
                scores[other] += analyse.WEIGHTS.get(kind, 1.0) * pg.specificity.get(n, 1.0)
                shared[other].append((kind, n))
    for n, kind in mine.items():
        if kind == "related" and n in pg.features:
            scores[n] += analyse.WEIGHTS["related"] * pg.specificity.get(n, 1.0)
            shared[n].append(("related", n))
    out = [
        analyse.Related(o, round(s, 3), sorted(shared[o], key=lambda x: (
            -analyse.WEIGHTS.get(x[0], 1.0) * pg.specificity.get(x[1], 1.0), x[1])))
        for o, s in scores.items()
    ]
    return sorted(out, key=lambda r: (-r.score, r.iri))


def test_related_equals_the_plain_loop_on_the_data(graph):
    for p in graph.practices:
        full = plain_rank(graph, p)
        for limit in (1, 2, 5, 8, len(graph.practices)):
            assert graph.related(p, limit) == full[:limit], (p, limit)


def test_related_equals_the_plain_loop_on_random_graphs():
    """Random practices sharing random organisations, regions and concepts (many ties, nodes shared by most
    practices, practices named with others): the same answers as the plain loop, for every practice and limit."""
    import random

    import networkx as nx

    for seed in range(6):
        rng = random.Random(seed)
        g = nx.Graph()
        practices = [f"{BASE}practice/p{i:03d}" for i in range(rng.randint(2, 80))]
        for p in practices:
            g.add_node(p, kind="practice")
        nodes = [(f"{BASE}organisation/o{i}", "organisation") for i in range(rng.randint(1, 12))]
        nodes += [(f"{NUTS}R{i}", "region") for i in range(3)]
        nodes += [(f"{BASE}concept/c{i}", "sector") for i in range(6)]
        for p in practices:
            for n, kind in rng.sample(nodes, rng.randint(0, min(6, len(nodes)))):
                g.add_node(n, kind=kind)
                g.add_edge(p, n, kind=kind)
            for other in rng.sample(practices, rng.randint(0, 2)):
                if other != p:
                    g.add_edge(p, other, kind="related")
        broader = {f"{BASE}concept/c{i}": {f"{BASE}concept/c{i // 2}"} for i in range(1, 6)}
        pg = PracticeGraph(g, broader, {}, [], set())
        for p in practices:
            full = plain_rank(pg, p)
            for limit in (1, 3, 8, len(practices)):
                assert pg.related(p, limit) == full[:limit], (seed, p, limit)
