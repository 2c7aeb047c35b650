"""What changed between two releases: in words (practices added, removed, and the fields changed in each) and
exactly, as the quads added and removed (N-Quads, or one RDF Patch).

Quads without blank nodes are compared as they are. Blank-node labels mean nothing across two dumps, so the quads
that hold blank nodes are compared after canonical relabelling (RDFC-1.0) of each side: equal structures get equal
labels, and only a real change shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from .analysis.derived import is_derived
from .releases import Release

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
GOOD_PRACTICE = "https://w3id.org/next2met/ontology#GoodPractice"


@dataclass
class Diff:
    old: str
    new: str
    added: list[ox.Quad]
    removed: list[ox.Quad]
    practices_added: list[str] = field(default_factory=list)
    practices_removed: list[str] = field(default_factory=list)
    practices_changed: dict[str, list[str]] = field(default_factory=dict)  # practice -> properties changed
    other_changed: list[str] = field(default_factory=list)  # other resources (not derived) that changed
    derived_changed: list[str] = field(default_factory=list)  # derived graphs that differ

    def patch(self) -> str:
        """The change as an RDF Patch (``D`` lines then ``A`` lines, in a transaction)."""
        lines = ["TX ."]
        lines += [f"D {_term_quad(q)} ." for q in self.removed]
        lines += [f"A {_term_quad(q)} ." for q in self.added]
        lines.append("TC .")
        return "\n".join(lines) + "\n"


def _term_quad(q: ox.Quad) -> str:
    graph = "" if isinstance(q.graph_name, ox.DefaultGraph) else f" {q.graph_name}"
    return f"{q.subject} {q.predicate} {q.object}{graph}"


def _read(release: Release) -> tuple[set[ox.Quad], set[ox.Quad]]:
    """(quads without blank nodes, quads with blank nodes relabelled canonically)."""
    plain, blank = set(), []
    for q in ox.parse(path=str(release.nquads), format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False):
        if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode):
            blank.append(q)
        else:
            plain.add(q)
    if blank:
        ds = ox.Dataset(blank)
        ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        return plain, set(ds)
    return plain, set()


def diff(old: Release, new: Release, base: str, property_name=lambda iri: iri) -> Diff:
    """Compare two releases."""
    old_plain, old_blank = _read(old)
    new_plain, new_blank = _read(new)
    added = sorted((new_plain - old_plain) | (new_blank - old_blank), key=str)
    removed = sorted((old_plain - new_plain) | (old_blank - new_blank), key=str)
    result = Diff(old.name, new.name, added, removed)

    def practices(quads: set[ox.Quad]) -> set[str]:
        return {
            q.subject.value
            for q in quads
            if q.predicate.value == RDF_TYPE and q.object.value == GOOD_PRACTICE and isinstance(q.subject, ox.NamedNode)
        }

    before, after = practices(old_plain), practices(new_plain)
    result.practices_added = sorted(after - before)
    result.practices_removed = sorted(before - after)
    changed: dict[str, set[str]] = defaultdict(set)
    others: set[str] = set()
    derived: set[str] = set()
    for q in [*added, *removed]:
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if is_derived(graph, base):
            derived.add(graph)
            continue
        if not isinstance(q.subject, ox.NamedNode):
            continue
        resource = q.subject.value.split("#", 1)[0]
        if resource in (before & after):
            changed[resource].add(property_name(q.predicate.value))
        elif resource not in before | after:
            others.add(resource)
    result.practices_changed = {p: sorted(props) for p, props in sorted(changed.items())}
    result.other_changed = sorted(others)
    result.derived_changed = sorted(derived)
    return result
