"""``next2met harvest``: one live server harvested into another store over loopback gives the same triples, by
dump, LDES and SPARQL; invalid or hostile input is refused with nothing written."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import pyoxigraph as ox
import pytest

from next2met.graph.cli import main
from next2met.graph.errors import InputError, ShapesInvalid
from next2met.graph.harvest import default_graph, harvest
from next2met.graph.http import FetchPolicy, gunzip
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore
from tests.compare import canonical
from tests.test_graph.test_remote import big_graph
from tests.test_graph.test_remote_pages import triples as tricky_quads

PROV = "http://www.w3.org/ns/prov#"
LOCAL = FetchPolicy(allow_private=True)  # the test servers are on loopback
N2M = "https://w3id.org/next2met/ontology#"


def triples_of(quads) -> set[ox.Triple]:
    return {ox.Triple(q.subject, q.predicate, q.object) for q in quads}


@pytest.fixture(scope="module")
def source_triples(app):
    return canonical(triples_of(app.extensions["next2met"].store.quads()))


def has_sparql(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/sparql?query=ASK%7B%7D", timeout=10) as response:
            return response.status == 200
    except urllib.error.URLError:
        return False


@pytest.mark.parametrize("path,kind,detected", [
    ("/dumps/next2met.nq.gz", "auto", "dump"),
    ("/dumps/next2met.jsonld", "dump", "dump"),
    ("/ldes", "auto", "ldes"),
    ("/sparql", "auto", "sparql"),
])
def test_one_server_into_another_gives_the_same_triples(live_server, store_copy, source_triples, path, kind,
                                                        detected):
    if detected == "sparql" and not has_sparql(live_server.url):
        pytest.skip("this server has no /sparql endpoint yet")
    settings = Settings(store=str(store_copy))
    before = OxigraphStore(store_copy)
    untouched = sorted(before.named_graphs())
    before.close()
    source = live_server.url + path
    result = harvest(settings, source, kind=kind, page_size=3000, policy=LOCAL)  # several SPARQL pages
    assert result.kind == detected
    assert result.report.conforms
    target = OxigraphStore(store_copy)
    try:
        harvested = list(target.quads(result.graph))
        assert canonical(triples_of(harvested)) == source_triples
        assert result.triples == len(harvested) == len(source_triples)
        assert sorted(target.named_graphs()) == sorted([*untouched, result.graph])
        prov = {q.predicate.value: q.object for q in target.quads(f"{settings.base_iri}graph/provenance")
                if q.subject.value == result.graph}
        assert prov[PROV + "wasDerivedFrom"].value == source
        assert prov["http://rdfs.org/ns/void#triples"].value == str(len(harvested))
        assert prov[PROV + "generatedAtTime"].datatype.value.endswith("dateTime")
    finally:
        target.close()
    assert "Harvested" in result.summary() and str(result.triples) in result.summary()


def test_harvesting_again_replaces_the_graph(live_server, store_copy):
    settings = Settings(store=str(store_copy))
    first = harvest(settings, live_server.url + "/dumps/next2met.nt", policy=LOCAL)
    second = harvest(settings, live_server.url + "/dumps/next2met.nt", policy=LOCAL)
    target = OxigraphStore(store_copy)
    try:
        assert sum(1 for _ in target.quads(second.graph)) == first.triples == second.triples
        times = [q for q in target.quads(f"{settings.base_iri}graph/provenance")
                 if q.subject.value == second.graph and q.predicate.value == PROV + "generatedAtTime"]
        assert len(times) == 1
    finally:
        target.close()


def store_state(path) -> tuple[int, list[str]]:
    store = OxigraphStore(path)
    try:
        return store.count(), store.named_graphs()
    finally:
        store.close()


def test_invalid_data_is_refused_and_nothing_is_written(store_copy, tmp_path, capsys):
    bad = tmp_path / "bad.ttl"
    bad.write_text(f"<https://w3id.org/next2met/practice/harvest-test> a <{N2M}GoodPractice> .\n")
    settings = Settings(store=str(store_copy))
    before = store_state(store_copy)
    with pytest.raises(ShapesInvalid) as e:
        harvest(settings, str(bad))
    assert "nothing was written" in e.value.detail and "practice/harvest-test" in e.value.detail
    assert store_state(store_copy) == before
    assert main(["harvest", str(bad), "--store", str(store_copy)]) == 1
    assert "does not conform" in capsys.readouterr().err
    assert store_state(store_copy) == before


def test_cli_harvests_a_file(store_copy, tmp_path, capsys):
    good = tmp_path / "extra.nt"
    good.write_text('<https://example.org/thing> <http://www.w3.org/2000/01/rdf-schema#label> "a thing"@en .\n')
    assert main(["harvest", str(good), "--store", str(store_copy), "--graph", "https://example.org/g"]) == 0
    assert "Harvested 1 triples" in capsys.readouterr().err
    store = OxigraphStore(store_copy)
    try:
        assert triples_of(store.quads("https://example.org/g")) == {ox.Triple(
            ox.NamedNode("https://example.org/thing"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
            ox.Literal("a thing", language="en"))}
    finally:
        store.close()


XXE = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">
  <rdf:Description rdf:about="http://example.org/a"><ex:p>&secret;</ex:p></rdf:Description>
</rdf:RDF>
"""


