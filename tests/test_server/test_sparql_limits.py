"""The limits of the public endpoint, measured on a live server with small limits: the query timeout (the
worker is killed), the row cap (never silent), the body cap, the cap on queries at once, SERVICE refusal, and
/update (token, SHACL, LOAD/SERVICE refusal)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pyoxigraph as ox
import pytest
import requests
from werkzeug.serving import make_server

from next2met.graph.errors import QueryRefused, QueryTimeout
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore
from next2met.server.app import create_app
from next2met.server.jobs import QueryJob
from next2met.server.workers import QueryPool, Snapshots, _Worker
from tests.conftest import data_copy, derived

TIMEOUT = 1.5
MAX_ROWS = 5
TOKEN = "test-update-token"
N2M = "https://w3id.org/next2met/ontology#"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 8000³ rows: never finishes
SMALL = f"ASK {{ ?p a <{N2M}GoodPractice> }}"
ABSTRACT = "http://purl.org/dc/terms/abstract"


class _Late:
    """A WSGI app set after the server socket exists, so the app's allow-list can name the server's own port."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def server(built_store, tmp_path_factory):
    target = tmp_path_factory.mktemp("limits") / "store"
    shutil.copytree(built_store, target, symlinks=True)
    late = _Late()
    http = make_server("127.0.0.1", 0, late, threaded=True)
    url = f"http://127.0.0.1:{http.server_port}"
    settings = Settings(
        store=str(target), query_timeout=TIMEOUT, max_rows=MAX_ROWS, max_body=4000, query_workers=2,
        max_concurrent_queries=2, update_token=TOKEN, service_allowlist=(url + "/sparql",),
        max_queries_per_client=0,  # these tests send queries at once from one address
        data_dir=str(data_copy()),
    )
    late.app = create_app(settings)
    assert late.app.extensions["next2met"].extensions["sparql"].wait_ready()  # timings below exclude start-up
    assert late.app.extensions["next2met"].preparing.wait(120)  # and the dumps and change log made after it
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield url, late.app
    http.shutdown()
    late.app.extensions["next2met"].close()


# The worker tests ask for a fresh run each time: a repeated query is otherwise answered from the answer cache.
FRESH = {"Cache-Control": "no-cache"}


def ask(url: str, sparql: str) -> bool:
    r = requests.get(url + "/sparql", params={"query": sparql},
                     headers={"Accept": "application/sparql-results+json", **FRESH})
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


# -- timeout -------------------------------------------------------------------------------------------------------
def test_runaway_query_is_stopped_and_a_small_query_meanwhile_is_answered_at_once(server):
    url, app = server
    pool = app.extensions["next2met"].extensions["sparql"]
    ask(url, SMALL)  # both workers up

    def timed(query: str, delay: float = 0.0):
        time.sleep(delay)
        started = time.monotonic()
        r = requests.get(url + "/sparql", params={"query": query}, headers=FRESH)
        return r, time.monotonic() - started

    with ThreadPoolExecutor(2) as ex:
        runaway = ex.submit(timed, RUNAWAY)
        small = ex.submit(timed, SMALL, 0.3)
        (slow, slow_seconds), (quick, quick_seconds) = runaway.result(), small.result()
    assert slow.status_code == 503
    assert slow.headers["Content-Type"] == "application/problem+json"
    assert slow.json()["type"].endswith("#query-timeout") and "stopped" in slow.json()["detail"]
    assert TIMEOUT <= slow_seconds < TIMEOUT + 1.0
    assert quick.status_code == 200 and quick.json()["boolean"] is True
    assert quick_seconds < 0.5, f"a small query waited {quick_seconds:.2f} s behind a runaway one"
    # the killed worker is replaced and the pool answers again
    deadline = time.monotonic() + 10
    while pool.size < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.size == 2
    assert ask(url, SMALL)


