"""Edit to live: how long from a PUT of a practice until its new title is visible through /sparql and on its page.

For each size, a data folder is generated (``generate.py``: the real files plus synthetic practices), built into a
store and served by ``next2met serve`` (a real process, as in production); then 20 edits of one real practice are
sent one after the other, each a GET of its YAML and ETag and a PUT with a new title and ``If-Match``. For each
edit the script polls ``/sparql`` (ASK for the new title) and the practice page until both show it, and prints the
median and maximum of: the PUT's answer time, the time until /sparql shows the title, and until the page does;
and, from the answer's Server-Timing, the write path's own time (validation, files, store, history) and the time
the change listeners took (caches, change feed) before the answer.

The edits begin once the server is ready: ``/health`` lists nothing under ``preparing`` (the dumps, the change log,
the derived graphs and the query workers' copies in memory, made in the background after start; at 1M quads the
first derivation takes minutes). The script prints how long that took, and, after the edits, how long the derived
graphs (learning network, quality: recomputed in the background, coalesced) took to follow the last edit. Every
figure is printed with the machine's load average (``/proc/loadavg``) when it was taken.

    python benchmarks/edit_to_live.py                     # 10k, 100k and 1M triples
    python benchmarks/edit_to_live.py --sizes 10k --edits 5
    python benchmarks/edit_to_live.py --work /tmp/n2m-live # keep the generated data and stores

The target (issue 12) is under a second at 1M triples.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SLUG = "digital-consultations-longford"
TOKEN = "edit-to-live-benchmark"
TITLE = "Digital consultations to inform Local Digital Strategies"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)


def prepare(size: str, work: Path) -> tuple[Path, Path]:
    data, store = work / f"data-{size}", work / f"store-{size}"
    if not data.exists():
        run([sys.executable, str(HERE / "generate.py"), "--triples", str(SIZES[size]), "--out", str(data)])
    shutil.rmtree(data / ".next2met", ignore_errors=True)
    if store.exists():
        shutil.rmtree(store)
    t0 = time.perf_counter()
    run([sys.executable, "-m", "next2met.graph.cli", "build", "--quiet", "--store", str(store), "--data", str(data)])
    print(f"  {size}: built in {time.perf_counter() - t0:.1f} s", flush=True)
    return data, store


def load() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def ready(url: str, timeout: float = 7200) -> float:
    """Wait until the server prepares nothing more (dumps, change log, derived graphs, memory copies); seconds."""
    t0 = time.perf_counter()
    while requests.get(url + "/health", timeout=60).json()["preparing"]:
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"the server was still preparing after {timeout} s")
        time.sleep(1)
    return time.perf_counter() - t0


def derived(url: str) -> float:
    """Seconds until /health no longer lists the derived graphs as being made."""
    t0 = time.perf_counter()
    while "derived graphs" in requests.get(url + "/health", timeout=60).json()["preparing"]:
        time.sleep(0.2)
    return time.perf_counter() - t0


def serve(data: Path, store: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "NEXT2MET_UPDATE_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "next2met.graph.cli", "serve", "--store", str(store), "--data", str(data),
         "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", timeout=5).status_code == 200:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not start")


def visible_in_sparql(url: str, title: str) -> bool:
    query = (f'ASK {{ <https://w3id.org/next2met/practice/{SLUG}> <http://purl.org/dc/terms/title> '
             f'"{title}"@en }}')
    r = requests.post(url + "/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                      timeout=30)
    return r.status_code == 200 and r.json().get("boolean") is True


def visible_on_page(url: str, title: str) -> bool:
    r = requests.get(f"{url}/practice/{SLUG}", headers={"Accept": "text/html"}, timeout=30)
    return r.status_code == 200 and title in r.text


def edits(url: str, count: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"PUT answered": [], "visible in /sparql": [], "visible on the page": [],
                                     "write path (server)": [], "listeners (server)": []}
    for i in range(count):
        current = requests.get(f"{url}/api/practices/{SLUG}", headers={"Accept": "application/yaml"}, timeout=30)
        title = f"Digital consultations, edit {i} at {time.time():.0f}"
        body = current.text.replace(TITLE, title) if TITLE in current.text else current.text.replace(
            current.text.split("  en: ", 1)[1].split("\n", 1)[0], title, 1)
        t0 = time.perf_counter()
        r = requests.put(f"{url}/api/practices/{SLUG}", data=body.encode("utf-8"), timeout=1800, headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/yaml",
            "If-Match": current.headers["ETag"], "X-Next2Met-Message": f"benchmark edit {i}"})
        answered = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"edit {i}: {r.status_code} {r.text[:300]}")
        sparql = page = None
        while sparql is None or page is None:
            now = time.perf_counter() - t0
            if sparql is None and visible_in_sparql(url, title):
                sparql = time.perf_counter() - t0
            if page is None and visible_on_page(url, title):
                page = time.perf_counter() - t0
            if now > 1800:
                raise SystemExit(f"edit {i}: not visible after 1800 s")
        steps = dict(part.split(";dur=") for part in r.headers.get("Server-Timing", "").split(", ") if ";dur=" in part)
        times["write path (server)"].append(sum(float(v) for k, v in steps.items() if k != "listeners") / 1000)
        times["listeners (server)"].append(float(steps.get("listeners", 0)) / 1000)
        times["PUT answered"].append(answered)
        times["visible in /sparql"].append(sparql)
        times["visible on the page"].append(page)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k, 100k, 1m")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--work", type=Path, default=None, help="folder for data and stores (default: temporary)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="n2m-edit-to-live-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in [s.strip().lower() for s in args.sizes.split(",") if s.strip()]:
        data, store = prepare(size, work)
        process, url = serve(data, store)
        try:
            waited = ready(url)
            print(f"  {size}: ready {waited:.0f} s after /health first answered (load {load()})", flush=True)
            times = edits(url, args.edits)
            during = load()
            follow = derived(url)
            print(f"  {size}: derived graphs current {follow:.1f} s after the last edit (load {load()})", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=60)
        for what, values in times.items():
            rows.append((size, what, statistics.median(values) * 1000, max(values) * 1000, during))
            print(f"  {size}: {what:<22} median {rows[-1][2]:8.0f} ms, max {rows[-1][3]:8.0f} ms (load {during})",
                  flush=True)
    print(f"\n{'size':>5}  {'ms from PUT':<22} {'median':>8} {'max':>8}   load after ({args.edits} edits each)")
    for size, what, median, worst, during in rows:
        print(f"{size:>5}  {what:<22} {median:8.0f} {worst:8.0f}   {during}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
