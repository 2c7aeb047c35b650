"""What syncing each write to disk costs (``graph/diskfaults.py``): one practice-sized named graph replaced
``--writes`` times in a store on disk, with the write-ahead log synced after each write and without.

    python benchmarks/durable_writes.py                 # the shipped data, built into a temporary store
    python benchmarks/durable_writes.py --store /tmp/s100k --writes 500

Prints the median, 95th percentile and mean of one write in milliseconds, for each mode. Works on a copy of the
store (or a fresh build), never on the store it is given.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from next2met.graph.build import build_dataset
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore

GRAPH = "https://w3id.org/next2met/graph/benchmark/durable"


def practice_sized(n: int) -> list[ox.Quad]:
    """About 150 triples, as many as one practice file compiles to."""
    subject = ox.NamedNode(f"https://example.org/practice/{n}")
    return [ox.Quad(subject, ox.NamedNode(f"https://example.org/p{i}"), ox.Literal(f"value {i} of write {n}"),
                    ox.NamedNode(GRAPH)) for i in range(150)]


def measure(folder: Path, writes: int, sync: bool) -> list[float]:
    store = OxigraphStore(folder, sync=sync)
    times = []
    try:
        for n in range(writes):
            started = time.perf_counter()
            store.replace_graphs({GRAPH: practice_sized(n)})
            times.append((time.perf_counter() - started) * 1000)
    finally:
        store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="a built store to copy (default: build the shipped data)")
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="n2m-durable-", dir=Path.home()) as tmp:
        source = Path(tmp) / "source"
        if args.store:
            shutil.copytree(args.store, source, symlinks=True)
        else:
            store = OxigraphStore(source)
            build_dataset(store, Settings(store=str(source)))
            store.close()
        for sync in (False, True, False, True):  # twice each, interleaved: the disk's own state moves
            folder = Path(tmp) / f"run-{sync}-{time.monotonic_ns()}"
            shutil.copytree(source, folder, symlinks=True)
            times = measure(folder, args.writes, sync)
            q95 = statistics.quantiles(times, n=20)[-1]
            print(f"{'synced' if sync else 'not synced':>10}: {args.writes} writes, median "
                  f"{statistics.median(times):.2f} ms, p95 {q95:.2f} ms, mean {statistics.mean(times):.2f} ms")
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