def test_too_many_queries_at_once_get_overloaded(server):
    url, _ = server
    with ThreadPoolExecutor(2) as ex:
        busy = [ex.submit(requests.get, url + "/sparql", params={"query": RUNAWAY}) for _ in range(2)]
        time.sleep(0.3)
        r = requests.get(url + "/sparql", params={"query": SMALL}, headers=FRESH)
        assert r.status_code == 503 and r.json()["type"].endswith("#overloaded")
        # an answer the cache holds costs no worker: it is served even now
        r = requests.get(url + "/sparql", params={"query": SMALL},
                         headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200 and r.headers["X-Next2Met-Cache"] == "hit" and r.json()["boolean"] is True
        assert [f.result().status_code for f in busy] == [503, 503]


# -- answer cache ----------------------------------------------------------------------------------------------------
def test_server_timing_says_where_the_time_went(server):
    """Server-Timing (W3C): on a miss the worker's steps, the worker round trip and the whole request; on a cache
    hit only the total. CORS clients may read it."""
    url, _ = server
    query = f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{N2M}GoodPractice> }} # timing"

    def timings(r) -> dict[str, str]:
        out = {}
        for part in r.headers["Server-Timing"].split(","):
            name, *fields = (f.strip() for f in part.split(";"))
            out[name] = next((f.split("=", 1)[1] for f in fields if f.startswith(("dur=", "desc="))), "")
        return out

    miss = requests.get(url + "/sparql", params={"query": query}, headers={**FRESH, "Origin": "https://example.org"})
    t = timings(miss)
    assert list(t) == ["check", "query", "serialise", "worker", "store", "total"], t
    assert t.pop("store") in ('"disk"', '"memory"')  # memory once the worker's copy of the data is made
    ms = {k: float(v) for k, v in t.items()}
    assert all(v >= 0 for v in ms.values())
    assert ms["check"] + ms["query"] + ms["serialise"] <= ms["worker"] <= ms["total"]
    assert "Server-Timing" in miss.headers["Access-Control-Expose-Headers"] and miss.headers["Timing-Allow-Origin"]
    hit = requests.get(url + "/sparql", params={"query": query})
    assert hit.headers["X-Next2Met-Cache"] == "hit" and list(timings(hit)) == ["cache", "total"]
    assert timings(hit)["cache"] == '"hit"'


def test_repeated_query_is_answered_from_the_cache_until_the_data_changes(server):
    url, _ = server
    graph = "https://example.org/graph/cache-test"
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    json_ = {"Accept": "application/sparql-results+json"}

    def run(sparql: str, **headers):
        r = requests.get(url + "/sparql", params={"query": sparql}, headers={**json_, **headers})
        assert r.status_code in (200, 304), r.text
        return r

    first, second = run(count), run(count)
    assert (first.headers["X-Next2Met-Cache"], second.headers["X-Next2Met-Cache"]) == ("miss", "hit")
    assert second.content == first.content and first.json()["results"]["bindings"][0]["n"]["value"] == "0"
    assert run(count, **{"If-None-Match": second.headers["ETag"]}).status_code == 304
    assert run(count, **FRESH).headers["X-Next2Met-Cache"] == "miss"
    # another format is another answer
    csv = requests.get(url + "/sparql", params={"query": count}, headers={"Accept": "text/csv"})
    assert csv.headers["X-Next2Met-Cache"] == "miss" and csv.text.split()[-1] == "0"
    # a data change empties the cache: the same query now counts the new triple
    note = '<https://example.org/notes/cached> <http://www.w3.org/2000/01/rdf-schema#comment> "cached"@en'
    assert update(url, f"INSERT DATA {{ GRAPH <{graph}> {{ {note} }} }}").status_code == 200
    after = run(count)
    assert after.headers["X-Next2Met-Cache"] == "miss" and after.headers["ETag"] != second.headers["ETag"]
    assert after.json()["results"]["bindings"][0]["n"]["value"] == "1"
    assert run(count, **{"If-None-Match": second.headers["ETag"]}).status_code == 200
    # answers that may differ between runs are never kept
    rand = "SELECT (RAND() AS ?r) WHERE {}"
    assert [run(rand).headers["X-Next2Met-Cache"] for _ in range(2)] == ["miss", "miss"]
    # ... while a query that only names something like "e-service" is kept
    measure = "SELECT ?p WHERE { ?p ?m <https://w3id.org/next2met/concept/measure/e-service> } # e-service"
    assert [run(measure).headers["X-Next2Met-Cache"] for _ in range(2)] == ["miss", "hit"]


def _where_answered(r) -> str:
    found = [p.split("desc=", 1)[1].strip('"') for p in r.headers["Server-Timing"].split(",") if "store;" in p]
    assert len(found) == 1, r.headers["Server-Timing"]
    return found[0]


