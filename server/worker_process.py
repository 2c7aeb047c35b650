"""Inside a query worker process: read jobs from the server's socket, run them on the data they name (a snapshot
on disk, the worker's copy of it in memory, or the remote store) and send the answers back, within the memory
limit the settings give. The pool that starts, feeds and replaces these processes is in ``workers.py``; what a
job does is in ``jobs.py``.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

from next2met.graph.backend import open_store
from next2met.graph.errors import KGError
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore, Store

from .jobs import UpdateJob, ValidateJob, position, run_query, run_update, run_validate, shorten

log = logging.getLogger(__name__)


def scratch_folder(root: Path, pid: int) -> Path:
    """A worker's own folder for temporary files (its memory copy's dump), removed when the pool stops the worker:
    a worker killed midway leaves nothing behind."""
    folder = root / f"scratch-{pid}"
    folder.mkdir(exist_ok=True)
    return folder


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
    limit_memory(settings.worker_memory_mb)
    import rdflib.plugins.sparql.parser  # noqa: F401  (load the checker's parser now, not on the first SERVICE)

    conn.send("ready")  # the pool hands out a worker only now, so start-up never eats into a query's time
    worker_main(conn, settings)


MEMORY_EXIT = 70  # a worker's exit status when Python ran out of its memory limit


def limit_memory(megabytes: int) -> None:
    """Cap this process's data segment (heap and anonymous mappings: RLIMIT_DATA), so that a query that wants
    more fails to allocate instead of growing without bound. Native code (pyoxigraph) aborts on a failed
    allocation; Python raises MemoryError, after which the worker leaves: either way the pool sees the process end
    and answers that the limit was reached."""
    if megabytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (megabytes << 20, megabytes << 20))


def _data_limit() -> int | None:
    """This process's RLIMIT_DATA in bytes, None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return None if soft == resource.RLIM_INFINITY else soft


def _data_used() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmData:"))


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
                    copy = disk.memory_copy(scratch_folder(Path(snapshot).parent, os.getpid()))
            except Exception as e:  # the snapshot was closed or removed meanwhile (newer data), or the disk is full
                log.info("no memory copy of %s: %s", snapshot, e)
            with self._lock:
                if self._snapshot == snapshot:
                    self._copy, self._copying = copy, False
                    return

    @property
    def copying(self) -> bool:
        with self._lock:
            return self._copying

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
    limit = _data_limit()
    if limit is not None and quads * BYTES_PER_QUAD > (limit - _data_used()) / 2:
        log.warning(
            "the data (%d quads) is not copied into memory: about %d MB needed, the worker's memory limit leaves %d MB",
            quads,
            quads * BYTES_PER_QUAD >> 20,
            (limit - _data_used()) >> 20,
        )
        return False
    if quads * BYTES_PER_QUAD > available / 2:
        log.warning(
            "the data (%d quads) is not copied into memory: about %d MB needed, %d MB available",
            quads,
            quads * BYTES_PER_QUAD >> 20,
            available >> 20,
        )
        return False
    return True


def worker_main(conn, settings: Settings) -> None:
    """Serve jobs from ``conn`` until it closes."""
    store: Store | None = None
    opened: str | None = None
    memory = MemoryCopy(settings.query_memory_quads)
    frozen: tuple[str, OxigraphStore] | None = None  # the release last asked for, open beside the live data
    while True:
        try:
            _spin(conn, WORKER_SPIN)
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            release = getattr(job, "release", None)
            if release:
                if frozen is None or frozen[0] != release:
                    if frozen is not None:
                        frozen[1].close()
                    frozen = (release, OxigraphStore(release, read_only=True))
                conn.send(("ok", replace(run_query(frozen[1], job), store="release")))
                continue
            if settings.store_url:
                store = store or open_store(settings)
            elif job.snapshot != opened:
                if store is not None:
                    store.close()
                store, opened = OxigraphStore(job.snapshot, read_only=True), job.snapshot
                memory.want(job.snapshot, store)
            assert store is not None
            answer: object
            if isinstance(job, UpdateJob):
                answer = run_update(store, job)
            elif isinstance(job, ValidateJob):
                answer = run_validate(store, job)
            else:
                copy = memory.get(job.snapshot)
                where = "memory" if copy else "remote" if settings.store_url else "disk"
                answer = replace(run_query(copy or store, job), store=where, copying=memory.copying)
            conn.send(("ok", answer))
        except KGError as e:
            conn.send(("error", type(e).__name__, shorten(e), {**position(e), **e.extra}))
        except MemoryError:  # past the memory limit: what is left of this process is not to be trusted
            os._exit(MEMORY_EXIT)
        except Exception as e:  # a bug or a store failure: the server logs it and answers 500
            conn.send(("crash", f"{type(e).__name__}: {e}", traceback.format_exc()))
