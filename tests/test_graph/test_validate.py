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


@pytest.mark.parametrize("engine", ["turbo", "pyshacl"])
def test_a_triple_in_two_graphs_counts_once(real_quads, engine):
    """The data graph is the set of all triples: a practice stated again in another named graph is no second
    title, summary or standing (each with sh:maxCount 1)."""
    practice = next(q.graph_name for q in real_quads if "/graph/practices/" in q.graph_name.value)
    copy = ox.NamedNode("https://example.org/graph/copy")
    again = [ox.Quad(q.subject, q.predicate, q.object, copy) for q in real_quads if q.graph_name == practice]
    assert again
    once, twice = validate_quads(real_quads, engine=engine), validate_quads([*real_quads, *again], engine=engine)
    assert twice.conforms and twice.warning_count == once.warning_count


def test_turbo_public_api_fallback_gives_the_same_report(real_quads, monkeypatch):
    """If pyshacl-turbo's native entry point changes, the public API answers instead, with the same results."""
    from next2met.graph import validate

    real = validate._compiled_turbo_shapes()

    class PublicOnly:
        _native = None  # the native call raises AttributeError

        def validate(self, *args, **kwargs):
            return real.validate(*args, **kwargs)

    broken = [q for q in real_quads if q.predicate.value != "https://w3id.org/next2met/ontology#standing"]
    native = validate_quads(broken, engine="turbo")
    monkeypatch.setattr(validate, "_compiled_turbo_shapes", lambda base=None: PublicOnly())
    public = validate_quads(broken, engine="turbo")
    assert not public.conforms and public.violation_count == native.violation_count > 0
    def rows(report):
        return [(r.focus, r.path, r.message) for r in report.results]

    assert rows(public) == rows(native)


def test_the_streamed_build_writes_and_validates_what_compile_dataset_reads(real_quads, tmp_path):
    """The build reads one file at a time into the store and keeps only the text for SHACL: the store must end up
    with exactly the compiled quads (provenance included), and the report must be the one of those quads."""
    from next2met.graph.build import build_dataset
    from next2met.graph.store import OxigraphStore

    store = OxigraphStore(tmp_path / "store")
    result = build_dataset(store, Settings(store=tmp_path / "store"))
    assert result.written and result.quads == len(real_quads) == store.count()
    def ground(quads):  # blank nodes (in the shapes graph) get new labels at each parse
        return {q for q in quads if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}

    assert ground(store.quads()) == ground(real_quads) and len(ground(real_quads)) > 0.9 * len(real_quads)
    whole = validate_quads(real_quads, engine="turbo")
    assert [(r.focus, r.path, r.message) for r in result.report.results] == \
        [(r.focus, r.path, r.message) for r in whole.results]
    from next2met.graph.validate import validate_text

    again = validate_text(store.triples_text(), engine="turbo")
    assert again.warning_count == whole.warning_count > 0 and again.conforms
    store.close()