def test_a_worker_is_stopped_once_whoever_asks_twice():
    """The pool closing and a worker's own start-up thread can both stop the same worker at once: the socket is
    closed once (closed twice, the second close failed with EBADF, or closed a newer socket that got the same
    number). Closing the socket is slowed down here so that the two stops overlap every time."""
    worker = _Worker(Settings())
    close = worker.conn._close

    def slow_close() -> None:
        time.sleep(0.3)
        close()

    worker.conn._close = slow_close
    failures: list[BaseException] = []

    def stop() -> None:
        try:
            worker.kill()
        except BaseException as e:  # noqa: BLE001 (the failure is what the test looks for)
            failures.append(e)

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and worker.process.poll() is not None and worker.conn.closed


BUSY_VALUES = "{ " + " ".join(str(i) for i in range(150)) + " }"
# long enough (3.4 million rows, ~0.3 s) to keep its worker busy while another query runs
BUSY = f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?a {BUSY_VALUES} VALUES ?b {BUSY_VALUES} VALUES ?c {BUSY_VALUES} }}"


@pytest.mark.parametrize("copies", [1, 2])
def test_workers_copy_the_data_at_start_up_before_any_query(store_copy, copies):
    """A started worker opens the data with a query of its own, so its copy is under way before users ask: after a
    short wait the first query each copying worker gets is answered from memory (the copy of the real data takes
    well under a second; without the start-up query it would only begin with that first query, answered on disk).
    Only ``query_memory_copies`` workers make a copy (the default, one, keeps the server small); the others read
    the snapshot on disk."""
    store = OxigraphStore(store_copy)
    settings = Settings(store=str(store_copy), query_workers=2, query_memory_copies=copies)
    pool = QueryPool(settings, Snapshots(store, threading.RLock()))
    try:
        assert pool.wait_ready()
        assert pool.status() == {"workers": 2, "disk": 2, "copying": copies}
        time.sleep(5)
        job = QueryJob(sparql=BUSY, formats={"select": "json"}, max_rows=MAX_ROWS)
        with ThreadPoolExecutor(2) as ex:  # two at once: each worker answers one
            answers = list(ex.map(lambda _: pool.run(job, TIMEOUT), range(2)))
        expected = ["memory"] * copies + ["disk"] * (2 - copies)
        assert sorted((a.store for a in answers), reverse=True) == expected
        assert pool.status() == {"workers": 2, **{k: expected.count(k) for k in set(expected)}}
        # one at a time, a query goes to the idle worker with a copy, whichever answered last
        small = QueryJob(sparql="SELECT * WHERE { ?s ?p ?o } LIMIT 1", formats={"select": "json"}, max_rows=MAX_ROWS)
        assert {pool.run(small, TIMEOUT).store for _ in range(6)} == {"memory"}
    finally:
        pool.close()
        store.close()


def test_workers_answer_from_a_memory_copy_and_never_from_old_data(server):
    """A worker copies the data into memory in the background and answers from the copy once it is made. After a
    data change no answer comes from the copy of the old data: the new snapshot on disk answers until the new copy
    is made."""
    url, app = server
    graph = "https://example.org/graph/memory-test"
    kg = app.extensions["next2met"]
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"

    def run() -> tuple[int, str]:
        r = requests.get(url + "/sparql", params={"query": count},
                         headers={"Accept": "application/sparql-results+json", **FRESH})
        assert r.status_code == 200, r.text
        return int(r.json()["results"]["bindings"][0]["n"]["value"]), _where_answered(r)

    def answers_until_memory() -> list[tuple[int, str]]:
        seen = [run()]
        deadline = time.monotonic() + 60
        while seen[-1][1] != "memory" and time.monotonic() < deadline:
            time.sleep(0.05)
            seen.append(run())
        assert seen[-1][1] == "memory", seen[-5:]
        return seen

    assert {n for n, _ in answers_until_memory()} == {0}
    note = '<https://example.org/notes/memory> <http://www.w3.org/2000/01/rdf-schema#comment> "in memory"@en'
    assert update(url, f"INSERT DATA {{ GRAPH <{graph}> {{ {note} }} }}").status_code == 200
    after = answers_until_memory()
    assert {n for n, _ in after} == {1}, after
    # with the default settings one worker of the two keeps a copy (query_memory_copies), the other reads the
    # snapshot on disk: two queries at once (each long enough to keep its worker busy) read one of each. The
    # change also makes the derived graphs anew in the background, a data change of its own that the copying
    # worker copies in turn: once they are written, the copy of that newest data is made before the two queries
    assert kg.preparing.wait(120), kg.preparing.status()
    assert {n for n, _ in answers_until_memory()} == {1}

    def busy(i: int) -> str:
        r = requests.get(url + "/sparql", headers={"Accept": "application/sparql-results+json", **FRESH},
                         params={"query": f"{BUSY} # {i}"})
        assert r.status_code == 200, r.text
        return _where_answered(r)

    with ThreadPoolExecutor(2) as ex:
        assert sorted(ex.map(busy, range(2))) == ["disk", "memory"]
    workers = requests.get(url + "/health").json()["query_workers"]  # what an operator sees
    assert workers == {"workers": 2, "memory": 1, "disk": 1}, workers


