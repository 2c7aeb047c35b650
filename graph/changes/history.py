"""The history of the data folder: every accepted change is a numbered version with who, when, why and what.

Kept in the data folder itself (``.next2met/history/``), so it survives restarts and rebuilds and travels with
the data: ``log.jsonl`` holds one line per version, appended and flushed to disk before the change is
acknowledged; ``objects/`` holds each graph's content after (and, the first time, before) a version, as sorted
N-Triples, gzipped and named by their SHA-256, so a version can be shown, compared and restored. A line torn by a
crash is skipped when reading. When the data folder is a git repository, each version is also a commit of its
files with the version's author and message.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .files import STATE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphVersion:
    graph: str
    file: str | None
    before: str | None  # digest of the content before the version (None: no graph)
    after: str | None  # digest after (None: the graph was dropped)


@dataclass(frozen=True)
class Version:
    number: int
    at: str
    author: str
    message: str
    channel: str
    graphs: tuple[GraphVersion, ...]
    subjects: tuple[str, ...] = ()
    fields: dict[str, list[str]] = field(default_factory=dict)  # subject -> the keys that changed

    def touches(self, graph: str) -> GraphVersion | None:
        return next((g for g in self.graphs if g.graph == graph), None)

    def as_json(self) -> dict:
        return {
            "version": self.number,
            "at": self.at,
            "author": self.author,
            "message": self.message,
            "channel": self.channel,
            "subjects": list(self.subjects),
            "fields": self.fields,
            "graphs": [{"graph": g.graph, "file": g.file, "before": g.before, "after": g.after} for g in self.graphs],
        }

    @classmethod
    def from_json(cls, d: dict) -> Version:
        return cls(
            int(d["version"]),
            d["at"],
            d["author"],
            d.get("message", ""),
            d.get("channel", ""),
            tuple(GraphVersion(g["graph"], g.get("file"), g.get("before"), g.get("after")) for g in d["graphs"]),
            tuple(d.get("subjects", ())),
            d.get("fields", {}),
        )


def content_text(quads: Iterable[ox.Quad]) -> bytes:
    """A graph's content as sorted N-Triples (graph names dropped): what the history keeps and digests."""
    lines = sorted({str(ox.Triple(q.subject, q.predicate, q.object)) for q in quads})
    return "".join(f"{line} .\n" for line in lines).encode("utf-8")


def digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


class History:
    """The versions of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / STATE / "history"
        self.log = self.folder / "log.jsonl"
        self.objects = self.folder / "objects"
        self._cache: tuple[tuple[int, int], list[Version]] | None = None

    # -- reading -------------------------------------------------------------------------------------------
    def versions(self) -> list[Version]:
        """Every version, oldest first (a torn last line is skipped)."""
        try:
            stat = self.log.stat()
        except OSError:
            return []
        key = (stat.st_size, stat.st_mtime_ns)
        if self._cache and self._cache[0] == key:
            return self._cache[1]
        found = []
        with open(self.log, encoding="utf-8") as f:
            for line in f:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    found.append(Version.from_json(json.loads(line)))
        self._cache = (key, found)
        return found

    def of_graph(self, graph: str) -> list[Version]:
        return [v for v in self.versions() if v.touches(graph)]

    def get(self, number: int) -> Version | None:
        return next((v for v in self.versions() if v.number == number), None)

    def content(self, sha: str | None) -> list[ox.Triple] | None:
        """The triples kept under a digest (None for None: no graph)."""
        if sha is None:
            return None
        try:
            data = gzip.decompress((self.objects / sha[:2] / sha).read_bytes())
        except OSError:
            return None
        return list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))

    def content_at(self, graph: str, number: int) -> tuple[bool, list[ox.Triple] | None]:
        """The graph as it was after version ``number`` (``0``: before its first recorded change): (known, triples);
        triples is None when the graph did not exist then."""
        versions = self.of_graph(graph)
        if not versions:
            return False, None
        upto = [v for v in versions if v.number <= number]
        if upto:
            return True, self.content(upto[-1].touches(graph).after)  # type: ignore[union-attr]
        return True, self.content(versions[0].touches(graph).before)  # type: ignore[union-attr]

    # -- writing (under the data folder's lock) ------------------------------------------------------------
    def next_number(self) -> int:
        versions = self.versions()
        return versions[-1].number + 1 if versions else 1

    def keep(self, text: bytes) -> str:
        """Store a graph's content; return its digest."""
        sha = digest(text)
        target = self.objects / sha[:2] / sha
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            with open(tmp, "wb") as f:
                f.write(gzip.compress(text, mtime=0))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        return sha

    def append(self, version: Version) -> None:
        """Add a version to the log, on disk before this returns."""
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(version.as_json(), ensure_ascii=False, sort_keys=True) + "\n"
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._cache = None


# -- git ------------------------------------------------------------------------------------------------------------
def git_root(folder: Path) -> Path | None:
    """The folder itself when it is the top of a git work tree, else None (also without a git command). A data
    folder that is only part of another repository (data/ of a checkout of this software) is not committed to:
    its changes stay for the developer to review."""
    if shutil.which("git") is None or not (folder / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    return top if top is not None and top.resolve() == folder.resolve() else None


def git_commit(folder: Path, files: Iterable[Path], author: str, message: str) -> str | None:
    """Commit these files (only these) with the version's author and message; the commit id, or None."""
    root = git_root(folder)
    if root is None:
        return None
    rel = [str(p.resolve().relative_to(root.resolve())) for p in files]
    name = " ".join(author.split()) or "anonymous"
    ident = ["-c", f"user.name={name}", "-c", "user.email=next2met@localhost"]
    try:
        subprocess.run(["git", "-C", str(root), "add", "-A", "--", *rel], capture_output=True, timeout=30, check=True)
        done = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                *ident,
                "commit",
                "-q",
                "--no-verify",
                "-m",
                message,
                f"--author={name} <next2met@localhost>",
                "--",
                *rel,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            log.warning("git commit in %s failed: %s", root, done.stderr.strip() or done.stdout.strip())
            return None
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
        return head.stdout.strip() or None
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("git commit in %s failed: %s", root, e)
        return None
