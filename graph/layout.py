"""Lay out the network views as plain coordinates, so a template can draw them as SVG without JavaScript.

Three views, all computed with networkx layouts and scaled into a fixed view box:

- a practice's neighbourhood: the practice in the centre, what it links to on an inner ring (grouped by kind),
  and the practices most like it on an outer ring, each placed near the things it shares (``nx.shell_layout``);
- the transfer network between regions: who learned from whom, as arrows on a circle (``nx.circular_layout``);
- the practice network: every practice linked to the ones most like it, on a circle grouped by region
  (``nx.circular_layout``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx

from .analyse import PracticeGraph

KIND_ORDER = [
    "region",
    "organisation",
    "sector",
    "measure",
    "topic",
    "stage",
    "stakeholder",
    "event",
    "action",
    "related",
    "co-related",
]
MAX_LABEL = 30


@dataclass
class NetNode:
    id: str
    label: str
    kind: str
    x: float
    y: float
    r: float
    anchor: str = "start"
    lx: float = 0.0
    ly: float = 0.0
    group: str = ""
    rotate: float | None = None  # degrees, for labels along a radius

    @property
    def short(self) -> str:
        return self.label if len(self.label) <= MAX_LABEL else self.label[: MAX_LABEL - 1].rstrip() + "…"


@dataclass
class NetEdge:
    source: str
    target: str
    kind: str
    path: str
    width: float = 1.0
    title: str = ""
    directed: bool = False
    label: str = ""
    lx: float = 0.0
    ly: float = 0.0


@dataclass
class Network:
    width: int
    height: int
    nodes: list[NetNode] = field(default_factory=list)
    edges: list[NetEdge] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, words)


def _place(pos: dict, width: int, height: int, margin: tuple[int, int]) -> dict[str, tuple[float, float]]:
    """Scale networkx coordinates into the view box with the same scale on both axes (circles stay round),
    centred, leaving ``margin`` (x, y) free for the labels."""
    xs = [float(p[0]) for p in pos.values()] or [0.0]
    ys = [float(p[1]) for p in pos.values()] or [0.0]
    mx, my = margin
    scale = min((width - 2 * mx) / ((max(xs) - min(xs)) or 1.0), (height - 2 * my) / ((max(ys) - min(ys)) or 1.0))
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return {
        n: (round(width / 2 + (float(x) - cx) * scale, 1), round(height / 2 + (float(y) - cy) * scale, 1))
        for n, (x, y) in pos.items()
    }


def _label_side(node: NetNode, cx: float, cy: float) -> None:
    """Put the label outside the circle: to the right of nodes right of the centre, left of the others."""
    if abs(node.x - cx) < 1 and abs(node.y - cy) < 1:
        node.anchor, node.lx, node.ly = "middle", node.x, node.y + node.r + 14
    elif node.x >= cx:
        node.anchor, node.lx, node.ly = "start", node.x + node.r + 4, node.y + 4
    else:
        node.anchor, node.lx, node.ly = "end", node.x - node.r - 4, node.y + 4


def _line(a: NetNode, b: NetNode) -> str:
    return f"M{a.x},{a.y} L{b.x},{b.y}"


def _curve(a: NetNode, b: NetNode, bend: float = 0.18) -> tuple[str, float, float]:
    """A quadratic curve from the rim of ``a`` to the rim of ``b`` (so arrows meet the circle), and its middle."""
    dx, dy = b.x - a.x, b.y - a.y
    cx, cy = (a.x + b.x) / 2 - dy * bend, (a.y + b.y) / 2 + dx * bend

    def rim(node: NetNode, towards: tuple[float, float], gap: float) -> tuple[float, float]:
        ux, uy = towards[0] - node.x, towards[1] - node.y
        d = math.hypot(ux, uy) or 1.0
        return node.x + ux / d * (node.r + gap), node.y + uy / d * (node.r + gap)

    x1, y1 = rim(a, (cx, cy), 1)
    x2, y2 = rim(b, (cx, cy), 4)
    mid_x, mid_y = 0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2
    return f"M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}", round(mid_x, 1), round(mid_y, 1)


def _most_specific(pg: PracticeGraph, nodes: set[str]) -> set[str]:
    """Drop the nodes that are broader than another node of the set (Finland when Päijät-Häme is there too)."""
    inherited = set().union(*(pg.ancestors(n) for n in nodes)) if nodes else set()
    return nodes - inherited


def neighbourhood(pg: PracticeGraph, practice: str, lang: str = "en", limit: int = 8) -> Network:
    """The practice, what it links to, and the practices most like it with the most specific things they share.

    Both rings label their nodes along the radius, outwards, and the outer ring lies beyond the end of the
    inner ring's labels, so no label runs over a node."""
    width, height = 1200, 1100
    related = pg.related(practice, limit)
    mine = pg.features.get(practice, {})
    kinds: dict[str, str] = {n: k for n, k in mine.items() if n in pg.graph[practice] and k != "related"}
    links: dict[str, set[str]] = {}
    for r in related:  # what each related practice shares, most specific first; broader nodes appear if needed
        shared = {n for kind, n in r.shared if n != r.iri and kind != "related"}
        links[r.iri] = _most_specific(pg, shared)
        for kind, n in r.shared:
            if n in links[r.iri]:
                kinds.setdefault(n, kind)
    inner = sorted(
        kinds, key=lambda n: (KIND_ORDER.index(kinds[n]) if kinds[n] in KIND_ORDER else 99, pg.label(n, lang))
    )
    angle = {n: 2 * math.pi * i / max(len(inner), 1) for i, n in enumerate(inner)}

    def mean_angle(r) -> float:
        angles = [angle[n] for n in links[r.iri] if n in angle] or [0.0]
        return math.atan2(sum(math.sin(a) for a in angles), sum(math.cos(a) for a in angles)) % (2 * math.pi)

    outer = [r.iri for r in sorted(related, key=mean_angle)]
    shells = [[practice], inner or [practice + "#none"], outer or [practice + "#nothing"]]
    sub = nx.Graph()
    sub.add_nodes_from(n for shell in shells for n in shell)
    shell = nx.shell_layout(sub, nlist=shells, rotate=0)
    for n in inner:  # pull the inner ring in (networkx spaces rings evenly) so its labels end before the outer
        shell[n] = shell[n] * 0.9
    pos = _place(shell, width, height, (240, 240))
    nodes = {practice: NetNode(practice, pg.label(practice, lang), "centre", *pos[practice], r=14)}
    for n in inner:
        nodes[n] = NetNode(n, pg.label(n, lang), kinds[n], *pos[n], r=7)
    for r in related:
        nodes[r.iri] = NetNode(r.iri, pg.label(r.iri, lang), "practice", *pos[r.iri], r=10)
    cx, cy = pos[practice]
    for node in nodes.values():
        if node.id == practice:
            _label_side(node, cx, cy)
        else:
            _label_radial(node, cx, cy)
    edges = [NetEdge(practice, n, kinds[n], _line(nodes[practice], nodes[n])) for n in inner if n in pg.graph[practice]]
    for r in related:
        if any(kind == "related" for kind, _ in r.shared):
            edges.append(
                NetEdge(
                    practice, r.iri, "related", _line(nodes[practice], nodes[r.iri]), 2, "named together in the sources"
                )
            )
        for n in sorted(links[r.iri]):
            edges.append(
                NetEdge(
                    r.iri,
                    n,
                    kinds[n],
                    _line(nodes[r.iri], nodes[n]),
                    1,
                    f"{nodes[r.iri].label} — {kinds[n]} — {nodes[n].label}",
                )
            )
    used = sorted({nodes[n].kind for n in inner}, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99)
    # one entry per colour: a shared practice is drawn as a practice, already in the legend
    legend = [("centre", "this practice"), ("practice", "practices like it")] + [
        (k, k) for k in used if k not in ("centre", "practice")
    ]
    return Network(width, height, list(nodes.values()), edges, legend)


