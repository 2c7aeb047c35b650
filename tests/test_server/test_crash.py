"""Crash safety with real processes: 200 writes at once to ``next2met serve``, ``kill -9`` in the middle, a restart:
every write that was answered 2xx is in the data folder and in the store, every source file reads, the store opens
and conforms. And a data folder that cannot take a file: 507 naming the folder, nothing changed."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from next2met.graph.settings import DEFAULT_BASE_IRI
from next2met.graph.sources import discover_sources, load_context, read_yaml
from tests.conftest import data_copy

pytestmark = pytest.mark.slow
TOKEN = "crash-test-token"
SLUG = "digital-consultations-longford"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(store: Path, data: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "NEXT2MET_UPDATE_TOKEN": TOKEN, "NEXT2MET_QUERY_WORKERS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "next2met.graph.cli", "serve", "--store", str(store), "--data", str(data),
         "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))  # a file too large is an error, not death
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", timeout=5).status_code == 200:
                return process, url
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            raise AssertionError(f"the server stopped with {process.returncode}")
        time.sleep(0.3)
    process.kill()
    raise AssertionError("the server did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def body(data: Path, i: int) -> bytes:
    text = (data / "practices" / f"{SLUG}.yaml").read_text(encoding="utf-8")
    return text.replace(f"practice/{SLUG}", f"practice/crash-{i:03d}").replace(
        "Digital consultations to inform Local Digital Strategies", f"Crash test practice {i}").encode("utf-8")


def ask(url: str, slug: str) -> bool:
    query = f"ASK {{ <{DEFAULT_BASE_IRI}practice/{slug}> a <https://w3id.org/next2met/ontology#GoodPractice> }}"
    r = requests.post(url + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                      timeout=60)
    return r.status_code == 200 and r.json()["boolean"] is True


def test_kill_9_in_the_middle_of_200_writes_loses_nothing_acknowledged(tmp_path):
    data, store = data_copy(tmp_path / "data"), tmp_path / "store"
    process, url = start(store, data)
    acknowledged: list[int] = []
    enough = threading.Event()

    def write(i: int) -> None:
        try:
            r = requests.post(f"{url}/api/practices", data=body(data, i), timeout=300, headers={
                "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/yaml"})
        except requests.RequestException:
            return  # the server died meanwhile: not acknowledged
        if 200 <= r.status_code < 300:
            acknowledged.append(i)
            if len(acknowledged) >= 8:
                enough.set()

    pool = ThreadPoolExecutor(16)
    futures = [pool.submit(write, i) for i in range(200)]
    assert enough.wait(timeout=600), "no write was acknowledged"
    process.send_signal(signal.SIGKILL)  # kill -9 while the other writes are in flight
    process.wait()
    for f in futures:
        f.result()
    pool.shutdown()
    assert 8 <= len(acknowledged) < 200

    # every source file reads (no half-written file), and every acknowledged practice has its file
    context = load_context(DEFAULT_BASE_IRI, data)
    for src in discover_sources(data):
        if src.path.suffix == ".yaml":
            read_yaml(src.path, context)
    for i in acknowledged:
        assert (data / "practices" / f"crash-{i:03d}.yaml").is_file(), i

    # a hand edit while no server runs
    longford = data / "practices" / f"{SLUG}.yaml"
    longford.write_text(longford.read_text(encoding="utf-8").replace(
        "Digital consultations to inform Local Digital Strategies", "Edited by hand"), encoding="utf-8")

    # the store opens, holds every acknowledged write, and conforms; the server takes the files that changed while
    # it was down (the hand edit, and the file of a write the kill cut short), so store and sources agree
    process, url = start(store, data)
    try:
        assert all(ask(url, f"crash-{i:03d}") for i in acknowledged)
        written = [p.stem for p in (data / "practices").glob("crash-*.yaml")]
        assert all(ask(url, slug) for slug in written)
        title = requests.post(url + "/sparql", timeout=60, headers={"Accept": "application/sparql-results+json"},
                              data={"query": f'ASK {{ <{DEFAULT_BASE_IRI}practice/{SLUG}> ?p "Edited by hand"@en }}'})
        assert title.json()["boolean"] is True
        versions = requests.get(f"{url}/practice/{SLUG}/history", headers={"Accept": "application/json"},
                                timeout=60).json()["versions"]
        assert versions[0]["author"] == "the data folder"
        history = requests.get(f"{url}/practice/crash-{acknowledged[0]:03d}/history",
                               headers={"Accept": "application/json"}, timeout=60).json()
        assert history["versions"], "the acknowledged version is in the history"
    finally:
        stop(process)
    checked = subprocess.run([sys.executable, "-m", "next2met.graph.cli", "validate", "--store", str(store)],
                             capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]


def test_a_data_folder_that_cannot_take_the_file_gets_507_and_nothing_changes(tmp_path):
    data, store = data_copy(tmp_path / "data"), tmp_path / "store"
    process, url = start(store, data)
    try:
        current = requests.get(f"{url}/api/practices/{SLUG}", headers={"Accept": "application/yaml"}, timeout=60)
        source = data / "practices" / f"{SLUG}.yaml"
        before = source.read_bytes()
        # from now on the server may write no file larger than 1 kB: as a full disk, for the practice's file
        _, hard = resource.prlimit(process.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (1024, hard))
        edited = current.text.replace("Digital consultations to inform Local Digital Strategies", "Never written")
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/yaml",
                   "If-Match": current.headers["ETag"]}
        r = requests.put(f"{url}/api/practices/{SLUG}", timeout=120, data=edited.encode("utf-8"), headers=headers)
        assert r.status_code == 507 and r.headers["Content-Type"] == "application/problem+json", r.text
        assert str(data) in r.json()["detail"] and "nothing was changed" in r.json()["detail"]
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (hard, hard))
        assert source.read_bytes() == before
        after = requests.get(f"{url}/api/practices/{SLUG}", headers={"Accept": "application/yaml"}, timeout=60)
        assert after.headers["ETag"] == current.headers["ETag"] and "Never written" not in after.text
        assert not [p for p in source.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    finally:
        stop(process)
