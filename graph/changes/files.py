"""The data folder: which source file holds a named graph, durable writes of files, and the folder's lock.

A file is written to a temporary file beside it, flushed to disk (fsync), renamed over the old one and the folder
flushed too, so that after a crash the file is either the old or the new one, never half of each. Several files
of one change are all written aside first and renamed together; if a rename fails, the ones already renamed get
their old content back.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .. import paths
from ..errors import DataFolderUnwritable
from ..formats import guess_format

log = logging.getLogger(__name__)
STATE = ".next2met"  # the folder inside the data folder for history and the lock; never read as data
RDF_SUFFIXES = (".ttl", ".nt", ".nq", ".trig")
SOURCE_SUFFIXES = (".yaml", ".yml", *RDF_SUFFIXES)


def is_source(path: Path, data_dir: Path) -> bool:
    """A file the build reads: YAML or RDF, not the context, not inside a hidden folder such as ``.next2met``."""
    parts = path.relative_to(data_dir).parts
    return (
        path.is_file()
        and not any(p.startswith(".") for p in parts)
        and (path.suffix in (".yaml", ".yml") or guess_format(path) is not None)
        and path.name != paths.CONTEXT_FILE.name
    )


def user_data_folder() -> Path:
    return Path(platformdirs.user_data_dir("next2met-kg")) / "data"


def is_checkout() -> bool:
    """True when the package runs from a source checkout (its data/ is the repository's own, to be edited)."""
    return (paths.ROOT / "pyproject.toml").is_file()


def ensure_data_folder(data_dir: str, announce=log.warning) -> Path:
    """The writable data folder: ``data_dir`` when given, the checkout's data/ in a checkout, else the per-user
    data folder, into which an installed package copies its data the first time (and says so)."""
    if data_dir:
        return Path(data_dir)
    if is_checkout():
        return paths.DATA_DIR
    return copy_packaged_data(user_data_folder(), announce)


def copy_packaged_data(target: Path, announce=log.warning) -> Path:
    """The data folder ``target``, filled with the packaged data the first time (and saying so)."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(paths.DATA_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "__init__.py", STATE))
        announce(
            f"copied the packaged data to {target}: edits are written there (set --data or "
            "NEXT2MET_DATA_DIR to use another folder)"
        )
    return target


@dataclass(frozen=True)
class Destination:
    """Where a named graph is kept: ``path`` (absolute) and ``relative`` (``data/practices/x.yaml``), or no file."""

    path: Path | None
    relative: str | None
    exists: bool

    @property
    def kind(self) -> str:
        if self.path is None:
            return "none"
        return "yaml" if self.path.suffix in (".yaml", ".yml") else self.path.suffix.lstrip(".")


def destination(graph: str, base: str, data_dir: Path, *, create: bool) -> Destination:
    """The source file of ``graph`` (``{base}graph/practices/x`` -> ``data/practices/x.yaml``, or the RDF file of
    that name). With ``create``, a graph of that form without a file gets a new YAML file."""
    prefix = f"{base}graph/"
    if not graph.startswith(prefix):
        return Destination(None, None, False)
    rel = graph[len(prefix) :]
    if not rel or rel.startswith((".", "/")) or ".." in rel.split("/") or "\\" in rel or "#" in rel:
        return Destination(None, None, False)
    for suffix in SOURCE_SUFFIXES:
        path = data_dir / f"{rel}{suffix}"
        if path.is_file():
            return Destination(path, f"data/{rel}{suffix}", True)
    if create:
        return Destination(data_dir / f"{rel}.yaml", f"data/{rel}.yaml", False)
    return Destination(None, None, False)


# -- durable writes ------------------------------------------------------------------------------------------------
def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unwritable(folder: Path, e: OSError) -> DataFolderUnwritable:
    why = {
        errno.ENOSPC: "it is full",
        errno.EDQUOT: "its quota is used up",
        errno.EROFS: "it is read-only",
        errno.EACCES: "the server may not write there",
        errno.EPERM: "the server may not write there",
        errno.EFBIG: "it refused a file of this size (full, or a limit on file sizes)",
    }
    reason = why.get(e.errno or 0, e.strerror or str(e))
    return DataFolderUnwritable(
        f"cannot write to the data folder {folder}: {reason}; nothing was changed. Free space or fix the folder's "
        "permissions, then send the change again",
        folder=str(folder),
    )


def write_files(contents: dict[Path, bytes | None], data_dir: Path) -> dict[Path, bytes | None]:
    """Write (or with None delete) files durably, all or none; return their previous contents (None: no file)."""
    old: dict[Path, bytes | None] = {}
    staged: dict[Path, Path] = {}
    try:
        for path, data in contents.items():
            old[path] = path.read_bytes() if path.is_file() else None
            if data is None:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged[path] = Path(name)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    except OSError as e:
        for tmp in staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise unwritable(data_dir, e) from None
    done: list[Path] = []
    try:
        for path, data in contents.items():
            if data is None:
                if old[path] is not None:
                    path.unlink()
            else:
                os.replace(staged[path], path)
            done.append(path)
        for folder in {p.parent for p in done if contents[p] is not None or old[p] is not None}:
            _fsync_dir(folder)
    except OSError as e:
        restore_files({p: old[p] for p in done}, data_dir)
        for path, tmp in staged.items():
            if path not in done:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        raise unwritable(data_dir, e) from None
    return old


def restore_files(old: dict[Path, bytes | None], data_dir: Path) -> None:
    """Put files back as they were (after a later step of a change failed); best effort, logged."""
    try:
        write_files(old, data_dir)
    except DataFolderUnwritable:
        log.exception("could not restore %s", ", ".join(map(str, old)))


# -- one writer at a time, across threads and processes --------------------------------------------------------------
_locks: dict[str, threading.RLock] = {}
_depth: dict[str, int] = {}
_locks_guard = threading.Lock()


@contextlib.contextmanager
def folder_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data folder for one change: a thread lock within the process, a file lock between processes (a
    server and ``next2met harvest`` on the same folder). A folder that cannot hold the lock file (read-only) is
    locked in-process only: its writes will fail and say so."""
    key = str(data_dir.resolve())
    with _locks_guard:
        lock = _locks.setdefault(key, threading.RLock())
    with lock:
        _depth[key] = _depth.get(key, 0) + 1
        handle = None
        if _depth[key] == 1:  # the outermost hold takes the file lock (a second flock would wait for the first)
            try:
                state = data_dir / STATE
                if not state.is_dir():
                    state.mkdir()
                    (state / ".gitignore").write_text("# history and lock of next2met-kg: not data\n*\n")
                handle = open(data_dir / STATE / "lock", "a")  # noqa: SIM115 (held for the block)
                fcntl.flock(handle, fcntl.LOCK_EX)
            except OSError:
                handle = None
        try:
            yield
        finally:
            _depth[key] -= 1
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
