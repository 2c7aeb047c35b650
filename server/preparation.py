"""The dumps and the change log of the data being served, brought up to date after start-up and after each change
without keeping anyone waiting.

After start-up (once the socket is open) and after a rebuild, a background thread takes a snapshot of the store
(a RocksDB checkpoint, milliseconds under the write lock) and runs ``next2met.graph.prepare`` on it in a process of
its own: it records every resource in the change log (only when the log has not seen this generation whole: a
restart with nothing changed reads nothing) and writes the dumps (only when they do not hold this generation).
Meanwhile ``/health`` lists what is being prepared, the previous dumps and the stream as recorded so far are
served, and routes that have nothing yet to serve answer 503 with ``Retry-After``.

A write that names the graphs it replaced is recorded in the background thread, in this process, by reading only
those graphs (when the log has seen the generation before it), together with the graphs of the writes that came
meanwhile; the dumps follow. The write's request waits for neither. Stores without snapshots
(in memory, or a remote SPARQL store) are prepared in the background thread itself.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from next2met.graph.dumps import MANIFEST, DumpSet, read_manifest, write_dumps
from next2met.graph.ldes import ChangeLog
from next2met.graph.store import OxigraphStore

from .state import Change, KnowledgeGraph

log = logging.getLogger(__name__)
LOG, DUMPS = "change log", "dumps"  # the names /health gives the two tasks
RETRY_AFTER = 5  # seconds a client is asked to wait while a route's answer is being prepared


class Publishing:
    """Per-app state: the dump files and the change log, both brought up to date on every data change."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self.folder = kg.settings.dumps_path
        self.log = ChangeLog(Path(kg.settings.store) / "ldes", kg.settings.base_iri)
        self._dumps: DumpSet | None = read_manifest(self.folder)
        self._manifest_seen = self._manifest_stamp()
        self._seen = kg.store.generation  # the generation the last change (or the start) left
        self._pending: set[str] = set()  # graphs changed since the change log last recorded (write lock held)
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._proc: subprocess.Popen | None = None
        self._at = time.time()
        root = getattr(kg.store, "root", None)
        for left in root.glob("prepare-*") if root is not None else ():  # from a server stopped mid-way
            shutil.rmtree(left, ignore_errors=True)

    @property
    def pending(self) -> tuple[str, ...]:
        """The graphs changed since the change log last recorded, to be read alone by the next round (none when
        the log is current, or when the next round reads everything)."""
        return tuple(sorted(self._pending))

    # -- changes ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Begin preparing in the background (the server calls this once it listens)."""
        self._want()

    def on_change(self, kg: KnowledgeGraph, change: Change) -> None:
        previous, self._seen = self._seen, kg.store.generation
        self._at = change.at
        if change.reason == "start":
            if self.log.generation != self._seen:
                kg.preparing.begin(LOG)
            if self._dumps is None or self._dumps.generation != self._seen:
                kg.preparing.begin(DUMPS)
            return
        if change.graphs and (self._pending or (LOG not in kg.preparing and self.log.generation == previous)):
            # the log has seen every change before this one: these graphs are read and recorded in the background
            # (``_record_pending``), together with those of the changes that follow meanwhile
            self._pending.update(change.graphs)
        else:  # read whole in the background (``_prepare_data``), which sees these changes too
            self._pending.clear()
        self._want()

    def _record_pending(self) -> None:
        """Record in the change log the graphs the changes since the last round replaced, reading only those
        graphs (under the write lock: the log then sees the store's generation whole). A failure must not stop
        the stream: the next round reads everything."""
        with self.kg.write_lock:
            graphs, self._pending = tuple(sorted(self._pending)), set()
            if not graphs:
                return
            try:
                added = self.log.record(self.kg.store, self._at, graphs, incremental_only=True)
                if added is not None:
                    log.info("change log: %d new member(s) from %d graph(s)", len(added), len(graphs))
                if self.log.generation == self.kg.store.generation:
                    self.kg.preparing.end(LOG)
            except Exception:
                log.exception("could not record the changes in %s", self.log.folder)
                self.log.forget_index()

    def _want(self) -> None:
        gen = self.kg.store.generation
        if self.log.generation != gen:
            self.kg.preparing.begin(LOG)
        if self._dumps is None or self._dumps.generation != gen:
            self.kg.preparing.begin(DUMPS)
        self._wanted.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="next2met-prepare", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop preparing (``KnowledgeGraph.close``): the process under way is stopped (the dumps are switched to
        atomically and the change log appends members before their index, so what it wrote is complete or not
        referenced), and its scratch folder removed."""
        self._closed = True
        self._wanted.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        if self._thread is not None:
            self._thread.join(10)

    # -- the background thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closed:
                return
            try:
                self._prepare()
            except Exception as e:  # a full disk or a closed store: keep serving what there is, try on next change
                if self._closed:
                    return
                log.exception("could not prepare the dumps and the change log")
                for task in (LOG, DUMPS):
                    if task in self.kg.preparing:
                        self.kg.preparing.end(task, f"{type(e).__name__}: {e}")

    def _snapshot(self, store: OxigraphStore, scratch: Path) -> tuple[str, Path]:
        with self.kg.write_lock:  # no write may swap the database mid-checkpoint
            generation = store.generation
            snapshot = scratch / "snapshot"
            snapshot.mkdir()
            store.snapshot(snapshot / "data")
            (snapshot / "current").symlink_to("data")
        return generation, snapshot

    def _run_process(self, command: list[str], on_line) -> None:
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
        ) as proc:
            self._proc = proc
            assert proc.stdout is not None and proc.stderr is not None
            for line in proc.stdout:
                on_line(line)
            error = proc.stderr.read().strip().splitlines()
        if proc.returncode != 0:
            raise RuntimeError(error[-1] if error else f"the preparing process exited with {proc.returncode}")

    def _prepare(self) -> None:
        self.log.refresh()  # read the stream's index now, not on its first request
        self._record_pending()
        store, preparing = self.kg.store, self.kg.preparing
        generation = store.generation
        with self.kg.write_lock:  # changes recorded by the next round's _record_pending need no full scan
            need_log = self.log.generation != generation and not self._pending
        need_dumps = self._dumps is None or self._dumps.generation != generation
        if not need_log and not need_dumps:
            if self.log.generation == generation:  # else the next round records the changes still pending
                preparing.end(LOG)
            preparing.end(DUMPS)
            return
        started = time.monotonic()
        if isinstance(store, OxigraphStore) and store.root is not None:
            self._prepare_apart(store, need_log, need_dumps)
        else:  # no snapshots to hand to another process: here, in this thread
            if need_log:
                self.log.record(store, self._at)
                preparing.end(LOG)
            if need_dumps:
                self._dumps = write_dumps(store, self.folder)
                self._manifest_seen = self._manifest_stamp()
                preparing.end(DUMPS)
        log.info(
            "prepared %s of generation %s in %.1f s",
            " and ".join(t for t, needed in ((LOG, need_log), (DUMPS, need_dumps)) if needed),
            generation,
            time.monotonic() - started,
        )
        with self.kg.write_lock:  # a change under way is seen whole: its own listener records it, or we do
            if store.generation != generation:  # changed meanwhile: another round
                self._want()

    def _prepare_apart(self, store: OxigraphStore, need_log: bool, need_dumps: bool) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="prepare-", dir=store.root))
        try:
            generation, snapshot = self._snapshot(store, scratch)
            command = [
                sys.executable,
                "-m",
                "next2met.graph.prepare",
                str(snapshot),
                "--generation",
                generation,
                "--base",
                self.kg.settings.base_iri,
                "--ldes",
                str(self.log.folder),
                "--dumps",
                str(self.folder),
                "--at",
                repr(self._at),
                *([] if need_log else ["--no-log"]),
                *([] if need_dumps else ["--no-dumps"]),
            ]

            def on_line(line: str) -> None:
                if line.startswith("log"):
                    self.log.reread()
                    self.kg.preparing.end(LOG)
                elif line.startswith("dumps"):
                    self._dumps = read_manifest(self.folder)
                    self._manifest_seen = self._manifest_stamp()
                    self.kg.preparing.end(DUMPS)

            self._run_process(command, on_line)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # -- the dumps --------------------------------------------------------------------------------------------
    @property
    def dumps(self) -> DumpSet | None:
        """The current dumps, re-read when another process (sharing the store folder) wrote new ones."""
        stamp = self._manifest_stamp()
        if stamp != self._manifest_seen:
            found = read_manifest(self.folder)
            if found is not None:
                self._dumps, self._manifest_seen = found, stamp
        return self._dumps

    def _manifest_stamp(self) -> int:
        try:
            return (self.folder / MANIFEST).stat().st_mtime_ns
        except OSError:
            return 0
