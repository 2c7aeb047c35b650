"""Time ``next2met harvest`` of a SPARQL endpoint: a throw-away Virtuoso with default limits (tests/virtuoso.py)
holding one graph of N triples (IRIs, language-tagged and typed literals, blank nodes, one subject with 6000
triples), read in keyed pages (graph/remote_pages.py), then the whole harvest into an empty store (profile, SHACL,
write).

    python benchmarks/harvest_sparql.py --triples 12345 100000

Prints one line per size: triples, seconds to read the pages, seconds for the whole harvest, peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from next2met.graph.harvest import harvest, read_sparql  # noqa: E402
from next2met.graph.http import Fetcher, FetchPolicy  # noqa: E402
from next2met.graph.settings import Settings  # noqa: E402
from tests.test_graph.test_remote import big_graph  # noqa: E402
from tests.virtuoso import start_virtuoso, stop_virtuoso  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, nargs="+", default=[12_345, 100_000])
    args = parser.parse_args(argv)
    policy = FetchPolicy(allow_private=True)
    v = start_virtuoso()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in args.triples:
                g = f"https://example.org/bench-{n}"
                triples = {ox.Triple(q.subject, q.predicate, q.object) for q in big_graph(g, n)}
                dump = Path(tmp) / f"{n}.nt"
                dump.write_bytes(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
                v.bulk_load(dump, g)
                source = f"{v.sparql}?default-graph-uri={quote(g, safe='')}"
                t = time.perf_counter()
                read = read_sparql(source, fetcher=Fetcher(policy))
                pages = time.perf_counter() - t
                assert len(read) == len(triples), (len(read), len(triples))
                settings = Settings(store=str(Path(tmp) / f"store-{n}"))
                t = time.perf_counter()
                result = harvest(settings, source, kind="sparql", graph=g, policy=policy)
                whole = time.perf_counter() - t
                assert result.triples == len(triples)
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"{len(triples):>9} triples   pages {pages:6.1f} s   harvest {whole:6.1f} s   "
                      f"peak RSS {rss:.0f} MB")
    finally:
        stop_virtuoso(v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
