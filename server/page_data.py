"""Read one resource from the store for its page: the RDF (an explicit CONSTRUCT of the resource's triples, its
nested ``#fragment`` nodes and the labels of what it links to) and a view of it that picks texts in the reader's
language. Labels of the whole dataset are kept in memory per data generation, so any page can name any IRI.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pyoxigraph as ox

from next2met.graph.changes.provenance import provenance_graph_iri
from next2met.graph.prefixes import curie, prologue

from .links import NUTS, ONTOLOGY, href
from .state import Change, KnowledgeGraph

log = logging.getLogger(__name__)
PREFIXES = prologue("n2m", "skos", "dcterms", "dcat", "foaf", "org", "prov", "rdfs", "schema")

# The order is the preference when a resource has several kinds of name.
LABELS = ["skos:prefLabel", "dcterms:title", "foaf:name", "rdfs:label", "dcterms:identifier"]
LABEL_IRIS = {
    "skos:prefLabel": "http://www.w3.org/2004/02/skos/core#prefLabel",
    "dcterms:title": "http://purl.org/dc/terms/title",
    "foaf:name": "http://xmlns.com/foaf/0.1/name",
    "rdfs:label": "http://www.w3.org/2000/01/rdf-schema#label",
    "dcterms:identifier": "http://purl.org/dc/terms/identifier",
}
RANK = {iri: i for i, iri in enumerate(LABEL_IRIS.values())}

CONSTRUCT = (
    PREFIXES
    + """
CONSTRUCT {{ ?s ?p ?o . ?o ?lp ?label . }}
WHERE {{
  {{ BIND({iri} AS ?s) ?s ?p ?o }}
  UNION {{ {iri} ?np ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), {prefix})) ?s ?p ?o }}
  UNION {{
    {{ {iri} ?x ?o }} UNION {{ {iri} ?y ?n . FILTER(isIRI(?n) && STRSTARTS(STR(?n), {prefix})) ?n ?x ?o }}
    FILTER(isIRI(?o))
    ?o ?lp ?label .
    FILTER(?lp IN ({labels}))
  }}{extra}
}}"""
)
# A named graph's page also shows the #fragment nodes kept inside that graph (the provenance graph's build
# activity and source files), which nothing links to from the graph's own IRI.
IN_GRAPH = """
  UNION {{ GRAPH {iri} {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?s), {prefix})) }}"""

ALL_LABELS = (
    PREFIXES
    + """
