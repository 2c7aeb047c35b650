"""Measure the query mix on synthetic data: through our HTTP endpoint, in-process on the store, and on Virtuoso.

For each size (triples), the script generates a data folder with ``benchmarks/generate.py``, builds it into an
embedded store with ``next2met build --data`` (load time and peak memory of that process), starts
``next2met serve`` on it, loads the same dataset into a throw-away Virtuoso with Virtuoso's own bulk loader, and
runs the query mix three ways, and a fourth: our endpoint with that Virtuoso behind it (``next2met serve
--store-url``). Cold runs use a different parameter (and a different query text) each time, so no
cache can answer; warm runs repeat one query. It prints the median latency per query and channel, in ms. Then
four clients at once send cold queries of the lighter part of the mix to the server with one and with two query
workers: answers per second, errors and latency.

    python benchmarks/run.py                       # 10k, 100k and 1M triples
    python benchmarks/run.py --sizes 10k --runs 3  # quick
    python benchmarks/run.py --sizes 100k --no-virtuoso --json results.json
    python benchmarks/run.py --sizes 100k --channels virtuoso,remote  # our endpoint in front of Virtuoso alone

Not part of the test run. See benchmarks/README.md for the latest figures.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/virtuoso.py starts Virtuoso for the tests and for us

from benchmarks.ops import measure_start, operations  # noqa: E402
from next2met.graph.queries import list_queries  # noqa: E402
from next2met.graph.settings import Settings  # noqa: E402
from next2met.graph.store import OxigraphStore  # noqa: E402
from tests.virtuoso import VIRTUOSO, free_port, start_virtuoso, stop_virtuoso  # noqa: E402

BASE = "https://w3id.org/next2met/"
PREFIXES = """PREFIX n2m: <https://w3id.org/next2met/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
"""
JSON = "application/sparql-results+json"
NT = "application/n-triples"
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
CHANNELS = ("http", "in-process", "virtuoso", "http→virtuoso")


@dataclass
class Pools:
    """Parameter values found in the generated data, to vary the cold runs."""

    practices: list[str]
    regions: list[str]
    sectors: list[str]
    measures: list[str]
    words: list[str] = field(default_factory=lambda: ["hub", "digital", "platform", "care", "smart", "data",
                                                      "network", "service", "rural", "innovation"])


def mix(p: Pools) -> dict[str, Callable[[random.Random], str]]:
    """The query mix: name -> a function that writes one query with parameters drawn from the pools."""
    queries: dict[str, Callable[[random.Random], str]] = {
        "iri-lookup": lambda r: f"SELECT ?p ?o WHERE {{ <{r.choice(p.practices)}> ?p ?o }}",
        "construct-practice": lambda r: (
            "CONSTRUCT { ?s ?p ?o } WHERE { "
            f"VALUES ?root {{ <{r.choice(p.practices)}> }} {{ ?root ?p ?o BIND(?root AS ?s) }} UNION "
            "{ ?root ?part ?s FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?root), \"#\"))) ?s ?p ?o } }"),
        "sector-region": lambda r: PREFIXES + (
            "SELECT DISTINCT ?p WHERE { ?p a n2m:GoodPractice ; n2m:ris3Sector ?s ; dcterms:spatial ?place . "
            f"?s skos:broader* <{r.choice(p.sectors)}> . ?place skos:broader* <{r.choice(p.regions)}> }}"),
        "count-by-region": lambda r: PREFIXES + (
            "SELECT ?region (COUNT(?p) AS ?n) WHERE { ?p a n2m:GoodPractice ; dcterms:spatial ?region } "
            "GROUP BY ?region ORDER BY DESC(?n)"),
        "sorted-listing": lambda r: PREFIXES + (
            "SELECT ?p ?title ?start ?region WHERE { ?p a n2m:GoodPractice . "
            "OPTIONAL { ?p dcterms:title ?title FILTER(langMatches(lang(?title), \"en\")) } "
            "OPTIONAL { ?p schema:startDate ?start } OPTIONAL { ?p dcterms:spatial ?region } } "
            f"ORDER BY ?title ?p LIMIT 20 OFFSET {r.randrange(0, 200) * 20}"),
        "broader-path": lambda r: PREFIXES + (
            f"SELECT DISTINCT ?p WHERE {{ ?p n2m:measureType ?m . ?m skos:broader* <{r.choice(p.measures)}> }}"),
        "text-filter": lambda r: PREFIXES + (
            "SELECT ?p ?t WHERE { ?p a n2m:GoodPractice ; dcterms:title ?t "
            f"FILTER(CONTAINS(LCASE(STR(?t)), \"{r.choice(p.words)}\")) }}"),
        "related-2-hop": lambda r: PREFIXES + (
            f"SELECT DISTINCT ?other WHERE {{ VALUES ?p {{ <{r.choice(p.practices)}> }} "
            "{ ?p n2m:mainInstitution ?org } UNION { ?p prov:qualifiedAttribution/prov:agent ?org } "
            "{ ?other n2m:mainInstitution ?org } UNION { ?other prov:qualifiedAttribution/prov:agent ?org } "
            "FILTER(?other != ?p) }"),
    }
    for q in list_queries():
        queries[f"rq:{q.name}"] = _canned(q, p)
    return queries


def _canned(q, p: Pools) -> Callable[[random.Random], str]:
    draw = {"iri": p.practices, "nuts": [r.rsplit("/", 1)[1] for r in p.regions]}

    def write(r: random.Random) -> str:
        values = {}
        for param in q.params:
            pool = draw.get(param.type)
            if pool and (param.default is None or r.random() < 0.8):
                values[param.name] = r.choice(pool)
        return q.bind(values)

    return write


# -- the three channels -----------------------------------------------------------------------------------------
def in_process(store: OxigraphStore) -> Callable[[str], int]:
    def run(text: str) -> int:
        result = store.query(text)
        if result.kind == "select":
            return len(result.rows())
        return 1 if result.kind == "ask" else len(list(result.triples()))
    return run


def over_http(url: str) -> Callable[[str], int]:
    session = requests.Session()

    def run(text: str) -> int:
        accept = NT if "CONSTRUCT" in text.split("WHERE", 1)[0].upper() else JSON
        r = session.post(url, data={"query": text}, headers={"Accept": accept}, timeout=120)
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        if r.headers.get("X-SQL-State") == "S1TAT":
            raise RuntimeError("Virtuoso timeout (partial result)")
        timing = r.headers.get("Server-Timing", "")  # ours only: the time inside the server
        total = [part.split(";dur=")[1] for part in timing.split(",") if part.strip().startswith("total;dur=")]
        run.server_ms = float(total[0]) if total else None  # type: ignore[attr-defined]
        # the store's part as our server timed it (behind Virtuoso: the exchange with it, its own work included)
        store = [part.split(";dur=")[1] for part in timing.split(",") if part.strip().startswith("query;dur=")]
        run.store_ms = float(store[0]) if store else None  # type: ignore[attr-defined]
        return len(r.content)
    return run


def overhead(local: Callable[[str], int], url: str, write: Callable[[random.Random], str], n: int = 40) -> dict:
    """Where the time of a cheap query goes: in-process, through HTTP at the client, and inside the server as its
    Server-Timing header tells (the whole request, the worker round trip, the store's own work). Medians, ms."""
    session, rng = requests.Session(), random.Random(11)
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    plain = http.client.HTTPConnection(host, int(port), timeout=60)  # keep-alive, as urllib (SPARQLWrapper) does
    rows: dict[str, list[float]] = {"in-process": [], "http client": [], "http stdlib client": [],
                                    "server total": [], "worker": [], "store query": []}
    for i in range(n):
        text = write(rng) + f"\n# overhead {i}"
        t0 = time.perf_counter()
        local(text)
        rows["in-process"].append((time.perf_counter() - t0) * 1000)
        body = urllib.parse.urlencode({"query": text + " stdlib"})
        t0 = time.perf_counter()
        plain.request("POST", "/sparql", body, {"Content-Type": "application/x-www-form-urlencoded", "Accept": JSON})
        plain.getresponse().read()
        rows["http stdlib client"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        r = session.post(url + "/sparql", data={"query": text + " http"}, headers={"Accept": JSON}, timeout=60)
        rows["http client"].append((time.perf_counter() - t0) * 1000)
        timing = dict(part.strip().split(";dur=") for part in r.headers["Server-Timing"].split(",") if "dur=" in part)
        rows["server total"].append(float(timing["total"]))
        rows["worker"].append(float(timing["worker"]))
        # pyoxigraph evaluates lazily: the answer is computed while it is serialised
        rows["store query"].append(float(timing["query"]) + float(timing.get("serialise", 0)))
    return {k: round(statistics.median(v), 2) for k, v in rows.items()}


def measure(channels: dict[str, Callable[[str], int]], write: Callable[[random.Random], str], runs: int,
            seed: int) -> dict[str, dict]:
    """Per channel, the median ms of ``runs`` cold calls (new parameters, new text each time) and of ``runs`` warm
    repeats. The channels take turns within each run, so that a machine that gets busier or quieter meanwhile
    weighs on all of them alike."""
    rng = random.Random(seed)
    texts = [write(rng) + f"\n# cold run {seed}-{i}" for i in range(runs)]  # new texts: no cache keyed on them
    warm_text = write(rng)
    times: dict[str, dict[str, list[float]]] = {ch: {"cold": [], "warm": [], "warm_server": [], "cold_store": []}
                                                for ch in channels}
    failed: dict[str, str] = {}

    def call(ch: str, text: str, into: str) -> None:
        if ch in failed:
            return
        try:
            t0 = time.perf_counter()
            channels[ch](text)
            if into:  # "" for a warm-up
                times[ch][into].append((time.perf_counter() - t0) * 1000)
        except Exception as e:  # noqa: BLE001 (a failed query is a figure too)
            failed[ch] = str(e)[:120]
            return
        if into == "warm" and getattr(channels[ch], "server_ms", None) is not None:
            times[ch]["warm_server"].append(channels[ch].server_ms)  # type: ignore[attr-defined]
        if into == "cold" and getattr(channels[ch], "store_ms", None) is not None:
            times[ch]["cold_store"].append(channels[ch].store_ms)  # type: ignore[attr-defined]

    for i, text in enumerate(texts):
        for ch in _turns(channels, i):
            call(ch, text, "cold")
    for ch in channels:
        call(ch, warm_text, "")  # warm-up
    for i in range(runs):
        for ch in _turns(channels, i):
            call(ch, warm_text, "warm")
    out: dict[str, dict] = {}
    for ch, t in times.items():
        if ch in failed:
            out[ch] = {"error": failed[ch]}
            continue
        out[ch] = {"cold": statistics.median(t["cold"]), "warm": statistics.median(t["warm"])}
        if t["warm_server"]:
            out[ch]["warm_server"] = statistics.median(t["warm_server"])
        if t["cold_store"]:
            out[ch]["cold_store"] = statistics.median(t["cold_store"])
    return out


def _turns(channels: dict, i: int) -> list[str]:
    """The channels in the order of run ``i``: rotated each run, so that none always goes first."""
    names = list(channels)
    k = i % len(names)
    return names[k:] + names[:k]


# -- one size ---------------------------------------------------------------------------------------------------
def run_size(label: str, triples: int, work: Path, args) -> dict:
    out: dict = {"size": label, "triples": triples}
    data, store_dir = work / f"data-{label}", work / f"store-{label}"
    t0 = time.perf_counter()
    _check([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--triples", str(triples), "--out", str(data)])
    out["generate_s"] = time.perf_counter() - t0
    shutil.rmtree(store_dir, ignore_errors=True)
    seconds, peak = _timed([sys.executable, "-m", "next2met.graph.cli", "build", "--quiet", "--data", str(data),
                            "--store", str(store_dir)])
    out["build_s"], out["build_peak_mb"] = seconds, peak
    if "http" in args.channels:  # start-up right after the build and again (restart), memory of the tree, disk
        out["ops"] = {when: measure_start(store_dir, data=data) for when in ("first start", "restart")}
        print(f"  {label} operations: {out['ops']}", file=sys.stderr)
    store = OxigraphStore(store_dir, read_only=True)
    out["quads"] = store.count()
    pools = _pools(store)
    queries = mix(pools)
    # in-process on what the server's workers read: a copy in memory up to query_memory_quads, else the disk
    reader: OxigraphStore = store
    if out["quads"] <= Settings().query_memory_quads:
        t0 = time.perf_counter()
        reader = store.memory_copy(Path(tempfile.mkdtemp(prefix="n2m-bench-")))
        out["memory_copy_s"] = time.perf_counter() - t0
    out["in_process_store"] = "memory" if reader is not store else "disk"
    wanted = args.channels
    channels: dict[str, Callable[[str], int]] = {"in-process": in_process(reader)} if "in-process" in wanted else {}
    server = virtuoso = remote_server = None
    try:
        if "http" in wanted:
            server, url = _serve(store_dir, data=data)
            channels["http"] = over_http(url + "/sparql")
        if VIRTUOSO and wanted & {"virtuoso", "http→virtuoso"}:
            virtuoso, load_s = _virtuoso(store_dir, triples, work / f"dump-{label}.nq")
            out["virtuoso_load_s"] = load_s
            if "virtuoso" in wanted:
                channels["virtuoso"] = over_http(virtuoso.sparql)
            if "http→virtuoso" in wanted:  # our endpoint with Virtuoso behind it (`next2met serve --store-url`)
                remote_server, remote_url = _serve(None, store_url=virtuoso.sparql, data=data)
                channels["http→virtuoso"] = over_http(remote_url + "/sparql")
        out["load_before"] = os.getloadavg()
        if remote_server is not None and virtuoso is not None:
            out["proxy_overhead"] = proxy_overhead(virtuoso.sparql, remote_url + "/sparql")
            print(f"  {label} proxy overhead: {out['proxy_overhead']}", file=sys.stderr)
        if server is not None and "in-process" in channels:
            out["overhead"] = overhead(channels["in-process"], url, queries["iri-lookup"])
            print(f"  {label} overhead: {out['overhead']}", file=sys.stderr)
        results: dict[str, dict] = {}
        for name, write in queries.items():
            # the same parameters for every channel and in every run (str hashes change from run to run)
            seed = zlib.crc32(name.encode())
            results[name] = measure(channels, write, args.runs, seed=seed)
            print(f"  {label} {name}: " + ", ".join(_fmt(v) for v in results[name].values()), file=sys.stderr)
        out["results"] = results
        out["load_after"] = os.getloadavg()
        out["bench_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if server is not None:
            out["server_peak_mb"] = _peak_mb(server.pid)
            workers = [_peak_mb(int(c)) for c in _children(server.pid)]
            out["worker_peak_mb"] = max((w for w in workers if w is not None), default=None)
        if virtuoso is not None:
            out["virtuoso_peak_mb"] = _peak_mb(virtuoso.proc.pid)
        if server is not None and args.concurrency_seconds > 0 and "in-process" in channels:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            server = None
            light = {name: queries[name] for name, r in results.items()
                     if r.get("in-process", {}).get("cold", 1e9) < LIGHT_MS}
            out["concurrency"] = {
                workers: concurrency(store_dir, light, workers, CLIENTS, args.concurrency_seconds, data=data)
                for workers in (1, 2)
            }
            print(f"  {label} concurrency: {out['concurrency']}", file=sys.stderr)
    finally:
        for proc in (server, remote_server):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        if virtuoso is not None:
            stop_virtuoso(virtuoso)
        store.close()
    return out


LIGHT_MS = 200.0  # the concurrency run uses the queries of the mix that take less than this in-process
CLIENTS = 4


def concurrency(store_dir: Path, queries: dict[str, Callable[[random.Random], str]], workers: int, clients: int,
                seconds: float, *, data: Path) -> dict:
    """``clients`` threads send cold queries of the mix for ``seconds`` to a server with ``workers`` query workers:
    answers per second, errors, and the median and 95th percentile latency."""
    server, url = _serve(store_dir, workers=workers, data=data)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng, run, writers = random.Random(seed), over_http(url + "/sparql"), list(queries.values())
        i = 0
        while time.monotonic() < deadline:
            text = rng.choice(writers)(rng) + f"\n# client {seed} run {i}"
            i += 1
            t0 = time.perf_counter()
            try:
                run(text)
            except Exception as e:  # noqa: BLE001 (an error is a figure)
                with lock:
                    errors.append(str(e)[:80])
                continue
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)

    try:
        threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    latencies.sort()
    return {
        "clients": clients, "answers_per_s": round(len(latencies) / elapsed, 1), "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
    }


def _pools(store: OxigraphStore) -> Pools:
    def values(q: str) -> list[str]:
        return [r["x"].value for r in store.query(PREFIXES + q).rows()]

    return Pools(
        practices=values("SELECT ?x WHERE { ?x a n2m:GoodPractice } LIMIT 500"),
        regions=values("SELECT DISTINCT ?x WHERE { ?p dcterms:spatial ?x } LIMIT 100"),
        sectors=values("SELECT ?x WHERE { ?x skos:topConceptOf ?s . ?y n2m:ris3Sector ?z . ?z skos:broader* ?x } "
                       "GROUP BY ?x"),
        measures=values("SELECT DISTINCT ?x WHERE { ?p n2m:measureType ?x }"),
    )


def _serve(store_dir: Path | None, workers: int = 2, store_url: str = "", *,
           data: Path) -> tuple[subprocess.Popen, str]:
    """``next2met serve`` on the embedded store in ``store_dir``, or on the remote store at ``store_url``, with the
    data folder the store was built from (``data``: with another one the server refuses to start)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")}
    env["NEXT2MET_QUERY_WORKERS"] = str(workers)
    store = ["--store-url", store_url] if store_url else ["--store", str(store_dir)]
    proc = subprocess.Popen([sys.executable, "-m", "next2met.graph.cli", "serve", *store, "--data", str(data),
                             "--port", str(port), "--query-timeout", "60", "--max-rows", "1000000"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                _warm_up(url, workers)
                if not store_url:
                    ready = _wait_for_memory(url, workers)
                    print(f"  workers answer from memory after {ready:.1f} s" if ready is not None
                          else "  workers answer from the store on disk", file=sys.stderr)
                return proc, url
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"next2met serve exited with {proc.returncode}")
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError("next2met serve did not start within 120 s")


def _warm_up(url: str, workers: int) -> None:
    """Let every query worker open the store once (a worker opens its snapshot on its first query; on the remote
    store the first query also asks for the store's state), so that the first cold runs measure queries, not that.
    Distinct queries sent at once, so that they reach different workers and none comes from the answer cache."""
    def ask(i: int) -> None:
        requests.post(url + "/sparql", data={"query": f"ASK {{ ?s ?p ?o }} # warm-up {i}"}, timeout=300)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2 * workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _wait_for_memory(url: str, workers: int, limit: float = 300.0) -> float | None:
    """Seconds until every query worker answers from its copy of the data in memory (``Server-Timing`` says
    ``store;desc="memory"``), or None if they do not within ``limit`` (a store above ``query_memory_quads``)."""
    started = time.monotonic()
    n = itertools.count()
    while time.monotonic() - started < limit:
        where: list[str] = []

        def ask(into: list[str]) -> None:
            r = requests.post(url + "/sparql", data={"query": f"ASK {{ ?s ?p ?o }} # memory {next(n)}"}, timeout=300)
            into.append(r.headers.get("Server-Timing", ""))

        threads = [threading.Thread(target=ask, args=(where,)) for _ in range(2 * workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if all('store;desc="memory"' in w for w in where):
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def _virtuoso(store_dir: Path, triples: int, dump: Path):
    _check([sys.executable, "-m", "next2met.graph.cli", "export", "--store", str(store_dir), "--format", "nquads",
            "--output", str(dump)])
    buffers = 170_000 if triples > 500_000 else 20_000  # 8 KB pages: 1.3 GB of page cache for 1M triples
    v = start_virtuoso(buffers=buffers, dirty=buffers * 3 // 4, max_rows=1_000_000, max_exec=120)
    try:
        seconds = v.bulk_load(dump, BASE + "graph/default")
    except BaseException:
        stop_virtuoso(v)
        raise
    dump.unlink()
    return v, seconds


def _check(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({r.returncode}): {r.stderr[-2000:]}")


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Run a command; its wall time and its own peak memory (MB), from wait4's rusage of that child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} ... failed: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def _children(pid: int) -> list[str]:
    """The process ids of ``pid``'s children (the query workers of a server)."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def _peak_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# -- report -----------------------------------------------------------------------------------------------------
def _fmt(v: dict) -> str:
    if "error" in v:
        return "error"
    return f"{v['cold']:.1f}/{v['warm']:.1f}"


def table(out: dict) -> str:
    """A Markdown table of one size: median cold / warm ms per query and channel."""
    order = ["http", "in-process", "virtuoso", "http→virtuoso"]
    channels = sorted({ch for r in out["results"].values() for ch in r}, key=order.index)
    lines = [f"### {out['size']} ({out['quads']} quads)", "",
             "| query | " + " | ".join(f"{c} cold / warm (ms)" for c in channels) + " |",
             "|---|" + "---|" * len(channels)]
    for name, r in out["results"].items():
        lines.append(f"| {name} | " + " | ".join(_fmt(r.get(c, {"error": ""})) for c in channels) + " |")
    for c in channels:
        colds = [r[c]["cold"] for r in out["results"].values() if "cold" in r.get(c, {})]
        if colds:
            lines.append(f"| **median of the mix, {c}** | {statistics.median(colds):.1f} ms cold |"
                         + " |" * (len(channels) - 1))
    lines += ["", *targets(out), *proxy(out), *operations(out)]
    loads = ", ".join(f"{k} {out[k]:.1f}" for k in ("generate_s", "build_s", "memory_copy_s", "virtuoso_load_s")
                      if k in out)
    peaks = ", ".join(f"{k} {out[k]:.0f}" for k in ("build_peak_mb", "server_peak_mb", "worker_peak_mb",
                                                     "bench_peak_mb", "virtuoso_peak_mb") if out.get(k) is not None)
    if out.get("load_before"):
        lines.append("Load average (1, 5, 15 min) before the mix " + " ".join(f"{x:.2f}" for x in out["load_before"])
                     + ", after " + " ".join(f"{x:.2f}" for x in out.get("load_after", ())))
    lines += ["", f"Load: {loads} s; peak memory: {peaks} MB; in-process and the server's workers read the "
              f"store {'in memory' if out.get('in_process_store') == 'memory' else 'on disk'}", ""]
    if out.get("overhead"):
        o = out["overhead"]
        lines += [f"Overhead on one-practice lookups (median of 40): in-process {o['in-process']} ms; through HTTP "
                  f"{o['http client']} ms at the client with requests, {o.get('http stdlib client', '-')} ms with "
                  f"Python's http.client (what urllib and SPARQLWrapper use), of which {o['server total']} ms in the "
                  f"server (worker round trip {o['worker']} ms, the store's own work, query and serialisation, "
                  f"{o['store query']} ms); HTTP overhead over the in-process call with http.client "
                  f"{o.get('http stdlib client', o['http client']) - o['in-process']:.2f} ms", ""]
    for workers, c in out.get("concurrency", {}).items():
        lines.append(f"Concurrency, {c['clients']} clients, {workers} query worker(s): {c['answers_per_s']} answers/s, "
                     f"{c['errors']} errors, median {c['median_ms']} ms, p95 {c['p95_ms']} ms")
    if out.get("concurrency"):
        lines.append("")
    return "\n".join(lines)


def targets(out: dict) -> list[str]:
    """The issue's targets for the http channel, counted: the slow queries, those within 2x of Virtuoso, the warm
    repeats under 5 ms (at the client, and inside the server, where a cache hit is answered)."""
    http = {name: r["http"] for name, r in out["results"].items() if "cold" in r.get("http", {})}
    if not http:
        return []
    slow = sorted(f"{name} {v['cold']:.0f} ms" for name, v in http.items() if v["cold"] >= 500)
    lines = [f"- cold, 500 ms or more through http: {', '.join(slow) if slow else 'none'} (of {len(http)})"]
    virtuoso = {name: r["virtuoso"]["cold"] for name, r in out["results"].items() if "cold" in r.get("virtuoso", {})}
    if virtuoso:
        beyond = sorted(f"{name} ({http[name]['cold']:.1f} vs {virtuoso[name]:.1f} ms)" for name in http
                        if name in virtuoso and http[name]["cold"] > 2 * virtuoso[name])
        lines.append(f"- cold, within 2x of Virtuoso: {len(http) - len(beyond)} of {len(http)}"
                     + (f"; beyond: {', '.join(beyond)}" if beyond else ""))
    warm = [v["warm"] for v in http.values()]
    server = [v["warm_server"] for v in http.values() if "warm_server" in v]
    lines.append(f"- warm repeats under 5 ms at the client: {sum(w < 5 for w in warm)} of {len(warm)}"
                 + (f"; inside the server (answer cache): median {statistics.median(server):.2f} ms, longest "
                    f"{max(server):.2f} ms" if server else ""))
    return [*lines, ""]


def proxy(out: dict) -> list[str]:
    """What our endpoint in front of Virtuoso adds to Virtuoso's own answers: the medians of the mix, and the
    median of the differences query by query."""
    pairs = [(r["http→virtuoso"]["cold"], r["virtuoso"]["cold"]) for r in out["results"].values()
             if "cold" in r.get("http→virtuoso", {}) and "cold" in r.get("virtuoso", {})]
    if not pairs:
        return []
    ours, theirs = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    diffs = sorted(a - b for a, b in pairs)
    lines = [f"- in front of Virtuoso: median of the mix {ours:.1f} ms against Virtuoso's {theirs:.1f} ms "
             f"(+{ours - theirs:.1f} ms); query by query, median +{statistics.median(diffs):.1f} ms "
             f"(from {diffs[0]:+.1f} to {diffs[-1]:+.1f}, {len(pairs)} queries)"]
    store = [(r["http→virtuoso"]["cold_store"], r["virtuoso"]["cold"]) for r in out["results"].values()
             if "cold_store" in r.get("http→virtuoso", {}) and "cold" in r.get("virtuoso", {})]
    if store:  # Virtuoso's answer to our rewritten query as our server waited for it, against Virtuoso's own
        at = statistics.median(a for a, _ in store)
        lines.append(f"- of which waiting for Virtuoso's answer to the rewritten query (graph exclusions): median of "
                     f"the mix {at:.1f} ms (+{at - theirs:.1f} ms over Virtuoso's own, at the client); the rest "
                     f"is our server and its HTTP, {ours - at:.1f} ms")
    if out.get("proxy_overhead"):
        o = out["proxy_overhead"]
        extra = o["ours"] - o["virtuoso"]
        lines.append(f"- a query that costs Virtuoso nothing (`ASK` of one triple, median of {o['n']}): Virtuoso "
                     f"{o['virtuoso']:.2f} ms, through our endpoint {o['ours']:.2f} ms (+{extra:.2f} ms)")
    return [*lines, ""]


def proxy_overhead(virtuoso_url: str, remote_url: str, n: int = 60) -> dict:
    """What our endpoint adds to a query that costs Virtuoso nothing: an ASK of one triple, a new one each time,
    to Virtuoso and through our endpoint in turn, with Python's http.client (kept-alive connections). Medians, ms."""
    conns = {}
    for name, url in (("virtuoso", virtuoso_url), ("ours", remote_url)):
        parts = urllib.parse.urlsplit(url)
        conns[name] = (http.client.HTTPConnection(parts.hostname, parts.port, timeout=60), parts.path)
    times: dict[str, list[float]] = {name: [] for name in conns}
    for i in range(n):
        for name in _turns(conns, i):
            conn, path = conns[name]
            body = urllib.parse.urlencode({"query": f"ASK {{ <urn:x:overhead-{i}> ?p ?o }}"})
            t0 = time.perf_counter()
            conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", "Accept": JSON})
            conn.getresponse().read()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {"n": n, **{name: statistics.median(v) for name, v in times.items()}}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    version = subprocess.run([VIRTUOSO, "-?"], capture_output=True, text=True) if VIRTUOSO else None
    virt = [f"Virtuoso {line.split()[1]}" for line in (version.stdout + version.stderr).splitlines()
            if line.startswith("Version")][:1] if version else []
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, pyoxigraph {ox.__version__}"
            + (f", {virt[0].strip()}" if virt else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k, 100k, 1m (default all)")
    parser.add_argument("--runs", type=int, default=5, help="cold runs and warm repeats per query (default 5)")
    parser.add_argument("--work", type=Path, default=None, help="folder for data and stores (default: a temp dir)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP endpoint")
    parser.add_argument("--no-virtuoso", action="store_true", help="skip Virtuoso")
    parser.add_argument("--channels", default=",".join(CHANNELS),
                        help="comma-separated channels to measure, of " + ", ".join(CHANNELS) + " (remote is "
                             "http→virtuoso; default all); e.g. virtuoso,remote for the proxy alone")
    parser.add_argument("--concurrency-seconds", type=float, default=10.0,
                        help=f"seconds of {CLIENTS} concurrent clients against 1 and then 2 query workers (0: skip)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--report", type=Path, default=None, metavar="JSON",
                        help="print the tables of figures written earlier with --json, measuring nothing")
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        print(f"Machine: {saved['machine']}\n")
        for out in saved["sizes"]:
            print(table(out))
        return 0
    args.channels = {"http→virtuoso" if c.strip() == "remote" else c.strip() for c in args.channels.split(",")}
    if args.channels - set(CHANNELS):
        parser.error(f"unknown channel {', '.join(sorted(args.channels - set(CHANNELS)))}; use {', '.join(CHANNELS)}")
    if args.no_http:
        args.channels -= {"http", "http→virtuoso"}
    if args.no_virtuoso:
        args.channels -= {"virtuoso", "http→virtuoso"}
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}; use {', '.join(SIZES)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="n2m-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}\n")
    results = []
    try:
        for label in sizes:
            out = run_size(label, SIZES[label], work, args)
            results.append(out)
            print(table(out), flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "sizes": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