def test_memory_copy_follows_the_newest_data(tmp_path):
    """Data that changes while a copy is being made is copied next; the copy of the older data is never handed
    out for the newer."""
    from next2met.server.worker_process import MemoryCopy

    stores = []
    for n in (1, 2):
        folder = tmp_path / f"snap-{n}"
        store = OxigraphStore(folder / "store")
        store.replace_dataset([ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), ox.NamedNode(N2M + "p"),
                                       ox.Literal(str(i)), ox.NamedNode("https://example.org/g"))
                               for i in range(200 * n)])
        stores.append((str(folder / "store"), store))
    memory = MemoryCopy(max_quads=10_000)
    memory.want(*stores[0])
    memory.want(*stores[1])
    deadline = time.monotonic() + 30
    while memory.get(stores[1][0]) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    copy = memory.get(stores[1][0])
    assert copy is not None and copy.count() == 400 and memory.get(stores[0][0]) is None
    small = MemoryCopy(max_quads=100)
    small.want(*stores[0])
    time.sleep(0.5)
    assert small.get(stores[0][0]) is None  # more quads than allowed: the disk answers
    for _, store in stores:
        store.close()


def test_memory_copy_needs_room(tmp_path):
    """No copy that would take more than half the memory the system has available (a worker killed for want of
    memory would copy again and be killed again)."""
    from next2met.server.worker_process import BYTES_PER_QUAD, _fits_in_memory

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        8000000 kB\nMemAvailable:    1000000 kB\n")
    room = 1_000_000 * 1024 // 2 // BYTES_PER_QUAD
    assert _fits_in_memory(room, str(meminfo)) and not _fits_in_memory(room + 1000, str(meminfo))
    assert _fits_in_memory(10**12, str(tmp_path / "absent"))  # a system that does not say: the setting decides


def test_workers_stay_on_disk_when_the_copy_is_turned_off(store_copy):
    store = OxigraphStore(store_copy)
    settings = Settings(store=str(store_copy), query_memory_quads=0, query_workers=1)
    pool = QueryPool(settings, Snapshots(store, threading.RLock()))
    assert pool.wait_ready()
    try:
        job = QueryJob(sparql=SMALL, formats={"ask": "json"}, max_rows=MAX_ROWS)
        answers = []
        for _ in range(20):
            answers.append(pool.run(job, TIMEOUT))
            time.sleep(0.05)
        assert {a.store for a in answers} == {"disk"} and b'"boolean":true' in answers[-1].body
    finally:
        pool.close()
        store.close()


