"""Both SHACL engines judge the real data the same way, and the report reads back as the W3C report graph."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from next2met.graph import paths
from next2met.graph.build import compile_dataset
from next2met.graph.settings import Settings
from next2met.graph.validate import validate_quads


@pytest.fixture(scope="module")
def real_quads():
    quads, _ = compile_dataset(Settings())
    return quads


@pytest.mark.slow
def test_turbo_and_pyshacl_agree_on_real_data(real_quads):
    """pySHACL is the reference: the fast engine must report exactly the same results."""
    fast = validate_quads(real_quads, engine="turbo")
    reference = validate_quads(real_quads, engine="pyshacl")
    assert fast.conforms and reference.conforms
    assert fast.warning_count > 0  # the data leaves unknown facts out, which shows as warnings

    def key(r):
        return (r.focus, r.path, r.severity, r.message, r.value)

    assert sorted(map(key, fast.results)) == sorted(map(key, reference.results))


def test_report_turtle_is_a_validation_report(real_quads):
    broken = [q for q in real_quads if q.predicate.value != "https://w3id.org/next2met/ontology#standing"]
    report = validate_quads(broken, engine="turbo")
    assert not report.conforms
    triples = list(ox.parse(report.turtle(), format=ox.RdfFormat.TURTLE))
    results = {t.object for t in triples if t.predicate.value == "http://www.w3.org/ns/shacl#result"}
    assert len(results) == len(report.results)
    practices = {r.focus for r in report.results if r.path == "n2m:standing"}
    assert len(practices) == len(list((paths.DATA_DIR / "practices").glob("*.yaml")))
