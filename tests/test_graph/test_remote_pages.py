"""Reading a remote graph page by page (graph/remote_pages.py) on a store that follows SPARQL 1.1 to the letter:
Oxigraph, where STR() of a blank node is an error and ``<`` on IRIs too. Tiny pages, so that pages cut subjects, a
subject fills several pages and blank nodes need the last pass. The same reader on Virtuoso: test_remote.py."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from next2met.graph.errors import StoreError
from next2met.graph.remote_pages import GraphPages

G = "https://w3id.org/next2met/graph/test-pages"
X = G + "#"
XSD = "http://www.w3.org/2001/XMLSchema#"


def reader(store: ox.Store, asked: list[str]):
    def select(sparql: str):
        asked.append(sparql)
        solutions = store.query(sparql)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in solutions], False

    return select


def triples() -> list[ox.Quad]:
    g, p, q = ox.NamedNode(G), ox.NamedNode(X + "p"), ox.NamedNode(X + "q")
    out = []
    for i in range(40):
        s = ox.NamedNode(f"{X}s{i}" if i % 3 else f"{X}Zürich-{i}")
        out += [ox.Quad(s, p, ox.Literal(f"v{i}"), g), ox.Quad(s, p, ox.Literal(f"v{i}", language="fi"), g),
                ox.Quad(s, p, ox.Literal(str(i), datatype=ox.NamedNode(XSD + "integer")), g),
                ox.Quad(s, q, ox.NamedNode(f"{X}s{i + 1}"), g), ox.Quad(s, q, ox.Literal(f"{X}s{i + 1}"), g)]
        if i % 4 == 0:
            b = ox.BlankNode(f"b{i}")
            out += [ox.Quad(s, q, b, g), ox.Quad(b, p, ox.Literal(f"part {i}", language="de"), g),
                    ox.Quad(b, q, ox.BlankNode(f"c{i}"), g)]
    hub = ox.NamedNode(X + "hub")  # more triples than pages hold, some with blank objects
    out += [ox.Quad(hub, q, ox.NamedNode(f"{X}s{j}"), g) for j in range(30)]
    out += [ox.Quad(hub, p, ox.BlankNode(f"h{j}"), g) for j in range(3)]
    return out


def test_every_triple_comes_once_across_pages_cut_subjects_and_blank_nodes():
    store, asked = ox.Store(), []
    store.extend(triples())
    store.add(ox.Quad(ox.NamedNode(X + "other"), ox.NamedNode(X + "p"), ox.Literal("x"), ox.NamedNode(G + "-other")))
    rows = list(GraphPages(reader(store, asked), G, page=7).rows())
    got = [ox.Quad(r["s"], r["p"], r["o"], ox.NamedNode(G)) for r in rows]
    assert len(got) == len(set(got)) == len(triples())
    assert set(got) == set(triples())
    offsets = [q for q in asked if "OFFSET" in q]
    assert offsets and all("FILTER(!BOUND(?k))" in q for q in offsets), "offsets only for the blank subjects"
    assert any(f'STR(?s) = "{X}hub"' in q for q in asked), "the hub subject was read by itself"


def test_the_blank_pass_is_left_out_once_the_expected_count_is_read():
    store, asked = ox.Store(), []
    plain = [q for q in triples() if not isinstance(q.subject, ox.BlankNode)]
    store.extend(plain)
    assert len(list(GraphPages(reader(store, asked), G, page=7).rows(expected=len(plain)))) == len(plain)
    assert not any("OFFSET" in q for q in asked)


def test_a_page_of_triples_with_the_same_text_is_refused_not_looped_over():
    store = ox.Store()
    s, p = ox.NamedNode(X + "s"), ox.NamedNode(X + "p")
    store.extend([ox.Quad(s, p, ox.Literal("same", language=tag), ox.NamedNode(G)) for tag in ("en", "fi", "de")])
    with pytest.raises(StoreError, match="share their subject, predicate and the text"):
        list(GraphPages(reader(store, []), G, page=2).rows())
    assert len(list(GraphPages(reader(store, []), G, page=4).rows())) == 3
