"""Bring the change log and the dumps up to date with one generation of the data, in a process of its own.

The server runs this after it has started listening, and after each rebuild, on a snapshot of the store (a
RocksDB checkpoint, made in milliseconds under the write lock): at 1M quads the full scan of the change log and the
six dumps take about a minute of work and up to a gigabyte while they run, which the server process (and its
memory, and the interpreter lock its requests need) never sees. The snapshot is written once as an N-Quads file
that both steps read. Each step prints one line when it is done (``log``, ``dumps``), so the server can serve its
part at once.

    python -m next2met.graph.prepare SNAPSHOT --generation G --base IRI --ldes DIR --dumps DIR [--no-log] [--no-dumps]
    python -m next2met.graph.prepare SNAPSHOT --base IRI --derive OUT   # the derived graphs (server/deriving.py)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from .dumps import write_dumps_from
from .ldes import ChangeLog
from .store import OxigraphStore


def derive(snapshot: Path, *, base: str, out: Path, say=print) -> None:
    """Compute the derived graphs of the snapshot that are not current (issue 16's analytics) into the N-Quads file
    ``out``, for the server to write: their content digest and network measures read every quad, which in the
    server would hold its interpreter lock for as long (tens of seconds at 1M quads)."""
    from .analysis.derived import compute

    store = OxigraphStore(snapshot, read_only=True)
    graphs = compute(store, base)
    with out.open("wb") as fh:
        ox.serialize((q for quads in graphs.values() for q in quads), fh, format=ox.RdfFormat.N_QUADS)
    store.close()
    say(f"derived {' '.join(graphs)}")


def prepare(
    snapshot: Path,
    *,
    generation: str,
    base: str,
    ldes: Path | None,
    dumps: Path | None,
    at: float | None = None,
    say=print,
) -> None:
    """Record the snapshot's resources in the change log at ``ldes`` and write its dumps to ``dumps`` (either may
    be None: that step is skipped)."""
    store = OxigraphStore(snapshot, read_only=True)
    nquads = snapshot.parent / f"{snapshot.name}.nq"
    try:
        store.store.dump(str(nquads), format=ox.RdfFormat.N_QUADS)
        quads = store.count()
        store.close()
        if ldes is not None:
            log = ChangeLog(ldes, base)
            added = log.record_all(
                ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False),
                at if at is not None else time.time(),
                generation,
            )
            say(f"log {len(added)}")
        if dumps is not None:
            write_dumps_from(nquads, dumps, generation, quads)
            say("dumps")
    finally:
        if nquads.exists():
            os.unlink(nquads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path, help="a store folder (read only)")
    parser.add_argument("--generation", help="the generation of the snapshot (not with --derive)")
    parser.add_argument("--base", required=True)
    parser.add_argument("--ldes", type=Path, help="the change log's folder (not with --derive)")
    parser.add_argument("--dumps", type=Path, help="the dumps' folder (not with --derive)")
    parser.add_argument("--at", type=float, default=None, help="the time of the change (seconds since the epoch)")
    parser.add_argument("--no-log", action="store_true")
    parser.add_argument("--no-dumps", action="store_true")
    parser.add_argument(
        "--derive",
        type=Path,
        default=None,
        metavar="OUT",
        help="only compute the derived graphs that are not current, into this N-Quads file",
    )
    args = parser.parse_args(argv)
    if args.derive is None and (args.generation is None or args.ldes is None or args.dumps is None):
        parser.error("--generation, --ldes and --dumps are required unless --derive is given")

    def say(line: str) -> None:
        print(line, flush=True)

    parent = os.getppid()

    def watch_parent() -> None:  # a server that stopped (or was killed) takes its preparation with it
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(3)

    threading.Thread(target=watch_parent, daemon=True).start()

    try:
        if args.derive is not None:
            derive(args.snapshot, base=args.base, out=args.derive, say=say)
            return 0
        prepare(
            args.snapshot,
            generation=args.generation,
            base=args.base,
            at=args.at,
            ldes=None if args.no_log else args.ldes,
            dumps=None if args.no_dumps else args.dumps,
            say=say,
        )
    except Exception as e:  # one line for the server's log; it keeps serving what it had
        print(f"error {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