def transfer_network(pg: PracticeGraph, lang: str = "en") -> Network:
    """The regions as a circle with an arrow from each region to every region that learned from it."""
    width, height = 760, 560
    regions = sorted(
        pg.partner_regions | {t.teacher for t in pg.transfers} | {t.learner for t in pg.transfers},
        key=lambda r: pg.label(r, lang),
    )
    if not regions:
        return Network(width, height)
    g = nx.DiGraph()
    g.add_nodes_from(regions)
    pos = _place(nx.circular_layout(g), width, height, (170, 50))
    nodes = {r: NetNode(r, pg.label(r, lang), "region", *pos[r], r=16) for r in regions}
    cx, cy = width / 2, height / 2
    for node in nodes.values():
        _label_side(node, cx, cy)
    edges = []
    for t in pg.transfers:
        path, mx, my = _curve(nodes[t.teacher], nodes[t.learner])
        n = len(t.actions)
        title = f"{nodes[t.learner].label} learned from {nodes[t.teacher].label}: " + "; ".join(
            pg.label(a, lang) for a in t.actions
        )
        edges.append(NetEdge(t.teacher, t.learner, "transfer", path, 1.5 + 1.5 * n, title, True, str(n), mx, my))
    legend = [("region", "partner region"), ("transfer", "arrow: the target region learned from the source")]
    return Network(width, height, list(nodes.values()), edges, legend)


