"""Validation of a change (graph/changes/incremental.py): the verdict on the nodes a change can affect equals a
full validation of the edited data, on planted violations (a missing English title, an end before the start, a
concept of the wrong scheme, a second English title) and on changes whose effect lies in other records (an
organisation that stops being one, an event moved before the practices it presented)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from next2met.graph.changes.incremental import bounded_report, full_report
from next2met.graph.changes.provenance import provenance_graph_iri
from next2met.graph.settings import DEFAULT_BASE_IRI as BASE
from next2met.graph.store import OxigraphStore
from next2met.graph.validate import reference_quads, shapes_graph, validate_quads

DCT = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.org/"
N2M = "https://w3id.org/next2met/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
PRACTICE = f"{BASE}practice/digital-consultations-longford"
GRAPH = f"{BASE}graph/practices/digital-consultations-longford"
GYEAR = ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear")


@pytest.fixture(scope="module")
def store(built_store, tmp_path_factory):
    import shutil

    target = tmp_path_factory.mktemp("incremental") / "store"
    shutil.copytree(built_store, target, symlinks=True)
    opened = OxigraphStore(target)
    yield opened
    opened.close()


def _edit(quads: list[ox.Quad], drop, add=()) -> list[ox.Quad]:
    graph = quads[0].graph_name
    kept = [q for q in quads if not drop(q)]
    return kept + [ox.Quad(s, ox.NamedNode(p), o, graph) for s, p, o in add]


def _title_en(q: ox.Quad) -> bool:
    return q.predicate.value == DCT + "title" and q.object.language == "en"


def _years(q: ox.Quad) -> bool:
    return q.predicate.value in (SCHEMA + "startDate", SCHEMA + "endDate")


P = ox.NamedNode(PRACTICE)
PLANTED = {
    "missing English title": (_title_en, []),
    "end before start": (_years, [(P, SCHEMA + "startDate", ox.Literal("2021", datatype=GYEAR)),
                                  (P, SCHEMA + "endDate", ox.Literal("2019", datatype=GYEAR))]),
    "concept of the wrong scheme": (lambda q: False, [(P, N2M + "innovationStage",
                                                        ox.NamedNode(f"{BASE}concept/measure/e-service"))]),
    "second English title": (lambda q: False, [(P, DCT + "title", ox.Literal("Another title", language="en"))]),
    "valid: a new title": (_title_en, [(P, DCT + "title", ox.Literal("A new title", language="en"))]),
}


def _violations(report, focus_of=None) -> set[tuple[str, str, str]]:
    rows = {(r.focus, r.path, r.message) for r in report.results if r.severity == "Violation"}
    return rows if focus_of is None else {r for r in rows if r[0].split("#", 1)[0] in focus_of}


def _same_verdict(store, replaced) -> tuple[set, set]:
    bounded = bounded_report(store, replaced, BASE, "turbo")
    full = full_report(store, replaced, BASE, "turbo")
    assert bounded is not None, "a change of YAML-built graphs has a bounded neighbourhood"
    assert bounded.conforms == full.conforms
    assert _violations(bounded) == _violations(full)  # the store conformed before: every violation is about the change
    return _violations(bounded), _violations(full)


@pytest.mark.parametrize("name", list(PLANTED))
def test_planted_violations_get_the_full_verdict(store, name):
    drop, add = PLANTED[name]
    replaced = {GRAPH: _edit(list(store.quads(GRAPH)), drop, add)}
    found, _ = _same_verdict(store, replaced)
    assert bool(found) == (not name.startswith("valid")), found


def test_an_organisation_that_stops_being_one_breaks_the_practices_that_name_it(store):
    org = next(q.object for q in store.quads(GRAPH) if q.predicate.value == N2M + "mainInstitution")
    graph = store.query(f"SELECT ?g WHERE {{ GRAPH ?g {{ {org} a ?t }} }}").rows()[0]["g"].value
    replaced = {graph: _edit(list(store.quads(graph)),
                             lambda q: q.subject == org and q.predicate.value == RDF_TYPE)}
    found, _ = _same_verdict(store, replaced)
    assert any(focus == PRACTICE for focus, _, _ in found)  # a node outside the changed graph


def test_an_event_moved_before_a_practice_started_breaks_the_practice(store):
    rows = store.query(f"SELECT ?p ?e ?g WHERE {{ ?p <{N2M}presentedAt> ?e ; <{SCHEMA}startDate> ?start . "
                       f"GRAPH ?g {{ ?e <{SCHEMA}startDate> ?d }} }} LIMIT 1").rows()
    event, graph = rows[0]["e"], rows[0]["g"].value
    moved = _edit(list(store.quads(graph)), lambda q: q.subject == event and _years(q),
                  [(event, SCHEMA + "startDate", ox.Literal("1990", datatype=GYEAR))])
    found, _ = _same_verdict(store, {graph: moved})
    assert any(focus == rows[0]["p"].value for focus, _, _ in found)


def test_no_shape_reads_the_provenance_graph(store):
    """The neighbourhood leaves the provenance graph out: no shape may target what it describes."""
    prov = list(store.quads(provenance_graph_iri(BASE)))
    report = validate_quads([*prov, *reference_quads(BASE)], engine="turbo", base=BASE)
    described = {q.subject.value for q in prov}
    assert not [r for r in report.results if r.focus in described]


# SPARQL constraints and targets are where a shape can read beyond two hops from its focus node: each one here was
# checked to read only the focus node, the nodes it links to and their values. A new one must be checked likewise
# (graph/changes/incremental.py says what the neighbourhood holds) before it is added to this list.
CHECKED_SPARQL = {
    "StartNotAfterEnd", "GoodPractice-gpDatabaseNeedsPage", "GoodPractice-local-summary",
    "Region-notation-matches-iri", "Region-level-matches-code", "Region-broader-matches-code",
    "Action-inspiration-stated-or-plausible", "Concept-notation-matches-iri", "Concept-broader-same-scheme",
    "Concept-label-languages", "GoodPractice-presentedAfterStart",
}


def test_every_sparql_constraint_was_checked_for_what_it_reads():
    rows = shapes_graph(BASE).query(
        "PREFIX sh: <http://www.w3.org/ns/shacl#> SELECT DISTINCT ?c WHERE { ?s sh:sparql ?c }")
    names = {str(r[0]).rsplit("#", 1)[-1] for r in rows}
    unchecked = names - CHECKED_SPARQL
    assert not unchecked, f"check what these read, then list them in CHECKED_SPARQL: {sorted(unchecked)}"
