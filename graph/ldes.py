"""The change log behind the Linked Data Event Stream (``/ldes``): one member per version of a resource.

A *resource* is an IRI subject with its ``#fragment`` nodes (``practice/x`` and ``practice/x#budget-…``) and the
blank nodes only it refers to. On every data change the log compares each resource's triples (a SHA-256 of its
canonical, sorted N-Triples) with the last version it recorded and appends a member for each resource that is
new or changed, and a tombstone for each that disappeared. The log lives in its own folder next to the store
(append-only files, never in the RDF store, so dumps and queries do not carry history), so a restart appends
nothing when nothing changed.

A member is ``{base}ldes/version/{seq}-{digest}``: its named graph holds the resource's triples with the
resource's own IRI replaced by the member IRI (fragments keep theirs); in the default graph it has
``dcterms:isVersionOf`` the resource and ``prov:generatedAtTime`` the time the log saw the version. A deleted
resource gets a member typed ``as:Tombstone`` with nothing else. Replaying the latest member of every resource
(materialising: member IRI back to the resource IRI, minus the two version triples, tombstones removing the
resource) gives the current triples.

Pages hold ``PAGE_SIZE`` members in the order they were recorded; a full page never changes and links the next
one with a ``tree:GreaterThanOrEqualToRelation`` on ``prov:generatedAtTime``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from .store import Store

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
GENERATED = ox.NamedNode("http://www.w3.org/ns/prov#generatedAtTime")
VERSION_OF = ox.NamedNode("http://purl.org/dc/terms/isVersionOf")
TOMBSTONE = ox.NamedNode("https://www.w3.org/ns/activitystreams#Tombstone")
DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
PAGE_SIZE = 100
INDEX, MEMBERS, LOCK = "index.jsonl", "members.nq", "lock"


@dataclass(frozen=True)
class Entry:
    """One member of the stream: a version (or the deletion) of one resource, and where its quads are stored."""

    seq: int
    member: str
    resource: str
    time: str  # xsd:dateTime in UTC
    digest: str
    deleted: bool
    offset: int  # byte range of the member's quads in members.nq
    length: int


def resource_of(iri: str) -> str:
    """The resource an IRI belongs to: itself without its ``#fragment``."""
    return iri.split("#", 1)[0]


def group_resources(quads: Iterable[ox.Quad], unattached: str) -> dict[str, set[ox.Triple]]:
    """The distinct triples of each resource (graph names dropped: the stream carries the union of the graphs).

    A blank node belongs to the resource of the nearest IRI subject that refers to it (on a tie, the first IRI in
    sorted order); blank nodes no IRI reaches go to the ``unattached`` pseudo-resource.
    """
    by_subject: dict[Any, set[ox.Triple]] = defaultdict(set)
    for q in quads:
        by_subject[q.subject].add(ox.Triple(q.subject, q.predicate, q.object))
    owner: dict[ox.BlankNode, str] = {}
    todo: list[tuple[str, Any]] = sorted(
        ((resource_of(s.value), s) for s in by_subject if isinstance(s, ox.NamedNode)), key=lambda x: x[0])
    while todo:  # breadth first, level by level in sorted order, so ownership never depends on hash order
        nxt = []
        for res, s in todo:
            for t in sorted(by_subject.get(s, ()), key=str):
                if isinstance(t.object, ox.BlankNode) and t.object not in owner:
                    owner[t.object] = res
                    nxt.append((res, t.object))
        todo = sorted(nxt, key=lambda x: (x[0], x[1].value))
    out: dict[str, set[ox.Triple]] = defaultdict(set)
    for s, triples in by_subject.items():
        key = resource_of(s.value) if isinstance(s, ox.NamedNode) else owner.get(s, unattached)
        out[key] |= triples
    return dict(out)


def canonical(triples: set[ox.Triple]) -> tuple[list[ox.Triple], str]:
    """The triples with blank nodes relabelled canonically (RDFC-1.0) and their SHA-256 digest."""
    if any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples):
        ds = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        triples = {ox.Triple(q.subject, q.predicate, q.object) for q in ds}
    lines = sorted(f"{t} ." for t in triples)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    items = sorted(triples, key=str)
    if any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in items):
        items = [_prefix_blanks(t, digest[:12]) for t in items]  # unique across members sharing one page
    return items, digest


