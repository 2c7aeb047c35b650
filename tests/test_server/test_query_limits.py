"""Depth and memory per query, with ``next2met serve`` and its worker processes as a user runs them: a deeply nested
query or update is refused with 400 before a worker sees it, a memory-hungry query is stopped at the worker's
memory limit with a problem that says so while the process tree stays under the limits, the worker is replaced,
and a worker that dies leaves nothing behind in ``query-snapshots/``."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.served import rss_mb, serve_copy

TOKEN = "limits-token"
LIMIT_MB = 400
SMALL = "SELECT ?s WHERE { ?s a ?t } LIMIT 1"
JSON = {"Accept": "application/sparql-results+json"}


def hungry(doublings: int = 29) -> str:
    """A string that doubles at each BIND: 2**29 characters, and copies of it on the way."""
    binds = " ".join(f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(doublings))
    return f'SELECT (STRLEN(?x{doublings}) AS ?n) WHERE {{ BIND("x" AS ?x0) {binds} }}'


@pytest.fixture(scope="module")
def server(built_store, tmp_path_factory):
    served = serve_copy(built_store, tmp_path_factory.mktemp("limits"), update_token=TOKEN,
                        worker_memory_mb=LIMIT_MB, query_timeout=30)
    yield served
    served.stop()


def query(server, text: str, timeout: float = 60) -> requests.Response:
    return requests.post(server.url + "/sparql", data={"query": text}, headers=JSON, timeout=timeout)


def wait_for_workers(server, count: int = 2, seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = requests.get(server.url + "/health", timeout=5).json()
        if health["query_workers"].get("workers") == count and "starting" not in health["query_workers"]:
            return server.workers()
        time.sleep(0.2)
    raise AssertionError(f"the query workers did not come back: {health}")


def wait_reaped(server, pid: int, seconds: float = 15) -> None:
    """Wait until the server has reaped a worker killed from outside (/health finds dead workers): the process is
    gone, not even a zombie. A SIGKILL takes effect a moment after ``os.kill`` returns."""
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        requests.get(server.url + "/health", timeout=10)
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), f"the killed worker {pid} was not reaped"


@pytest.mark.parametrize("nested", [
    "SELECT * WHERE " + "{ " * 5000 + "?s ?p ?o" + " }" * 5000,
    "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
    "SELECT * WHERE { ?s ?p " + "[ ?p " * 3000 + "?o" + " ]" * 3000 + " }",
    "SELECT * WHERE " + "{ " * 65 + "?s ?p ?o" + " }" * 65,
])
def test_a_deeply_nested_query_is_refused_and_the_workers_live(server, nested):
    workers = wait_for_workers(server)
    r = query(server, nested)
    assert r.status_code == 400, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "more than 64 deep" in r.json()["detail"]
    assert server.workers() == workers  # no worker saw it
    assert query(server, SMALL).status_code == 200


def test_a_nested_update_is_refused(server):
    update = "INSERT { GRAPH <urn:g> { <urn:a> <urn:p> 1 } } WHERE " + "{ " * 500 + " }" * 500
    r = requests.post(server.url + "/update", data={"update": update}, timeout=30,
                      headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert "update nests" in r.json()["detail"]


def test_nesting_within_the_limit_still_runs(server):
    r = query(server, "SELECT * WHERE " + "{ " * 60 + "?s ?p ?o" + " }" * 60 + " LIMIT 1")
    assert r.status_code == 200, r.text[:300]


def test_a_memory_hungry_query_is_stopped_at_the_limit(server):
    wait_for_workers(server)
    base = rss_mb(server.proc.pid)
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.tree_rss_mb())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        started = time.monotonic()
        r = query(server, hungry())
        took = time.monotonic() - started
    finally:
        done.set()
        watcher.join()
    assert r.status_code == 503, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/problem+json")
    problem = r.json()
    assert f"memory limit of {LIMIT_MB} MB" in problem["detail"]
    assert problem["type"].endswith("#memory-limit")
    assert took < 30  # stopped by the limit, not by the timeout
    assert peak[0] < base + 2 * LIMIT_MB + 100, (base, peak[0])
    wait_for_workers(server)  # replaced
    assert query(server, SMALL).status_code == 200


def test_a_killed_worker_leaves_nothing_on_disk(server):
    workers = wait_for_workers(server)
    snapshots = server.store / "query-snapshots"
    # kill a worker from outside, while it runs a query, twice
    for victim in workers:
        runner = threading.Thread(target=query, args=(server, hungry(24)), daemon=True)
        runner.start()
        time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):  # replaced meanwhile (the pool reaps ended workers)
            os.kill(victim, signal.SIGKILL)
        runner.join(30)
        wait_reaped(server, victim)
        wait_for_workers(server)
    live = set(server.workers())
    left = [p.name for p in snapshots.iterdir()]
    strays = [n for n in left if n.startswith("scratch-") and int(n.split("-")[1]) not in live]
    assert strays == [], left
    assert len([n for n in left if n.startswith("snap-")]) <= 2, left
    assert not list(snapshots.glob("**/memory-copy-*")) or all(
        int(p.parent.name.split("-")[1]) in live for p in snapshots.glob("**/memory-copy-*"))


def test_a_worker_killed_while_copying_the_data_leaves_nothing(server):
    """After a data change each worker copies the data into memory through a temporary N-Quads file, as a new
    worker does when it starts: a worker killed then (the copy of the whole data under way) leaves no file."""
    snapshots = server.store / "query-snapshots"
    update = ('INSERT DATA {{ GRAPH <https://example.org/copy> {{ <https://example.org/c{n}> '
              '<http://www.w3.org/2000/01/rdf-schema#label> "c" }} }}')
    caught = None
    for n in range(30):
        wait_for_workers(server)
        requests.post(server.url + "/update", data={"update": update.format(n=n)}, timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}"})
        query(server, SMALL)  # a query on the new data: the idle workers start copying it
        deadline = time.monotonic() + 3
        while caught is None and time.monotonic() < deadline:
            for copy in snapshots.glob("scratch-*/memory-copy-*"):
                caught = int(copy.parent.name.split("-")[1])
                with contextlib.suppress(ProcessLookupError):
                    os.kill(caught, signal.SIGKILL)
                break
            time.sleep(0.001)
        if caught is not None:
            break
    if caught is None:
        pytest.skip("no copy lasted long enough to be caught on this machine")
    wait_reaped(server, caught)
    wait_for_workers(server)
    assert not (snapshots / f"scratch-{caught}").exists()
    assert [p for p in snapshots.glob("**/memory-copy-*") if int(p.parent.name.split("-")[1]) == caught] == []
