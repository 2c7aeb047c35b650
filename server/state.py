"""The server's one handle on the knowledge graph: settings, the store, a write lock, a result cache for our own
queries, a byte-bounded cache of answers to user queries, the listeners that must hear of every data change
(related-practices graph, dumps, change feed), and the extensions the features started (query workers, dump
writer), which ``close()`` stops. ``get_kg()`` is the current app's; this module imports nothing of the server's,
so every feature can import it."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from flask import current_app

from next2met.graph.backend import open_store
from next2met.graph.settings import Settings
from next2met.graph.store import Result, Store

log = logging.getLogger(__name__)
DERIVED = "derived graphs"  # the name /health gives their derivation (after start and after each change)
ChangeListener = Callable[["KnowledgeGraph", "Change"], None]
# A deriver recomputes graphs derived from the data (analytics, quality) and returns the names of those it wrote.
Deriver = Callable[["KnowledgeGraph", "Change"], tuple[str, ...]]


@dataclass(frozen=True)
class Change:
    """What a write changed: the named graphs replaced or dropped (empty for a full rebuild) and why."""

    graphs: tuple[str, ...]
    reason: str  # "build", "update", "api"
    at: float = field(default_factory=time.time)


class AnswerCache:
    """Answers to user SPARQL queries, kept until the data changes and bounded in bytes (least recently used
    goes first). An answer larger than a tenth of the budget is not kept: it would push out many small ones."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._answers: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._generation: str | None = None
        self._lock = threading.Lock()

    def get(self, generation: str, key: tuple) -> Any | None:
        with self._lock:
            if generation != self._generation:
                return None
            hit = self._answers.get(key)
            if hit is None:
                return None
            self._answers.move_to_end(key)
            return hit[0]

    def put(self, generation: str, key: tuple, answer: Any, size: int) -> None:
        if size > self.budget // 10:
            return
        with self._lock:
            if generation != self._generation:
                self._clear()
                self._generation = generation
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._answers[key] = (answer, size)
            self._bytes += size
            while self._bytes > self.budget:
                _, (_, dropped) = self._answers.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._answers.clear()
        self._bytes = 0


class Preparing:
    """What the server is still making for the current data (dumps, change log, the workers' copies in memory),
    so that ``/health`` can say so and the routes that need it can answer 503 with ``Retry-After`` meanwhile."""

    def __init__(self) -> None:
        self._tasks: dict[str, float] = {}  # name -> when it began (epoch seconds)
        self._failed: dict[str, str] = {}  # name -> why the last attempt failed
        self._idle = threading.Condition()

    def begin(self, name: str) -> None:
        with self._idle:
            self._tasks.setdefault(name, time.time())

    def end(self, name: str, error: str | None = None) -> None:
        with self._idle:
            self._tasks.pop(name, None)
            if error:
                self._failed[name] = error
            else:
                self._failed.pop(name, None)
            self._idle.notify_all()

    def __contains__(self, name: str) -> bool:
        with self._idle:
            return name in self._tasks

    def status(self) -> dict[str, dict[str, Any]]:
        """Each task under way with the seconds it has taken so far, and the last failure of each that failed."""
        now = time.time()
        with self._idle:
            out: dict[str, dict[str, Any]] = {n: {"seconds": round(now - t, 1)} for n, t in self._tasks.items()}
            for name, error in self._failed.items():
                out.setdefault(name, {})["last_error"] = error
            return out

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is being prepared; False if something still is after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._tasks, timeout)