# -- row cap -------------------------------------------------------------------------------------------------------
def test_row_cap_is_announced(server):
    url, _ = server
    r = requests.get(url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 200, r.text
    assert len(r.json()["results"]["bindings"]) == MAX_ROWS
    assert r.headers["X-Next2Met-Truncated"] == "true" and r.headers["X-Next2Met-Max-Rows"] == str(MAX_ROWS)
    r = requests.get(url + "/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                     headers={"Accept": "application/n-triples"})
    assert len(list(ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES))) == MAX_ROWS
    assert r.headers["X-Next2Met-Truncated"] == "true"
    r = requests.get(url + "/sparql", params={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}"})
    assert len(r.json()["results"]["bindings"]) == MAX_ROWS and "X-Next2Met-Truncated" not in r.headers


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("limit,kept,truncated", [(MAX_ROWS + 1, MAX_ROWS, True), (MAX_ROWS, MAX_ROWS, False),
                                                  (1, 1, False), (None, MAX_ROWS, True)])
def test_row_cap_in_every_result_format(server, fmt, limit, kept, truncated):
    """The cap stops the writer one row past it, whatever the format asked for; values with line breaks and tabs
    (which a line-based writer escapes) count as one row each."""
    url, _ = server
    query = ("SELECT ?s ?p ?o ?text WHERE { ?s ?p ?o BIND(\"a\\tb\\nc\\r\\nd\" AS ?text) } ORDER BY ?s ?p ?o"
             + (f" LIMIT {limit}" if limit else ""))
    r = requests.get(url + "/sparql", params={"query": query, "format": fmt})
    assert r.status_code == 200, r.text
    if fmt == "csv":  # not a format pyoxigraph reads
        texts = [row["text"] for row in csv.DictReader(io.StringIO(r.content.decode("utf-8"), newline=""))]
    else:
        texts = [row["text"].value for row in ox.parse_query_results(
            r.content, format=getattr(ox.QueryResultsFormat, fmt.upper()))]
    assert texts == ["a\tb\nc\r\nd"] * kept
    assert ("X-Next2Met-Truncated" in r.headers) is truncated


@pytest.mark.parametrize("fmt,media", [("nt", "application/n-triples"), ("turtle", "text/turtle"),
                                       ("nquads", "application/n-quads"), ("jsonld", "application/ld+json"),
                                       ("rdfxml", "application/rdf+xml")])
@pytest.mark.parametrize("limit,kept,truncated", [(MAX_ROWS + 1, MAX_ROWS, True), (MAX_ROWS, MAX_ROWS, False),
                                                  (None, MAX_ROWS, True)])
def test_triple_cap_in_every_rdf_format(server, fmt, media, limit, kept, truncated):
    """CONSTRUCT answers are cut at the cap the same way, in every RDF format; a value with line breaks is one
    triple."""
    url, _ = server
    query = ("CONSTRUCT { ?s <https://example.org/note> ?text } WHERE { ?s ?p ?o "
             "BIND(CONCAT(STR(?o), \"\\n\\tend\") AS ?text) }" + (f" LIMIT {limit}" if limit else ""))
    r = requests.get(url + "/sparql", params={"query": query}, headers={"Accept": media})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith(media)
    triples = list(ox.parse(r.content, format=ox.RdfFormat.from_media_type(media)))
    assert len(triples) == kept and all(t.object.value.endswith("\n\tend") for t in triples)
    assert ("X-Next2Met-Truncated" in r.headers) is truncated


def test_body_cap(server):
    url, _ = server
    big = "ASK {} #" + "x" * 5000
    for r in (requests.post(url + "/sparql", data=big, headers={"Content-Type": "application/sparql-query"}),
              requests.post(url + "/sparql", data={"query": big})):
        assert r.status_code == 413
        assert r.headers["Content-Type"] == "application/problem+json" and "4000" in r.json()["detail"]


# -- SERVICE -------------------------------------------------------------------------------------------------------
def test_service_outside_the_allow_list_is_refused(server):
    url, _ = server
    for query in ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                  "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
                  "SELECT * WHERE { \\u0053ERVICE <http://example.org/sparql> { ?s ?p ?o } }",
                  'DEFINE get:soft "replace" SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }'):
        r = requests.get(url + "/sparql", params={"query": query})
        assert r.status_code == 403 and r.json()["type"].endswith("#query-refused"), (query, r.text)


def test_allow_listed_service_is_called(server):
    url, app = server
    own = url + "/sparql"
    # the count is made by the called endpoint (its answer is capped at MAX_ROWS rows like any other)
    query = f"SELECT ?n WHERE {{ SERVICE <{own}> {{ SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{N2M}GoodPractice> }} }} }}"
    r = requests.get(own, params={"query": query})
    assert r.status_code == 200, r.text
    local = app.extensions["next2met"].store.query(f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{N2M}GoodPractice> }}")
    assert r.json()["results"]["bindings"][0]["n"]["value"] == next(iter(local.value))["n"].value


# -- /update ---------------------------------------------------------------------------------------------------------
def update(url: str, text: str, token: str | None = TOKEN, **params):
    headers = {"Content-Type": "application/sparql-update"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url + "/update", data=text.encode("utf-8"), headers=headers, params=params)


def test_updates_are_off_without_a_configured_token(client):
    r = client.post("/update", data="CLEAR ALL", content_type="application/sparql-update",
                    headers={"Authorization": "Bearer anything"})
    assert r.status_code == 403 and "off" in r.json["detail"]


