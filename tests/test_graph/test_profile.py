"""Foreign RDF: another knowledge base's schemes and organisations load as they are (our editorial shapes judge
our own data only); bulk files and harvested graphs are checked against the harvest profile (valid literals,
bounded sizes, none of our own graphs) and the user's own shapes, and refused with a report when they do not fit."""

from __future__ import annotations

import shutil

import pyoxigraph as ox
import pytest

from next2met.graph import paths, profile
from next2met.graph.build import build_dataset
from next2met.graph.cli import main
from next2met.graph.errors import InputError, ShapesInvalid
from next2met.graph.harvest import harvest
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore

BASE = "https://w3id.org/next2met/"
# Synthetic data of another generator: a concept scheme with no English title or description, top concepts stated
# one way only, and an organisation with no name, region or type: each breaks one of our editorial rules.
FOREIGN = """@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix ex: <https://example.org/kb/> .
ex:topics a skos:ConceptScheme ; dcterms:title "Aiheet"@fi ; skos:hasTopConcept ex:energy .
ex:energy a skos:Concept ; skos:prefLabel "Energia"@fi ; skos:inScheme ex:topics .
ex:grid a skos:Concept ; skos:broader ex:energy ; skos:inScheme ex:topics .
ex:utility a org:Organization .
"""
MALFORMED = """\
<https://example.org/kb/a> <https://example.org/kb/count> "twelve"^^<http://www.w3.org/2001/XMLSchema#integer> .
<https://example.org/kb/a> <https://example.org/kb/on> "2021-02-30"^^<http://www.w3.org/2001/XMLSchema#date> .
<https://example.org/kb/a> <https://example.org/kb/fine> "12"^^<http://www.w3.org/2001/XMLSchema#integer> .
"""


@pytest.fixture
def data_dir(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, target)
    return target


def test_a_foreign_scheme_in_a_bulk_file_builds_as_it_is(data_dir, tmp_path):
    (data_dir / "foreign.ttl").write_text(FOREIGN)
    settings = Settings(store=str(tmp_path / "store"), data_dir=str(data_dir))
    store = OxigraphStore(tmp_path / "store")
    try:
        result = build_dataset(store, settings)
        assert result.report.conforms and result.written
        loaded = {q.subject.value for q in store.quads(f"{BASE}graph/foreign")}
        assert {"https://example.org/kb/topics", "https://example.org/kb/utility"} <= loaded
    finally:
        store.close()


def test_our_editorial_rules_still_judge_our_own_schemes(data_dir, tmp_path):
    """The same scheme under our base IRI breaks our rules (title and description in English, top concepts both
    ways): the build refuses it, so the shapes were narrowed to our data, not switched off."""
    (data_dir / "ours.ttl").write_text(FOREIGN.replace("https://example.org/kb/", f"{BASE}concept/kb/"))
    store = OxigraphStore(tmp_path / "store")
    try:
        with pytest.raises(ShapesInvalid) as e:
            build_dataset(store, Settings(store=str(tmp_path / "store"), data_dir=str(data_dir)))
        focus = {r.focus for r in e.value.report.results if r.severity == "Violation"}
        assert f"{BASE}concept/kb/topics" in focus
    finally:
        store.close()


@pytest.mark.parametrize("suffix", [".nt", ".ttl"])
def test_a_malformed_bulk_file_is_refused_with_a_report(data_dir, tmp_path, capsys, suffix):
    """Both build paths: an N-Triples file read as it is, and a file read into quads."""
    (data_dir / f"bad{suffix}").write_text(MALFORMED)
    store_dir = tmp_path / "store"
    assert main(["build", "--quiet", "--data", str(data_dir), "--store", str(store_dir)]) == 1
    err = capsys.readouterr()
    shown = err.out + err.err
    assert "harvest profile" in shown
    assert "'twelve' is not a valid xsd:integer" in shown and "'2021-02-30' is not a valid xsd:date" in shown
    assert "'12'" not in shown
    store = OxigraphStore(store_dir)
    try:
        assert store.is_empty()  # nothing written
    finally:
        store.close()


def test_a_foreign_scheme_is_harvested(store_copy, tmp_path):
    source = tmp_path / "kb.ttl"
    source.write_text(FOREIGN)
    result = harvest(Settings(store=str(store_copy)), str(source))
    assert result.report.conforms and result.triples == 10


def test_a_malformed_harvest_is_refused_and_nothing_is_written(store_copy, tmp_path, capsys):
    source = tmp_path / "bad.nt"
    source.write_text(MALFORMED)
    with pytest.raises(ShapesInvalid) as e:
        harvest(Settings(store=str(store_copy)), str(source))
    assert "harvest profile" in e.value.detail and "nothing was written" in e.value.detail
    assert {r.value for r in e.value.report.results} == {
        '"twelve"^^<http://www.w3.org/2001/XMLSchema#integer>', '"2021-02-30"^^<http://www.w3.org/2001/XMLSchema#date>'}
    assert main(["harvest", str(source), "--store", str(store_copy)]) == 1
    assert "'twelve' is not a valid xsd:integer" in capsys.readouterr().err
    store = OxigraphStore(store_copy)
    try:
        assert not any("harvested" in g for g in store.named_graphs())
    finally:
        store.close()


def test_harvesting_into_one_of_our_graphs_is_refused(store_copy, tmp_path):
    source = tmp_path / "kb.ttl"
    source.write_text(FOREIGN)
    for graph in (f"{BASE}graph/provenance", f"{BASE}graph/practices/digital-consultations-longford"):
        with pytest.raises(InputError, match="one of the project's own graphs"):
            harvest(Settings(store=str(store_copy)), str(source), graph=graph)


def test_the_user_extends_the_profile_with_shapes_of_their_own(store_copy, tmp_path, capsys):
    source = tmp_path / "kb.ttl"
    source.write_text(FOREIGN)
    shapes = tmp_path / "mine.ttl"
    shapes.write_text("""@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://example.org/shapes/Labelled> a sh:NodeShape ; sh:targetClass skos:Concept ;
    sh:property [ sh:path skos:prefLabel ; sh:minCount 1 ; sh:message "every concept needs a label" ] .
""")
    assert main(["harvest", str(source), "--store", str(store_copy), "--shapes", str(shapes)]) == 1
    err = capsys.readouterr().err
    assert "every concept needs a label" in err and "https://example.org/kb/grid" in err
    assert "https://example.org/kb/energy" not in err  # it has its label


def test_profile_limits_and_graphs():
    s, p = ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p")
    ours = ox.NamedNode(f"{BASE}graph/provenance")
    quads = [ox.Quad(s, p, ox.Literal("x" * 50), ours),
             ox.Quad(s, p, ox.Literal("1.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")))]
    rows = profile.check(quads, base=BASE, limits=profile.Limits(max_literal=10))
    messages = " ".join(r.message for r in rows)
    assert "is one of ours" in messages and "at most 10 characters" in messages and len(rows) == 2
    assert profile.check(quads[1:], base=BASE) == []
    assert profile.is_own_graph(f"{BASE}graph/x", BASE) and not profile.is_own_graph(f"{BASE}graph/harvested/x", BASE)
