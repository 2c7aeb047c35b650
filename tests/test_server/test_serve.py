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
