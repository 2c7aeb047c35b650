"""Relate practices to each other over a networkx graph built from the dataset.

The graph has one node per practice, organisation, region, concept, learning event and action, with an edge for
each link the data states: a practice's sectors, measure types, stages, stakeholder types and programme topic
(concepts), its main institution, stakeholders and submitting partner (organisations), its region, the events it
was presented at, the practices it names as related, and the actions it inspired (stated or plausibly) or that
name it. Concepts and regions also carry their ``skos:broader`` parents, so two regional food sectors of different
regions meet in the shared sector "agrifood".

"Practices like this one" scores every other practice by what the two share. Each shared node adds
``weight(kind) × specificity``, where specificity = 1 / log2(1 + number of practices linked to that node): a
sector that two practices share counts more than the "apply" stage that most practices have.

==========================  ======  ==========================================================
shared                      weight  why
==========================  ======  ==========================================================
related (stated link)       4       the sources name the two practices together
action (transfer link)      4       one inspired or is named by the same action of an action plan
organisation                3       the same organisation runs, joins or submitted both
sector (RIS3), measure      2       the same policy content
co-related                  2       the sources name both with the same third practice
event                       1.5     presented to the same audience
stage, region               1       same point of the innovation chain / same place
stakeholder type, topic     0.5     common, so weak on their own
==========================  ======  ==========================================================

Inherited matches (a broader concept or region) use the same weight; their lower specificity discounts them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .prefixes import prologue
from .store import Store

WEIGHTS = {
    "related": 4.0,
    "action": 4.0,
    "organisation": 3.0,
    "sector": 2.0,
    "measure": 2.0,
    "co-related": 2.0,
    "event": 1.5,
    "stage": 1.0,
    "region": 1.0,
    "stakeholder": 0.5,
    "topic": 0.5,
}
# The order in which the reasons for a related practice are given: the strongest evidence first.
REASON_KINDS = (
    "related",
    "co-related",
    "action",
    "sector",
    "measure",
    "topic",
    "organisation",
    "event",
    "region",
    "stakeholder",
    "stage",
)
# Kinds whose broader concepts (or regions) are shared features too.
HIERARCHICAL = {"sector", "measure", "stakeholder", "region", "stage", "topic"}

PREFIXES = prologue("n2m", "skos", "dcterms", "prov", "rdfs")

# What links a practice ?p to a node ?n, per kind of link. One small query each: Oxigraph plans a UNION of these
# with BINDs badly (30 s instead of 1 s on 100k triples).
LINKS = {
    "sector": "?p n2m:ris3Sector ?n",
    "measure": "?p n2m:measureType ?n",
    "stage": "?p n2m:innovationStage ?n",
    "stakeholder": "?p prov:qualifiedAttribution ?q . ?q n2m:stakeholderType ?n",
    "topic": "?p n2m:programmeTopic ?n",
    "organisation": "{ ?p n2m:mainInstitution ?n } UNION { ?p n2m:submittedBy ?n } "
    "UNION { ?p prov:qualifiedAttribution ?q . ?q prov:agent ?n }",
    "region": "?p dcterms:spatial ?n",
    "event": "?p n2m:presentedAt ?n",
    "related": "?p dcterms:relation ?n",
    "action": "{ ?n n2m:inspiredBy ?p } UNION { ?n n2m:plausiblyInspiredBy ?p } "
    "UNION { ?n a n2m:Action ; dcterms:relation ?p }",
}
NODE_KINDS = {
    "related": "practice",
    "sector": "concept",
    "measure": "concept",
    "stage": "concept",
    "stakeholder": "concept",
    "topic": "concept",
}

NODES = (
    PREFIXES
    + """
