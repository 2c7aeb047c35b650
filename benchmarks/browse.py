"""Time the browse pages on a built store: the search index and practice graph builds, facet pages of
/practices (HTML and JSON), the home page and resource pages. Target: a facet page under 300 ms on the 100k-triple
synthetic data.

    python benchmarks/generate.py --triples 100000 --out /tmp/n2m-100k
    next2met build --store /tmp/s100k --data /tmp/n2m-100k
    python benchmarks/browse.py --store /tmp/s100k

Prints one line per measurement (median and worst of the runs, in milliseconds).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from next2met.graph.analyse import PracticeGraph
from next2met.graph.search import PracticeIndex
from next2met.graph.settings import Settings
from next2met.server.app import create_app
from next2met.server.page_data import practice_graph, search_index


def timed(fn, runs: int = 1) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def report(name: str, median: float, worst: float) -> None:
    print(f"{name:<58} median {median:8.1f} ms   worst {worst:8.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store built with next2met build")
    parser.add_argument("--runs", type=int, default=20, help="requests per measurement (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    app = create_app(Settings(store=args.store), build_if_empty=False)
    kg = app.extensions["next2met"]
    client = app.test_client()
    print(f"store: {kg.store.count()} quads")
    report("build search index (PracticeIndex.build)", *timed(lambda: PracticeIndex.build(kg.store), 3))
    report("build practice graph (PracticeGraph.build)", *timed(lambda: PracticeGraph.build(kg.store), 3))
    index, graph = search_index(kg), practice_graph(kg)
    print(f"practices: {len(index.docs)}, graph: {graph.graph.number_of_nodes()} nodes, "
          f"{graph.graph.number_of_edges()} edges")

    def get(url: str, accept: str = "text/html") -> None:
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == 200, (url, response.status_code)

    facets = index.search().facets
    pick = {f: [v.key for v in values] for f, values in facets.items() if values}
    words = ["digital", "hub", "health", "platform", "rural", "data", "smart", "skills"]

    def facet_url() -> str:
        chosen = rng.sample(sorted(pick), 2)
        return "/practices?" + "&".join(f"{f}={rng.choice(pick[f])}" for f in chosen)

    cold = "/practices?country=" + pick["country"][0]
    report("first facet page after start (index already built)", *timed(lambda: get(cold)))
    report("/practices (no filter, HTML)", *timed(lambda: get("/practices"), args.runs))
    report("/practices one random facet (HTML)",
           *timed(lambda: get(f"/practices?{(f := rng.choice(sorted(pick)))}={rng.choice(pick[f])}"), args.runs))
    report("/practices two random facets (HTML)", *timed(lambda: get(facet_url()), args.runs))
    report("/practices two random facets (JSON)", *timed(lambda: get(facet_url(), "application/json"), args.runs))
    report("/practices?q=word + facet (HTML)",
           *timed(lambda: get(f"/practices?q={rng.choice(words)}&stage={rng.choice(pick['stage'])}"), args.runs))
    report("/practices?q=prefix (HTML)", *timed(lambda: get(f"/practices?q={rng.choice(words)[:4]}"), args.runs))
    report("/practices page 5 sorted by modified (HTML)",
           *timed(lambda: get("/practices?sort=modified&page=5"), args.runs))
    report("/practices.csv (every practice)", *timed(lambda: get("/practices.csv", "text/csv"), 3))
    report("home page", *timed(lambda: get("/"), args.runs))
    practices = [d.iri.split("/next2met/", 1)[1] for d in index.docs]
    report("practice page, not seen before", *timed(lambda: get("/" + practices.pop()), args.runs))
    report("practice page, seen before", *timed(lambda: get("/" + practices[0]), args.runs))
    report("practice Turtle", *timed(lambda: get("/" + practices[1], "text/turtle"), args.runs))
    report("region page (partner region)",
           *timed(lambda: get("/region/" + sorted(graph.partner_regions)[0].rsplit("/", 1)[1]), 3))
    report("/regions (transfer network)", *timed(lambda: get("/regions"), 3))
    report("/network (practice network, first then cached)", *timed(lambda: get("/network"), 3))
    kg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
