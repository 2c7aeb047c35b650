"""Write the whole dataset as dump files, one per RDF format, each also gzipped, with a manifest of their sizes
and SHA-256 checksums (what the DCAT catalogue and VoID describe).

Only the gzip files are kept on disk: each uncompressed dump is described in the manifest (its size and
checksum, counted while it was written into its gzip file) and unzipped while it is sent. At 1M quads the twelve
files took 993 MB where the six gzip files take a tenth of that. Files are streamed, so memory does not grow with
the dataset. Each dump goes to a fresh subfolder and the manifest is switched to it atomically, so a reader always
gets files that match the checksums it was told (the previous subfolder is kept one round for downloads in
progress). The store is read once, into an N-Quads file; the formats are converted from that file (parsing it is
much faster than scanning the store again), which ``write_dumps_from`` takes as it is (a process of its own can
write the dumps of a snapshot: ``prepare.py``). The gzip files carry no name and no time stamp: the same data
gives the same bytes, and harvesters that compare checksums (data.europa.eu) re-import only real changes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from .errors import NotFound
from .formats import NQUADS, RDF_FORMATS, Format
from .prefixes import prefixes
from .rdfio import serialize_quads
from .store import Store

DEFAULT_NAME = "next2met"
MANIFEST = "manifest.json"
# Every RDF format, in the order the catalogue lists the distributions: graph-aware formats first.
DUMP_FORMATS: tuple[Format, ...] = RDF_FORMATS
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class DumpFile:
    """One file of a dump: ``next2met.ttl`` or ``next2met.ttl.gz``."""

    filename: str
    format: str  # the key of its RDF format (formats.RDF)
    media_type: str  # of the RDF inside (the uncompressed content)
    compressed: bool
    size: int
    sha256: str
    stored: str = ""  # the file on disk that holds it when that is not itself: the gzip file it is unzipped from

    @property
    def served_type(self) -> str:
        """The Content-Type the server sends: gzip files as ``application/gzip`` so nobody unzips them on the way."""
        return "application/gzip" if self.compressed else self.media_type


@dataclass(frozen=True)
class DumpSet:
    """The files of one dump of the dataset and when they were made."""

    name: str
    generation: str  # the store generation the files were written from
    written: float  # seconds since the epoch
    quads: int
    files: tuple[DumpFile, ...]
    folder: str  # the subfolder of the dumps folder that holds the files

    def file(self, filename: str) -> DumpFile:
        for f in self.files:
            if f.filename == filename:
                return f
        offered = ", ".join(f.filename for f in self.files)
        raise NotFound(f"no dump file {filename!r}; the dumps are {offered}")


def filename(name: str, fmt: Format, compressed: bool) -> str:
    return f"{name}.{fmt.suffix}" + (".gz" if compressed else "")


def read_manifest(folder: Path) -> DumpSet | None:
    """The dump set described by the folder's manifest, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = tuple(DumpFile(**f) for f in data["files"])
        dumps = DumpSet(data["name"], data["generation"], data["written"], data["quads"], files, data["folder"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((folder / dumps.folder / (f.stored or f.filename)).is_file() for f in dumps.files):
        return None
    return dumps


def write_dumps(store: Store, folder: Path, name: str = DEFAULT_NAME, *, force: bool = False) -> DumpSet:
    """Write every format of the dataset under ``folder`` unless the dumps there already hold this generation."""
    generation = store.generation  # read first: a write during the dump makes the next round write again
    current = _check(folder, name)
    if not force and current is not None and current.generation == generation and current.name == name:
        return current
    fd, tmp = tempfile.mkstemp(prefix=".dump-", suffix=".nq", dir=folder)
    os.close(fd)
    try:
        with open(tmp, "wb") as out:
            store.dump(out, NQUADS)
        return write_dumps_from(Path(tmp), folder, generation, store.count(), name)
    finally:
        os.unlink(tmp)


def write_dumps_from(nquads: Path, folder: Path, generation: str, quads: int, name: str = DEFAULT_NAME) -> DumpSet:
    """Write every format of the dataset in the N-Quads file ``nquads`` (the data of ``generation``)."""
    current = _check(folder, name)
    target = folder / f"d-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    try:
        files = _write_all(nquads, target, name)
        dumps = DumpSet(name, generation, time.time(), quads, tuple(files), target.name)
        _atomic_write(
            folder / MANIFEST, json.dumps({**asdict(dumps), "files": [asdict(f) for f in files]}, indent=1).encode()
        )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    keep = {target.name, current.folder if current else ""}
    for old in folder.glob("d-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return dumps


def _check(folder: Path, name: str) -> DumpSet | None:
    if not NAME_RE.match(name):
        raise ValueError(f"dump name {name!r} must be lower-case letters, digits and '-'")
    folder.mkdir(parents=True, exist_ok=True)
    return read_manifest(folder)


def _write_all(nquads: Path, folder: Path, name: str) -> list[DumpFile]:
    return write_files(nquads, folder, name)


def write_files(nquads: Path, folder: Path, name: str, *, keep_plain: bool = False) -> list[DumpFile]:
    """Write every format of the N-Quads file ``nquads`` into ``folder`` as gzip files, and the uncompressed files
    too with ``keep_plain`` (a release keeps every file it lists; served dumps keep the gzip files only)."""
    files = []
    for fmt in DUMP_FORMATS:
        zipped = folder / filename(name, fmt, True)
        target = folder / filename(name, fmt, False)
        copy = keep_plain and target != nquads
        with (
            zipped.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
            target.open("wb") if copy else contextlib.nullcontext() as also,
        ):
            # filename="" and mtime=0 keep the header free of anything but the content: equal data, equal bytes
            plain = _Counted(gz, also)
            if fmt is NQUADS:
                with nquads.open("rb") as src:
                    shutil.copyfileobj(src, plain, 1 << 20)
            else:
                quads = ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS)
                serialize_quads(quads, fmt, plain, prefixes=prefixes())  # type: ignore[arg-type]
        files.append(
            DumpFile(
                target.name,
                fmt.key,
                fmt.media_type,
                False,
                plain.size,
                plain.digest.hexdigest(),
                stored="" if keep_plain else zipped.name,
            )
        )
        size, digest = _measure(zipped)
        files.append(DumpFile(zipped.name, fmt.key, fmt.media_type, True, size, digest))
    return files


class _Counted:
    """A writer that passes bytes on and counts and hashes them on the way (the uncompressed dump's size and
    checksum, which is never written to disk as it is)."""

    def __init__(self, out: IO[bytes] | gzip.GzipFile, also: IO[bytes] | None = None) -> None:
        self.out, self.also = out, also
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.out.write(data)
        if self.also is not None:
            self.also.write(data)
        self.size += len(data)
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass


def read_plain(path: Path, block: int = 1 << 20) -> Iterator[bytes]:
    """The uncompressed content of a gzip dump file, a block at a time (what is sent for an uncompressed dump)."""
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(block):
            yield chunk


def _measure(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
