"""Run user SPARQL in worker processes that the server kills and replaces when a query runs too long.

Nothing in-process stops a pyoxigraph query (no timeout parameter; signals and threads fail, and an abandoned
thread burns a core), while killing the process that runs it does. So each query goes to an idle worker over a
pipe; the server waits at most the query timeout for the answer, then kills the worker, starts a fresh one and
answers 503. Workers serialise the answer themselves (cut at the row cap), so the server only passes bytes on.

Workers of the embedded store read a consistent snapshot: a RocksDB checkpoint (hard links, a few ms) opened
read-only, made again whenever the store's generation changes. Opening the live database read-only while the
server writes to it is not safe (measured: corruption errors). Each worker also copies its snapshot into memory
in the background (``MemoryCopy``; a new worker opens the data with a query of its own, so the copy begins at
start-up) and answers from the copy once it is made: at 1M quads joins run 2-5x faster
there (a sorted listing 1.2 s → 0.34 s), for ~0.5 GB a worker and ~15 s of copying after each data change,
while the snapshot on disk answers. Workers of a remote store open it themselves and forward the query.

Queries go to the worker that answered last (it is awake: waking an idle process costs this kind of machine more
than a cheap query), and after a data change the idle workers open the new data at once, so that their copies are
made before several queries come at once.

Workers are fresh interpreters (``python -c``), not forks: forking the threaded server could copy a held lock,
and multiprocessing's spawn and forkserver methods re-run the caller's main script in every child. What a worker
does with a job is in ``jobs.py``.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import defaultdict
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from next2met.graph import errors
from next2met.graph.errors import KGError, Overloaded, QueryTimeout, StoreError
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore, Store, open_store

from .jobs import (
    Answer,
    QueryJob,
    UpdateAnswer,
    UpdateJob,
    ValidateJob,
    position,
    run_query,
    run_update,
    run_validate,
    shorten,
)

log = logging.getLogger(__name__)
STARTUP_TIMEOUT = 60.0  # seconds a fresh worker may take to import its modules on a busy machine


WORKER_SPIN = 0.002  # seconds a worker keeps looking for the next job before it sleeps


def _spin(conn: Connection, seconds: float) -> None:
    """Look for a message on ``conn`` for up to ``seconds`` without going to sleep.

    On a virtual machine, waking a sleeping process costs more than a cheap query does: a job and its answer go
    both ways over the socket pair in 0.09 ms back to back, but the round trip to a worker took 1.1 ms when the
    worker slept between jobs (measured). A worker that looks for the next job for a little while first is awake
    when a client sends its queries one after the other (10k quads, one-practice lookups at the client: 1.76 →
    1.36 ms). It yields the core to anything else that wants to run meanwhile: four clients on two cores got as
    many answers a second with it as without (measured). Looking on the server's side too (for the answer) cost
    throughput, since the server's threads share one interpreter lock: not done."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if conn.poll(0):
            return
        os.sched_yield()  # anything else that can run on this core goes first


