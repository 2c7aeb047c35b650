"""The remote SPARQL store (graph/remote.py) against a real Virtuoso started by the tests (tests/virtuoso.py).

The dataset is loaded through ``next2met build --store-url``; then the canned queries must give the same answers
as on the embedded store (values compared, not spellings: Virtuoso writes ``1.50`` as ``1.5`` and reads an
integral xsd:decimal back as an xsd:integer), Virtuoso's timeout and row cap must surface, and the SPARQL
protocol endpoint must work on top of it. The first tests need no Virtuoso: they check the text handling.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pyoxigraph as ox
import pytest

from next2met.graph.errors import QuerySyntaxError, QueryTimeout, StoreError
from next2met.graph.queries import list_queries
from next2met.graph.remote import SparqlStore, _chunks
from next2met.graph.remote_query import query_form, with_dataset, without_graphs
from next2met.graph.settings import Settings
from next2met.graph.sparqltext import strip_comments
from next2met.graph.store import OxigraphStore

NUMERIC = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in ("integer", "decimal", "double", "float", "int")}
BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
EX = "https://w3id.org/next2met/graph/test-remote-"


# -- text handling (no store needed) ---------------------------------------------------------------------
def test_query_form_looks_past_comments_and_prologue():
    assert query_form("# SELECT in a comment\nPREFIX a: <http://x#CONSTRUCT>\nASK {}") == "ASK"
    assert query_form("# title: download it\nCONSTRUCT WHERE { ?s ?p ?o }") == "CONSTRUCT"
    with pytest.raises(QuerySyntaxError, match="Update"):
        query_form("PREFIX a: <http://x#>\nINSERT DATA { <a:b> <a:c> 1 }")
    with pytest.raises(QuerySyntaxError, match="not a SPARQL query"):
        query_form("SELEC * WHERE {}")


def test_comments_go_but_strings_and_iris_with_hashes_stay():
    text = 'SELECT ?x # a comment\nWHERE { ?x <http://a/#b> "#not a comment" } # more'
    assert strip_comments(text) == 'SELECT ?x \nWHERE { ?x <http://a/#b> "#not a comment" } '


@pytest.mark.parametrize("query,expected", [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT * FROM <g> FROM NAMED <g> WHERE { ?s ?p ?o }"),
    ("SELECT (EXISTS { ?a ?b ?c } AS ?x) { ?s ?p ?o }",
     "SELECT (EXISTS { ?a ?b ?c } AS ?x) FROM <g> FROM NAMED <g> { ?s ?p ?o }"),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "CONSTRUCT { ?s ?p ?o } FROM <g> FROM NAMED <g> WHERE { ?s ?p ?o }"),
    ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT FROM <g> FROM NAMED <g> WHERE { ?s ?p ?o }"),
    ("ASK {}", "ASK FROM <g> FROM NAMED <g> {}"),
    ("DESCRIBE <http://x>", "DESCRIBE <http://x> FROM <g> FROM NAMED <g>"),
    ("SELECT * FROM <http://mine> { ?s ?p ?o }", "SELECT * FROM <http://mine> { ?s ?p ?o }"),
    ('# select from\nSELECT ?x WHERE { ?x ?y "FROM" }',
     '# select from\nSELECT ?x FROM <g> FROM NAMED <g> WHERE { ?x ?y "FROM" }'),
])
def test_our_graphs_become_the_dataset_unless_the_query_names_one(query, expected):
    assert with_dataset(query, ["g"]) == expected
    ox.Store().query(with_dataset(query, ["http://g"]))  # still valid SPARQL


def test_blank_node_clusters_stay_in_one_chunk():
    b1, b2, s = ox.BlankNode("l1"), ox.BlankNode("l2"), ox.NamedNode("http://s")
    p, g = ox.NamedNode("http://p"), ox.NamedNode("http://g")
    lst = [ox.Quad(s, p, b1, g), ox.Quad(b1, p, b2, g), ox.Quad(b2, p, ox.Literal("x"), g)]
    plain = [ox.Quad(s, p, ox.Literal(str(i)), g) for i in range(5)]
    chunks = list(_chunks(plain + lst + [ox.Quad(ox.BlankNode("other"), p, s, g)], 2))
    assert sum(len(c) for c, _ in chunks) == 9
    assert [set(lst) <= set(c) for c, blank in chunks if blank].count(True) == 1
    assert all(not any(isinstance(q.object, ox.BlankNode) or isinstance(q.subject, ox.BlankNode) for q in c)
               for c, blank in chunks if not blank)


# -- against Virtuoso --------------------------------------------------------------------------------------


def norm(term) -> tuple:
    if isinstance(term, ox.Literal) and term.datatype.value == BOOLEAN:  # Virtuoso writes true as "1"
        return ("boolean", term.value in ("1", "true"))
    if isinstance(term, ox.Literal) and term.datatype.value in NUMERIC:
        return ("number", Decimal(term.value))
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.language)
    return (type(term).__name__, term.value)


def answers(result) -> object:
    if result.kind == "ask":
        return bool(result.value)
    if result.kind == "graph":
        return Counter((norm(t.subject), norm(t.predicate), norm(t.object)) for t in set(result.triples()))
    return Counter(frozenset((k, norm(v)) for k, v in row.items()) for row in result.rows())


@pytest.fixture(scope="module")
def remote(virtuoso_built) -> SparqlStore:
    v = virtuoso_built
    return SparqlStore(v.sparql, v.sparql_auth, user=v.user, password=v.password, timeout=10)


@pytest.fixture(scope="module")
def embedded(built_store):
    st = OxigraphStore(built_store, read_only=True)
    yield st
    st.close()


PARAMS = {
    "practices-by-region-and-sector": {"region": "ES511"},
    "transfer-chain": {"region": "PL84"},
    "regions-learning": {"learner": "PL84"},
    "practices-of-region": {"region": "IE06", "lang": "en"},
    "smes-and-universities": {"first": "business", "second": "academia"},
    "practices-by-start-year": {"from": "2015", "to": "2020"},
    "organisations-in-several-practices": {"min": "3"},
    "network-hubs": {"kind": "region", "top": "3"},
    "learning-flows": {"region": "AT12"},
}
CASES = [(q, {}) for q in list_queries()] + [(q, PARAMS[q.name]) for q in list_queries() if q.name in PARAMS]


@pytest.mark.virtuoso
@pytest.mark.parametrize("q,params", CASES, ids=lambda x: getattr(x, "name", None) or ",".join(x) or "defaults")
def test_canned_queries_answer_the_same_on_virtuoso(remote, embedded, q, params):
    text = q.bind(params)
    expected = answers(embedded.query(text))
    assert expected, f"{q.name} has an answer on the real data"
    assert answers(remote.query(text)) == expected


@pytest.mark.virtuoso
def test_the_dataset_arrived_whole(remote, embedded):
    assert remote.named_graphs() == embedded.named_graphs()
    assert remote.count() == embedded.count()
    # the default graph is the union of our graphs only, not Virtuoso's own system graphs
    n = remote.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows()[0]["n"]
    assert int(n.value) == embedded.count()
    # the derived graphs name the data they came from by a digest of its N-Quads, spelled as each store keeps them
    digest = "https://w3id.org/next2met/ontology#dataGeneration"
    plain = {(q.subject, q.predicate, norm(q.object), q.graph_name) for q in embedded.quads()
             if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
             and q.predicate.value != digest}
    got = list(remote.quads())
    assert len(got) == embedded.count()
    assert {(q.subject, q.predicate, norm(q.object), q.graph_name) for q in got
            if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
            and q.predicate.value != digest} == plain


def test_virtuoso_exclusions_come_first_and_yield_to_the_query_s_own_dataset():
    text = "# a comment\nPREFIX n2m: <https://w3id.org/next2met/ontology#>\nSELECT * WHERE { ?s ?p ?o }"
    bound = without_graphs(text, ["urn:x:a", "urn:x:b"])
    assert bound.startswith("define input:default-graph-exclude <urn:x:a> define input:named-graph-exclude <urn:x:a>")
    assert bound.endswith(text) and bound.count("\n") == text.count("\n")  # error lines hold
    assert query_form(bound) == "SELECT"
    own = "SELECT * FROM <urn:x:mine> WHERE { ?s ?p ?o }"
    assert without_graphs(own, ["urn:x:a"]) == own


@pytest.mark.virtuoso
def test_virtuoso_s_own_graphs_stay_out_of_the_dataset(remote, embedded):
    """Virtuoso holds system graphs (virtrdf, DAV, owl...): they are excluded from the default graph and the named
    graphs, and the answers are those of FROM clauses naming our graphs."""
    remote.query("ASK { ?s ?p ?o }")  # the first answer tells the store that it talks to Virtuoso
    assert remote._foreign and "http://www.openlinksw.com/schemas/virtrdf#" in remote._foreign
    assert not remote.query("ASK { ?s a <http://www.openlinksw.com/schemas/virtrdf#QuadStorage> }").value
    named = {r["g"].value for r in remote.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").rows()}
    assert named == set(embedded.named_graphs())
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    by_exclusion = remote.query(count).rows()[0]["n"].value
    by_from = remote._run(with_dataset(count, remote.named_graphs()), "SELECT", []).rows()[0]["n"].value
    assert by_exclusion == by_from and int(by_from) > 0


@pytest.mark.virtuoso
def test_writes_replace_graphs_and_change_the_generation(remote, embedded):
    g = EX + "writes"
    s, p = ox.NamedNode(g + "#s"), ox.NamedNode("https://schema.org/value")
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    head = ox.BlankNode("head")
    quads = [ox.Quad(s, p, ox.Literal("42", datatype=decimal), ox.NamedNode(g)),
             ox.Quad(s, ox.NamedNode(g + "#list"), head, ox.NamedNode(g)),
             ox.Quad(head, ox.NamedNode(g + "#first"), ox.Literal("é \"quoted\"\n", language="fr"), ox.NamedNode(g))]
    before, total = remote.generation, remote.count()
    try:
        remote.replace_graphs({g: quads})
        assert remote.generation != before
        assert g in remote.named_graphs() and remote.count() == total + 3
        back = {(q.predicate.value, norm(q.object)) for q in remote.quads(g)}
        assert (p.value, ("number", Decimal(42))) in back
        assert (g + "#first", ("literal", 'é "quoted"\n', "fr")) in back
        value = remote.query(f"SELECT ?v WHERE {{ <{s.value}> <{p.value}> ?v }}").rows()[0]["v"]
        assert value.datatype == decimal, "an integral decimal keeps its type (written as 42.0)"
        remote.replace_graphs({g: quads[:1]})
        assert remote.count() == total + 1
    finally:
        remote.replace_graphs({g: []})
    assert g not in remote.named_graphs() and remote.count() == total == embedded.count()


def big_graph(g: str, n: int) -> list[ox.Quad]:
    """``n`` triples in graph ``g``: IRIs (some not ASCII), plain, language-tagged and typed literals, literals
    that read like an IRI of the same graph, and blank nodes each hanging from one IRI."""
    G, x, xsd = ox.NamedNode(g), g + "#", "http://www.w3.org/2001/XMLSchema#"
    name, part, ref = ox.NamedNode(x + "name"), ox.NamedNode(x + "part"), ox.NamedNode(x + "ref")
    quads = []
    i = 0
    while len(quads) < n:
        s = ox.NamedNode(f"{x}s{i}" if i % 50 else f"{x}sé{i}")
        quads += [ox.Quad(s, name, ox.Literal(f"name {i}", language="en"), G),
                  ox.Quad(s, name, ox.Literal(f"name {i}", language="fi"), G),
                  ox.Quad(s, name, ox.Literal(f"name {i}"), G),
                  ox.Quad(s, ox.NamedNode(x + "n"), ox.Literal(str(i), datatype=ox.NamedNode(xsd + "integer")), G),
                  ox.Quad(s, ox.NamedNode(x + "day"), ox.Literal(f"2020-01-{1 + i % 28:02d}",
                                                                 datatype=ox.NamedNode(xsd + "date")), G),
                  ox.Quad(s, ref, ox.NamedNode(f"{x}s{i + 1}"), G),
                  ox.Quad(s, ref, ox.Literal(f"{x}s{i + 1}"), G)]
        if i % 10 == 0:
            b = ox.BlankNode(f"b{i}")
            quads += [ox.Quad(s, part, b, G), ox.Quad(b, name, ox.Literal(f"part {i}", language="de"), G)]
        i += 1
    hub = ox.NamedNode(x + "hub")  # one subject with more triples than a page
    quads += [ox.Quad(hub, ref, ox.NamedNode(f"{x}s{j}"), G) for j in range(6000)]
    return quads


def blank_by_parent(quads) -> set:
    """Quads with each blank node named by the IRI that points to it (stores relabel blank nodes)."""
    parent = {q.object: q.subject.value for q in quads if isinstance(q.object, ox.BlankNode)}

    def name(t):
        return ("blank", parent[t]) if isinstance(t, ox.BlankNode) else t

    return {(name(q.subject), q.predicate, name(q.object), q.graph_name) for q in quads}


@pytest.mark.virtuoso
def test_a_graph_larger_than_virtuoso_s_sort_limit_is_read_whole(virtuoso):
    """Virtuoso refuses ORDER BY + OFFSET past its MaxSortedTopRows (10000 by default, SR353): a graph of more
    triples, and a subject with more triples than a page, are still read whole, each triple once."""
    v = virtuoso
    store = SparqlStore(v.sparql, v.sparql_auth, user=v.user, password=v.password, timeout=30)
    g = EX + "big"
    quads = big_graph(g, 12_345)
    assert len(quads) > 10_000 + 6000
    try:
        store.replace_graphs({g: quads})
        assert store.count() >= len(quads)
        got = list(store.quads(g))
        assert len(got) == len(set(got)) == len(quads)
        assert blank_by_parent(got) == blank_by_parent(quads)
        everything = list(store.quads())
        assert len(everything) == store.count()
        assert blank_by_parent([q for q in everything if q.graph_name.value == g]) == blank_by_parent(quads)
    finally:
        store.replace_graphs({g: []})
        store.close()


@pytest.mark.virtuoso
def test_another_writer_s_change_is_seen_without_making_queries_wait(virtuoso_built, remote, monkeypatch):
    """The state (our graphs, their sizes, the generation token) is asked again in the background once it is older
    than the TTL; a query meanwhile is answered with the old state, and the change shows soon after."""
    from next2met.graph import remote as remote_mod

    v = virtuoso_built
    monkeypatch.setattr(remote_mod, "GENERATION_TTL", 0.2)
    reader = SparqlStore(v.sparql, timeout=10)
    before, size = reader.generation, reader.count()
    g = reader.named_graphs()[0]
    triple = f"<{EX}other-writer#s> <{EX}other-writer#p> \"x\""
    try:
        remote.update(f"INSERT DATA {{ GRAPH <{g}> {{ {triple} }} }}")
        time.sleep(0.3)
        assert reader.generation == before  # stale, and not waited for: the refresh runs in the background
        deadline = time.monotonic() + 10
        while reader.generation == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert reader.generation != before and reader.count() == size + 1
    finally:
        remote.update(f"DELETE DATA {{ GRAPH <{g}> {{ {triple} }} }}")


@pytest.mark.virtuoso
def test_wrong_credentials_write_nothing(virtuoso_built, remote):
    v = virtuoso_built
    intruder = SparqlStore(v.sparql, v.sparql_auth, user=v.user, password="wrong")
    total = remote.count()
    with pytest.raises(StoreError, match="credentials"):
        intruder.replace_graphs({EX + "intruder": [ox.Quad(ox.NamedNode("http://a"), ox.NamedNode("http://b"),
                                                            ox.Literal("c"), ox.NamedNode(EX + "intruder"))]})
    anonymous = SparqlStore(v.sparql)  # the anonymous endpoint refuses updates
    with pytest.raises(StoreError):
        anonymous.update(f"INSERT DATA {{ GRAPH <{EX}anon> {{ <http://a> <http://b> 1 }} }}")
    assert remote.count() == total


@pytest.mark.virtuoso
def test_virtuoso_timeout_is_a_timeout_not_a_partial_answer(virtuoso_built):
    quick = SparqlStore(virtuoso_built.sparql, timeout=1)
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout):
        quick.query(CARTESIAN)
    assert time.monotonic() - t0 < 8
    assert quick.query("ASK { ?s ?p ?o }").value  # the store still answers


@pytest.mark.virtuoso
def test_the_row_cap_is_never_silent(virtuoso_built, remote):
    cap = virtuoso_built.max_rows
    result = remote.query(f"SELECT ?a ?d WHERE {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {cap + 10}")
    assert result.truncated and len(result.rows()) == cap
    small = remote.query("SELECT ?s WHERE { ?s a <https://w3id.org/next2met/ontology#GoodPractice> }")
    assert not small.truncated


@pytest.mark.virtuoso
def test_errors_are_ours(virtuoso_built, remote):
    with pytest.raises(QuerySyntaxError) as e:
        remote.query("SELECT * WHERE { ?s ?p }")
    assert "SPARQL query:" not in e.value.detail and "FROM <" not in e.value.detail
    with pytest.raises(QuerySyntaxError, match="Update"):
        remote.query("DROP ALL")
    with pytest.raises(StoreError, match="cannot reach"):
        SparqlStore("http://127.0.0.1:9/sparql").query("ASK {}")


# -- the server on top of Virtuoso ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def remote_client(virtuoso_built, tmp_path_factory):
    from next2met.server.app import create_app

    v = virtuoso_built
    settings = Settings(store=str(tmp_path_factory.mktemp("unused-store")), store_url=v.sparql,
                        store_update_url=v.sparql_auth, store_user=v.user, store_password=v.password,
                        query_timeout=2.0, query_workers=1)
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["next2met"].close()


@pytest.mark.virtuoso
def test_the_protocol_endpoint_on_virtuoso(remote_client, embedded):
    r = remote_client.get("/sparql", query_string={
        "query": "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a <https://w3id.org/next2met/ontology#GoodPractice> }"},
        headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.get_data(as_text=True)
    practices = embedded.query("SELECT ?p WHERE { ?p a <https://w3id.org/next2met/ontology#GoodPractice> }").rows()
    assert int(r.get_json()["results"]["bindings"][0]["n"]["value"]) == len(practices)

    longford = "https://w3id.org/next2met/practice/digital-consultations-longford"
    r = remote_client.post("/sparql", data={"query": f"CONSTRUCT WHERE {{ <{longford}> ?p ?o }}"},
                           headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    got = {(t.predicate.value, norm(t.object)) for t in ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES)}
    assert got == {(q.predicate.value, norm(q.object)) for q in embedded.quads() if q.subject.value == longford}

    r = remote_client.get("/sparql", query_string={"query": f"ASK {{ <{longford}> ?p ?o }}"},
                          headers={"Accept": "application/sparql-results+json"})
    assert r.get_json()["boolean"] is True


@pytest.mark.virtuoso
def test_a_runaway_query_is_a_503_and_the_endpoint_recovers(remote_client):
    t0 = time.monotonic()
    r = remote_client.get("/sparql", query_string={"query": CARTESIAN},
                          headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 503 and r.mimetype == "application/problem+json", r.get_data(as_text=True)
    assert time.monotonic() - t0 < 10
    # The killed worker counts against this client until its replacement has started (fair admission): until then
    # the client hears 429 with a Retry-After, and a client that honours it is answered (a slow machine takes a few
    # seconds to start a worker).
    deadline = time.monotonic() + 60
    while True:
        r = remote_client.get("/sparql", query_string={"query": "ASK {}"},
                              headers={"Accept": "application/sparql-results+json"})
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        assert r.mimetype == "application/problem+json" and int(r.headers["Retry-After"]) >= 1
        time.sleep(int(r.headers["Retry-After"]))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["boolean"] is True


@pytest.mark.virtuoso
def test_the_research_queries_page_on_virtuoso(remote_client, embedded):
    from next2met.graph.queries import get_query

    r = remote_client.get("/queries/transfer-chain?region=PL84", headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200
    got = Counter(frozenset((k, v["value"]) for k, v in b.items()) for b in r.get_json()["results"]["bindings"])
    rows = embedded.query(get_query("transfer-chain").bind({"region": "PL84"})).rows()
    assert got == Counter(frozenset((k, v.value) for k, v in row.items()) for row in rows)


def test_a_trickling_store_is_stopped_at_the_total_deadline():
    """A remote store that sends its answer a byte at a time (each read quick, the whole endless) is stopped at
    the query timeout plus the grace, not left to trickle."""
    import http.server
    import threading

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.end_headers()
            for _ in range(200):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = SparqlStore(f"http://127.0.0.1:{server.server_port}/sparql", timeout=1)
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="still arriving"):
            store.query("SELECT * WHERE { ?s ?p ?o }")
        assert time.monotonic() - started < 9
    finally:
        server.shutdown()
        server.server_close()
