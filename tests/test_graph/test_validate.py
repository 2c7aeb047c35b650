"""Both SHACL engines judge the real data the same way, and the report reads back as the W3C report graph."""

from __future__ import annotations

from pathlib import Path

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


# comments, blank lines, escapes, a comment after a triple and no newline at the end
NT_EXTRA = (Path(__file__).resolve().parents[1] / "data" / "ntriples" / "notes.nt").read_text(encoding="utf-8")


def test_an_ntriples_source_is_built_as_it_is(tmp_path):
    """A ``.nt`` file goes to the store and to the SHACL engine without being read into Python: the store must
    still hold exactly what compiling the same files gives (its provenance, counted from the text, included), and
    the engine must have read it (a copy of a practice as N-Triples gets that practice's warnings)."""
    import shutil

    from next2met.graph.build import build_dataset
    from next2met.graph.store import OxigraphStore

    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    (data / "bulk").mkdir()
    (data / "bulk" / "notes.nt").write_text(NT_EXTRA, encoding="utf-8")
    practice = "https://w3id.org/next2met/practice/digital-consultations-longford"
    _, per_graph = compile_dataset(Settings())
    copied = [q for quads in per_graph.values() for q in quads if q.subject.value.startswith(practice)]
    renamed = ox.serialize((ox.Triple(ox.NamedNode(q.subject.value.replace(practice, practice + "-copy")),
                                      q.predicate, q.object) for q in copied), format=ox.RdfFormat.N_TRIPLES)
    (data / "bulk" / "copy.nt").write_bytes(renamed)
    (data / "bulk" / "with-blank-node.nt").write_text(  # blank nodes: read through the parser
        '<https://w3id.org/next2met/note/bulk-2> <http://purl.org/dc/terms/relation> _:b .\n'
        '_:b <http://www.w3.org/2000/01/rdf-schema#label> "b" .\n', encoding="utf-8")

    settings = Settings(store=tmp_path / "store", data_dir=str(data))
    from next2met.graph.build import DatasetStream

    _, parts = DatasetStream(settings).compile_text()
    assert {p.source for p in parts if p.raw} == {"data/bulk/notes.nt", "data/bulk/copy.nt"}
    expected, _ = compile_dataset(settings)
    store = OxigraphStore(tmp_path / "store")
    result = build_dataset(store, settings)
    assert result.written and result.quads == len(expected) == store.count()

    def ground(quads):
        return {q for q in quads if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}

    assert ground(store.quads()) == ground(expected)
    provenance = {(q.subject.value, q.predicate.value, q.object.value) for q in store.quads(
        "https://w3id.org/next2met/graph/provenance")}
    notes = "https://w3id.org/next2met/graph/bulk/notes"
    assert (notes, "http://rdfs.org/ns/void#triples", "7") in provenance
    assert (notes, "http://purl.org/dc/terms/modified", "2026-01-02") in provenance
    assert (notes, "http://purl.org/dc/terms/source", "https://example.org/a-source") in provenance
    assert (notes, "http://purl.org/dc/terms/subject", "https://w3id.org/next2met/note/bulk-1") in provenance
    assert (notes, "http://purl.org/dc/terms/subject", "https://w3id.org/next2met/note/bulk-1#part") not in provenance
    assert len(list(store.quads("https://w3id.org/next2met/graph/bulk/with-blank-node"))) == 2
    original = {(r.path, r.message) for r in result.report.results if r.focus == practice}
    copy = {(r.path, r.message) for r in result.report.results if r.focus == practice + "-copy"}
    assert copy == original and copy
    store.close()


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_broken_ntriples_source_is_named_and_nothing_is_written(tmp_path, dry_run):
    import shutil

    from next2met.graph.build import build_dataset
    from next2met.graph.errors import RDFSyntaxError
    from next2met.graph.store import OxigraphStore

    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    (data / "bulk").mkdir()
    (data / "bulk" / "broken.nt").write_text(NT_EXTRA + "\n<https://w3id.org/next2met/x> <no-scheme> 3 .\n")
    store = OxigraphStore(tmp_path / "store")
    with pytest.raises(RDFSyntaxError, match=r"data/bulk/broken\.nt: N-Triples syntax error"):
        build_dataset(store, Settings(store=tmp_path / "store", data_dir=str(data)), dry_run=dry_run)
    assert store.is_empty()
    assert [p.name for p in (tmp_path / "store").glob("gen-*")] == [store.generation]
    store.close()


def test_the_shacl_text_is_ascii_and_means_the_same():
    """Characters outside ASCII are written as N-Triples escapes in the text for the store and the engine."""
    from next2met.graph.rdfio import ascii_ntriples

    text = ('<https://w3id.org/next2met/x/ä> <http://www.w3.org/2000/01/rdf-schema#label> '
            '"Päijät-Häme, Łódź ✓ 𝄞 \\\\ä \\" end"@fi . # ł in a comment\n')
    escaped = ascii_ntriples(text)
    assert escaped.isascii() and "\\u00E4" in escaped and "\\U0001D11E" in escaped
    assert ascii_ntriples((text * 50).encode("utf-8"), chunk=100) == escaped * 50  # bytes, cut at line ends
    assert list(ox.parse(escaped, format=ox.RdfFormat.N_TRIPLES)) == list(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))


def test_blank_nodes_of_two_files_stay_two_nodes(tmp_path):
    """Blank node labels belong to their file: two files that both say _:b describe two nodes, in the store and in
    the text the SHACL engine reads."""
    import shutil

    from next2met.graph.build import DatasetStream, build_dataset
    from next2met.graph.store import OxigraphStore

    data = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, data)
    (data / "bulk").mkdir()
    for name in ("one", "two"):
        (data / "bulk" / f"{name}.nt").write_text(
            '_:b <http://www.w3.org/2000/01/rdf-schema#label> "the same" .\n', encoding="utf-8")
    settings = Settings(store=tmp_path / "store", data_dir=str(data))
    text, _ = DatasetStream(settings).compile_text()
    labelled = {t.subject for t in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
                if t.predicate.value.endswith("#label") and isinstance(t.subject, ox.BlankNode)}
    assert len(labelled) == 2
    store = OxigraphStore(tmp_path / "store")
    build_dataset(store, settings)
    found = store.query('SELECT DISTINCT ?b WHERE { ?b <http://www.w3.org/2000/01/rdf-schema#label> "the same" }')
    assert len(found.rows()) == 2
    store.close()
