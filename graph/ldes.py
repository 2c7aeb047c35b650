"""The change log behind the Linked Data Event Stream (``/ldes``): one member per version of a resource.

A *resource* is an IRI subject with its ``#fragment`` nodes (``practice/x`` and ``practice/x#budget-…``) and the
blank nodes only it refers to (``versions.py``). On every data change the log compares each resource's triples
(a SHA-256 of its canonical, sorted N-Triples) with the last version it recorded and appends a member for each
resource that is new or changed, and a tombstone for each that disappeared. The log lives in its own folder
next to the store (append-only files, never in the RDF store, so dumps and queries do not carry history), so a
restart appends nothing when nothing changed. ``state.json`` says which generation of the store the log has seen
whole: a restart on that generation reads nothing at all. Members are stored in zlib blocks of up to a page
(``members.nqz``; at 1M quads a seventh of the plain N-Quads), and a full scan leaves the index it made behind
(``resources.json``), so that the next write after a restart is read incrementally too.

A member is ``{base}ldes/version/{seq}-{digest}``: its named graph holds the resource's triples with the
resource's own IRI replaced by the member IRI (fragments keep theirs); in the default graph it has
``dcterms:isVersionOf`` the resource and ``prov:generatedAtTime`` the time the log saw the version. A deleted
resource gets a member typed ``as:Tombstone`` with nothing else. Replaying the latest member of every resource
(materialising: member IRI back to the resource IRI, minus the two version triples, tombstones removing the
resource) gives the current triples.

Pages hold ``PAGE_SIZE`` members in the order they were recorded (``ldes_pages.py`` writes them as TREE nodes);
a full page never changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox

from .store import Store
from .versions import Index, canonical, read_affected, scan

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
GENERATED = ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime")
VERSION_OF = ox.NamedNode("http://purl.org/dc/terms/isVersionOf")
TOMBSTONE = ox.NamedNode("https://www.w3.org/ns/activitystreams#Tombstone")
DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
PAGE_SIZE = 100
INDEX, MEMBERS, LOCK = "index.jsonl", "members.nq", "lock"
BLOCKS, STATE, RESOURCES = "members.nqz", "state.json", "resources.json"


@dataclass(frozen=True)
class Entry:
    """One member of the stream: a version (or the deletion) of one resource, and where its quads are stored."""

    seq: int
    member: str
    resource: str
    time: str  # xsd:dateTime in UTC
    digest: str
    deleted: bool
    offset: int  # byte range of the member's quads in members.nq, or of its zlib block in members.nqz
    length: int
    start: int = -1  # where the member's quads begin in its block once inflated (-1: plain, in members.nq)
    size: int = 0


def timestamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def member_quads(entry: Entry, triples: list[ox.Triple]) -> list[ox.Quad]:
    """The quads of a member: the version triples in the default graph (where LDES clients look for the
    timestamp and version-of, and remove them when they materialise), the resource's triples in the member's
    named graph (so the ``#fragment`` nodes travel with it)."""
    m, res, g = ox.NamedNode(entry.member), ox.NamedNode(entry.resource), ox.NamedNode(entry.member)
    default = ox.DefaultGraph()
    out = [
        ox.Quad(m, VERSION_OF, res, default),
        ox.Quad(m, GENERATED, ox.Literal(entry.time, datatype=DATETIME), default),
    ]
    if entry.deleted:
        out.append(ox.Quad(m, RDF_TYPE, TOMBSTONE, default))
    for t in triples:
        out.append(ox.Quad(m if t.subject == res else t.subject, t.predicate, t.object, g))
    return out


class ChangeLog:
    """The append-only log of resource versions in ``folder`` (``index.jsonl`` + ``members.nq``)."""

    def __init__(self, folder: Path, base: str, page_size: int = PAGE_SIZE) -> None:
        self.folder = Path(folder)
        self.base = base
        self.page_size = page_size
        self.folder.mkdir(parents=True, exist_ok=True)
        self._entries: list[Entry] = []
        self._latest: dict[str, Entry] = {}
        self._index_read = 0  # bytes of index.jsonl already loaded
        self._index: Index | None = None  # graphs -> resources, from the last full scan
        self._block: tuple[int, bytes] = (-1, b"")  # the last block inflated (pages read blocks in order)
        self._lock = threading.RLock()
        self._loaded = False  # the index file is read when first needed (at 1M quads 0.8 s: not at start-up)

    # -- reading the files ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Serialise writers across processes (several server processes may share one store folder)."""
        with self._lock, (self.folder / LOCK).open("a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.refresh()

    def _load(self) -> None:
        """Read index lines appended since the last read (by us or another process); drop a torn last line."""
        self._loaded = True
        path = self.folder / INDEX
        if not path.exists():
            return
        with path.open("rb") as fh:
            fh.seek(self._index_read)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            entry = Entry(**json.loads(line))
            self._entries.append(entry)
            self._latest[entry.resource] = entry
        self._index_read += len(complete)
        if len(complete) < len(data):  # a crash cut the last line: cut it off so the next append starts clean
            with path.open("r+b") as fh:
                fh.truncate(self._index_read)

    def reread(self) -> None:
        """Read what another process recorded, and its index when the next write needs it."""
        with self._lock:
            self._index = None
            self.refresh()

    def refresh(self) -> None:
        with self._lock:
            size = (self.folder / INDEX).stat().st_size if (self.folder / INDEX).exists() else 0
            if size != self._index_read:
                with self._file_lock():
                    self._load()

    # -- recording ------------------------------------------------------------------------------------------
    def record(
        self,
        store: Store,
        at: float,
        graphs: Iterable[str] = (),
        everything: Callable[[], Iterable[ox.Quad]] | None = None,
        *,
        incremental_only: bool = False,
    ) -> list[Entry] | None:
        """Append a member for every resource whose triples differ from its last recorded version.

        ``graphs`` names the graphs a write replaced (empty: anything may have changed, read everything). The
        provenance graph is read with them, since writers update it alongside the graphs they name.
        ``everything`` gives every quad of the store when it has to be read whole, faster than the store itself
        can (the N-Quads dump of the same generation: at 1M quads 2.2 s to read against 7.9 s).
        ``incremental_only``: return None instead of reading everything (blank nodes involved, or no index).
        """
        with self._file_lock():
            self._load()
            current = None
            index = self.index() if graphs else None
            if index is not None:
                current = read_affected(store, [*graphs, f"{self.base}graph/provenance"], index)
            if current is None:
                if incremental_only:  # the caller reads everything elsewhere (in a process of its own)
                    return None
                quads = everything() if everything is not None else store.quads()
                return self._record_all(quads, at, store.generation, keep_index=False)
            gone = [res for res, triples in current.items() if not triples]
            added = self._record(current, gone, at)
            self._mark(store.generation)
            return added

    def record_all(self, quads: Iterable[ox.Quad], at: float, generation: str) -> list[Entry]:
        """Compare every resource of ``quads`` (the whole dataset of ``generation``) with its last version, append
        what changed, and leave the index behind for the incremental reads of later writes."""
        with self._file_lock():
            self._load()
            return self._record_all(quads, at, generation, keep_index=True)

    def _record_all(self, quads: Iterable[ox.Quad], at: float, generation: str, keep_index: bool) -> list[Entry]:
        current, self._index = scan(quads, f"{self.base}ldes/unattached")
        gone = [res for res, prev in self._latest.items() if res not in current and not prev.deleted]
        added = self._record(current, gone, at)
        if keep_index:
            self._write_index(self._index, generation)
        self._mark(generation)
        return added

    def _record(self, current: dict[str, set[ox.Triple]], gone: list[str], at: float) -> list[Entry]:
        last_time = self._entries[-1].time if self._entries else ""
        when = max(timestamp(at), last_time)  # keep the stream ordered even if the clock steps back
        changes: list[tuple[str, str, list[ox.Triple], bool]] = []
        for res in sorted(current):
            if not current[res]:
                continue
            triples, digest = canonical(current[res])
            prev = self._latest.get(res)
            if prev is None or prev.deleted or prev.digest != digest:
                changes.append((res, digest, triples, False))
        for res in sorted(gone):
            prev = self._latest.get(res)
            if prev is not None and not prev.deleted:
                digest = hashlib.sha256(f"deleted {res} {when}".encode()).hexdigest()
                changes.append((res, digest, [], True))
        return self._append(changes, when)

    def _append(self, changes: list[tuple[str, str, list[ox.Triple], bool]], when: str) -> list[Entry]:
        if not changes:
            return []
        members_path = self.folder / BLOCKS
        offset = members_path.stat().st_size if members_path.exists() else 0
        new: list[Entry] = []
        blocks = []
        seq = len(self._entries)
        for first in range(0, len(changes), self.page_size):  # one zlib block of up to a page of members
            chunks, entries, start = [], [], 0
            for res, digest, triples, deleted in changes[first : first + self.page_size]:
                member = f"{self.base}ldes/version/{seq}-{digest[:12]}"
                entry = Entry(seq, member, res, when, digest, deleted, 0, 0)
                data = ox.serialize(member_quads(entry, triples), format=ox.RdfFormat.N_QUADS) or b""
                entries.append((seq, member, res, digest, deleted, start, len(data)))
                chunks.append(data)
                start += len(data)
                seq += 1
            block = zlib.compress(b"".join(chunks), 6)
            new.extend(Entry(n, m, r, when, d, x, offset, len(block), a, z) for n, m, r, d, x, a, z in entries)
            blocks.append(block)
            offset += len(block)
        # members first, index second: a crash in between leaves unreferenced bytes, never a dangling entry
        with members_path.open("ab") as fh:
            fh.write(b"".join(blocks))
            fh.flush()
            os.fsync(fh.fileno())
        lines = b"".join(json.dumps(asdict(e), separators=(",", ":")).encode() + b"\n" for e in new)
        with (self.folder / INDEX).open("ab") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        self._index_read += len(lines)
        self._entries.extend(new)
        for e in new:
            self._latest[e.resource] = e
        return new

    def forget_index(self) -> None:
        """Make the next ``record`` read every resource (after a failed recording, say)."""
        self._index = None
        with contextlib.suppress(OSError):
            (self.folder / RESOURCES).unlink()

    # -- what the log has seen ------------------------------------------------------------------------------
    @property
    def generation(self) -> str:
        """The generation of the store that the log holds every resource of ("" before the first recording)."""
        try:
            return json.loads((self.folder / STATE).read_text())["generation"]
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    def _mark(self, generation: str) -> None:
        _atomic_write(self.folder / STATE, json.dumps({"generation": generation, "members": len(self._entries)}))

    def index(self) -> Index | None:
        """The index for incremental reads: the one in memory, else the one the last full scan left, if the log
        has seen nothing since (a write recorded in another process would make it stale)."""
        if self._index is None:
            try:
                data = json.loads((self.folder / RESOURCES).read_text())
            except (OSError, ValueError):
                return None
            if data.get("generation") != self.generation:
                return None
            self._index = Index(
                {g: set(r) for g, r in data["graph_resources"].items()},
                {r: set(s) for r, s in data["subjects"].items()},
                set(data["blank_graphs"]),
            )
        return self._index

    def _write_index(self, index: Index, generation: str) -> None:
        _atomic_write(
            self.folder / RESOURCES,
            json.dumps(
                {
                    "generation": generation,
                    "graph_resources": {g: sorted(r) for g, r in index.graph_resources.items()},
                    "subjects": {r: sorted(s) for r, s in index.subjects.items()},
                    "blank_graphs": sorted(index.blank_graphs),
                },
                separators=(",", ":"),
            ),
        )

    # -- pages ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._entries)

    @property
    def page_count(self) -> int:
        """Pages that exist: full ones plus the open last page (which may be empty)."""
        return len(self) // self.page_size + 1

    def page(self, n: int) -> list[Entry]:
        self._ensure_loaded()
        with self._lock:
            return self._entries[n * self.page_size : (n + 1) * self.page_size]

    def is_full(self, n: int) -> bool:
        return len(self.page(n)) == self.page_size

    def latest(self) -> dict[str, Entry]:
        self._ensure_loaded()
        with self._lock:
            return dict(self._latest)

    def quads(self, entries: list[Entry]) -> list[ox.Quad]:
        """The stored quads of some members."""
        out: list[ox.Quad] = []
        for e in entries:
            if e.start < 0:  # written before members were kept in blocks
                with (self.folder / MEMBERS).open("rb") as fh:
                    fh.seek(e.offset)
                    data = fh.read(e.length)
            else:
                data = self._inflate(e.offset, e.length)[e.start : e.start + e.size]
            out.extend(ox.parse(data, format=ox.RdfFormat.N_QUADS))
        return out

    def _inflate(self, offset: int, length: int) -> bytes:
        with self._lock:
            if self._block[0] != offset:
                with (self.folder / BLOCKS).open("rb") as fh:
                    fh.seek(offset)
                    self._block = (offset, zlib.decompress(fh.read(length)))
            return self._block[1]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    os.replace(tmp, path)
