"""``next2met serve`` in a subprocess, as a user runs it (waitress, query workers), over a copy of the built store:
for the tests that need real processes (memory of the process tree, worker deaths, slow connections, a full disk).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cmdline(pid: int) -> str:
    """The command line of a process ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError):
        return 0.0


class Served:
    """A running ``next2met serve``; ``settings`` become NEXT2MET_* variables."""

    def __init__(self, store: Path, log_dir: Path, **settings) -> None:
        from tests.conftest import data_copy

        settings.setdefault("data_dir", data_copy())  # never the checkout's data/, which writes would change
        self.port = free_port()
        self.store = store
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEXT2MET_")}
        env.update({f"NEXT2MET_{k.upper()}": str(v) for k, v in settings.items()})
        command = [str(Path(sys.executable).parent / "next2met"), "serve", "--port", str(self.port),
                   "--store", str(store)]
        self.log = (log_dir / f"serve-{self.port}.log").open("w+")
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"next2met serve did not come up: {output[-2000:]}")
            time.sleep(0.1)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def workers(self) -> list[int]:
        """The query workers: the children that run ``worker_process`` (the server also starts short-lived
        children of other kinds, preparing the dumps or deriving graphs, which come and go on their own)."""
        return [pid for pid in children(self.proc.pid) if "worker_process" in cmdline(pid)]

    def tree_rss_mb(self) -> float:
        return rss_mb(self.proc.pid) + sum(rss_mb(pid) for pid in children(self.proc.pid))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def serve_copy(built_store: Path, tmp_path: Path, **settings) -> Served:
    """Serve a private copy of the built store."""
    target = tmp_path / "store"
    shutil.copytree(built_store, target, symlinks=True)
    return Served(target, tmp_path, **settings)
