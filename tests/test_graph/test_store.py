"""The embedded store: it persists, swaps builds atomically, survives a killed writer, honours FROM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

from next2met.graph.store import OxigraphStore

P = ox.NamedNode("http://example.org/p")


def quad(i: int, graph: str = "http://example.org/g1") -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"http://example.org/s{i}"), P, ox.Literal(str(i)), ox.NamedNode(graph))


def test_data_persists_across_reopen(tmp_path):
    store = OxigraphStore(tmp_path / "s")
    store.replace_dataset([quad(i) for i in range(10)])
    store.close()
    again = OxigraphStore(tmp_path / "s")
    assert again.count() == 10
    again.close()


def test_replace_dataset_switches_generation_and_replaces_everything(tmp_path):
    store = OxigraphStore(tmp_path / "s")
    store.replace_dataset([quad(i) for i in range(5)])
    first = store.generation
    store.replace_dataset([quad(100)])
    assert store.generation != first
    assert store.count() == 1
    # only the current and the previous generation are kept on disk
    assert len(list((tmp_path / "s").glob("gen-*"))) <= 2
    store.close()


def test_refresh_sees_a_rebuild_by_another_handle(tmp_path):
    reader = OxigraphStore(tmp_path / "s")
    writer_path = tmp_path / "s"
    reader.close()
    writer = OxigraphStore(writer_path)
    writer.replace_dataset([quad(1)])
    writer.close()
    reader = OxigraphStore(writer_path)
    assert reader.count() == 1
    reader.close()


def test_replace_graphs_is_one_step(tmp_path):
    store = OxigraphStore(tmp_path / "s")
    store.replace_dataset([quad(1, "http://example.org/a"), quad(2, "http://example.org/b")])
    gen = store.generation
    store.replace_graphs({"http://example.org/a": [quad(3, "http://example.org/a")], "http://example.org/b": []})
    assert store.named_graphs() == ["http://example.org/a"]
    assert [q.object.value for q in store.quads()] == ["3"]
    assert store.generation != gen
    store.close()


def test_change_graphs_replaces_graphs_and_edits_quads_elsewhere_in_one_step(tmp_path):
    """The write path's store step: the changed graphs whole, and a few quads of the provenance graph in or out
    (the embedded store in one SPARQL update; the generic way, for other stores, by rewriting that graph)."""
    from next2met.graph.store import Store

    results = []
    for i, generic in enumerate((False, True)):
        store = OxigraphStore(tmp_path / f"s{i}")
        store.replace_dataset([quad(1, "http://example.org/a"), *(quad(n, "http://example.org/prov") for n in (2, 3))])
        gen = store.generation
        change = Store.change_graphs if generic else OxigraphStore.change_graphs
        change(store, {"http://example.org/a": [quad(4, "http://example.org/a")]},
               remove=[quad(2, "http://example.org/prov")], add=[quad(5, "http://example.org/prov")])
        assert store.generation != gen
        results.append(sorted((q.graph_name.value, q.object.value) for q in store.quads()))
        store.close()
    assert results[0] == results[1] == [
        ("http://example.org/a", "4"), ("http://example.org/prov", "3"), ("http://example.org/prov", "5")]


def test_default_graph_is_the_union_but_from_is_honoured(tmp_path):
    store = OxigraphStore(tmp_path / "s")
    store.replace_dataset([quad(1, "http://example.org/a"), quad(2, "http://example.org/b")])
    assert len(store.query("SELECT * WHERE { ?s ?p ?o }").rows()) == 2
    assert len(store.query("SELECT * FROM <http://example.org/a> WHERE { ?s ?p ?o }").rows()) == 1
    named = store.query("SELECT ?g FROM NAMED <http://example.org/b> WHERE { GRAPH ?g { ?s ?p ?o } }").rows()
    assert [r["g"].value for r in named] == ["http://example.org/b"]
    assert len(store.query("SELECT * WHERE { ?s ?p ?o }", default_graph=["http://example.org/b"]).rows()) == 1
    # FROM only counts as a keyword: in a comment or a string it names no dataset
    assert len(store.query("# rows FROM <http://example.org/a> only?\nSELECT * WHERE { ?s ?p ?o }").rows()) == 2
    assert len(store.query('SELECT * WHERE { ?s ?p ?o FILTER(?o != "FROM <http://example.org/a>") }').rows()) == 2
    store.close()


KILLED_WRITER = """
import sys, time
import pyoxigraph as ox
from next2met.graph.store import OxigraphStore

