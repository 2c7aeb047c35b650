"""Run user SPARQL in worker processes that the server kills and replaces when a query runs too long.

Nothing in-process stops a pyoxigraph query (no timeout parameter; signals and threads fail, and an abandoned
thread burns a core), while killing the process that runs it does. So each query goes to an idle worker over a
pipe; the server waits at most the query timeout for the answer, then kills the worker, starts a fresh one and
answers 503. Workers serialise the answer themselves (cut at the row cap), so the server only passes bytes on.

Workers of the embedded store read a consistent snapshot: a RocksDB checkpoint (hard links, a few ms) opened
read-only, made again whenever the store's generation changes. Opening the live database read-only while the
server writes to it is not safe (measured: corruption errors). ``query_memory_copies`` of the workers (one by
default) also copy their snapshot into memory in the background (``MemoryCopy``; a new worker opens the data with
a query of its own, so the copy begins at start-up) and answer from the copy once it is made: at 1M quads joins run
2-5x faster there (a sorted listing 1.2 s → 0.34 s), for ~0.5 GB a worker and ~15 s of copying after each data
change, while the snapshot on disk answers. The others read the snapshot on disk (~0.1 GB each). Workers of a
remote store open it themselves and forward the query.

Queries go to an idle worker with a copy first, else to the worker that answered last (it is awake: waking an idle
process costs this kind of machine more than a cheap query), and after a data change the idle workers open the new
data at once, so that their copies are made before several queries come at once.

Before a worker sees a query or update, its nesting (braces, parentheses, brackets) is counted while lexing and
refused past ``max_query_depth``: pyoxigraph's parser recurses, and a few thousand levels overflow a worker's
stack. Each worker caps its own memory (``worker_memory_mb``, RLIMIT_DATA): a job that needs more ends the
process, and the pool answers that the limit was reached (503) and starts a replacement. A worker's temporary
files live in its own ``scratch-PID`` folder, removed when the pool stops it.

Workers are fresh interpreters (``python -c``, ``worker_process.py``), not forks: forking the threaded server
could copy a held lock, and multiprocessing's spawn and forkserver methods re-run the caller's main script in every
child. What a worker does with a job is in ``jobs.py``.
"""

from __future__ import annotations

import itertools
import logging
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from next2met.graph import errors
from next2met.graph.errors import (
    KGError,
    MemoryLimit,
    Overloaded,
    QueryTimeout,
    QueryTooDeep,
    StoreError,
    TooManyRequests,
)
from next2met.graph.settings import Settings
from next2met.graph.sparqltext import nesting_depth
from next2met.graph.store import OxigraphStore

from .jobs import (
    Answer,
    QueryJob,
    UpdateAnswer,
    UpdateJob,
    ValidateJob,
)
from .worker_process import MEMORY_EXIT

