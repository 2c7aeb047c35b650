"""The app owns its lifecycle: ``KnowledgeGraph.close()`` stops everything the features started (query workers,
validation workers, the dump writer, snapshots) and closes the store; nothing else needs to be called."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from next2met.server.app import create_app
from next2met.server.state import Change
from tests.conftest import make_settings

PRACTICE = """id: practice/lifecycle-check
type: GoodPractice
title: {en: A practice checked but never stored}
"""


def _children() -> set[int]:
    """The processes whose parent is this one (Linux /proc)."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_close_stops_every_worker_process_and_thread(built_store, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(built_store, target, symlinks=True)
    threads_before, children_before = set(threading.enumerate()), _children()
    app = create_app(make_settings(target, update_token="t"))
    kg = app.extensions["next2met"]
    client = app.test_client()
    assert kg.extensions["sparql"].wait_ready()
    assert client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}).status_code == 200
    assert client.post("/validate", data=PRACTICE, content_type="application/yaml").status_code == 200
    with kg.write_lock:
        kg.changed(Change((), "update"))  # the dump writer starts in the background
    started = _children() - children_before
    ours = [w.process.pid for name in ("sparql", "validate") for w in kg.extensions[name]._all]
    assert len(ours) >= 2 and set(ours) <= started

    kg.close()

    assert [pid for pid in started if _alive(pid)] == []
    assert [t.name for t in threading.enumerate()
            if t not in threads_before and t.is_alive() and t.name.startswith("next2met")] == []
    assert not (target / "query-snapshots").exists() or not any((target / "query-snapshots").iterdir())
    kg.close()  # twice is harmless