def test_xml_external_entities_are_not_resolved(store_copy, tmp_path):
    payload = tmp_path / "xxe.rdf"
    payload.write_text(XXE)
    before = store_state(store_copy)
    with pytest.raises(InputError) as e:
        harvest(Settings(store=str(store_copy)), str(payload))
    assert "root:" not in e.value.detail
    assert store_state(store_copy) == before


def test_downloads_are_bounded(live_server, store_copy):
    # (a generated document, not a dump file: werkzeug's test server leaks the file of a dropped download)
    with pytest.raises(InputError, match="limit of 1000 bytes"):
        harvest(Settings(store=str(store_copy)), live_server.url + "/catalog.nt", kind="dump",
                policy=FetchPolicy(allow_private=True, max_bytes=1000))
    bomb = gzip.compress(b"<a> <b> <c> .\n" * 200_000)  # 2.8 MB from a few kB
    with pytest.raises(InputError, match="once decompressed"):
        gunzip(bomb, 1_000_000, "bomb.nt.gz")


def test_unreachable_and_unknown_sources(store_copy, tmp_path):
    settings = Settings(store=str(store_copy))
    with pytest.raises(InputError, match="cannot fetch"):
        harvest(settings, "http://127.0.0.1:1/data.ttl", policy=LOCAL)
    with pytest.raises(InputError, match="no such file"):
        harvest(settings, str(tmp_path / "missing.ttl"))
    with pytest.raises(InputError, match="unknown kind"):
        harvest(settings, str(tmp_path / "missing.ttl"), kind="ftp")


def test_default_graph_names():
    base = "https://w3id.org/next2met/"
    assert default_graph(base, "http://example.org:8080/sparql") == base + "graph/harvested/example.org-8080-sparql"
    assert default_graph(base, "/tmp/some dir/Data.ttl") == base + "graph/harvested/data.ttl"


def test_rebuild_keeps_harvested_graphs(store_copy, tmp_path, capsys):
    """``next2met build`` recompiles the curated sources but keeps what was harvested, with its provenance."""
    good = tmp_path / "extra.nt"
    good.write_text('<https://example.org/kept> <http://www.w3.org/2000/01/rdf-schema#label> "kept"@en .\n')
    assert main(["harvest", str(good), "--store", str(store_copy), "--graph", "https://example.org/kept-graph"]) == 0
    assert main(["build", "--store", str(store_copy), "--quiet"]) == 0
    store = OxigraphStore(store_copy)
    try:
        assert len(list(store.quads("https://example.org/kept-graph"))) == 1
        assert store.ask("ASK { GRAPH <https://w3id.org/next2met/graph/provenance> { "
                         "<https://example.org/kept-graph> <http://www.w3.org/ns/prov#wasDerivedFrom> ?source } }")
    finally:
        store.close()
    capsys.readouterr()


