"""A throw-away Virtuoso 7 (Debian ``virtuoso-opensource``) for the tests and the benchmarks.

``start_virtuoso()`` writes a minimal ``virtuoso.ini`` into a temporary folder (database, logs and load folder
all inside it), binds both listeners (SQL and HTTP) to free loopback ports, starts ``virtuoso-t +foreground``
and waits until ``/sparql`` answers. Tried recipe: /work/shared/recipes/virtuoso-in-tests.md. Loaded as a pytest
plugin by ``tests/conftest.py``; the session fixture ``virtuoso`` skips with a clear message when virtuoso-t is
not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt") or shutil.which("isql")
VAD = "/usr/share/virtuoso-opensource-7/vad"
INSTALL_HINT = "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y virtuoso-opensource"

# One key = value per line. NumberOfBuffers 20000 is about 170 MB of page cache: enough for the real data and
# the 100k-triple benchmark; the benchmark raises it for 1M triples.
INI = """\
[Database]
DatabaseFile       = {d}/virtuoso.db
ErrorLogFile       = {d}/virtuoso.log
LockFile           = {d}/virtuoso.lck
TransactionFile    = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {d}/virtuoso-temp.db
TransactionFile    = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort            = 127.0.0.1:{sql_port}
DisableUnixSocket     = 1
MaxClientConnections  = 10
CheckpointInterval    = 0
O_DIRECT              = 0
CaseMode              = 2
MaxStaticCursorRows   = 5000
AllowOSCalls          = 0
SchedulerInterval     = 10
DirsAllowed           = ., {d}, {vad}
ThreadCleanupInterval = 0
ThreadThreshold       = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize     = 100000
VADInstallDir         = {vad}/
MaxMemPoolSize        = 100000000
ThreadsPerQuery       = 2
AsyncQueueMaxThreads  = 4
NumberOfBuffers       = {buffers}
MaxDirtyBuffers       = {dirty}

[HTTPServer]
ServerPort            = 127.0.0.1:{http_port}
ServerRoot            = /usr/share/virtuoso-opensource-7/vsp
MaxClientConnections  = 10
DavRoot               = DAV
EnabledDavVSP         = 0
HTTPProxyEnabled      = 0
TempASPXDir           = 0
MaxKeepAlives         = 10
KeepAliveTimeout      = 10
HTTPThreadSize        = 280000
HttpPrintWarningsInOutput = 0
Charset               = UTF-8
ServerThreads         = 10

[AutoRepair]
BadParentLinks = 0

[Client]
SQL_PREFETCH_ROWS  = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT  = 0
SQL_TXN_TIMEOUT    = 0

[URIQA]
DynamicLocal = 0
DefaultHost  = localhost:{http_port}

[SPARQL]
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = {max_cost}
MaxQueryExecutionTime      = {max_exec}
DeferInferenceRulesInit    = 0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Virtuoso:
    """A running Virtuoso: its folder, ports and process."""

    dir: Path
    sql_port: int
    http_port: int
    proc: subprocess.Popen
    startup_seconds: float
    max_rows: int
    user: str = "dba"
    password: str = "dba"
    load_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.load_dir = self.dir / "load"  # inside DirsAllowed, for isql bulk loads

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql(self) -> str:
        """The anonymous, read-only endpoint."""
        return self.base + "/sparql"

    @property
    def sparql_auth(self) -> str:
        """The endpoint that runs as the Digest-authenticated user (updates)."""
        return self.base + "/sparql-auth"

    def isql(self, sql: str, timeout: float = 600) -> str:
        """Run SQL statements through isql-vt; raise when any of them fails (isql itself exits 0 then)."""
        r = subprocess.run(
            [ISQL or "isql-vt", f"127.0.0.1:{self.sql_port}", self.user, self.password, "VERBOSE=OFF", "BANNER=OFF",
             "PROMPT=OFF", "ECHO=OFF", "ERRORS=STDOUT", f"EXEC={sql}"],
            capture_output=True, text=True, timeout=timeout,
        )
        out = r.stdout + r.stderr
        if r.returncode != 0 or "*** Error" in out:
            raise RuntimeError(f"isql failed ({r.returncode}): {out.strip()}")
        return out

    def bulk_load(self, path: Path, graph: str) -> float:
        """Load an N-Quads or N-Triples file (triples go to ``graph``) with Virtuoso's own bulk loader; seconds."""
        self.load_dir.mkdir(exist_ok=True)
        target = self.load_dir / path.name
        shutil.copyfile(path, target)
        t0 = time.perf_counter()
        self.isql(f"ld_dir('{self.load_dir}', '{path.name}', '{graph}'); rdf_loader_run(); checkpoint;")
        errors = self.isql("SELECT ll_file, ll_error FROM DB.DBA.load_list WHERE ll_error IS NOT NULL;")
        seconds = time.perf_counter() - t0
        target.unlink()
        if "SP0" in errors or "37000" in errors:
            raise RuntimeError(f"bulk load of {path} failed: {errors.strip()}")
        self.isql("DELETE FROM DB.DBA.load_list;")
        return seconds

    def log_tail(self, n: int = 3000) -> str:
        parts = []
        for name in ("stdout.log", "virtuoso.log"):
            p = self.dir / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-n:])
        return "\n".join(parts)