def practice_network(pg: PracticeGraph, lang: str = "en", per_practice: int = 2, most: int = 60) -> Network:
    """The practices (at most ``most``: those with the most links) on a circle grouped by partner region, each
    linked to the ``per_practice`` practices most like it. Labels run outwards along the radius, so neighbours
    never overlap; links bend towards the centre. Beyond a few dozen practices no drawing stays legible."""
    width, height = 1040, 1000
    chosen = sorted(pg.practices, key=lambda p: (-pg.graph.degree(p), p))[:most]
    groups: dict[str, str] = {}
    for p in chosen:
        regions = sorted(n for n in pg.graph[p] if pg.graph.edges[p, n]["kind"] == "region")
        groups[p] = pg.partner_region_of(regions[0]) if regions else ""
    g = nx.Graph()
    g.add_nodes_from(
        sorted(chosen, key=lambda p: (pg.label(groups[p], lang) if groups[p] else "~", pg.label(p, lang).casefold()))
    )
    for p in chosen:
        for r in pg.related(p, per_practice):
            if r.iri in g:
                g.add_edge(p, r.iri, weight=r.score)
    if not g:
        return Network(width, height)
    pos = _place(nx.circular_layout(g), width, height, (240, 230))
    palette = {region: f"g{i % 8}" for i, region in enumerate(sorted(set(groups.values())))}
    nodes = {p: NetNode(p, pg.label(p, lang), "practice", *pos[p], r=7, group=palette[groups[p]]) for p in g}
    cx, cy = width / 2, height / 2
    for node in nodes.values():
        _label_radial(node, cx, cy)
    edges = []
    for a, b, d in g.edges(data=True):
        na, nb = nodes[a], nodes[b]
        qx, qy = ((na.x + nb.x) / 2 + cx) / 2, ((na.y + nb.y) / 2 + cy) / 2
        edges.append(
            NetEdge(
                a,
                b,
                "similar",
                f"M{na.x},{na.y} Q{qx:.1f},{qy:.1f} {nb.x},{nb.y}",
                round(min(4.0, 0.8 + d["weight"] / 3), 1),
                f"{na.label} — {nb.label}",
            )
        )
    legend = [(css, pg.label(region, lang) if region else "no region") for region, css in palette.items()]
    return Network(width, height, list(nodes.values()), edges, legend)


def _label_radial(node: NetNode, cx: float, cy: float) -> None:
    """Put the label outside the circle along the radius, turned so it never reads upside down."""
    angle = math.degrees(math.atan2(node.y - cy, node.x - cx))
    ux, uy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    node.lx, node.ly = round(node.x + ux * (node.r + 5), 1), round(node.y + uy * (node.r + 5), 1)
    if -90 <= angle <= 90:
        node.anchor, node.rotate = "start", round(angle, 1)
    else:
        node.anchor, node.rotate = "end", round(angle - 180 if angle > 0 else angle + 180, 1)
