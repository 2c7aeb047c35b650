"""Operations figures of ``next2met serve`` on a built store: start-up, memory of the process tree, disk.

- **start-up**: seconds from launching ``next2met serve`` to the first ``/health`` 200, to the first answered
  SPARQL query, and until ``/health`` says nothing is being prepared any more (dumps, change log, the workers'
  copies in memory); measured twice: right after the build (first start) and again on the same store (restart).
- **memory**: resident memory (RSS) of the server and of each of its workers, summed over the process tree, once
  everything is prepared.
- **disk**: the size of the store folder, split into the store's own data and what the server adds (dumps, change
  log, query snapshots).

    python benchmarks/ops.py --store /tmp/n2m-1m-store --data /tmp/n2m-1m   # a store built with next2met build

``run.py`` calls :func:`measure_start` for every size.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.virtuoso import free_port  # noqa: E402


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS (MB) of ``pid`` and of each of its descendants, and their sum."""
    out: dict[str, float] = {}
    todo = [(pid, "server")]
    n = 0
    while todo:
        p, name = todo.pop()
        rss = _status_kb(p, "VmRSS")
        if rss is not None:
            out[name] = rss / 1024
        for child in _children(p):
            n += 1
            todo.append((int(child), f"worker-{n}"))
    out["total"] = sum(out.values())
    return out


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def disk_mb(store: Path) -> dict[str, float]:
    """Bytes on disk (MB) of the store folder: the current generation of the data, and each other part."""
    def size(path: Path) -> int:
        if path.is_symlink():
            return 0
        if path.is_file():
            return path.stat().st_blocks * 512
        return sum(size(p) for p in path.iterdir()) if path.is_dir() else 0

    out: dict[str, float] = {}
    current = (store / "current").resolve()
    for child in sorted(store.iterdir()):
        if child.is_symlink():
            continue
        key = "store" if child == current else "old generations" if child.name.startswith("gen-") else child.name
        out[key] = out.get(key, 0.0) + size(child) / 2**20
    out["total"] = sum(out.values())
    out["extra over the store"] = out["total"] - out.get("store", 0.0)
    return out


def measure_start(store: Path, *, data: Path, workers: int = 2, limit: float = 600.0,
                  env_extra: dict | None = None) -> dict:
    """Launch ``next2met serve`` on ``store`` with the data folder it was built from (``data``); the start-up
    times, the RSS of its tree once prepared, and disk."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")}
    env["NEXT2MET_QUERY_WORKERS"] = str(workers)
    env.update(env_extra or {})
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "next2met.graph.cli", "serve", "--store", str(store),
                             "--data", str(data), "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=(store.parent / f"{store.name}-serve.log").open("a"),
                            start_new_session=True)
    out: dict = {}
    try:
        while "health_s" not in out:
            try:
                if requests.get(url + "/health", timeout=5).status_code == 200:
                    out["health_s"] = time.monotonic() - t0
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting
                time.sleep(0.02)
            if proc.poll() is not None:
                raise RuntimeError(f"next2met serve exited with {proc.returncode}")
            if time.monotonic() - t0 > limit:
                raise TimeoutError("next2met serve did not answer /health")
        r = requests.post(url + "/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?t }"},
                          headers={"Accept": "application/sparql-results+json"}, timeout=120)
        r.raise_for_status()
        out["first_query_s"] = time.monotonic() - t0
        out["rss_at_health_mb"] = tree_rss_mb(proc.pid)
        seen: dict = {}
        while True:  # /health lists what is still being made: dumps, change log, the workers' copies in memory
            body = requests.get(url + "/health", timeout=5).json()
            now_preparing = body.get("preparing", {})
            for task in seen:
                if task not in now_preparing and task not in out.setdefault("ready_s", {}):
                    out["ready_s"][task] = round(time.monotonic() - t0, 1)  # when each task was done
            seen.update(now_preparing)
            reads = body.get("query_workers", {})
            if not body.get("preparing") and reads.get("starting", 0) == 0:
                break
            if time.monotonic() - t0 > limit:
                out["prepared_s"] = None
                break
            time.sleep(0.25)
        out.setdefault("prepared_s", time.monotonic() - t0)
        out["preparing_seen"] = sorted(seen)
        out["workers_read"] = {k: v for k, v in reads.items() if k != "workers"}
        out["rss_prepared_mb"] = tree_rss_mb(proc.pid)
        out["peak_server_mb"] = (_status_kb(proc.pid, "VmHWM") or 0) / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    out["disk_mb"] = disk_mb(store)
    return out


def operations(out: dict) -> list[str]:
    """Start-up, memory of the server's process tree and disk, as ``ops.py`` measured them."""
    lines = []
    for when, o in out.get("ops", {}).items():
        rss = o["rss_prepared_mb"]
        workers = sorted(v for k, v in rss.items() if k.startswith("worker"))
        disk = o["disk_mb"]
        done = ", ".join(f"{task} {s:.0f} s" for task, s in o.get("ready_s", {}).items())
        prepared = (f"after {o['prepared_s']:.1f} s" if o["prepared_s"] is not None
                    else f"not within the limit (done: {done or 'nothing'})")
        lines.append(f"- {when}: /health after {o['health_s']:.2f} s, first query answered after "
                     f"{o['first_query_s']:.2f} s, everything prepared "
                     f"({', '.join(o['preparing_seen']) or 'nothing'}) {prepared}; "
                     f"RSS then: server {rss['server']:.0f} MB + workers "
                     f"{' + '.join(f'{w:.0f}' for w in workers)} MB = {rss['total']:.0f} MB (workers read "
                     f"{o.get('workers_read', {})}); disk: store {disk.get('store', 0):.0f} MB, dumps "
                     f"{disk.get('dumps', 0):.0f} MB, change log {disk.get('ldes', 0):.0f} MB, all "
                     f"{disk['total']:.0f} MB ({disk['total'] / max(disk.get('store', 1), 1):.2f}x the store)")
    return [*lines, ""] if lines else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a store folder built with next2met build")
    parser.add_argument("--data", type=Path, required=True, help="the data folder the store was built from")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restarts", type=int, default=1, help="starts after the first (default 1)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server (NEXT2MET_NAME), e.g. query_memory_quads=0; repeatable")
    args = parser.parse_args(argv)
    env = {f"NEXT2MET_{k.upper()}": v for k, v in (s.split("=", 1) for s in args.set)}
    starts = {}
    for n in range(1 + args.restarts):
        when = "first start" if n == 0 else f"restart {n}"
        starts[when] = measure_start(args.store, data=args.data, workers=args.workers, env_extra=env)
        print(json.dumps({when: starts[when]}, default=lambda v: round(v, 2)), file=sys.stderr, flush=True)
    print("\n".join(operations({"ops": starts})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