# -- inside a worker ---------------------------------------------------------------------------------------
def serve(fd: int) -> None:
    """Entry point of a worker process: read the settings, then jobs, from the socket ``fd``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the server stops us
    parent = os.getppid()

    def watch_parent() -> None:  # a killed server cannot kill us: leave when it is gone, even mid-query
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    conn = Connection(fd)
    try:
        settings = conn.recv()
    except (EOFError, OSError):
        return
    import rdflib.plugins.sparql.parser  # noqa: F401  (load the checker's parser now, not on the first SERVICE)

    conn.send("ready")  # the pool hands out a worker only now, so start-up never eats into a query's time
    worker_main(conn, settings)


class MemoryCopy:
    """A worker's copy in memory of the snapshot it reads, made in a background thread while the snapshot on disk
    answers, and dropped the moment a job names another snapshot (the data changed): no answer ever comes from a
    copy of other data than the job's. One copy is made at a time: data that changes again meanwhile is copied
    when the copy under way is done (and that one thrown away). Stores of more than ``max_quads`` quads stay on
    disk."""

    def __init__(self, max_quads: int) -> None:
        self.max_quads = max_quads
        self._lock = threading.Lock()
        self._snapshot: str | None = None
        self._disk: OxigraphStore | None = None
        self._copy: OxigraphStore | None = None
        self._copying = False

    def want(self, snapshot: str, disk: OxigraphStore) -> None:
        """Copy ``disk`` (the snapshot ``snapshot``) unless that copy is made or under way."""
        with self._lock:
            if self._snapshot == snapshot:
                return
            self._snapshot, self._disk, self._copy = snapshot, disk, None
            if self._copying or self.max_quads <= 0:
                return
            self._copying = True
        threading.Thread(target=self._make, daemon=True, name="memory-copy").start()

    def _make(self) -> None:
        while True:
            with self._lock:
                snapshot, disk = self._snapshot, self._disk
            assert snapshot is not None and disk is not None
            copy = None
            try:
                quads = disk.count()
                if quads <= self.max_quads and _fits_in_memory(quads):
                    copy = disk.memory_copy(Path(snapshot).parent)
            except Exception as e:  # the snapshot was closed or removed meanwhile (newer data), or the disk is full
                log.info("no memory copy of %s: %s", snapshot, e)
            with self._lock:
                if self._snapshot == snapshot:
                    self._copy, self._copying = copy, False
                    return

    def get(self, snapshot: str | None) -> OxigraphStore | None:
        """The copy of ``snapshot`` if it is ready."""
        with self._lock:
            return self._copy if snapshot is not None and snapshot == self._snapshot else None


BYTES_PER_QUAD = 520  # a copy in memory, measured: 511 MB for 1.02M quads


def _fits_in_memory(quads: int, meminfo: str = "/proc/meminfo") -> bool:
    """Whether a copy of ``quads`` quads takes at most half the memory the system has available: a worker killed
    for want of memory would be replaced, copy again and be killed again. True where the system does not say."""
    try:
        with open(meminfo) as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return True
    if quads * BYTES_PER_QUAD > available / 2:
        log.warning("the data (%d quads) is not copied into memory: about %d MB needed, %d MB available", quads,
                    quads * BYTES_PER_QUAD >> 20, available >> 20)
        return False
    return True


def worker_main(conn, settings: Settings) -> None:
    """Serve jobs from ``conn`` until it closes."""
    store: Store | None = None
    opened: str | None = None
    memory = MemoryCopy(settings.query_memory_quads)
    while True:
        try:
            _spin(conn, WORKER_SPIN)
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            if settings.store_url:
                store = store or open_store(settings)
            elif job.snapshot != opened:
                if store is not None:
                    store.close()
                store, opened = OxigraphStore(job.snapshot, read_only=True), job.snapshot
                memory.want(job.snapshot, store)
            assert store is not None
            if isinstance(job, UpdateJob):
                answer = run_update(store, job)
            elif isinstance(job, ValidateJob):
                answer = run_validate(store, job)
            else:
                copy = memory.get(job.snapshot)
                where = "memory" if copy else "remote" if settings.store_url else "disk"
                answer = replace(run_query(copy or store, job), store=where)
            conn.send(("ok", answer))
        except KGError as e:
            conn.send(("error", type(e).__name__, shorten(e), {**position(e), **e.extra}))
        except Exception as e:  # a bug or a store failure: the server logs it and answers 500
            conn.send(("crash", f"{type(e).__name__}: {e}", traceback.format_exc()))


# -- in the server ---------------------------------------------------------------------------------------
class Snapshots:
    """Read-only copies of the embedded store for the workers, one per data generation, removed when unused."""

    def __init__(self, store: OxigraphStore, lock: threading.RLock) -> None:
        self.store = store
        self.lock = lock  # the knowledge graph's write lock: no write may swap the database mid-checkpoint
        self.root = store.root / "query-snapshots" if store.root else Path(tempfile.mkdtemp(prefix="next2met-q-"))
        shutil.rmtree(self.root, ignore_errors=True)  # left over from a killed server; only we use the store
        self.root.mkdir(parents=True)
        self._current: tuple[str, str] | None = None  # (generation, folder)
        self._users: dict[str, int] = defaultdict(int)
        self._guard = threading.Lock()
        self._count = itertools.count(1)

    def acquire(self) -> str:
        """A snapshot folder of the current data (made now if the data changed); release it when done."""
        if self._stale():
            with self.lock:
                if self._stale():
                    generation = self.store.generation
                    folder = str(self._make())
                    with self._guard:
                        old, self._current = self._current, (generation, folder)
                        if old is not None and self._users[old[1]] == 0:
                            self._remove(old[1])
        with self._guard:
            folder = self._current[1]  # type: ignore[index]
            self._users[folder] += 1
            return folder

    def _stale(self) -> bool:
        with self._guard:
            return self._current is None or self._current[0] != self.store.generation

    def release(self, folder: str) -> None:
        with self._guard:
            self._users[folder] -= 1
            if self._users[folder] <= 0 and (self._current is None or self._current[1] != folder):
                self._remove(folder)

    def _make(self) -> Path:
        # The OxigraphStore layout (a ``current`` link to the database), so workers open it like any store.
        folder = self.root / f"snap-{next(self._count)}-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        data = folder / "data"
        if self.store.root is not None:
            self.store.snapshot(data)
        else:  # an in-memory store has no checkpoints: copy it into a fresh on-disk database
            copy = ox.Store(str(data))
            copy.bulk_extend(self.store.quads())
            copy.flush()
            del copy
        (folder / "current").symlink_to("data")
        return folder

    def _remove(self, folder: str) -> None:
        self._users.pop(folder, None)
        shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class _Worker:
    def __init__(self, settings: Settings) -> None:
        ours, theirs = socket.socketpair()
        code = f"from next2met.server.workers import serve; serve({theirs.fileno()})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send(settings)
        self.reads = ""  # where its last answer was read: memory, disk or remote ("" before the first)
        self._killing, self._killed = threading.Lock(), False

    def kill(self) -> None:
        """Stop the process and close the socket, once: the pool closing and a worker's own start-up thread may
        both get here (a double close of the socket raised EBADF in the pool's close)."""
        with self._killing:
            if self._killed:
                return
            self._killed = True
        self.process.kill()
        self.process.wait(5)
        self.conn.close()


class QueryPool:
    """A fixed number of worker processes, at most ``max_concurrent_queries`` jobs running or waiting."""

    def __init__(self, settings: Settings, snapshots: Snapshots | None, *, name: str = "query") -> None:
        self.settings = settings
        self.name = name  # what its jobs are called in messages: query, validation
        self.snapshots = snapshots
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()  # the worker that answered last is awake: first
        self._slots = threading.BoundedSemaphore(settings.max_concurrent_queries)
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._ready = threading.Condition()
        self._ready_count = 0
        self._newest: str | None = None  # the newest snapshot handed to a worker
        for _ in range(max(1, settings.query_workers)):
            self._start()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> bool:
        """Wait until the first workers have started; True if all of them did within ``timeout`` seconds."""
        wanted = max(1, self.settings.query_workers)
        with self._ready:
            return self._ready.wait_for(lambda: self._ready_count >= wanted, timeout)

    def _start(self) -> None:
        """Start a worker in the background and make it available once it has started up."""

        def start() -> None:
            worker = _Worker(self.settings)
            with self._lock:
                self._all.add(worker)
            try:
                ready = worker.conn.poll(STARTUP_TIMEOUT) and worker.conn.recv() == "ready"
                if ready and self.snapshots is not None and not self._closed:
                    ready = self._open_data(worker)
            except (EOFError, OSError):
                ready = False
            if ready and not self._closed:
                self._idle.put(worker)
                with self._ready:
                    self._ready_count += 1
                    self._ready.notify_all()
                return
            if not self._closed:
                log.error("a query worker did not start within %s s", STARTUP_TIMEOUT)
            with self._lock:
                self._all.discard(worker)
            worker.kill()

        threading.Thread(target=start, daemon=True, name="next2met-worker-start").start()

    def _open_data(self, worker: _Worker) -> bool:
        """Have a new worker open the current data with a query of its own, so that its copy in memory is under
        way before the first user query comes. False only if the worker itself failed; when the data cannot be
        opened now (the store is closing, say), the worker serves anyway and tries again on its first query."""
        assert self.snapshots is not None
        try:
            folder = self.snapshots.acquire()
        except Exception as e:
            if not self._closed:
                log.warning("a new query worker could not open the data yet: %s", e)
            return True
        self._newest = folder
        try:
            worker.conn.send(QueryJob(sparql="ASK {}", formats={"ask": "json"}, max_rows=1, snapshot=folder))
            if not worker.conn.poll(STARTUP_TIMEOUT):
                return False
            message = worker.conn.recv()
            if message[0] == "ok":
                worker.reads = message[1].store
            return True
        finally:
            self.snapshots.release(folder)

    def _open_data_on_idle(self) -> None:
        """Have the idle workers open the current data, so that their copies in memory are made in the background
        now rather than when a query first reaches each of them: queries go to the worker that answered last, so
        another may stay idle, on older data, until several queries come at once."""
        idle: list[_Worker] = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in reversed(idle):  # the one that answered last goes back on top
            try:
                opened = not self._closed and self._open_data(worker)
            except (EOFError, OSError):
                opened = False
            if opened:
                self._idle.put(worker)
            elif not self._closed:
                self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and start a fresh one in its place (in the background: the client is not kept waiting)."""
        with self._lock:
            self._all.discard(worker)
        worker.kill()
        if not self._closed:
            self._start()

    def run(self, job: QueryJob | UpdateJob, timeout: float) -> Answer | UpdateAnswer:
        """Run a job on an idle worker; kill the worker and raise QueryTimeout after ``timeout`` seconds."""
        if not self._slots.acquire(blocking=False):
            raise Overloaded(
                f"{self.settings.max_concurrent_queries} {self.name} jobs are already running or waiting; try again "
                "shortly")
        snapshot = None
        try:
            try:
                worker = self._idle.get(timeout=timeout)
            except queue.Empty:
                raise Overloaded(f"no {self.name} worker became free within {timeout:g} s; try again shortly") from None
            if self.snapshots is not None:
                snapshot = self.snapshots.acquire()
                if snapshot != self._newest:  # the data changed: the idle workers open the new data now
                    self._newest = snapshot
                    threading.Thread(target=self._open_data_on_idle, daemon=True, name="next2met-refresh").start()
            job = replace(job, snapshot=snapshot)
            return self._exchange(worker, job, timeout)
        finally:
            if snapshot is not None:
                self.snapshots.release(snapshot)  # type: ignore[union-attr]
            self._slots.release()

    def _exchange(self, worker: _Worker, job, timeout: float):
        started = time.monotonic()
        try:
            worker.conn.send(job)
            if not worker.conn.poll(timeout):
                self._replace(worker)
                advice = ("narrow it down (LIMIT, more specific patterns) or ask for a longer timeout on your own "
                          "server") if self.name == "query" else "send less data at once"
                raise QueryTimeout(f"the {self.name} ran for more than {timeout:g} s and was stopped; {advice}",
                                   seconds=timeout)
            message = worker.conn.recv()
        except (EOFError, OSError) as e:
            self._replace(worker)
            raise StoreError(f"the {self.name} worker stopped unexpectedly ({e or 'out of memory?'})") from None
        self._idle.put(worker)
        log.debug("query answered by a worker in %.3f s", time.monotonic() - started)
        if message[0] == "ok":
            worker.reads = getattr(message[1], "store", "") or worker.reads
            return message[1]
        if message[0] == "error":
            _, name, detail, extra = message
            cls = getattr(errors, name, KGError)
            raise cls(detail, **extra)
        log.error("query worker failed: %s\n%s", message[1], message[2])
        raise RuntimeError(message[1])

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._all)

    def status(self) -> dict[str, int]:
        """How many workers there are, and where each read its last answer (memory, disk, remote; "starting"
        before its first)."""
        with self._lock:
            workers = list(self._all)
        counts: dict[str, int] = {"workers": len(workers)}
        for w in workers:
            counts[w.reads or "starting"] = counts.get(w.reads or "starting", 0) + 1
        return counts

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()
        if self.snapshots is not None:
            self.snapshots.close()