SELECT ?s ?p ?label ?g WHERE {{ VALUES ?p {{ {labels} }} GRAPH ?g {{ ?s ?p ?label }} FILTER(isIRI(?s)) }}
""".format(labels=" ".join(LABELS))
)
_NAMED = "VALUES ?p { " + " ".join(LABELS) + " }"
# the resources named in some graphs (GRAPHS: their IRIs), and every name of some resources (SUBJECTS)
LABELLED_IN = f"{PREFIXES}SELECT DISTINCT ?s WHERE {{ VALUES ?g {{ GRAPHS }} {_NAMED} GRAPH ?g {{ ?s ?p ?label }} }}"
# what the provenance graph links the descriptions of some graphs to (their source files, the activities)
DESCRIBED = "SELECT DISTINCT ?s WHERE { GRAPH <PROV> { VALUES ?g { GRAPHS } ?g ?x ?s FILTER(isIRI(?s)) } }"
LABELS_OF = (
    f"{PREFIXES}SELECT ?s ?p ?label ?g WHERE {{ VALUES ?s {{ SUBJECTS }} {_NAMED} GRAPH ?g {{ ?s ?p ?label }} }}"
)

T = TypeVar("T")


class PerGeneration(Generic[T]):
    """A value computed from the whole dataset, rebuilt after a data change: lazily, on the next use (or, with
    ``update``, brought up to date from the graphs the changes named); or, with
    ``background`` (seconds at 1M quads), in a thread of its own as soon as the data changes, the previous value
    served meanwhile, so that no page waits for it (``/health`` lists ``name`` under ``preparing`` until it is
    rebuilt; changes during a rebuild ask for one more, not one each)."""

    def __init__(
        self,
        kg: KnowledgeGraph,
        build: Callable[[KnowledgeGraph], T],
        name: str = "",
        background: bool = False,
        update: Callable[[T, KnowledgeGraph, set[str]], T] | None = None,
    ) -> None:
        self.kg = kg
        self.build = build
        self.name = name
        self.background = background
        self.lock = threading.Lock()
        self.value: T | None = None
        self.generation: str | None = None
        self.update = update
        self._changed: set[str] | None = set()  # graphs changed since the value was made (None: anything)
        self._state = threading.Lock()
        self._wanted = False
        self._thread: threading.Thread | None = None
        kg.on_change(self.forget)

    def forget(self, kg: KnowledgeGraph, change: Change) -> None:
        with self._state:
            if change.graphs and self._changed is not None:
                self._changed.update(change.graphs)
            else:
                self._changed = None
        self.generation = None
        if self.background and self.value is not None:
            self._rebuild_later()

    def get(self) -> T:
        with self.lock:
            generation = self.kg.store.generation
            if self.background and self.value is not None and generation != self.generation:
                self._rebuild_later()
                return self.value
            if self.value is None or generation != self.generation:
                with self._state:
                    changed, self._changed = self._changed, set()
                if self.update is not None and self.value is not None and changed is not None:
                    self.value = self.update(self.value, self.kg, changed)
                else:
                    self.value = self.build(self.kg)
                self.generation = generation
            return self.value

    def _rebuild_later(self) -> None:
        with self._state:
            self._wanted = True
            if self._thread is not None:
                return
            self.kg.preparing.begin(self.name)
            self._thread = threading.Thread(target=self._rebuild, name=f"next2met-{self.name}", daemon=True)
            self._thread.start()

    def _rebuild(self) -> None:
        while True:
            with self._state:
                if not self._wanted or self.kg.closed:
                    self._thread = None
                    self.kg.preparing.end(self.name)
                    return
                self._wanted = False
            generation = self.kg.store.generation
            try:
                value = self.build(self.kg)
            except Exception:  # keep serving the previous value; the next change tries again
                log.exception("could not rebuild %s", self.name)
                continue
            with self.lock:
                self.value, self.generation = value, generation


def per_generation(
    kg: KnowledgeGraph,
    name: str,
    build: Callable[[KnowledgeGraph], Any],
    *,
    background: bool = False,
    update: Callable[[Any, KnowledgeGraph, set[str]], Any] | None = None,
) -> Any:
    """The current value of a named per-generation computation (created on first use); ``background``: rebuilt
    in the background after a change, the previous value served meanwhile; ``update``: brings the value up to
    date after changes of the named graphs it is given (a change of everything builds it again)."""
    holder = kg.extensions.get(name)
    if holder is None:
        holder = kg.extensions.setdefault(name, PerGeneration(kg, build, name, background, update))
    return holder.get()


class Labels:
    """The names of every IRI of the dataset, by language. Read whole once; after a change of named graphs only the
    names of the resources labelled in those graphs (before or after) are read again (``update``)."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.names: dict[str, dict[str, str]] = {}
        self.graphs: dict[str, set[str]] = defaultdict(set)  # graph -> the resources it gives a name
        self.base = kg.settings.base_iri
        self._take(kg.query(ALL_LABELS).rows())

    def _take(self, rows, replacing: Iterable[str] = ()) -> None:
        """Take the names in ``rows``; the resources ``replacing`` have only those (none if not in ``rows``)."""
        best: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
        for row in rows:
            s, p, lit = row["s"].value, row["p"].value, row["label"]
            self.graphs[row["g"].value].add(s)
            lang = getattr(lit, "language", None) or ""
            rank = RANK.get(p, 9)
            if lang not in best[s] or rank < best[s][lang][0]:
                best[s][lang] = (rank, lit.value)
        self.names.update({s: {lang: v for lang, (_, v) in langs.items()} for s, langs in best.items()})
        for s in replacing:
            if s not in best:
                self.names.pop(s, None)

    def update(self, kg: KnowledgeGraph, graphs: set[str]) -> Labels:
        """The names after a change of ``graphs``: those of the resources they name now or named before, read
        again from the whole data (a resource may be named in other graphs too)."""
        prov = provenance_graph_iri(self.base)
        if prov in graphs:  # it names every source file: read only the descriptions of the other graphs changed
            graphs = graphs - {prov}
            described = " ".join(f"<{g}>" for g in sorted(graphs) if g)
            subjects = set(graphs)
            if described:
                rows = kg.query(DESCRIBED.replace("GRAPHS", described).replace("PROV", prov)).rows()
                subjects |= {r["s"].value for r in rows if isinstance(r["s"], ox.NamedNode)}
        else:
            subjects = set()
        values = " ".join(f"<{g}>" for g in sorted(graphs) if g)
        subjects |= {s for g in graphs for s in self.graphs.pop(g, ())}
        if values:
            named = kg.query(LABELLED_IN.replace("GRAPHS", values)).rows()
            subjects |= {r["s"].value for r in named if isinstance(r["s"], ox.NamedNode)}
        ordered = sorted(subjects)
        rows = []
        for i in range(0, len(ordered), 300):
            chunk = " ".join(f"<{s}>" for s in ordered[i : i + 300])
            rows += kg.query(LABELS_OF.replace("SUBJECTS", chunk)).rows()
        self._take(rows, replacing=ordered)
        return self

    def get(self, iri: str, lang: str = "en") -> str:
        names = self.names.get(iri)
        if names:
            for candidate in (lang, "en", ""):
                if names.get(candidate):
                    return names[candidate]
            return names[sorted(names)[0]]
        if not iri.startswith((self.base, NUTS, ONTOLOGY)):
            return curie(iri)  # a term of a known vocabulary, or somebody else's page: its address is its name
        return fallback_label(iri)

    def has(self, iri: str) -> bool:
        return iri in self.names


def labels(kg: KnowledgeGraph) -> Labels:
    # read whole once (seconds at 1M quads); a change of named graphs reads the names of what they name again
    return per_generation(kg, "labels", Labels, update=lambda names, kg, graphs: names.update(kg, graphs))