def start_virtuoso(*, buffers: int = 20000, dirty: int = 15000, max_rows: int = 10000, max_exec: int = 60,
                   max_cost: int = 0, ready_timeout: float = 60) -> Virtuoso:
    """Start virtuoso-t on free loopback ports with a fresh database; return once /sparql answers."""
    if not VIRTUOSO:
        raise FileNotFoundError(f"virtuoso-t is not installed ({INSTALL_HINT})")
    d = Path(tempfile.mkdtemp(prefix="n2m-virtuoso-"))
    sql_port, http_port = free_port(), free_port()
    (d / "virtuoso.ini").write_text(INI.format(
        d=d, vad=VAD, sql_port=sql_port, http_port=http_port, buffers=buffers, dirty=dirty, max_rows=max_rows,
        max_exec=max_exec, max_cost=max_cost,
    ))
    t0 = time.monotonic()
    with (d / "stdout.log").open("w") as log:
        # +foreground keeps the server our child, so its PID is the server's; a new session keeps Ctrl-C of the
        # test run from reaching it before the fixture's own SIGTERM.
        proc = subprocess.Popen([VIRTUOSO, "+foreground", "+configfile", "virtuoso.ini"], cwd=d, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    v = Virtuoso(d, sql_port, http_port, proc, 0.0, max_rows)
    while True:
        if proc.poll() is not None:
            text = v.log_tail()
            shutil.rmtree(d, ignore_errors=True)
            raise RuntimeError(f"virtuoso-t exited with {proc.returncode}:\n{text}")
        try:
            r = requests.get(v.sparql, params={"query": "ASK {}"}, timeout=2)
            if r.status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() - t0 > ready_timeout:
            text = v.log_tail()
            stop_virtuoso(v)
            raise TimeoutError(f"virtuoso did not answer within {ready_timeout} s:\n{text}")
        time.sleep(0.2)
    v.startup_seconds = time.monotonic() - t0
    return v


def stop_virtuoso(v: Virtuoso) -> None:
    """Stop the server (SIGTERM is a quick shutdown, under 0.1 s) and remove its folder."""
    if v.proc.poll() is None:
        v.proc.send_signal(signal.SIGTERM)
        try:
            v.proc.wait(20)
        except subprocess.TimeoutExpired:
            v.proc.kill()
            v.proc.wait()
    shutil.rmtree(v.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def virtuoso() -> Iterator[Virtuoso]:
    """A Virtuoso for the whole session (row cap 10000, execution limit 60 s)."""
    if not VIRTUOSO or not ISQL:
        pytest.skip(f"Virtuoso tests need virtuoso-t and isql-vt ({INSTALL_HINT})")
    v = start_virtuoso()
    sys.stderr.write(f"\n[virtuoso ready in {v.startup_seconds:.2f} s on http {v.http_port}, sql {v.sql_port}]\n")
    yield v
    stop_virtuoso(v)


@pytest.fixture(scope="session")
def virtuoso_built(virtuoso: Virtuoso) -> Virtuoso:
    """The session Virtuoso holding the real dataset, loaded by ``next2met build --store-url``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")},
        "NEXT2MET_STORE_UPDATE_URL": virtuoso.sparql_auth,
        "NEXT2MET_STORE_USER": virtuoso.user,
        "NEXT2MET_STORE_PASSWORD": virtuoso.password,
        "NEXT2MET_STORE_AUTH": "digest",
    }
    cmd = [sys.executable, "-m", "next2met.graph.cli", "build", "--quiet", "--store-url", virtuoso.sparql]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"`next2met build --store-url {virtuoso.sparql}` failed ({r.returncode}):\n"
                           f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return virtuoso