log = logging.getLogger(__name__)
STARTUP_TIMEOUT = 60.0  # seconds a fresh worker may take to import its modules on a busy machine
T = TypeVar("T")


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
        self.failure: str | None = None  # why the last snapshot could not be made (the disk), None when it could

    def acquire(self) -> str:
        """A snapshot folder of the current data (made now if the data changed); release it when done.

        When a new snapshot cannot be made (a full or read-only disk), the last one serves: queries go on with the
        data as it was, and ``failure`` says why (for /health)."""
        if self._stale():
            with self.lock:
                if self._stale():
                    generation = self.store.generation
                    try:
                        folder = str(self._make())
                    except Exception as e:
                        if self._current is None:
                            raise StoreError(f"cannot make a snapshot of the data for the queries: {e}") from None
                        if self.failure is None:
                            log.error("queries go on from the last snapshot: cannot make a new one: %s", e)
                        self.failure = f"cannot make a new snapshot for the queries: {e}"
                        with self._guard:
                            folder = self._current[1]
                            self._users[folder] += 1
                            return folder
                    self.failure = None
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
        folder = self.root / f"snap-{next(self._count)}-{uuid.uuid4().hex[:6]}"
        try:
            return self._fill(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # half a snapshot on a full disk is not left there
            raise

    def _fill(self, folder: Path) -> Path:
        # The OxigraphStore layout (a ``current`` link to the database), so workers open it like any store.
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
    def __init__(self, settings: Settings, scratch_root: Path | None = None, *, copies: bool = True) -> None:
        self.scratch_root = scratch_root
        self.copies = copies  # whether it copies the data into memory (``query_memory_copies`` of the pool do)
        if not copies:
            settings = replace(settings, query_memory_quads=0)
        ours, theirs = socket.socketpair()
        code = f"from next2met.server.worker_process import serve; serve({theirs.fileno()})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send(settings)
        self.reads = ""  # where its last answer was read: memory, disk or remote ("" before the first)
        self.copying = False  # making its copy of the data in memory, as of its last answer
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
        if self.scratch_root is not None:
            shutil.rmtree(self.scratch_root / f"scratch-{self.process.pid}", ignore_errors=True)

    @property
    def killed(self) -> bool:
        return self._killed

    def ended_for_memory(self) -> bool:
        """Whether the process ended because it reached its memory limit: native code aborts on a failed
        allocation, Python code exits with MEMORY_EXIT, and the system's out-of-memory killer sends SIGKILL."""
        try:
            code = self.process.wait(2)
        except subprocess.TimeoutExpired:
            return False
        return code in (-signal.SIGABRT, -signal.SIGKILL, MEMORY_EXIT)


class QueryPool:
    """A fixed number of worker processes, at most ``max_concurrent_queries`` jobs running or waiting."""

    def __init__(self, settings: Settings, snapshots: Snapshots | None, *, name: str = "query") -> None:
        self.settings = settings
        self.name = name  # what its jobs are called in messages: query, validation
        self.snapshots = snapshots
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()  # the worker that answered last is awake: first
        self._slots = threading.BoundedSemaphore(settings.max_concurrent_queries)
        self._all: set[_Worker] = set()
        self._held: defaultdict[str, int] = defaultdict(int)  # jobs each client has running (fair admission)
        self._lock = threading.Lock()
        self._closed = False
        self._ready = threading.Condition()
        self._ready_count = 0
        self._newest: str | None = None  # the newest snapshot handed to a worker
        self._starting: set[threading.Thread] = set()  # threads starting a worker (close() waits for them)
        self._copiers = 0  # workers (started or starting) that copy the data into memory
        for _ in range(max(1, settings.query_workers)):
            self._start()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> bool:
        """Wait until the first workers have started; True if all of them did within ``timeout`` seconds."""
        wanted = max(1, self.settings.query_workers)
        with self._ready:
            return self._ready.wait_for(lambda: self._ready_count >= wanted, timeout)

    def _start(self, on_done: Callable[[], None] | None = None) -> None:
        """Start a worker in the background and make it available once it has started up; ``on_done`` is called
        then (or when it failed)."""

        with self._lock:  # decided here, one start at a time: a replacement takes the place of the worker it replaces
            copies = self._copiers < self.settings.query_memory_copies
            self._copiers += copies

        def start() -> None:
            try:
                started()
            finally:
                with self._lock:
                    self._starting.discard(threading.current_thread())
                if on_done is not None:
                    on_done()

        def started() -> None:
            if self._closed:
                self._forget_copier(copies)
                return
            # started outside the lock (a process start while holding it delayed the pool's bookkeeping enough to
            # hold up fair admission); close() waits for this thread, which stops the worker once it sees the close
            worker = _Worker(self.settings, self.snapshots.root if self.snapshots is not None else None, copies=copies)
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
            self._forget_copier(copies)
            worker.kill()

        thread = threading.Thread(target=start, daemon=True, name="next2met-worker-start")
        with self._lock:
            self._starting.add(thread)
        thread.start()

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
                worker.reads, worker.copying = message[1].store, message[1].copying
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

    def _forget_copier(self, copies: bool) -> None:
        if copies:
            with self._lock:
                self._copiers -= 1

    def _replace(self, worker: _Worker, on_done: Callable[[], None] | None = None) -> None:
        """Kill a worker and start a fresh one in its place (in the background: the client is not kept waiting)."""
        with self._lock:
            present = worker in self._all  # not replaced already (a worker can be found dead twice)
            self._all.discard(worker)
        if present:
            self._forget_copier(worker.copies)
        worker.kill()
        if present and not self._closed:
            self._start(on_done)
        elif on_done is not None:
            on_done()

    def _reap(self, workers: list[_Worker]) -> None:
        """Replace workers whose process has ended on its own (killed from outside, or past its memory limit
        while copying the data between jobs): their folders go now, not when a job next finds them dead."""
        for worker in workers:
            if worker.process.poll() is not None:
                log.warning("a %s worker (pid %d) ended on its own; starting another", self.name, worker.process.pid)
                self._replace(worker)

    def _admit(self, client: str) -> None:
        """Count a job against its client's share of the workers, or refuse it with 429 (fair admission: one
        client's runaways never take the workers that another client's small query needs)."""
        cap = self.settings.max_queries_per_client
        if not client or cap <= 0:
            return
        with self._lock:
            if self._held[client] >= cap:
                retry = max(1, round(self.settings.query_timeout / 2))
                raise TooManyRequests(
                    f"this client already has {cap} {self.name} job(s) running, the most one client may have at "
                    f"once; wait for {'it' if cap == 1 else 'them'} to finish",
                    retry_after=retry,
                    limit=cap,
                )
            self._held[client] += 1

    def _leave(self, client: str) -> None:
        if not client or self.settings.max_queries_per_client <= 0:
            return
        with self._lock:
            self._held[client] -= 1
            if self._held[client] <= 0:
                del self._held[client]

    def run(self, job: QueryJob | UpdateJob | ValidateJob, timeout: float, client: str = "") -> Answer | UpdateAnswer:
        """Run a job on an idle worker; kill the worker and raise QueryTimeout after ``timeout`` seconds.

        ``client`` (a bearer token's digest or an address) holds at most ``max_queries_per_client`` workers; a
        worker killed on its account counts until its replacement has started, so a client that sends runaways
        one after the other cannot take the worker that is starting either."""
        self._enter(job, client)
        snapshot = None
        handed_over = [False]  # the client's share is given back when a replacement worker has started
        try:
            if self.snapshots is not None and not getattr(job, "release", None):  # a release is read as it is
                snapshot = self.snapshots.acquire()  # before a worker is taken: a snapshot that fails cannot keep it
            worker = self._take(time.monotonic() + timeout, timeout)
            if snapshot is not None and snapshot != self._newest:  # the data changed: idle workers open it now
                self._newest = snapshot
                threading.Thread(target=self._open_data_on_idle, daemon=True, name="next2met-refresh").start()
            job = replace(job, snapshot=snapshot) if snapshot is not None else job
            return self._exchange(worker, job, timeout, lambda: self._leave(client), handed_over)
        finally:
            if snapshot is not None:
                self.snapshots.release(snapshot)  # type: ignore[union-attr]
            self._slots.release()
            if not handed_over[0]:
                self._leave(client)

    def _enter(self, job: QueryJob | UpdateJob | ValidateJob, client: str) -> None:
        """Admit a job (its nesting, its client's share, a slot among the jobs at once) or refuse it."""
        if isinstance(job, QueryJob | UpdateJob):  # counted while lexing, before any parser or worker sees it
            depth = nesting_depth(job.sparql, stop_above=self.settings.max_query_depth)
            if depth > self.settings.max_query_depth:
                raise QueryTooDeep(
                    f"the {'query' if isinstance(job, QueryJob) else 'update'} nests braces, parentheses or "
                    f"brackets more than {self.settings.max_query_depth} deep; write it flatter",
                    limit=self.settings.max_query_depth,
                )
        self._admit(client)
        if not self._slots.acquire(blocking=False):
            self._leave(client)
            raise Overloaded(
                f"{self.settings.max_concurrent_queries} {self.name} jobs are already running or waiting; try again "
                "shortly",
                retry_after=1,
            )

    def run_here(self, job: QueryJob, work: Callable[[], T], client: str = "") -> T:
        """Run ``work`` for ``job`` in the calling thread, admitted as ``run`` admits a job (nesting, the client's
        share, the cap on jobs at once): for a query a remote store answers, which needs no worker process and is
        bounded by the deadline of its HTTP exchange (``remote_jobs.py``)."""
        self._enter(job, client)
        try:
            return work()
        finally:
            self._slots.release()
            self._leave(client)

    def _take(self, waited_until: float, timeout: float) -> _Worker:
        """An idle worker, one with a copy of the data in memory if one is idle; a worker replaced while idle may
        still be in the queue: it is skipped."""
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, waited_until - time.monotonic()))
            except queue.Empty:
                raise Overloaded(
                    f"no {self.name} worker became free within {timeout:g} s; try again shortly", retry_after=1
                ) from None
            if not worker.killed:
                break
        if worker.copies:
            return worker
        passed = [worker]
        try:
            while True:
                other = self._idle.get_nowait()
                if other.killed:
                    continue
                if other.copies:
                    worker = other
                    break
                passed.append(other)
        except queue.Empty:
            pass
        for w in reversed(passed):
            if w is not worker:
                self._idle.put(w)
        return worker

    def _exchange(
        self,
        worker: _Worker,
        job,
        timeout: float,
        leave: Callable[[], None] | None = None,
        handed_over: list[bool] | None = None,
    ):
        started = time.monotonic()

        def replace_worker() -> None:
            if handed_over is not None:
                handed_over[0] = True
            self._replace(worker, leave)

        try:
            worker.conn.send(job)
            if not worker.conn.poll(timeout):
                replace_worker()
                advice = (
                    ("narrow it down (LIMIT, more specific patterns) or ask for a longer timeout on your own server")
                    if self.name == "query"
                    else "send less data at once"
                )
                raise QueryTimeout(
                    f"the {self.name} ran for more than {timeout:g} s and was stopped; {advice}", seconds=timeout
                )
            message = worker.conn.recv()
        except (EOFError, OSError) as e:
            memory = worker.ended_for_memory()
            replace_worker()
            if memory:
                raise MemoryLimit(
                    f"the {self.name} needed more than the worker's memory limit of "
                    f"{self.settings.worker_memory_mb} MB and was stopped; narrow it down",
                    limit_mb=self.settings.worker_memory_mb,
                ) from None
            raise StoreError(f"the {self.name} worker stopped unexpectedly ({e or 'out of memory?'})") from None
        self._idle.put(worker)
        log.debug("query answered by a worker in %.3f s", time.monotonic() - started)
        if message[0] == "ok":
            worker.reads = getattr(message[1], "store", "") or worker.reads
            worker.copying = getattr(message[1], "copying", False)
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
        self._reap(workers)
        with self._lock:
            workers = list(self._all)
        counts: dict[str, int] = {"workers": len(workers)}
        for w in workers:
            counts[w.reads or "starting"] = counts.get(w.reads or "starting", 0) + 1
            if w.copying:
                counts["copying"] = counts.get("copying", 0) + 1
        return counts

    def check_copies(self) -> None:
        """Have the idle workers that were making their copy in memory at their last answer say whether they still
        are (with a query of their own, as after a data change): what ``status`` reports is as of each worker's
        last answer."""
        with self._lock:
            copying = any(w.copying for w in self._all)
        if copying and self.snapshots is not None:
            self._open_data_on_idle()

    def close(self) -> None:
        """Stop every worker, and wait for those being started (they stop themselves once they see the pool
        closed), so that no process of the pool outlives this call."""
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
            starting = list(self._starting)
        for worker in workers:
            worker.kill()
        for thread in starting:
            thread.join(STARTUP_TIMEOUT)
        if self.snapshots is not None:
            self.snapshots.close()