def test_update_needs_the_right_token(server):
    url, _ = server
    for token in (None, "wrong"):
        r = update(url, "CLEAR ALL", token)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert ask(url, SMALL)  # nothing was cleared
    assert requests.get(url + "/update").status_code == 405


def test_update_that_keeps_the_shapes_is_applied_and_announced(server):
    url, app = server
    kg = app.extensions["next2met"]
    derived(url)  # no round of derivation left from an earlier change
    heard = []
    kg.on_change(lambda _kg, change: heard.append(change))
    before = kg.store.generation
    size = requests.get(url + "/health").json()["store"]["quads"]
    assert size == kg.store.count()
    note = "<https://example.org/notes/n1> <http://www.w3.org/2000/01/rdf-schema#comment> \"checked\"@en"
    r = update(url, f"INSERT DATA {{ GRAPH <https://example.org/graph/notes> {{ {note} }} }}")
    assert r.status_code == 200, r.text
    # the count follows the data: the note, and the provenance that now describes its graph
    assert requests.get(url + "/health").json()["store"]["quads"] == kg.store.count() > size + 1
    assert ask(url, "ASK { GRAPH <https://w3id.org/next2met/graph/provenance> { <https://example.org/graph/notes> "
                    "<http://rdfs.org/ns/void#triples> 1 } }")
    body = r.json()
    assert body["status"] == "updated" and body["changedGraphs"] == ["https://example.org/graph/notes"]
    assert body["version"] >= 1 and body["files"] == []  # a graph without a source file: the store only
    assert kg.store.generation != before
    assert ask(url, f"ASK {{ {note} }}")  # queries see the new data at once
    # the listeners also hear of the derived graphs (learning network, quality) recomputed from the new data, in
    # the background once the update was answered
    derived(url)
    graphs = ("https://w3id.org/next2met/graph/derived/network", "https://w3id.org/next2met/graph/derived/quality")
    assert [(c.graphs, c.reason) for c in heard] == [
        (("https://example.org/graph/notes", "https://w3id.org/next2met/graph/provenance"), "update"),
        (graphs, "derived")]


def test_update_using_graph_uri(server):
    url, app = server
    store = app.extensions["next2met"].store
    graph = next(g for g in store.named_graphs() if store.ask(f"ASK {{ GRAPH <{g}> {{ ?p a <{N2M}GoodPractice> }} }}"))
    target = "https://example.org/graph/seen"
    r = update(url, f"INSERT {{ GRAPH <{target}> {{ ?p <https://example.org/seenIn> <{graph}> }} }} "
                    f"WHERE {{ ?p a <{N2M}GoodPractice> }}", **{"using-graph-uri": graph})
    assert r.status_code == 200, r.text
    expected = store.query(f"SELECT ?p WHERE {{ GRAPH <{graph}> {{ ?p a <{N2M}GoodPractice> }} }}").rows()
    got = store.query(f"SELECT ?p WHERE {{ GRAPH <{target}> {{ ?p ?x ?y }} }}").rows()
    assert sorted(str(r["p"]) for r in got) == sorted(str(r["p"]) for r in expected) and got
    r = update(url, f"WITH <{graph}> INSERT {{ ?p ?p ?p }} WHERE {{ ?p a ?t }}", **{"using-graph-uri": graph})
    assert r.status_code == 400 and "WITH" in r.json()["detail"]


def test_update_that_breaks_the_shapes_is_refused_and_changes_nothing(server):
    url, app = server
    kg = app.extensions["next2met"]
    before = kg.store.generation
    query = f"SELECT ?p WHERE {{ ?p a <{N2M}GoodPractice> ; <{ABSTRACT}> ?a }} LIMIT 1"
    practice = kg.store.query(query).rows()[0]["p"]
    r = update(url, f"DELETE {{ GRAPH ?g {{ {practice} <{ABSTRACT}> ?a }} }} "
                    f"WHERE {{ GRAPH ?g {{ {practice} <{ABSTRACT}> ?a }} }}")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["type"].endswith("#shapes-invalid") and "nothing was changed" in body["detail"]
    assert any(v["focusNode"] == practice.value for v in body["violations"])
    assert kg.store.generation == before
    assert ask(url, f"ASK {{ {practice} <{ABSTRACT}> ?a }}")


