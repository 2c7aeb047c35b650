"""The SHACL shapes (ontology/shapes.ttl) against the fixtures in tests/data/shapes.

Each fixture is validated merged with the ontology and the SKOS schemes, the way the build validates the data.
Its header says what to expect, one line each:

    # expect: Violation shapes:GoodPractice-standing "exactly one standing"
    # expect: Warning <https://w3id.org/next2met/shapes#GoodPracticeLocalSummaryShape>
    # expect: clean

A shape (prefixed with shapes: or a full IRI) and a quoted fragment of the message are both optional.
valid/*.ttl must give no violation; "clean" means no result at all, and each Warning line must be met.
invalid/*.ttl must give at least one violation for each expectation and no violation that none of them explains.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

import pyshacl
import pytest
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SH, SKOS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "shapes"
SHAPES_NS = "https://w3id.org/next2met/shapes#"
CONCEPT_NS = "https://w3id.org/next2met/concept/"
EXPECT = re.compile(r'^#\s*expect:\s*(Violation|Warning|clean)\s*(<[^>]+>|shapes:\S+)?\s*(?:"([^"]*)")?\s*$')


class Result(NamedTuple):
    severity: str
    shape: str
    message: str
    focus: str


class Expectation(NamedTuple):
    severity: str
    shape: str | None
    fragment: str | None

    def matches(self, result: Result) -> bool:
        return (result.severity == self.severity and self.shape in (None, result.shape)
                and (self.fragment is None or self.fragment in result.message))


@lru_cache
def shapes_graph() -> Graph:
    return Graph().parse(ROOT / "ontology" / "shapes.ttl")


@lru_cache
def base_graph() -> Graph:
    graph = Graph().parse(ROOT / "ontology" / "next2met.ttl")
    for scheme in sorted((ROOT / "ontology" / "schemes").glob("*.ttl")):
        graph.parse(scheme)
    return graph


def data_graph(fixture: Path | None) -> Graph:
    graph = Graph() + base_graph()
    return graph.parse(fixture, format="turtle") if fixture else graph


def read_report(report: Graph) -> list[Result]:
    # only the report's own results: pyshacl also types the nested results of sh:node (sh:detail) as results
    return [Result(str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1], str(report.value(r, SH.sourceShape)),
                   str(report.value(r, SH.resultMessage) or ""), str(report.value(r, SH.focusNode)))
            for r in report.objects(None, SH.result)]


@cache
def validate(fixture: Path | None) -> list[Result]:
    _, report, _ = pyshacl.validate(data_graph(fixture), shacl_graph=shapes_graph(), inference="none",
                                    advanced=True, allow_warnings=True)
    return read_report(report)


def expectations(fixture: Path) -> list[Expectation]:
    found = [EXPECT.match(line) for line in fixture.read_text(encoding="utf-8").splitlines()]
    return [Expectation(m[1], m[2] and re.sub(r"^shapes:", SHAPES_NS, m[2].strip("<>")), m[3]) for m in found if m]


def show(results) -> str:
    return "\n".join(f"  {r.severity} {r.shape.replace(SHAPES_NS, 'shapes:')} on {r.focus}: {r.message}"
                     for r in results)


def fixtures(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.ttl"))


@pytest.mark.parametrize("fixture", fixtures("valid"), ids=lambda p: p.stem)
def test_valid_fixture_has_no_violation(fixture: Path) -> None:
    results = validate(fixture)
    violations = [r for r in results if r.severity == "Violation"]
    assert not violations, "unexpected violations:\n" + show(violations)
    expected = expectations(fixture)
    if any(e.severity == "clean" for e in expected):
        assert not results, "expected no results at all:\n" + show(results)
    for expectation in (e for e in expected if e.severity == "Warning"):
        assert any(expectation.matches(r) for r in results), f"missing {expectation}; got:\n{show(results)}"


@pytest.mark.parametrize("fixture", fixtures("invalid"), ids=lambda p: p.stem)
def test_invalid_fixture_violates_the_expected_constraint(fixture: Path) -> None:
    expected = expectations(fixture)
    assert expected and all(e.severity == "Violation" for e in expected), "the header needs '# expect: Violation ...'"
    violations = [r for r in validate(fixture) if r.severity == "Violation"]
    missing = [e for e in expected if not any(e.matches(v) for v in violations)]
    assert not missing, f"missing {missing}; got:\n{show(violations)}"
    others = [v for v in violations if not any(e.matches(v) for e in expected)]
    assert not others, "violations nobody expected:\n" + show(others)


def test_ontology_and_schemes_alone_give_no_result() -> None:
    results = validate(None)
    assert not results, show(results)


@pytest.mark.slow
def test_turbo_engine_agrees_with_pyshacl_on_every_fixture() -> None:
    """The build runs pyshacl-turbo by default; pyshacl is the reference."""
    turbo = pytest.importorskip("pyshacl_turbo").compile_shapes(shapes_graph(), advanced=True)

    def key(r: Result) -> tuple:  # blank nodes get other labels in each report
        named = [x if x.startswith("http") else "_" for x in (r.shape, r.focus)]
        return r.severity, r.message, *named

    for fixture in [*fixtures("valid"), *fixtures("invalid"), None]:
        _, report, _ = turbo.validate(data_graph(fixture), allow_warnings=True, allow_infos=True)
        assert sorted(map(key, read_report(report))) == sorted(map(key, validate(fixture))), fixture


def test_every_concept_named_in_the_shapes_exists() -> None:
    known = {s for kind in (SKOS.Concept, SKOS.ConceptScheme) for s in base_graph().subjects(RDF.type, kind)}
    named = {o for o in shapes_graph().objects() if isinstance(o, URIRef) and str(o).startswith(CONCEPT_NS)}
    assert named and named <= known, sorted(named - known)


def test_every_node_shape_with_a_target_is_exercised() -> None:
    """Each targeted shape has a focus node in a valid fixture; shapes whose SPARQL target selects only the
    offending concepts (see shapes.ttl) cannot, so they need one in an invalid fixture."""
    shapes = shapes_graph()
    declared = shapes.objects(None, SH.declare)
    prefixes = {str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace)) for d in declared}
    offender_targeted = {URIRef(SHAPES_NS + "ConceptNotationShape"), URIRef(SHAPES_NS + "ConceptBroaderSchemeShape")}

    def has_focus(shape, graph: Graph) -> bool:
        return (any((None, RDF.type, c) in graph for c in shapes.objects(shape, SH.targetClass))
                or any((None, p, None) in graph for p in shapes.objects(shape, SH.targetObjectsOf))
                or any(len(graph.query(str(shapes.value(t, SH.select)), initNs=prefixes))
                       for t in shapes.objects(shape, SH.target)))

    targeted = {s for p in (SH.targetClass, SH.targetObjectsOf, SH.target) for s in shapes.subjects(p, None)}
    graphs = {kind: [data_graph(f) for f in fixtures(kind)] for kind in ("valid", "invalid")}
    uncovered = [str(s) for s in targeted
                 if not any(has_focus(s, g) for g in graphs["invalid" if s in offender_targeted else "valid"])]
    assert len(targeted) >= 15 and not uncovered, uncovered