@pytest.mark.virtuoso
def test_a_virtuoso_graph_larger_than_its_sort_limit_is_harvested_whole(virtuoso, store_copy, tmp_path, capsys):
    """A default Virtuoso refuses a sorted page that ends past row 10000 (SR353, MaxSortedTopRows): a graph of
    more triples (IRIs, literals with language and datatype, blank nodes, one subject with more triples than a
    page) is still harvested whole through ``next2met harvest``, each triple once, with progress as it reads."""
    g = "https://example.org/harvest-big"
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in big_graph(g, 12_345)}
    assert len(triples) > 10_000 + 6000
    dump = tmp_path / "big.nt"
    dump.write_bytes(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
    virtuoso.bulk_load(dump, g)
    target = "https://example.org/harvested-big"
    source = f"{virtuoso.sparql}?default-graph-uri={quote(g, safe='')}"  # that graph alone, not Virtuoso's own
    try:
        started = time.perf_counter()
        code = main(["harvest", source, "--kind", "sparql", "--allow-private", "--store", str(store_copy),
                     "--graph", target])
        seconds = time.perf_counter() - started
        err = capsys.readouterr().err
        assert code == 0, err
        assert f"Harvested {len(triples)} triples" in err
        shown = [int(line.split()[0]) for line in err.splitlines() if line.endswith(" triples read")]
        assert len(shown) >= 3 and shown == sorted(shown) and shown[-1] <= len(triples), err  # progress a page
        print(f"harvested {len(triples)} triples from Virtuoso in {seconds:.1f} s")
    finally:
        virtuoso.isql(f"SPARQL CLEAR GRAPH <{g}>;")
    store = OxigraphStore(store_copy)
    try:
        harvested = triples_of(store.quads(target))
    finally:
        store.close()
    assert len(harvested) == len(triples)
    assert canonical(harvested) == canonical(triples)


class Endpoint:
    """A SPARQL endpoint on loopback over an Oxigraph store, which follows the standard to the letter (STR() of a
    blank node is an error); it cuts each answer at ``max_rows`` and says so as Virtuoso does (X-SPARQL-MaxRows)."""

    def __init__(self, store: ox.Store, max_rows: int) -> None:
        self.asked: list[str] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                query = parse_qs(urlsplit(self.path).query)["query"][0]
                endpoint.asked.append(query)
                solutions = store.query(query)
                assert isinstance(solutions, ox.QuerySolutions)
                answer = json.loads(solutions.serialize(format=ox.QueryResultsFormat.JSON))
                rows = answer["results"]["bindings"]
                cut, answer["results"]["bindings"] = len(rows) > max_rows, rows[:max_rows]
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(body)))
                if cut:
                    self.send_header("X-SPARQL-MaxRows", str(max_rows))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/sparql"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_standard_endpoint_is_harvested_whole_across_cut_pages_and_blank_subjects(store_copy):
    """Small pages on a store that follows SPARQL 1.1 to the letter: pages cut subjects, one subject fills two
    pages, blank-node subjects (no STR()) come by the last pass, and answers the endpoint cuts at its row limit
    (X-SPARQL-MaxRows) are asked again in smaller pages rather than taken as the end."""
    expected = {ox.Triple(q.subject, q.predicate, q.object) for q in tricky_quads()}
    hub, p = ox.NamedNode("https://example.org/hub"), ox.NamedNode("https://example.org/p")
    expected |= {ox.Triple(hub, p, ox.Literal(f"{i}", language=tag)) for i in range(100) for tag in ("en", "fi")}
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in expected)
    endpoint = Endpoint(store, max_rows=150)
    try:
        result = harvest(Settings(store=str(store_copy)), endpoint.url, kind="sparql", graph="https://example.org/g",
                         page_size=200, policy=LOCAL)
    finally:
        endpoint.close()
    assert result.triples == len(expected)
    target = OxigraphStore(store_copy)
    try:
        assert canonical(triples_of(target.quads("https://example.org/g"))) == canonical(expected)
    finally:
        target.close()
    assert any("LIMIT 200" in q for q in endpoint.asked) and any("LIMIT 100" in q for q in endpoint.asked)
    assert any('STR(?s) = "https://example.org/hub"' in q for q in endpoint.asked), "the hub read by itself"
    assert any("FILTER(!BOUND(?k))" in q and "OFFSET" in q for q in endpoint.asked), "the blank subjects' pass"
    assert not any("OFFSET" in q for q in endpoint.asked if "!BOUND" not in q)
