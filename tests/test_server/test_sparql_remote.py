"""/sparql in front of Virtuoso (``--store-url``): the store's own answer passed on (server/remote_jobs.py).

SPARQL JSON and XML for SELECT and ASK, and N-Triples for CONSTRUCT and DESCRIBE, come from Virtuoso as it wrote
them, counted and cut at the row cap without parsing; other formats are written again by a worker. Every answer
must be the embedded store's (values compared, as in tests/test_graph/test_remote.py), in valid syntax, with the
row cap said in ``X-Next2Met-Truncated``. The first tests need no Virtuoso: they cut answers laid out as Virtuoso
lays them out.
"""

from __future__ import annotations

import json
from collections import Counter

import pyoxigraph as ox
import pytest

from next2met.graph.queries import list_queries
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore
from next2met.server.remote_jobs import _cut
from tests.test_graph.test_remote import PARAMS, norm

GP = "https://w3id.org/next2met/ontology#GoodPractice"
JSON, XML, NT = "application/sparql-results+json", "application/sparql-results+xml", "application/n-triples"
PASSED = ("check", "query", "serialise")  # the steps of a passed answer; a worker's adds "worker"


# -- cutting (no store needed) ---------------------------------------------------------------------------------
def virtuoso_json(rows: list[str]) -> bytes:
    head = ('\n{ "head": { "link": [], "vars": ["x"] },\n'
            '  "results": { "distinct": false, "ordered": true, "bindings": [')
    if not rows:
        return (head + " ] } }").encode()
    return (head + ",".join(f"\n    {r}" for r in rows) + " ] } }").encode()


ROWS = [
    '{ "x": { "type": "typed-literal", "datatype": "http://www.w3.org/2001/XMLSchema#integer", "value": "1" }}',
    '{ "x": { "type": "literal", "value": "a\\nb \\"type\\": \\"typed-literal\\"" }}',
    "{ }",
    '{ "x": { "type": "literal", "value": "}, {" }}',
]


@pytest.mark.parametrize("cap", [0, 1, 3, 4, 10])
def test_a_json_answer_is_cut_at_the_cap_and_stays_valid(cap):
    body, truncated = _cut(virtuoso_json(ROWS), "select", "json", cap)
    doc = json.loads(body)
    assert len(doc["results"]["bindings"]) == min(cap, 4) and truncated == (cap < 4)
    parsed = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    assert len(list(parsed)) == min(cap, 4)
    if cap:
        assert doc["results"]["bindings"][0]["x"] == {
            "type": "literal", "datatype": "http://www.w3.org/2001/XMLSchema#integer", "value": "1"}
    if cap > 1:  # a value that spells the structure is left alone
        assert doc["results"]["bindings"][1]["x"]["value"] == 'a\nb "type": "typed-literal"'


def test_an_answer_of_another_layout_is_not_passed_on():
    pretty = json.dumps(json.loads(virtuoso_json(ROWS[1:])), indent=2).encode()
    assert _cut(pretty, "select", "json", 10) is None  # a worker rewrites it
    one_line = json.dumps(json.loads(virtuoso_json(ROWS[1:]))).encode()
    assert _cut(one_line, "select", "json", 10) is None
    assert _cut(virtuoso_json([]), "select", "json", 10) == (virtuoso_json([]), False)


def test_xml_and_n_triples_are_cut_at_the_cap():
    xml = (b'<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n <head>\n  <variable name="x"/>\n </head>\n'
           b' <results distinct="false" ordered="true">\n'
           + b"".join(b'  <result>\n   <binding name="x"><literal>&lt;result&gt; %d</literal></binding>\n  </result>\n'
                      % i for i in range(3))
           + b" </results>\n</sparql>\n")
    for cap in (0, 2, 3):
        body, truncated = _cut(xml, "select", "xml", cap)
        assert len(list(ox.parse_query_results(body, ox.QueryResultsFormat.XML))) == min(cap, 3)
        assert truncated == (cap < 3)
    nt = b"# a comment\n<http://x/a>\t<http://x/p>\t\"1\" .\n<http://x/b>\t<http://x/p>\t\"a\\nb\" .\n"
    assert _cut(nt, "graph", "nt", 2) == (nt, False)
    body, truncated = _cut(nt, "graph", "nt", 1)
    assert truncated and len(list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))) == 1


