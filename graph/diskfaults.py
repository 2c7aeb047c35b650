"""Durable writes, and writes on a full or read-only disk: answered 507 naming the folder, nothing changed, and
recovered from without a restart once the disk takes writes again.

RocksDB (under pyoxigraph) stops taking writes after one failed: every later write repeats the first error until
the database is opened again. So a write that fails for want of space, quota or a writable file system marks the
store as failing, the error becomes ``StoreUnwritable`` (507), and the next write, or ``/health``, first checks that
the folder takes a small file again and then reopens the database. Reads go on meanwhile from the open database
(and the query workers from their snapshot).

A write is synced before it is acknowledged: Oxigraph hands each transaction to RocksDB's write-ahead log (one
write() each) but does not sync it, so ``sync_logs`` syncs the log files and their folder after each write."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from .errors import StoreUnwritable

REASONS = {
    "no space left": "the disk is full",
    "read-only file system": "the file system is read-only",
    "quota exceeded": "the disk quota is used up",
    "disk quota": "the disk quota is used up",
    "permission denied": "the folder may not be written",
}
PROBE_BYTES = 1 << 20


def unwritable(error: BaseException, folder: Path | str | None) -> StoreUnwritable | None:
    """The 507 for an error that says the disk cannot be written, None for any other error."""
    text = str(error).lower()
    reason = next((said for found, said in REASONS.items() if found in text), None)
    if reason is None:
        return None
    return StoreUnwritable(
        f"cannot write to the store's folder {folder}: {reason}; nothing was changed. Writes "
        "resume by themselves once the folder can be written again",
        folder=str(folder),
    )


def folder_takes_writes(folder: Path) -> bool:
    """Whether ``folder`` takes a small file again (written, synced and removed)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-") as f:
            f.write(b"\0" * PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
        return True
    except OSError:
        return False


def guarded_write(method):
    """Run a store write: reopen first if an earlier write failed, and turn a disk error into StoreUnwritable."""

    @functools.wraps(method)
    def write(self, *args, **kwargs):
        if self.write_failure is not None:
            self.recover()
        try:
            result = method(self, *args, **kwargs)
        except Exception as e:
            failure = unwritable(e, self.root)
            if failure is None:
                raise
            self.write_failure = failure.detail
            with contextlib.suppress(Exception):
                self.recover(probe=True)  # reads go on from a database that is open
            raise failure from None
        return result

    return write


def fsync_path(path: Path) -> None:
    """Sync one file or folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_logs(database: Path) -> None:
    """Sync a RocksDB database's write-ahead log files and its folder (new log files are entries in it)."""
    for log in database.glob("*.log"):
        fsync_path(log)
    fsync_path(database)
