"""Write the whole dataset as dump files, one per RDF format, each also gzipped, with a manifest of their sizes
and SHA-256 checksums (what the DCAT catalogue and VoID describe).

Files are streamed to disk, so memory does not grow with the dataset. Each dump goes to a fresh subfolder and
the manifest is switched to it atomically, so a reader always gets files that match the checksums it was told
(the previous subfolder is kept one round for downloads in progress). The store is read once, into the
N-Quads file; the other formats are converted from that file (parsing it is much faster than scanning the
store again). The gzip files carry no name and no time stamp: the same data gives the same bytes, and
harvesters that compare checksums (data.europa.eu) re-import only real changes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import time
import uuid
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
    if not all((folder / dumps.folder / f.filename).is_file() for f in dumps.files):
        return None
    return dumps


def write_dumps(store: Store, folder: Path, name: str = DEFAULT_NAME, *, force: bool = False) -> DumpSet:
    """Write every format of the dataset under ``folder`` unless the dumps there already hold this generation."""
    if not NAME_RE.match(name):
        raise ValueError(f"dump name {name!r} must be lower-case letters, digits and '-'")
    folder.mkdir(parents=True, exist_ok=True)
    generation = store.generation  # read first: a write during the dump makes the next round write again
    current = read_manifest(folder)
    if not force and current is not None and current.generation == generation and current.name == name:
        return current
    target = folder / f"d-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    try:
        files = _write_all(store, target, name)
        dumps = DumpSet(name, generation, time.time(), store.count(), tuple(files), target.name)
        _atomic_write(folder / MANIFEST, json.dumps(
            {**asdict(dumps), "files": [asdict(f) for f in files]}, indent=1).encode())
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    keep = {target.name, current.folder if current else ""}
    for old in folder.glob("d-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return dumps


def _write_all(store: Store, folder: Path, name: str) -> list[DumpFile]:
    files = []
    nquads = folder / filename(name, NQUADS, False)
    for fmt in DUMP_FORMATS:
        plain = folder / filename(name, fmt, False)
        if fmt is NQUADS:  # the one scan of the store; the other formats are converted from this file
            files.append(_write_one(plain, lambda out: store.dump(out, NQUADS), fmt, False))
        else:
            files.append(_write_one(plain, lambda out, f=fmt: serialize_quads(
                ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS), f, out, prefixes=prefixes()), fmt, False))
        files.append(_write_one(folder / (plain.name + ".gz"), lambda out, src=plain: _gzip(src, out), fmt, True))
    return files


def _write_one(path: Path, write, fmt: Format, compressed: bool) -> DumpFile:
    with path.open("wb") as out:
        write(out)
    size, digest = _measure(path)
    return DumpFile(path.name, fmt.key, fmt.media_type, compressed, size, digest)


def _gzip(source: Path, out: IO[bytes]) -> None:
    # filename="" and mtime=0 keep the header free of anything but the content, so equal data gives equal bytes
    with source.open("rb") as src, gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        shutil.copyfileobj(src, gz, 1 << 20)


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