def fallback_label(iri: str) -> str:
    if iri.startswith(NUTS):
        return iri[len(NUTS) :]
    local = iri.rstrip("/").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return local or iri


def construct(kg: KnowledgeGraph, iri: str, *, in_graph: bool = False) -> list[ox.Triple]:
    """The triples of a resource's page (see the module docstring), cached per data generation."""
    node, prefix = ox.NamedNode(iri), ox.Literal(iri + "#")
    extra = IN_GRAPH.format(iri=node, prefix=prefix) if in_graph else ""
    sparql = CONSTRUCT.format(iri=node, prefix=prefix, labels=", ".join(LABELS), extra=extra)
    return kg.cached(("construct", iri, in_graph), lambda: list(kg.query(sparql).triples()))


@dataclass(frozen=True)
class Text:
    value: str
    lang: str  # the language of the value ("" when untagged)
    fallback: bool  # True when the reader's language was not available


@dataclass(frozen=True)
class Link:
    iri: str
    label: str

    @property
    def href(self) -> str:
        return href(self.iri)


def pick(literals: list[ox.Literal], lang: str) -> list[Text]:
    """The values in ``lang``, else in English, else untagged, else in the first language there is."""
    by_lang: dict[str, list[str]] = defaultdict(list)
    for lit in literals:
        by_lang[getattr(lit, "language", None) or ""].append(lit.value)
    for candidate in (lang, "en", "", *sorted(by_lang)):
        if by_lang.get(candidate):
            return [Text(v, candidate, candidate not in (lang, "")) for v in by_lang[candidate]]
    return []


class Node:
    """What one subject of a page's RDF says, with values picked for the reader."""

    def __init__(self, page: Page, iri: str) -> None:
        self.page = page
        self.iri = iri
        self.props: dict[str, list[Any]] = page.by_subject.get(iri, {})

    @property
    def fragment(self) -> str:
        return self.iri.rsplit("#", 1)[-1] if "#" in self.iri else ""

    def values(self, pred: str) -> list[Any]:
        return self.props.get(pred, [])

    def texts(self, pred: str) -> list[Text]:
        return pick([v for v in self.values(pred) if isinstance(v, ox.Literal)], self.page.lang)

    def text(self, pred: str) -> Text | None:
        texts = self.texts(pred)
        return texts[0] if texts else None

    def literal(self, pred: str) -> str:
        values = [v.value for v in self.values(pred) if isinstance(v, ox.Literal)]
        return min(values) if values else ""

    def links(self, pred: str) -> list[Link]:
        iris = {v.value for v in self.values(pred) if isinstance(v, ox.NamedNode)}
        return sorted((Link(i, self.page.label(i)) for i in iris), key=lambda link: link.label.casefold())

    def nested(self, pred: str) -> list[Node]:
        return [
            Node(self.page, v.value)
            for v in self.values(pred)
            if isinstance(v, ox.NamedNode) and v.value.startswith(self.page.iri + "#")
        ]

    def types(self) -> list[str]:
        return [v.value for v in self.values("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")]


class Page(Node):
    """A resource and its neighbourhood as the CONSTRUCT returned them."""

    def __init__(
        self, kg: KnowledgeGraph, iri: str, lang: str, *, in_graph: bool = False, triples: list[ox.Triple] | None = None
    ) -> None:
        self.kg = kg
        self.lang = lang
        self.triples = construct(kg, iri, in_graph=in_graph) if triples is None else triples
        self.by_subject: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for t in self.triples:
            self.by_subject[t.subject.value][t.predicate.value].append(t.object)
        self.names = labels(kg)
        super().__init__(self, iri)

    @property
    def exists(self) -> bool:
        return bool(self.triples)

    def label(self, iri: str) -> str:
        return self.names.get(iri, self.lang)


def practice_graph(kg: KnowledgeGraph):
    """The networkx graph of practices (graph.analyse), rebuilt after a data change (the previous one served
    while it is rebuilt)."""
    from next2met.graph.analyse import PracticeGraph

    # related practices on every practice page: seconds at 1M quads, rebuilt in the background after a change
    return per_generation(kg, "related practices", lambda kg: PracticeGraph.build(kg.store), background=True)


def search_index(kg: KnowledgeGraph):
    """The full-text and facet index of practices (graph.search), rebuilt after a data change."""
    from next2met.graph.search import PracticeIndex

    return per_generation(kg, "search-index", lambda kg: PracticeIndex.build(kg.store))


def definition(kg: KnowledgeGraph, iri: str, lang: str) -> Text | None:
    """What a concept or term means, from skos:definition, skos:scopeNote or rdfs:comment."""
    sparql = PREFIXES + f"SELECT ?d WHERE {{ {ox.NamedNode(iri)} skos:definition|skos:scopeNote|rdfs:comment ?d }}"
    texts = pick([r["d"] for r in kg.select(sparql) if isinstance(r["d"], ox.Literal)], lang)
    return texts[0] if texts else None