class KnowledgeGraph:
    """Shared by all requests of one app. Reads are concurrent; writes are serialised by ``write_lock``."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        self.write_lock = threading.RLock()
        self._listeners: list[ChangeListener] = []
        self._derivers: list[Deriver] = []
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_generation = self.store.generation
        self.answers = AnswerCache(settings.result_cache_mb * 2**20)
        self.modified_at = time.time()
        self._checked_at = time.monotonic()
        self.extensions: dict[str, Any] = {}  # per-feature state (related graph, dumps, ...), keyed by feature
        self.closed = False
        atexit.register(self.close)  # a process that ends without closing still stops its workers
        self.preparing = Preparing()
        self._starters: list[Callable[[], None]] = []

    # -- writes --------------------------------------------------------------------------------------------
    def apply(self, change):
        """Apply a change through the one write path (``next2met.graph.changes``) and tell the listeners; the
        answer's ``seconds`` says how long the listeners took (``listeners``) beside the write path's own steps."""
        from next2met.graph.changes import apply_change

        heard: list[float] = []

        def notify(event) -> None:
            started = time.perf_counter()
            self.changed(Change(event.graphs, event.reason, event.at))
            heard.append(time.perf_counter() - started)

        with self.write_lock:
            applied = apply_change(self.store, self.settings, change, notify=notify)
        applied.seconds["listeners"] = sum(heard)
        return applied

    def take_changed_files(self):
        """Take the data files changed while no server ran (a hand edit, a write a crash cut short) through the
        write path (``next2met.graph.changes.reconcile``)."""
        from next2met.graph.changes.reconcile import reconcile

        with self.write_lock:
            return reconcile(
                self.store,
                self.settings,
                notify=lambda event: self.changed(Change(event.graphs, event.reason, event.at)),
            )

    # -- change notification -------------------------------------------------------------------------
    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def derive_with(self, deriver: Deriver) -> None:
        """Have ``deriver`` bring derived graphs up to date after changes (in the background: server/deriving.py
        runs it, or its equivalent in a process of its own on a snapshot of the store)."""
        self._derivers.append(deriver)

    def after_start(self, starter: Callable[[], None]) -> None:
        """Register work to begin once the server listens (``start``): what takes seconds at scale (dumps, change
        log) must not keep ``/health`` and queries waiting."""
        self._starters.append(starter)

    def start(self) -> None:
        """Begin the work registered with ``after_start`` (in background threads of its own); call once."""
        starters, self._starters = self._starters, []
        for starter in starters:
            starter()

    def changed(self, change: Change) -> None:
        """Tell every listener that the data changed (call with the write lock held). The derived graphs are not
        recomputed here: a listener marks them stale and they follow in the background (server/deriving.py), so
        no write waits for them."""
        self.modified_at = change.at
        self.clear_cache()
        for listener in self._listeners:
            listener(self, change)

    @property
    def derives(self) -> bool:
        return bool(self._derivers)

    def derive_now(self) -> None:
        """Run the derivers here (for stores without snapshots), not under the write lock (queries take it to
        snapshot new data); the listeners hear of the graphs written."""
        written: list[str] = []
        for deriver in self._derivers:
            written += deriver(self, Change((), "derive"))
        if written:
            with self.write_lock:
                self.announce(Change(tuple(written), "derived"))

    def announce(self, change: Change) -> None:
        """Tell the listeners of graphs written outside ``changed`` (derived graphs made in the background);
        call with the write lock held."""
        self.clear_cache()
        for listener in self._listeners:
            listener(self, change)

    def refresh(self, *, every: float = 1.0) -> None:
        """Pick up a rebuild made by another process (``next2met build`` while serving); cheap, at most once
        per ``every`` seconds (one readlink of the store's ``current`` link)."""
        now = time.monotonic()
        if now - self._checked_at < every:
            return
        self._checked_at = now
        refresh = getattr(self.store, "refresh", None)
        if refresh is None:
            return
        if not self.write_lock.acquire(blocking=False):  # a write (or the derivation after start) is under way:
            self._checked_at = 0.0  # look again with the next request rather than wait behind it
            return
        try:
            if refresh():
                self.changed(Change((), "build"))
        finally:
            self.write_lock.release()

    # -- our own (trusted) queries, cached until the data changes --------------------------------------
    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        gen = self.store.generation
        with self._cache_lock:
            if gen != self._cache_generation:
                self._cache.clear()
                self._cache_generation = gen
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > 2048:
                self._cache.popitem(last=False)
        return value

    def select(self, sparql: str) -> list[dict[str, Any]]:
        """Run one of our own SELECT queries and return rows of pyoxigraph terms, cached per data generation."""
        return self.cached(("select", sparql), lambda: self.store.query(sparql).rows())

    def query(self, sparql: str) -> Result:
        return self.store.query(sparql)

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self._cache_generation = self.store.generation
        self.answers.clear()

    # -- HTTP caching validators -----------------------------------------------------------------------
    @property
    def etag(self) -> str:
        return self.store.generation

    @property
    def last_modified(self) -> str:
        return formatdate(self.modified_at, usegmt=True)

    def close(self) -> None:
        """Stop everything the features started (the last started first: query workers, validation workers, the
        dump writer, snapshots), then close the store. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        atexit.unregister(self.close)
        for name, extension in reversed(list(self.extensions.items())):
            stop = getattr(extension, "close", None)
            if callable(stop):
                try:
                    stop()
                except Exception:  # the others must stop all the same
                    log.exception("could not stop %s", name)
        self.store.close()


def get_kg() -> KnowledgeGraph:
    """The knowledge graph of the current app (inside a request or app context)."""
    return current_app.extensions["next2met"]