SELECT ?n ?label ?broader ?planRegion ?learnedFrom ?inspiredBy ?plausibly ?partnerRegion WHERE {
  { ?n skos:prefLabel|dcterms:title ?label }
  UNION { ?n skos:broader ?broader }
  UNION { ?n a n2m:Action . ?n dcterms:isPartOf/dcterms:spatial ?planRegion }
  UNION { ?n a n2m:Action ; n2m:learnedFrom ?learnedFrom }
  UNION { ?n n2m:inspiredBy ?inspiredBy }
  UNION { ?n n2m:plausiblyInspiredBy ?plausibly }
  UNION { ?n a n2m:Partner ; n2m:representsRegion ?partnerRegion }
}"""
)


@dataclass
class Related:
    """Another practice, its score, and what the two share as (kind, node IRI) pairs, strongest first."""

    iri: str
    score: float
    shared: list[tuple[str, str]]


@dataclass(frozen=True)
class Reason:
    """One reason why two practices are related: the kind of link (a key of WEIGHTS) and the nodes it runs through
    (organisations, concepts, regions, events, actions, or the third practice both are named with; none for a
    stated link between the two)."""

    kind: str
    nodes: tuple[str, ...] = ()


@dataclass
class Transfer:
    """Learning between two regions: ``learner`` took something from ``teacher`` in these actions."""

    teacher: str
    learner: str
    actions: list[str] = field(default_factory=list)
    practices: list[str] = field(default_factory=list)


class PracticeGraph:
    """The networkx graph of the dataset and what we compute from it; immutable once built."""

    def __init__(
        self,
        graph: nx.Graph,
        broader: dict[str, set[str]],
        labels: dict[str, dict[str, str]],
        transfers: list[Transfer],
        partner_regions: set[str],
        generation: str = "",
    ) -> None:
        self.graph = graph
        self.broader = broader
        self.labels = labels
        self.transfers = transfers
        self.partner_regions = partner_regions
        self.generation = generation
        self.practices = sorted(n for n, d in graph.nodes(data=True) if d.get("kind") == "practice")
        self.features = {p: self._features(p) for p in self.practices}
        self.members: dict[str, set[str]] = defaultdict(set)  # feature node → the practices that have it
        for p, feats in self.features.items():
            for node in feats:
                self.members[node].add(p)
        self.specificity = {n: 1 / math.log2(1 + len(ps)) for n, ps in self.members.items()}
        self._related: dict[tuple[str, int], list[Related]] = {}  # the graph never changes: remember answers
        # for the scoring: each practice's position, and each feature node's members as positions (without the
        # node itself: a practice named with another is not related to itself through it)
        self._index = {p: i for i, p in enumerate(self.practices)}
        self._member_index = {
            n: np.fromiter(sorted(self._index[p] for p in ps if p != n), dtype=np.intp)
            for n, ps in self.members.items()
        }

    # -- building ------------------------------------------------------------------------------------
    @classmethod
    def build(cls, store: Store) -> PracticeGraph:
        """Read the links of every practice and the action plans from the store into a networkx graph."""
        g = nx.Graph()
        for row in store.query(PREFIXES + "SELECT ?p WHERE { ?p a n2m:GoodPractice }").rows():
            g.add_node(row["p"].value, kind="practice")  # also the practices that link to nothing
        practices = set(g)
        for kind, pattern in LINKS.items():
            for row in store.query(PREFIXES + f"SELECT DISTINCT ?p ?n WHERE {{ {pattern} }}").rows():
                p, n = row["p"].value, row["n"].value
                if p not in practices or (kind == "related" and n not in practices):
                    continue
                if n not in g:
                    g.add_node(n, kind=NODE_KINDS.get(kind, kind))
                g.add_edge(p, n, kind=kind)
        broader: dict[str, set[str]] = defaultdict(set)
        labels: dict[str, dict[str, str]] = defaultdict(dict)
        actions: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        partner_regions: set[str] = set()
        for row in store.query(NODES).rows():
            n = row["n"].value
            if "label" in row:
                labels[n].setdefault(row["label"].language or "", row["label"].value)
            if "broader" in row:
                broader[n].add(row["broader"].value)
            if "partnerRegion" in row:
                partner_regions.add(row["partnerRegion"].value)
            for key in ("planRegion", "learnedFrom", "inspiredBy", "plausibly"):
                if key in row:
                    actions[n][key].add(row[key].value)
        graph = cls(g, dict(broader), dict(labels), [], partner_regions, getattr(store, "generation", ""))
        graph.transfers = graph._transfers(actions)
        return graph

    def _features(self, practice: str) -> dict[str, str]:
        """The nodes a practice links to, plus their broader parents: node IRI → kind."""
        out: dict[str, str] = {}
        for n in self.graph[practice]:
            kind = self.graph.edges[practice, n]["kind"]
            out.setdefault(n, kind)
            if kind in HIERARCHICAL:
                for parent in self.ancestors(n):
                    out.setdefault(parent, kind)
        return out

    def ancestors(self, node: str) -> set[str]:
        seen: set[str] = set()
        todo = [node]
        while todo:
            for parent in self.broader.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    # -- related practices ---------------------------------------------------------------------------
    def related(self, practice: str, limit: int = 8) -> list[Related]:
        """The practices most like ``practice``, best first (ties by IRI, so the order is stable)."""
        key = (practice, limit)
        if key not in self._related:
            if len(self._related) > 4096:
                self._related.clear()
            self._related[key] = self._rank(practice, limit)
        return self._related[key]

    def _rank(self, practice: str, limit: int) -> list[Related]:
        """Score every practice that shares something with ``practice`` and keep the ``limit`` best.

        A practice's score is the sum, over the nodes the two share, of the kind's weight times the node's
        specificity (plus a stated link between the two). The sums are made with numpy, one vector addition per
        node of ``practice`` over the positions of that node's members: each score receives the same additions in
        the same order as a loop over the members would make, so the floats are the same to the last bit, while a
        node shared by thousands of practices (a region, a broad sector) costs one vector operation, not a Python
        loop (at 1M quads, with ~10,000 practices, the loop made the similarity network of every practice take
        tens of minutes). Only the best few are then ranked in Python: rounded to three places, ties by IRI."""
        mine = self.features.get(practice)
        if not mine or limit <= 0:
            return []
        scores = np.zeros(len(self.practices))
        touched = np.zeros(len(self.practices), dtype=bool)
        for n, kind in mine.items():
            kind = "co-related" if kind == "related" else kind  # a third practice both are named with
            members = self._member_index[n]
            scores[members] += WEIGHTS.get(kind, 1.0) * self.specificity.get(n, 1.0)
            touched[members] = True
        for n, kind in mine.items():
            if kind == "related" and n in self.features:  # a stated link between the two practices
                scores[self._index[n]] += WEIGHTS["related"] * self.specificity.get(n, 1.0)
                touched[self._index[n]] = True
        touched[self._index[practice]] = False
        found = np.flatnonzero(touched)
        if not len(found):
            return []
        if len(found) > limit:  # the candidates: the best ``limit`` and whatever rounds to the same score or more
            kth = np.partition(scores[found], len(found) - limit)[len(found) - limit]
            found = found[scores[found] >= kth - 0.001]
        ranked = sorted((-round(float(scores[i]), 3), self.practices[i]) for i in found)[:limit]
        return [Related(iri, -score, self._shared(practice, iri)) for score, iri in ranked]

    def _shared(self, practice: str, other: str) -> list[tuple[str, str]]:
        """What two practices share, as (kind, node), strongest first (ties by node IRI)."""
        mine, theirs = self.features[practice], self.features[other]
        shared = [
            ("co-related" if kind == "related" else kind, n) for n, kind in mine.items() if n in theirs and n != other
        ]
        if mine.get(other) == "related":  # a stated link between the two practices
            shared.append(("related", other))
        return sorted(shared, key=lambda s: (-WEIGHTS.get(s[0], 1.0) * self.specificity.get(s[1], 1.0), s[1]))

    def label(self, iri: str, lang: str = "en") -> str:
        values = self.labels.get(iri, {})
        return values.get(lang) or values.get("en") or values.get("") or iri.rstrip("/").rsplit("/", 1)[-1]

    def reasons(self, related: Related) -> list[Reason]:
        """Why a practice is related, as data: one Reason per kind of link, in REASON_KINDS order, naming the most
        specific nodes only (a shared regional sector, not also its broader "agrifood"). The server phrases them in
        the reader's language."""
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, node in related.shared:
            if node not in by_kind[kind]:
                by_kind[kind].append(node)
        for kind, nodes in by_kind.items():
            if kind in HIERARCHICAL:
                inherited = set().union(*(self.ancestors(n) for n in nodes))
                by_kind[kind] = [n for n in nodes if n not in inherited]
        return [
            Reason(kind, () if kind == "related" else tuple(by_kind[kind]))
            for kind in REASON_KINDS
            if by_kind.get(kind)
        ]

    # -- the transfer network between regions ----------------------------------------------------------
    def partner_region_of(self, region: str) -> str:
        """The partner region a NUTS region belongs to (itself, or the partner region above it)."""
        if region in self.partner_regions:
            return region
        for parent in self.ancestors(region):
            if parent in self.partner_regions:
                return parent
        return region

    def _transfers(self, actions: dict[str, dict[str, set[str]]]) -> list[Transfer]:
        """Who learned from whom: the region an action learned from (or of the practice that inspired it) →
        the region of the action's plan."""
        regions_of = {
            p: {n for n in self.graph[p] if self.graph.edges[p, n]["kind"] == "region"} for p in self.practices
        }
        pairs: dict[tuple[str, str], Transfer] = {}
        for action, facts in sorted(actions.items()):
            teachers = set(facts["learnedFrom"])
            practices = sorted(facts["inspiredBy"] | facts["plausibly"])
            for p in practices:
                teachers |= regions_of.get(p, set())
            for learner in facts["planRegion"]:
                for teacher in teachers:
                    t, lr = self.partner_region_of(teacher), self.partner_region_of(learner)
                    if t == lr:
                        continue
                    transfer = pairs.setdefault((t, lr), Transfer(t, lr))
                    transfer.actions.append(action)
                    transfer.practices.extend(x for x in practices if x not in transfer.practices)
        return sorted(pairs.values(), key=lambda t: (t.teacher, t.learner))
