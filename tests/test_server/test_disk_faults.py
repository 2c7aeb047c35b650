"""A full or read-only disk, with ``next2met serve`` as a user runs it, its store on a small file system of its own
(a tmpfs mounted for the test; skipped where mounting is not allowed): a write answers 507 naming the folder and
changes nothing, queries keep working from the snapshot with every worker in service, /health says writes are
failing, and writes work again without a restart once the disk takes them."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from next2met.graph.diskfaults import unwritable
from tests.served import Served

TOKEN = "disk-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
SMALL = "SELECT ?s WHERE { ?s a ?t } LIMIT 1"


def insert(n: int) -> str:
    # long enough not to fit in the space left in a block the write-ahead log has already
    return (f'INSERT DATA {{ GRAPH <https://example.org/disk> {{ <https://example.org/a{n}> '
            f'<http://www.w3.org/2000/01/rdf-schema#label> "{"a" * 400_000}" }} }}')


def has(server, n: int) -> bool:
    r = requests.get(server.url + "/sparql", headers={"Accept": "application/sparql-results+json"}, timeout=30,
                     params={"query": f"ASK {{ GRAPH ?g {{ <https://example.org/a{n}> ?p ?o }} }}"})
    assert r.status_code == 200, r.text[:300]
    return r.json()["boolean"]


@pytest.fixture
def disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, name: str = "filler") -> Path:
    """Fill the file system of ``folder`` to the last block."""
    filler = folder / name
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 512):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    return filler


def health(server) -> dict:
    r = requests.get(server.url + "/health", timeout=10)
    assert r.status_code == 200
    return r.json()


def wait_for(check, seconds: float = 30, said=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out: {said()}")


def write(server, n: int) -> requests.Response:
    return requests.post(server.url + "/update", data={"update": insert(n)}, headers=AUTH, timeout=60)


def write_until_refused(server, n: int) -> tuple[int, requests.Response]:
    """Write on a full disk until a write is refused: RocksDB keeps space in reserve for its log (preallocated
    blocks), and writes fit there until it is used up. Returns the refused write's number and its answer."""
    first = n
    while (r := write(server, n)).status_code == 200 and n < first + 40:
        n += 1
    assert r.status_code == 507, r.text[:500]
    return n, r


def test_a_full_disk_then_recovery_without_restart(built_store, disk, tmp_path):
    store = disk / "store"
    shutil.copytree(built_store, store, symlinks=True)
    server = Served(store, tmp_path, update_token=TOKEN, query_workers=2, query_timeout=10, max_body=2_000_000)
    try:
        assert write(server, 1).status_code == 200 and has(server, 1)
        filler = fill(disk)
        n, r = write_until_refused(server, 100)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert str(store) in r.json()["detail"] and "disk is full" in r.json()["detail"]
        # nothing changed, queries go on, every worker is in service, /health tells
        for _ in range(6):
            assert not has(server, n) and has(server, 1)
        # again (the disk filled anew: the server frees temporary files of its own meanwhile), and nothing leaks
        refill = fill(disk, "filler-2")
        m, r = write_until_refused(server, 200)
        assert not has(server, m) and has(server, 1) and all(has(server, k) for k in range(200, m))
        status = health(server)
        assert status["writes"].startswith("failing:") and status["status"] == "degraded", status
        assert status["query_workers"]["workers"] == 2
        # space returns: writes resume by themselves
        filler.unlink()
        refill.unlink()
        wait_for(lambda: health(server)["writes"] == "ok", said=lambda: health(server))
        assert write(server, 4).status_code == 200 and has(server, 4) and not has(server, n)
        assert health(server)["status"] == "ok"
    finally:
        server.stop()
        for name in ("filler", "filler-2"):
            with contextlib.suppress(OSError):
                os.unlink(disk / name)


def test_each_disk_error_is_named():
    """A read-only file system (which a running server's open files keep a test from making) and a used-up quota
    are answered like a full disk; any other error is not taken for a disk fault."""
    for text, said in [("IO error: Read-only file system: While open a file for appending: /s/000012.log",
                        "the file system is read-only"),
                       ("IO error: Disk quota exceeded", "the disk quota is used up"),
                       ("IO error: No space left on device: While appending to file", "the disk is full")]:
        failure = unwritable(OSError(text), "/srv/store")
        assert failure is not None and failure.status == 507
        assert failure.detail.startswith(f"cannot write to the store's folder /srv/store: {said}")
    assert unwritable(OSError("Corruption: bad block"), "/srv/store") is None
