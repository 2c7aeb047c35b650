"""Derived named graphs: computed from the curated data, stored beside it, recomputed when the data changes.

Each derived graph ``{base}graph/derived/{name}`` describes itself: the computation that made it (PROV: the
activity, the software and its version, each algorithm as a ``prov:Plan`` with its parameters as
``schema:PropertyValue``) and the data it was made from (``n2m:dataGeneration``, a content digest of the curated
data). Everything in it is a ``#fragment`` of the graph's own IRI, so the change log sees one resource per derived
graph, and the graph's page (``/graph/derived/{name}``) lists all of it.

Nothing in a derived graph carries a clock time: the same data gives the same graph, byte for byte, and a
recomputation that finds the digest unchanged writes nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ..store import Store

log = logging.getLogger(__name__)

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.org/"
SD_GRAPH = "http://www.w3.org/ns/sparql-service-description#Graph"
N2M = "https://w3id.org/next2met/ontology#"
BLANK = re.compile(rb"_:[A-Za-z0-9_.-]+")


def derived_prefix(base: str) -> str:
    return f"{base}graph/derived/"


def derived_graph(base: str, name: str) -> str:
    return f"{derived_prefix(base)}{name}"


def is_derived(graph: str, base: str) -> bool:
    return graph.startswith(derived_prefix(base))


def data_generation(store: Store, base: str) -> str:
    """The content digest of the curated data: SHA-256 of its N-Quads without the derived graphs, one quad a line,
    sorted, with blank-node labels blanked (they differ between two builds of the same files).

    The embedded store writes its N-Quads natively and the lines are filtered, relabelled and sorted as bytes, with
    no Python object per quad (9k quads: 0.55 s through quads() against a few ms)."""
    native = getattr(store, "store", None)
    if isinstance(native, ox.Store):
        return _digest_lines(native.dump(format=ox.RdfFormat.N_QUADS) or b"", base)
    return digest_quads(store.quads(), base)


def digest_quads(quads: Iterable[ox.Quad], base: str) -> str:
    """:func:`data_generation` of any quads (a dump, a release)."""
    return _digest_lines(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"", base)


def _digest_lines(nquads: bytes, base: str) -> str:
    derived = b"<" + derived_prefix(base).encode()
    lines = [
        line
        for line in BLANK.sub(b"_:", nquads).split(b"\n")
        if line and not line[:-2].rstrip().rsplit(b" ", 1)[-1].startswith(derived)
    ]
    lines.sort()
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
    return digest.hexdigest()


def recorded(store: Store, graph: str) -> tuple[str, str] | None:
    """(data generation, code version) a stored derived graph says it was made from and by (None when absent)."""
    rows = store.query(f"""SELECT ?d ?v WHERE {{ GRAPH <{graph}> {{
        <{graph}> <{N2M}dataGeneration> ?d ; <{PROV}wasGeneratedBy> ?a .
        ?a <{PROV}wasAssociatedWith> <{graph}#software-next2met-kg> .
        <{graph}#software-next2met-kg> <{SCHEMA}softwareVersion> ?v }} }}""").rows()
    return (rows[0]["d"].value, rows[0]["v"].value) if rows else None


def code_version() -> str:
    """Our version and a digest of the code that derives the graphs: a change of the algorithms recomputes them
    even when the data is the same."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")) + [Path(__file__).parent.parent / "analyse.py"]:
        digest.update(path.read_bytes())
    return f"{_version('next2met-kg')}+{digest.hexdigest()[:12]}"


class Triples:
    """The triples of one derived graph, built with short helpers; subjects and objects are IRIs or literals."""

    def __init__(self, graph: str) -> None:
        self.graph = graph
        self.items: set[ox.Triple] = set()

    def node(self, fragment: str) -> str:
        return f"{self.graph}#{fragment}"

    def add(self, s: str, p: str, o: str | ox.Literal) -> None:
        self.items.add(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o) if isinstance(o, str) else o))

    def a(self, s: str, cls: str) -> None:
        self.add(s, RDF_TYPE, cls)

    def text(self, s: str, p: str, value: str, lang: str = "en") -> None:
        self.add(s, p, ox.Literal(value, language=lang))

    def integer(self, s: str, p: str, value: int) -> None:
        self.add(s, p, ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD + "integer")))

    def decimal(self, s: str, p: str, value: float, digits: int = 6) -> None:
        """A decimal rounded to ``digits`` places: floating-point noise never changes the graph."""
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"
        if "." not in text:
            text += ".0"
        self.add(s, p, ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal")))

    def quads(self) -> list[ox.Quad]:
        g = ox.NamedNode(self.graph)
        return [ox.Quad(t.subject, t.predicate, t.object, g) for t in sorted(self.items, key=str)]


@dataclass
class Plan:
    """An algorithm run with its parameters (a ``prov:Plan``)."""

    key: str  # fragment name
    label: str
    url: str  # where the algorithm is documented
    parameters: dict[str, str | int | float] = field(default_factory=dict)


def describe_computation(
    t: Triples, title: str, generation: str, plans: Iterable[Plan], software: Iterable[str] = ("networkx",)
) -> None:
    """The derived graph's provenance: what it is, the data it came from, the software and the algorithms."""
    g = t.graph
    t.a(g, PROV + "Entity")
    t.a(g, SD_GRAPH)
    t.text(g, DCT + "title", title)
    t.add(g, N2M + "dataGeneration", ox.Literal(generation))
    activity = t.node("computation")
    t.add(g, PROV + "wasGeneratedBy", activity)
    t.a(activity, PROV + "Activity")
    t.text(activity, RDFS + "label", f"computation of {title}")
    for name in ["next2met-kg", *software]:
        agent = t.node(f"software-{name}")
        t.a(agent, PROV + "SoftwareAgent")
        t.a(agent, SCHEMA + "SoftwareApplication")
        t.add(agent, SCHEMA + "name", ox.Literal(name))
        version = code_version() if name == "next2met-kg" else _version(name)
        t.add(agent, SCHEMA + "softwareVersion", ox.Literal(version))
        t.add(activity, PROV + "wasAssociatedWith", agent)
    for plan in plans:
        node = t.node(f"plan-{plan.key}")
        association = t.node(f"association-{plan.key}")
        t.add(activity, PROV + "qualifiedAssociation", association)
        t.a(association, PROV + "Association")
        t.add(association, PROV + "agent", t.node(f"software-{software_of(plan, software)}"))
        t.add(association, PROV + "hadPlan", node)
        t.a(node, PROV + "Plan")
        t.text(node, RDFS + "label", plan.label)
        t.add(node, SCHEMA + "url", plan.url)
        for key, value in sorted(plan.parameters.items()):
            param = t.node(f"plan-{plan.key}-{re.sub(r'[^A-Za-z0-9]+', '-', key)}")
            t.add(node, SCHEMA + "additionalProperty", param)
            t.a(param, SCHEMA + "PropertyValue")
            t.add(param, SCHEMA + "name", ox.Literal(key))
            t.add(param, SCHEMA + "value", _literal(value))


def software_of(plan: Plan, software: Iterable[str]) -> str:
    """The library that runs a plan: networkx for network algorithms, else our own code."""
    names = list(software)
    return names[0] if plan.url.startswith("https://networkx.org") and names else "next2met-kg"


def _literal(value: str | int | float) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
    if isinstance(value, float):
        return ox.Literal(repr(value), datatype=ox.NamedNode(XSD + "decimal"))
    return ox.Literal(value)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# -- the registry and the refresh -------------------------------------------------------------------------------
# name -> function(store, base, generation, context) returning the graph's quads. ``context`` carries what a
# caller already has (the SHACL report of the write, say) so that nothing is computed twice.
Deriver = Callable[[Store, str, str, dict], list[ox.Quad]]
DERIVERS: dict[str, Deriver] = {}


def deriver(name: str) -> Callable[[Deriver], Deriver]:
    def register(fn: Deriver) -> Deriver:
        DERIVERS[name] = fn
        return fn

    return register


def refresh(
    store: Store, base: str, *, force: bool = False, context: dict | None = None, engine: str = "auto"
) -> list[str]:
    """Recompute the derived graphs whose data generation is not the current one and write them in one step;
    return the names of the graphs written (none when all were current). ``context`` may hold what the caller
    already has: ``report`` (the SHACL report of the data as it is now), ``practice_graph``."""
    graphs = compute(store, base, force=force, context=context, engine=engine)
    if graphs:
        store.replace_graphs(graphs)
    return list(graphs)


def compute(
    store: Store, base: str, *, force: bool = False, context: dict | None = None, engine: str = "auto"
) -> dict[str, list[ox.Quad]]:
    """The derived graphs that :func:`refresh` would write, without writing them (a process of its own computes
    them from a snapshot after the server starts: ``graph/prepare.py``)."""
    from . import network, quality  # noqa: F401  (register the derivers)

    generation = data_generation(store, base)
    made = (generation, code_version())
    stale = [name for name in sorted(DERIVERS) if force or recorded(store, derived_graph(base, name)) != made]
    if not stale:
        return {}
    from ..analyse import PracticeGraph

    context = {"engine": engine, **(context or {})}
    context.setdefault("practice_graph", PracticeGraph.build(store))
    graphs = {}
    for name in stale:
        graphs[derived_graph(base, name)] = DERIVERS[name](store, base, generation, context)
    log.info("derived graphs recomputed from data %s: %s", generation[:12], ", ".join(stale))
    return graphs
