"""The derived graphs (learning network, DQV quality: ``next2met.graph.analysis``) kept up to date in the
background, so that no write waits for them.

They read every quad (a content digest of the data, the whole network, a SHACL run over everything): seconds at
10k quads, minutes at 1M. A change only marks them stale (``/health`` lists "derived graphs" under ``preparing``
until they match the data again); one background thread derives them, one round at a time:

- a round takes a snapshot of the store (a RocksDB checkpoint, milliseconds under the write lock) and runs
  ``next2met.graph.prepare --derive`` on it in a process of its own (stores without snapshots: the registered
  derivers, in this thread), outside the write lock;
- the graphs it made are written under the write lock, unless a newer round's were written meanwhile, and the
  listeners hear of them (``KnowledgeGraph.announce``: caches, change log, dumps);
- changes that arrive while a round runs are coalesced: they mark the graphs stale once more, and one more round
  follows when this one ends (not one per write). A burst of writes costs at most two rounds after its last write.

A round made from a snapshot that a later write overtook is still written (it is nearer to the data than what the
store holds) and the next round brings the graphs up to the latest write.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pyoxigraph as ox

from next2met.graph.store import OxigraphStore

from .state import DERIVED, Change, KnowledgeGraph

log = logging.getLogger(__name__)


class Deriving:
    """Per-app state: whether the derived graphs are stale, and the thread that brings them up to date."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self._wake = threading.Condition()
        self._stale = False
        self._started = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._round = 0  # the number of the last round begun
        self._written = 0  # the number of the round whose graphs the store holds

    @property
    def rounds(self) -> int:
        """How many rounds of derivation have begun since the server started."""
        return self._round

    # -- changes ----------------------------------------------------------------------------------------------
    def on_change(self, kg: KnowledgeGraph, change: Change) -> None:
        """Mark the derived graphs stale after a change of the data (not after they were written themselves)."""
        if change.reason == "derived" or not kg.derives:
            return
        kg.preparing.begin(DERIVED)
        with self._wake:
            self._stale = True
            self._wake.notify_all()

    def start(self) -> None:
        """Begin deriving in the background (the server calls this once it listens)."""
        with self._wake:
            self._started = True
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="next2met-derive", daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def close(self) -> None:
        """Stop deriving (``KnowledgeGraph.close``): the process under way is stopped and nothing is written."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        if self._thread is not None:
            self._thread.join(10)

    # -- the background thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._closed or (self._started and self._stale))
                if self._closed:
                    return
                self._stale = False  # a change from now on asks for another round
                self._round += 1
                number = self._round
            error = None
            try:
                self._derive(number)
            except Exception as e:  # keep serving the previous derived graphs; the next change tries again
                if self._closed:
                    return
                log.exception("could not compute the derived graphs")
                error = f"{type(e).__name__}: {e}"
            with self._wake:
                if self._closed:
                    return
                if not self._stale:  # else a change came meanwhile: one more round
                    self.kg.preparing.end(DERIVED, error)

    def _derive(self, number: int) -> None:
        store = self.kg.store
        if isinstance(store, OxigraphStore) and store.root is not None:
            self._derive_apart(store, number)
        else:  # no snapshots to hand to another process: the derivers here, outside the write lock
            self.kg.derive_now()
            self._written = number

    def _derive_apart(self, store: OxigraphStore, number: int) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="derive-", dir=store.root))
        try:
            with self.kg.write_lock:  # no write may swap the database mid-checkpoint
                snapshot = scratch / "snapshot"
                snapshot.mkdir()
                store.snapshot(snapshot / "data")
                (snapshot / "current").symlink_to("data")
            out = scratch / "derived.nq"
            command = [
                sys.executable,
                "-m",
                "next2met.graph.prepare",
                str(snapshot),
                "--base",
                self.kg.settings.base_iri,
                "--derive",
                str(out),
            ]
            with subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
            ) as proc:
                self._proc = proc
                _, err = proc.communicate()
            self._proc = None
            if proc.returncode != 0:
                lines = err.strip().splitlines()
                raise RuntimeError(lines[-1] if lines else f"the deriving process exited with {proc.returncode}")
            graphs: dict[str, list[ox.Quad]] = {}
            for q in ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False):
                graphs.setdefault(q.graph_name.value, []).append(q)
            if not graphs:  # the derived graphs already matched the snapshot's data
                return
            with self.kg.write_lock:
                if self._closed or number < self._written:  # a newer round's graphs are there already
                    return
                store.replace_graphs(graphs)
                self._written = number
                self.kg.announce(Change(tuple(graphs), "derived"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