def quads():
    for i in range(100000):
        if i == 50000:
            open(sys.argv[2], "w").close()  # tell the test we are half-way through the write
            time.sleep(60)
        yield ox.Quad(ox.NamedNode(f"http://example.org/new{i}"), ox.NamedNode("http://example.org/p"),
                      ox.Literal(str(i)), ox.NamedNode("http://example.org/g"))

OxigraphStore(sys.argv[1]).replace_dataset(quads())
"""


def test_a_killed_build_loses_nothing(tmp_path):
    """Kill a process in the middle of replacing the dataset: the store still holds the previous data."""
    path = tmp_path / "s"
    store = OxigraphStore(path)
    store.replace_dataset([quad(i) for i in range(7)])
    store.close()
    marker = tmp_path / "halfway"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the writer did not reach the middle"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reopened = OxigraphStore(path)
    assert reopened.count() == 7
    assert {q.subject.value for q in reopened.quads()} == {f"http://example.org/s{i}" for i in range(7)}
    reopened.close()


def test_in_memory_store(tmp_path):
    store = OxigraphStore(None)
    store.replace_dataset([quad(1)])
    assert store.count() == 1 and store.path is None
    assert Path(tmp_path).exists()


def test_triples_text_holds_every_triple_of_every_graph(tmp_path):
    """What `next2met validate` reads from a built store: the triples of the named graphs and of the real default
    graph (where a SPARQL update without GRAPH writes), as N-Triples."""
    store = OxigraphStore(tmp_path / "s")
    store.replace_dataset([quad(1), quad(2, "http://example.org/g2"), quad(1, "http://example.org/g2")])
    store.update('INSERT DATA { <http://example.org/s9> <http://example.org/p> "9" }')
    text = store.triples_text()
    got = [(q.subject.value, q.predicate.value, q.object.value) for q in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)]
    assert sorted(set(got)) == [(f"http://example.org/s{i}", P.value, str(i)) for i in (1, 2, 9)]
    store.close()


def test_staged_text_keeps_blank_nodes_apart_by_part(tmp_path):
    """A blank node label of N-Triples belongs to its document: two parts that both say _:b mean two nodes, in a
    small part gathered with others as in a big part bulk-loaded on its own."""
    from next2met.graph.build import TextPart
    from next2met.graph.store import SMALL_PART

    line = '_:b <http://www.w3.org/2000/01/rdf-schema#label> "{}" .\n'
    big = line.format("x" * SMALL_PART)
    text = line.format("one") + line.format("two") + big + big
    parts, at = [], 0
    for i, chunk in enumerate([line.format("one"), line.format("two"), big, big]):
        parts.append(TextPart(f"https://example.org/g{i}", at, at + len(chunk), f"part {i}"))
        at += len(chunk)
    store = OxigraphStore(tmp_path / "s")
    store.stage_text(text, parts).commit()
    subjects = {q.subject for q in store.quads()}
    assert store.count() == 4 and len(subjects) == 4
    store.close()


def test_memory_copy_holds_the_same_quads_and_leaves_no_file(tmp_path):
    """What the query workers read once it is made: every quad of every graph (the real default graph too), with
    its literal's datatype or language, and its blank nodes shared between quads and under the same labels as on
    disk (answers from either must agree); the N-Quads file it went through is gone."""
    store = OxigraphStore(tmp_path / "s")
    node = ox.BlankNode()
    store.replace_dataset([
        quad(1), quad(2, "http://example.org/g2"),
        ox.Quad(ox.NamedNode("http://example.org/s3"), P, node, ox.NamedNode("http://example.org/g1")),
        ox.Quad(node, P, ox.Literal("drei", language="de"), ox.NamedNode("http://example.org/g1")),
        ox.Quad(node, P, ox.Literal("1.50", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
                ox.NamedNode("http://example.org/g2")),
    ])
    store.update('INSERT DATA { <http://example.org/s9> <http://example.org/p> "9" }')
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    copy = store.memory_copy(scratch)
    assert copy.path is None and copy.count() == store.count() == 6
    plain = {q for q in store.quads() if not isinstance(q.subject, ox.BlankNode) and
             not isinstance(q.object, ox.BlankNode)}
    assert plain <= set(copy.quads())
    shared = "SELECT ?b ?o WHERE { <http://example.org/s3> ?p ?b . ?b ?q ?o }"
    answers = [sorted((str(r["b"]), str(r["o"])) for r in s.query(shared).rows()) for s in (store, copy)]
    assert answers[0] == answers[1] and len(answers[1]) == 2 and '"drei"@de' in answers[1][0] + answers[1][1]
    assert list(scratch.iterdir()) == []
    store.close()