def _prefix_blanks(t: ox.Triple, prefix: str) -> ox.Triple:
    def fix(term):
        return ox.BlankNode(f"b{prefix}{term.value}") if isinstance(term, ox.BlankNode) else term

    return ox.Triple(fix(t.subject), t.predicate, fix(t.object))


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
        self._lock = threading.RLock()
        with self._file_lock():
            self._load()

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

    def _load(self) -> None:
        """Read index lines appended since the last read (by us or another process); drop a torn last line."""
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

    def refresh(self) -> None:
        with self._lock:
            size = (self.folder / INDEX).stat().st_size if (self.folder / INDEX).exists() else 0
            if size != self._index_read:
                with self._file_lock():
                    self._load()

    # -- recording ------------------------------------------------------------------------------------------
    def record(self, store: Store, at: float) -> list[Entry]:
        """Append a member for every resource whose triples differ from its last recorded version."""
        current = group_resources(store.quads(), f"{self.base}ldes/unattached")
        with self._file_lock():
            self._load()
            last_time = self._entries[-1].time if self._entries else ""
            when = max(timestamp(at), last_time)  # keep the stream ordered even if the clock steps back
            changes: list[tuple[str, str, list[ox.Triple], bool]] = []
            for res in sorted(current):
                triples, digest = canonical(current[res])
                prev = self._latest.get(res)
                if prev is None or prev.deleted or prev.digest != digest:
                    changes.append((res, digest, triples, False))
            for res, prev in sorted(self._latest.items()):
                if res not in current and not prev.deleted:
                    digest = hashlib.sha256(f"deleted {res} {when}".encode()).hexdigest()
                    changes.append((res, digest, [], True))
            return self._append(changes, when)

    def _append(self, changes: list[tuple[str, str, list[ox.Triple], bool]], when: str) -> list[Entry]:
        if not changes:
            return []
        members_path = self.folder / MEMBERS
        offset = members_path.stat().st_size if members_path.exists() else 0
        new: list[Entry] = []
        chunks = []
        seq = len(self._entries)
        for res, digest, triples, deleted in changes:
            member = f"{self.base}ldes/version/{seq}-{digest[:12]}"
            entry = Entry(seq, member, res, when, digest, deleted, offset, 0)
            data = ox.serialize(member_quads(entry, triples), format=ox.RdfFormat.N_QUADS) or b""
            entry = Entry(seq, member, res, when, digest, deleted, offset, len(data))
            chunks.append(data)
            new.append(entry)
            offset += len(data)
            seq += 1
        # members first, index second: a crash in between leaves unreferenced bytes, never a dangling entry
        with members_path.open("ab") as fh:
            fh.write(b"".join(chunks))
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

    # -- pages ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    @property
    def page_count(self) -> int:
        """Pages that exist: full ones plus the open last page (which may be empty)."""
        return len(self._entries) // self.page_size + 1

    def page(self, n: int) -> list[Entry]:
        with self._lock:
            return self._entries[n * self.page_size:(n + 1) * self.page_size]

    def is_full(self, n: int) -> bool:
        return len(self.page(n)) == self.page_size

    def latest(self) -> dict[str, Entry]:
        with self._lock:
            return dict(self._latest)

    def quads(self, entries: list[Entry]) -> list[ox.Quad]:
        """The stored quads of some members."""
        out: list[ox.Quad] = []
        with (self.folder / MEMBERS).open("rb") as fh:
            for e in entries:
                fh.seek(e.offset)
                out.extend(ox.parse(fh.read(e.length), format=ox.RdfFormat.N_QUADS))
        return out


# -- the TREE documents ----------------------------------------------------------------------------------------
DCT_TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
DCT_DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
STREAM_DESCRIPTION = (
    "Every version of every resource of the Next2Met knowledge graph, oldest first. A member's named graph holds "
    "the resource's triples with the member IRI in place of the resource IRI; dcterms:isVersionOf names the "
    "resource and prov:generatedAtTime when the version was recorded. A member typed as:Tombstone says the "
    "resource was deleted. Replaying the latest member of every resource rebuilds the current data (the union "
    "of the named graphs; the dumps keep the graphs apart)."
)


def _t(s: str | ox.NamedNode | ox.BlankNode, p: str | ox.NamedNode,
       o: ox.NamedNode | ox.Literal | ox.BlankNode | str) -> ox.Quad:
    def node(x):
        return ox.NamedNode(x) if isinstance(x, str) else x

    return ox.Quad(node(s), node(p), node(o), ox.DefaultGraph())


def stream_quads(stream: str) -> list[ox.Quad]:
    """The description of the event stream that every document repeats (the root adds ``tree:view``)."""
    return [
        _t(stream, RDF_TYPE, LDES + "EventStream"),
        _t(stream, LDES + "timestampPath", GENERATED),
        _t(stream, LDES + "versionOfPath", VERSION_OF),
        _t(stream, DCT_TITLE, ox.Literal("Changes of the Next2Met good practices knowledge graph", language="en")),
        _t(stream, DCT_DESCRIPTION, ox.Literal(STREAM_DESCRIPTION, language="en")),
    ]


def root_quads(stream: str, first_page: str) -> list[ox.Quad]:
    return [*stream_quads(stream), _t(stream, TREE + "view", first_page), _t(first_page, RDF_TYPE, TREE + "Node")]


def page_quads(log: ChangeLog, n: int, stream: str, page_url) -> list[ox.Quad]:
    """Page ``n``: its members (each in its named graph), and, once full, the relation to the next page."""
    entries = log.page(n)
    page = page_url(n)
    quads = [*stream_quads(stream), _t(page, RDF_TYPE, TREE + "Node")]
    if len(entries) == log.page_size:
        relation = ox.BlankNode("next")
        quads += [
            _t(page, TREE + "relation", relation),
            _t(relation, RDF_TYPE, TREE + "GreaterThanOrEqualToRelation"),
            _t(relation, TREE + "node", page_url(n + 1)),
            _t(relation, TREE + "path", GENERATED),
            _t(relation, TREE + "value", ox.Literal(entries[-1].time, datatype=DATETIME)),
        ]
    quads += [_t(stream, TREE + "member", e.member) for e in entries]
    return quads + log.quads(entries)
