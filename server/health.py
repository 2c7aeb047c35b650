"""Liveness and store status (``/health``): the store, the query workers and what is still being prepared for the
current data (dumps, change log, the workers' copies in memory); and the favicon."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from .state import get_kg

bp = Blueprint("health", __name__)
STARTED = time.time()
_counted: dict[str, int] = {}  # store generation -> its number of quads
_counting: dict[str, threading.Thread] = {}  # store generation -> the thread counting it
_lock = threading.Lock()
COUNT_WAIT = 0.2  # seconds /health waits for a count under way before answering without it


def _quads(store) -> int | None:
    """The store's size, counted once for each generation of its data, in a thread of its own: counting visits
    every quad (at 1M triples 0.2-0.8 s), too much for a check that load balancers call every few seconds and that
    must answer at once after start-up. None while the count is under way (it is ready within ``COUNT_WAIT`` on
    small data)."""
    generation = store.generation
    with _lock:
        if generation in _counted:
            return _counted[generation]
        thread = _counting.get(generation)
        if thread is None:
            thread = _counting[generation] = threading.Thread(
                target=_count, args=(store, generation), daemon=True, name="next2met-count"
            )
            thread.start()
    thread.join(COUNT_WAIT)
    with _lock:
        return _counted.get(generation)


def _count(store, generation: str) -> None:
    try:
        count = store.count()
    except Exception:  # the store went away (closed, unreachable): the next /health counts again
        with _lock:
            _counting.pop(generation, None)
        return
    with _lock:
        _counted.clear()
        _counted[generation] = count
        _counting.pop(generation, None)


@bp.get("/health")
def health() -> ResponseReturnValue:
    kg = get_kg()
    try:
        quads = _quads(kg.store)
        filled = bool(quads) if quads is not None else not kg.store.is_empty()
        ok = True
    except Exception as e:  # the store is unreachable: report it, do not fail the health check itself
        quads, ok, filled = None, False, False
        detail = str(e)
    body: dict[str, Any] = {
        "status": "ok" if ok and filled else "degraded",
        "store": {"kind": kg.store.kind, "quads": quads, "generation": kg.store.generation},
        "uptime_seconds": round(time.time() - STARTED, 1),
    }
    preparing = kg.preparing.status()
    pool = kg.extensions.get("sparql")
    if pool is not None:  # the query workers, and where each read its last answer (memory, disk)
        pool.check_copies()
        body["query_workers"] = workers = pool.status()
        if workers.get("copying"):
            preparing["memory copies"] = {"workers": workers["copying"]}
    # what is still being made for the current data: queries are answered meanwhile, the routes that need it
    # answer 503 with Retry-After (or serve the previous generation)
    body["preparing"] = preparing
    writes = _writes(kg, pool)
    body["writes"] = writes
    if writes != "ok" and body["status"] == "ok":
        body["status"] = "degraded"  # still 200: queries are answered
    if not ok:
        body["store"]["error"] = detail
    return jsonify(body), (200 if ok else 503)


def _writes(kg, pool) -> str:
    """ "ok", or why writes fail now (a full or read-only disk); a check here also recovers, at most every few
    seconds, once the disk takes writes again (nobody need write to find out)."""
    store = kg.store
    snapshots = getattr(pool, "snapshots", None)
    failing = store.write_failure is not None or (snapshots is not None and snapshots.failure is not None)
    if failing and time.monotonic() - _last_recovery[0] > RECOVERY_EVERY:
        _last_recovery[0] = time.monotonic()
        with kg.write_lock:
            store.recover()
        if snapshots is not None and snapshots.failure is not None and store.write_failure is None:
            with contextlib.suppress(Exception):  # a snapshot of the data as it is now, for the queries
                snapshots.release(snapshots.acquire())
    failure = store.write_failure or (snapshots.failure if snapshots is not None else None)
    return "ok" if failure is None else f"failing: {failure}"


RECOVERY_EVERY = 2.0
_last_recovery = [0.0]


@bp.get("/favicon.ico")
def favicon() -> Response:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="4" cy="8" r="3" fill="#1d5c8c"/>'
        '<circle cx="12" cy="4" r="2.5" fill="#2e8b57"/><circle cx="12" cy="12" r="2.5" fill="#c0392b"/>'
        '<path d="M4 8 12 4M4 8l8 4" stroke="#444" stroke-width="1"/></svg>'
    )
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