# -- against Virtuoso ------------------------------------------------------------------------------------------
def client_for(virtuoso, tmp_path_factory, **changes):
    from next2met.server.app import create_app

    v = virtuoso
    settings = Settings(store=str(tmp_path_factory.mktemp("unused-store")), store_url=v.sparql,
                        store_update_url=v.sparql_auth, store_user=v.user, store_password=v.password,
                        query_timeout=20.0, query_workers=1, **changes)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def remote_app(virtuoso_built, tmp_path_factory):
    app = client_for(virtuoso_built, tmp_path_factory)
    yield app
    app.extensions["next2met"].close()


@pytest.fixture(scope="module")
def capped_app(virtuoso_built, tmp_path_factory):
    app = client_for(virtuoso_built, tmp_path_factory, max_rows=5)
    yield app
    app.extensions["next2met"].close()


@pytest.fixture(scope="module")
def embedded(built_store):
    st = OxigraphStore(built_store, read_only=True)
    yield st
    st.close()


def ask(app, query: str, accept: str, **extra):
    r = app.test_client().post("/sparql", data={"query": query, **extra}, headers={"Accept": accept,
                                                                                    "Cache-Control": "no-cache"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def passed(r) -> bool:
    steps = {part.split(";")[0].strip() for part in r.headers["Server-Timing"].split(",")}
    return "worker" not in steps and set(PASSED) <= steps


def solutions(body: bytes, fmt) -> Counter:
    return Counter(frozenset((k, norm(v)) for k, v in row.items() if v is not None)
                   for row in _rows(ox.parse_query_results(body, fmt)))


def _rows(parsed):
    names = [v.value for v in parsed.variables]
    return [{n: s[n] for n in names} for s in parsed]


def expected(embedded, query: str) -> Counter:
    return Counter(frozenset((k, norm(v)) for k, v in row.items()) for row in embedded.query(query).rows())


CASES = [(q, PARAMS.get(q.name, {})) for q in list_queries()]


@pytest.mark.virtuoso
@pytest.mark.parametrize("q,params", CASES, ids=lambda x: getattr(x, "name", None) or ",".join(x) or "defaults")
def test_the_canned_queries_pass_through_with_the_embedded_store_s_answers(remote_app, embedded, q, params):
    text = q.bind(params)
    result = embedded.query(text)
    if result.kind == "graph":
        want = Counter((norm(t.subject), norm(t.predicate), norm(t.object)) for t in set(result.triples()))
        r = ask(remote_app, text, NT)
        assert passed(r), r.headers["Server-Timing"]
        got = {(norm(t.subject), norm(t.predicate), norm(t.object))
               for t in ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES)}
        assert Counter(got) == want
        return
    for accept, fmt in ((JSON, ox.QueryResultsFormat.JSON), (XML, ox.QueryResultsFormat.XML)):
        r = ask(remote_app, text, accept)
        assert passed(r), r.headers["Server-Timing"]
        assert r.mimetype == accept and b"typed-literal" not in r.data and "X-Next2Met-Truncated" not in r.headers
        if result.kind == "ask":
            assert bool(ox.parse_query_results(r.data, fmt)) is bool(result.value)
        else:
            assert solutions(r.data, fmt) == expected(embedded, text)


@pytest.mark.virtuoso
def test_graphs_and_booleans_pass_through(remote_app, embedded):
    practice = embedded.query(f"SELECT ?p WHERE {{ ?p a <{GP}> }} ORDER BY ?p LIMIT 1").rows()[0]["p"].value
    r = ask(remote_app, f"CONSTRUCT WHERE {{ <{practice}> ?p ?o }}", NT)
    assert passed(r) and r.mimetype == NT
    got = Counter((t.predicate.value, norm(t.object)) for t in ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES))
    assert got == Counter((q.predicate.value, norm(q.object)) for q in embedded.quads() if q.subject.value == practice)
    for accept, fmt in ((JSON, ox.QueryResultsFormat.JSON), (XML, ox.QueryResultsFormat.XML)):
        for query, answer in ((f"ASK {{ <{practice}> ?p ?o }}", True), ("ASK { <urn:x:none> ?p ?o }", False)):
            r = ask(remote_app, query, accept)
            assert passed(r) and bool(ox.parse_query_results(r.data, fmt)) is answer


