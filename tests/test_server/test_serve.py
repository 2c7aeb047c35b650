"""``next2met serve`` as a user runs it: a subprocess on a free port over an empty store (so it builds first),
queried with SPARQLWrapper and with curl, then stopped with SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from SPARQLWrapper import JSON, SPARQLWrapper

N2M = "https://w3id.org/next2met/ontology#"
COUNT = f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{N2M}GoodPractice> }}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = free_port()
    store = tmp_path_factory.mktemp("serve") / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")}
    command = [str(Path(sys.executable).parent / "next2met"), "serve", "--port", str(port), "--store", str(store)]
    log = (store.parent / "serve.log").open("w+")  # a file, not a pipe: an unread pipe could fill and block it
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"next2met serve did not come up: {log.read()[-2000:]}")
        time.sleep(0.1)
    yield url, proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    log.close()


def expected_count(app) -> str:
    """The count on the same data built in-process (the session app's store)."""
    rows = app.extensions["next2met"].store.query(COUNT).rows()
    return rows[0]["n"].value


def test_serve_prints_where_and_answers_health(served):
    url, proc, port = served
    line = proc.stdout.readline().strip()
    assert line.startswith(f"Serving http://127.0.0.1:{port} (store: ")
    health = requests.get(url + "/health")
    assert health.json()["status"] == "ok" and health.json()["store"]["quads"] > 0
    assert health.headers["Server"] == "next2met-kg"  # waitress, not the development server


def test_sparqlwrapper_against_serve(served, app):
    url, _, _ = served
    endpoint = SPARQLWrapper(url + "/sparql")
    endpoint.setQuery(COUNT)
    endpoint.setReturnFormat(JSON)
    result = endpoint.query().convert()
    assert result["results"]["bindings"][0]["n"]["value"] == expected_count(app)


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_curl_against_serve(served, app):
    url, _, _ = served
    out = subprocess.run(
        ["curl", "-sS", "-H", "Accept: text/csv", "--data-urlencode", f"query={COUNT}", url + "/sparql"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    assert out.splitlines() == ["n", expected_count(app)]


def test_sigterm_stops_the_server_and_its_workers(served):
    _, proc, _ = served
    workers = children(proc.pid)
    assert len(workers) >= 2  # the query workers
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    time.sleep(0.2)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
    assert alive == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_a_busy_port_is_one_line_and_exit_2(tmp_path):
    """Before building or starting workers: one line on stderr naming the port and the way out, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [str(Path(sys.executable).parent / "next2met"), "serve", "--port", str(port),
                   "--store", str(tmp_path / "store")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"port {port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "store").exists()  # nothing was built


def test_a_store_built_from_another_data_folder_is_refused_not_emptied(tmp_path):
    """Serving a store with a data folder that lacks most of its files (the store was built from another folder)
    is one line and exit 2, and the store keeps every quad: taken as hand edits, the missing files would have
    removed their practices from the store."""
    from next2met.graph.store import OxigraphStore
    from tests.conftest import data_copy

    built_from, other, store = data_copy(tmp_path / "a"), data_copy(tmp_path / "b"), tmp_path / "store"
    shutil.rmtree(other / "practices")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")}
    exe = str(Path(sys.executable).parent / "next2met")
    subprocess.run([exe, "build", "--quiet", "--data", str(built_from), "--store", str(store)], env=env,
                   check=True, capture_output=True, timeout=300)
    before = OxigraphStore(store, read_only=True)
    count = before.count()
    before.close()
    done = subprocess.run([exe, "serve", "--port", str(free_port()), "--store", str(store), "--data", str(other)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("next2met: error:") and "--data" in last and "next2met build" in last, done.stderr
    assert "Traceback" not in done.stderr
    after = OxigraphStore(store, read_only=True)
    assert after.count() == count
    after.close()

    # with the folder it was built from (not called data), a hand edit made while no server ran is taken at start
    practice = built_from / "practices" / "digital-consultations-longford.yaml"
    title = "Digital consultations to inform Local Digital Strategies"
    practice.write_text(practice.read_text(encoding="utf-8").replace(title, "Edited by hand"), encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--store", str(store), "--data", str(built_from)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = requests.post(f"http://127.0.0.1:{port}/sparql", timeout=30, data={
                    "query": 'ASK { <https://w3id.org/next2met/practice/digital-consultations-longford> ?p '
                             '"Edited by hand"@en }'}, headers={"Accept": "application/sparql-results+json"})
                if r.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "next2met serve did not come up"
            time.sleep(0.2)
        assert r.json()["boolean"] is True
    finally:
        proc.terminate()
        proc.wait(30)