@pytest.mark.parametrize("text,status,slug", [
    ("LOAD <http://127.0.0.1:9/data.ttl>", 403, "query-refused"),
    ("LOAD <file:///etc/passwd> INTO GRAPH <https://example.org/g>", 403, "query-refused"),
    ("INSERT { GRAPH <https://example.org/g> { ?s ?p ?o } } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
     403, "query-refused"),
    ("INSERT DATA { <https://example.org/s> <https://example.org/p> 1 }", 400, "bad-input"),
    ("CLEAR XYZ", 400, "query-syntax"),
])
def test_refused_updates(server, text, status, slug):
    url, app = server
    before = app.extensions["next2met"].store.generation
    r = update(url, text)
    assert r.status_code == status and r.json()["type"].endswith("#" + slug), r.text
    assert app.extensions["next2met"].store.generation == before


def test_update_endpoint_takes_updates_only(server):
    url, _ = server
    r = requests.post(url + "/update", data={"query": "ASK {}"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 400
    r = requests.post(url + "/update", data="ASK {}", headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-query"})
    assert r.status_code == 415


# -- the notice in the editor ------------------------------------------------------------------------------------------
@pytest.mark.browser
def test_editor_shows_the_truncation_notice(server, chromium_browser):
    from playwright.sync_api import expect

    url, _ = server
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        # a shared link: the query is in the page URL's fragment and runs on opening
        page.goto(url + "/sparql#query=" + requests.utils.quote("SELECT * WHERE { ?s ?p ?o }"))
        notice = page.locator("#n2m-notice")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(f"first {MAX_ROWS} results")
    finally:
        context.close()


# -- a remote store behind the same workers ----------------------------------------------------------------------------
@pytest.mark.virtuoso
def test_remote_store_behind_the_workers(virtuoso_built, app):
    """The workers forward to a remote store with the same timeout, row cap and SERVICE refusal.

    The pool is driven directly: an app over Virtuoso would spend its start-up writing the dumps, and the HTTP
    layer above the pool is the same for both stores.
    """
    settings = Settings(store_url=virtuoso_built.sparql, query_timeout=TIMEOUT, max_rows=MAX_ROWS)
    pool = QueryPool(settings, snapshots=None)
    assert pool.wait_ready()
    try:
        def run(sparql: str):
            return pool.run(QueryJob(sparql=sparql, formats={"select": "json", "ask": "json", "graph": "nt"},
                                     max_rows=MAX_ROWS), TIMEOUT + 0.5)

        count = f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{N2M}GoodPractice> }}"
        local = app.extensions["next2met"].store.query(count).rows()[0]["n"].value
        answer = run(count)
        assert answer.kind == "select" and f'"value":"{local}"'.encode() in answer.body
        answer = run(f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {4 * MAX_ROWS}")
        assert answer.truncated and len(json.loads(answer.body)["results"]["bindings"]) == MAX_ROWS
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            run(RUNAWAY)
        assert time.monotonic() - started < TIMEOUT + 1.0
        with pytest.raises(QueryRefused):
            run("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    finally:
        pool.close()


@pytest.mark.parametrize("query,parsed", [
    ("SELECT * WHERE { ?p <https://w3id.org/next2met/ontology#measureType> "
     "<https://w3id.org/next2met/concept/measure/e-service> }", False),
    ('SELECT * WHERE { ?p ?q "a SERVICE in a string" } # and SERVICE in a comment', False),
    ("SELECT * WHERE { ?p ?q ?o .SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", True),
    ("SELECT * WHERE { SERVICE?x { ?s ?p ?o } }", True),
    ("SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", True),
    # an escaped quote in an IRI: read with the escape applied, the text would hide SERVICE in a string
    ('SELECT * WHERE { <http://x\\u0022> ?p ?o . SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } FILTER(?o != "x") }',
     True),
])
def test_the_service_check_parses_only_texts_that_may_hold_the_keyword(monkeypatch, query, parsed):
    """The slow parser (50-70 ms) runs only when SERVICE may be a keyword of the text; when it runs, a SERVICE
    outside the allow-list is refused."""
    import rdflib.plugins.sparql.parser as parser

    from next2met.graph.errors import QueryRefused
    from next2met.server.guard import check_query

    calls = []
    real = parser.parseQuery
    monkeypatch.setattr(parser, "parseQuery", lambda text: calls.append(text) or real(text))
    if parsed:
        with pytest.raises(QueryRefused):
            check_query(query, ())
    else:
        check_query(query, ())
    assert bool(calls) == parsed