@pytest.mark.virtuoso
def test_other_formats_are_written_again_with_the_same_answers(remote_app, embedded):
    text = f"SELECT ?p ?t WHERE {{ ?p a <{GP}> ; <http://purl.org/dc/terms/title> ?t }}"
    for accept, fmt in (("text/tab-separated-values", ox.QueryResultsFormat.TSV),
                        ("text/csv", ox.QueryResultsFormat.CSV)):
        r = ask(remote_app, text, accept)
        assert not passed(r)
        if fmt == ox.QueryResultsFormat.TSV:
            assert solutions(r.data, fmt) == expected(embedded, text)
        else:  # CSV keeps no datatypes or languages: the rows are counted (a header line, then one a row)
            assert len(r.get_data(as_text=True).strip().splitlines()) == 1 + sum(expected(embedded, text).values())
    r = ask(remote_app, f"CONSTRUCT WHERE {{ ?p a <{GP}> }}", "text/turtle")
    assert not passed(r) and len(list(ox.parse(r.data, format=ox.RdfFormat.TURTLE))) == sum(
        expected(embedded, f"SELECT ?p WHERE {{ ?p a <{GP}> }}").values())


@pytest.mark.virtuoso
@pytest.mark.parametrize("accept", [JSON, XML])
def test_a_passed_answer_is_cut_at_the_row_cap_and_says_so(capped_app, embedded, accept):
    fmt = ox.QueryResultsFormat.JSON if accept == JSON else ox.QueryResultsFormat.XML
    practices = sorted(r["p"].value for r in embedded.query(f"SELECT ?p WHERE {{ ?p a <{GP}> }}").rows())
    assert len(practices) > 5
    r = ask(capped_app, f"SELECT ?p WHERE {{ ?p a <{GP}> }} ORDER BY ?p", accept)
    assert passed(r) and r.headers["X-Next2Met-Truncated"] == "true"
    assert [s["p"].value for s in ox.parse_query_results(r.data, fmt)] == practices[:5]
    r = ask(capped_app, f"SELECT ?p WHERE {{ ?p a <{GP}> }} ORDER BY ?p LIMIT 5", accept)  # the cap, not beyond
    assert passed(r) and "X-Next2Met-Truncated" not in r.headers
    assert len(list(ox.parse_query_results(r.data, fmt))) == 5


@pytest.mark.virtuoso
def test_a_passed_graph_is_cut_at_the_row_cap(capped_app):
    r = ask(capped_app, f"CONSTRUCT WHERE {{ ?p a <{GP}> }}", NT)
    assert passed(r) and r.headers["X-Next2Met-Truncated"] == "true"
    assert len(list(ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES))) == 5


@pytest.mark.virtuoso
def test_service_is_still_checked_and_refused_outside_the_allow_list(remote_app):
    r = remote_app.test_client().post(
        "/sparql", data={"query": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"},
        headers={"Accept": JSON})
    assert r.status_code in (400, 403) and r.mimetype == "application/problem+json", r.get_data(as_text=True)
    assert "SERVICE" in r.get_data(as_text=True)
