"""Time what a data change costs the harvesting side on a built store: writing the twelve dump files, recording
the change log from scratch, again with nothing changed (a full scan, and the incremental read after a write
that names its graph), the VoID statistics, the DCAT catalogue and one LDES
page. Targets: dumps and change log together under 60 s at 1M triples; memory growth of the dump writer small
compared with the store (it streams).

    python benchmarks/generate.py --triples 100000 --out /tmp/n2m-100k
    next2met build --store /tmp/s100k --data /tmp/n2m-100k
    python benchmarks/harvesting.py --store /tmp/s100k

Prints one line per measurement. Works on a copy of nothing: the dumps and the log go to a temporary folder.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from next2met.graph import catalogue, void
from next2met.graph.dumps import write_dumps
from next2met.graph.ldes import ChangeLog
from next2met.graph.ldes_pages import page_quads
from next2met.graph.settings import Settings
from next2met.graph.store import OxigraphStore


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(name: str, fn):
    before, t = rss_mb(), time.perf_counter()
    value = fn()
    print(f"{name:<44} {time.perf_counter() - t:8.2f} s   peak RSS {rss_mb():7.0f} MB (+{rss_mb() - before:.0f})")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a built store folder (read only)")
    args = parser.parse_args(argv)
    settings = Settings(store=args.store)
    store = OxigraphStore(args.store, read_only=True)
    print(f"store: {store.count()} quads")
    with tempfile.TemporaryDirectory() as tmp:
        dumps = step("write the 12 dump files", lambda: write_dumps(store, Path(tmp) / "dumps", force=True))
        for f in dumps.files:
            print(f"    {f.filename:<24} {f.size:>14,} bytes")
        log = ChangeLog(Path(tmp) / "ldes", settings.base_iri)
        added = step("record the change log (first time)", lambda: log.record(store, time.time()))
        print(f"    {len(added)} members, {log.page_count} pages")
        again = step("record the change log (full scan, no change)", lambda: log.record(store, time.time()))
        assert not again
        graph = next(g for g in store.named_graphs() if "/practices/" in g)
        again = step("record after a one-graph write (incremental)",
                     lambda: log.record(store, time.time(), [graph]))
        assert not again
        stats = step("VoID statistics", lambda: void.statistics(store))
        print(f"    {stats.totals}")
        site = catalogue.Site(settings.base_iri, "http://localhost")
        step("DCAT catalogue", lambda: catalogue.catalogue(store, site, dumps))
        step("one LDES page", lambda: page_quads(log, 0, "http://localhost/ldes", lambda n: f"http://localhost/ldes/{n}"))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
