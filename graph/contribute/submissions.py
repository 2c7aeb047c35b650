"""Submissions: a contributor's new practice or edit, kept and versioned but not published until a reviewer
approves it.

A submission lives beside the published data, never in it: ``DATA/.next2met/submissions/{n}.yaml`` holds the
practice as its YAML source (what the approval will write to ``data/practices/{slug}.yaml``) and ``{n}.ttl`` its
state as RDF. Nothing that serves the public reads that folder (pages, ``/sparql``, dumps, counts, sitemap and
``/ldes`` read the store), so a submission is invisible until :func:`approve` hands it to the one write path.

Every change of a submission (saved, submitted, sent back with a comment, approved, withdrawn) is a version in
the folder's own history (``graph/changes/history.py``: who, when, what, the content kept by digest), written
durably like the data files (``graph/changes/files.py``) under the folder's lock.

The state is ``adms:status`` with a concept of our scheme ``concept/submission-status`` (draft, submitted,
sent-back, approved, withdrawn), each mapped to the ADMS status vocabulary with ``skos:broadMatch``: ADMS is the
W3C vocabulary for the status of a described asset that DCAT-AP harvesters already read, while its four values
(Completed, Deprecated, UnderDevelopment, Withdrawn) cannot tell "waiting for review" from "sent back".
The submission is a ``prov:Entity``, ``prov:specializationOf`` the practice; an edit is ``prov:wasRevisionOf`` the
published practice as it was when the edit began (``dcterms:identifier``: its ETag, checked again on approval).
Comments are ``schema:Comment`` nodes (author, date, text, and the status they came with).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import RDF, XSD, BNode, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV

from ..changes import History, Version
from ..changes.files import STATE, folder_lock, write_files
from ..changes.history import GraphVersion, content_text
from ..errors import Conflict, InputError, NotFound

ADMS = Namespace("http://www.w3.org/ns/adms#")
SCHEMA = Namespace("https://schema.org/")
STATUSES = ("draft", "submitted", "sent-back", "approved", "withdrawn")
OPEN = ("draft", "submitted", "sent-back")
# who may move a submission from one status to another: the author (a contributor) or a reviewer
MOVES = {
    ("draft", "submitted"): "author",
    ("sent-back", "submitted"): "author",
    ("submitted", "submitted"): "author",
    ("draft", "draft"): "author",
    ("sent-back", "sent-back"): "author",
    ("submitted", "draft"): "author",
    ("draft", "withdrawn"): "author",
    ("submitted", "withdrawn"): "author",
    ("sent-back", "withdrawn"): "author",
    ("submitted", "sent-back"): "reviewer",
    ("submitted", "approved"): "reviewer",
}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ToQuads = Callable[[str, str], list[ox.Quad]]  # (YAML text, graph IRI) -> quads


@dataclass(frozen=True)
class Comment:
    author: str
    at: str
    text: str
    status: str


@dataclass
class Submission:
    number: int
    slug: str
    author: str
    status: str
    created: str
    modified: str
    new: bool  # creates a practice (else edits the published one)
    base_etag: str | None  # the published practice's ETag when the edit began (None for a new practice)
    note: str = ""  # what the contributor says about it
    comments: list[Comment] = field(default_factory=list)
    text: str = ""  # the YAML
    revision: int = 0  # the history version of its last change (a save must name it: no lost edits)
    published_version: int | None = None  # the data folder's version that published it

    @property
    def open(self) -> bool:
        return self.status in OPEN

    @property
    def last_comment(self) -> Comment | None:
        return self.comments[-1] if self.comments else None


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Submissions:
    """The submissions of one data folder."""

    def __init__(self, data_dir: Path, base: str, to_quads: ToQuads) -> None:
        self.folder = Path(data_dir) / STATE / "submissions"
        self.base = base
        self.to_quads = to_quads
        self.history = History(self.folder)

    # -- names -----------------------------------------------------------------------------------------------------
    def iri(self, number: int) -> str:
        return f"{self.base}submission/{number}"

    def status_iri(self, status: str) -> str:
        return f"{self.base}concept/submission-status/{status}"

    def practice_iri(self, slug: str) -> str:
        return f"{self.base}practice/{slug}"

    def _paths(self, number: int) -> tuple[Path, Path]:
        return self.folder / f"{number}.yaml", self.folder / f"{number}.ttl"

    # -- reading ---------------------------------------------------------------------------------------------------
    def get(self, number: int) -> Submission:
        text_path, state_path = self._paths(number)
        if not state_path.is_file():
            raise NotFound(f"there is no submission {number}")
        g = rdflib.Graph()
        g.parse(state_path, format="turtle")
        return self._read(g, number, text_path.read_text(encoding="utf-8") if text_path.is_file() else "")

    def all(self) -> list[Submission]:
        """Every submission, newest first."""
        if not self.folder.is_dir():
            return []
        numbers = sorted((int(p.stem) for p in self.folder.glob("*.ttl") if p.stem.isdigit()), reverse=True)
        return [self.get(n) for n in numbers]

    def of_author(self, name: str) -> list[Submission]:
        return [s for s in self.all() if s.author == name]

    def queue(self) -> list[Submission]:
        """What waits for a reviewer, oldest first."""
        return sorted((s for s in self.all() if s.status == "submitted"), key=lambda s: s.modified)

    def open_for(self, slug: str) -> list[Submission]:
        return [s for s in self.all() if s.slug == slug and s.open]

    def versions(self, number: int) -> list[Version]:
        return self.history.of_graph(self.iri(number))

    def content_at(self, number: int, version: int) -> list[ox.Triple] | None:
        return self.history.content_at(self.iri(number), version)[1]

    # -- changing --------------------------------------------------------------------------------------------------
    def create(
        self,
        *,
        author: str,
        slug: str,
        text: str,
        new: bool,
        base_etag: str | None,
        status: str = "draft",
        note: str = "",
    ) -> Submission:
        """A new submission of the practice ``slug`` (its YAML ``text``)."""
        if not SLUG.match(slug):
            raise InputError(f"{slug!r} is not a valid slug: use lower-case letters, digits and single hyphens")
        if status not in ("draft", "submitted"):
            raise InputError(f"a new submission is a draft or submitted, not {status}")
        with folder_lock(self.folder):
            numbers = (
                [int(p.stem) for p in self.folder.glob("*.ttl") if p.stem.isdigit()] if self.folder.is_dir() else []
            )
            at = now()
            sub = Submission(max(numbers, default=0) + 1, slug, author, status, at, at, new, base_etag, note, [], text)
            self._write(sub, before=None, author=author, message=f"{status}: {slug}")
        return sub

    def save(
        self, number: int, *, author: str, text: str, revision: int, status: str | None = None, note: str | None = None
    ) -> Submission:
        """New content from the submission's author (optionally moving it on, e.g. sent-back -> submitted)."""
        with folder_lock(self.folder):
            sub = self.get(number)
            self._check_revision(sub, revision)
            target = status or sub.status
            self._check_move(sub, target, "author")
            before = sub.text
            sub.text, sub.status, sub.modified = text, target, now()
            if note is not None:
                sub.note = note
            self._write(sub, before=before, author=author, message=f"{target}: {sub.slug}")
        return sub

    def move(
        self,
        number: int,
        *,
        who: str,
        role: str,
        status: str,
        comment: str = "",
        revision: int | None = None,
        published_version: int | None = None,
    ) -> Submission:
        """Change the status (``role``: author or reviewer), with a comment kept on the submission."""
        with folder_lock(self.folder):
            sub = self.get(number)
            if revision is not None:
                self._check_revision(sub, revision)
            self._check_move(sub, status, role)
            sub.status, sub.modified = status, now()
            if comment.strip():
                sub.comments.append(Comment(who, sub.modified, comment.strip(), status))
            if published_version is not None:
                sub.published_version = published_version
            self._write(
                sub,
                before=sub.text,
                author=who,
                message=f"{status}: {sub.slug}" + (f": {comment.strip()}" if comment.strip() else ""),
            )
        return sub

    def _check_revision(self, sub: Submission, revision: int) -> None:
        if revision != sub.revision:
            raise Conflict(
                f"submission {sub.number} changed since you opened it (it is at revision {sub.revision}, "
                f"you sent {revision}); open it again and redo your change",
                revision=sub.revision,
            )

    def _check_move(self, sub: Submission, status: str, role: str) -> None:
        if status not in STATUSES:
            raise InputError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        allowed = MOVES.get((sub.status, status))
        if allowed is None:
            raise Conflict(f"submission {sub.number} is {sub.status}; it cannot become {status}")
        if allowed != role:
            raise Conflict(
                f"a {'reviewer' if allowed == 'reviewer' else 'contributor'} makes a {sub.status} "
                f"submission {status}, not the {role}"
            )

    def _write(self, sub: Submission, *, before: str | None, author: str, message: str) -> None:
        graph = self.iri(sub.number)
        after_quads = self.to_quads(sub.text, graph)
        before_quads = self.to_quads(before, graph) if before else []
        sub.revision = self.history.next_number()
        text_path, state_path = self._paths(sub.number)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_files(
            {
                text_path: sub.text.encode("utf-8"),
                state_path: self.state_graph(sub).serialize(format="turtle", encoding="utf-8"),
            },
            self.folder,
        )
        kept_before = self.history.keep(content_text(before_quads)) if before_quads else None
        kept_after = self.history.keep(content_text(after_quads)) if after_quads else None
        self.history.append(
            Version(
                sub.revision,
                now(),
                author,
                message,
                "review",
                (GraphVersion(graph, text_path.name, kept_before, kept_after),),
                (self.practice_iri(sub.slug),),
            )
        )

    # -- the state as RDF ------------------------------------------------------------------------------------------
    def state_graph(self, sub: Submission) -> rdflib.Graph:
        g = rdflib.Graph()
        for prefix, ns in (("adms", ADMS), ("schema", SCHEMA), ("prov", PROV), ("dcterms", DCTERMS), ("foaf", FOAF)):
            g.bind(prefix, ns)
        s = URIRef(self.iri(sub.number))
        g.add((s, RDF.type, PROV.Entity))
        g.add((s, DCTERMS.identifier, Literal(str(sub.number))))
        g.add((s, PROV.specializationOf, URIRef(self.practice_iri(sub.slug))))
        g.add((s, ADMS.status, URIRef(self.status_iri(sub.status))))
        g.add((s, DCTERMS.creator, _account(g, sub.author)))
        g.add((s, DCTERMS.created, Literal(sub.created, datatype=XSD.dateTime)))
        g.add((s, DCTERMS.modified, Literal(sub.modified, datatype=XSD.dateTime)))
        if not sub.new:
            g.add((s, PROV.wasRevisionOf, _revision_of(g, self.practice_iri(sub.slug), sub.base_etag)))
        g.add((s, DCTERMS.hasVersion, Literal(sub.revision, datatype=XSD.integer)))
        if sub.note:
            g.add((s, DCTERMS.description, Literal(sub.note)))
        if sub.published_version is not None:
            g.add((s, PROV.generated, URIRef(f"{self.practice_iri(sub.slug)}?version={sub.published_version}")))
        for c in sub.comments:
            node = BNode()
            g.add((s, SCHEMA.comment, node))
            g.add((node, RDF.type, SCHEMA.Comment))
            g.add((node, SCHEMA.author, _account(g, c.author)))
            g.add((node, SCHEMA.dateCreated, Literal(c.at, datatype=XSD.dateTime)))
            g.add((node, SCHEMA.text, Literal(c.text)))
            g.add((node, ADMS.status, URIRef(self.status_iri(c.status))))
        return g

    def _read(self, g: rdflib.Graph, number: int, text: str) -> Submission:
        s = URIRef(self.iri(number))

        def one(p, subject=s) -> str:
            v = g.value(subject, p)
            return str(v) if v is not None else ""

        def account(node) -> str:
            return str(g.value(node, FOAF.accountName) or "")

        revision_of = g.value(s, PROV.wasRevisionOf)
        comments = sorted(
            (
                Comment(
                    account(g.value(c, SCHEMA.author)),
                    one(SCHEMA.dateCreated, c),
                    one(SCHEMA.text, c),
                    one(ADMS.status, c).rsplit("/", 1)[-1],
                )
                for c in g.objects(s, SCHEMA.comment)
            ),
            key=lambda c: c.at,
        )
        generated = one(PROV.generated)
        return Submission(
            number,
            one(PROV.specializationOf).rsplit("/", 1)[-1],
            account(g.value(s, DCTERMS.creator)),
            one(ADMS.status).rsplit("/", 1)[-1],
            one(DCTERMS.created),
            one(DCTERMS.modified),
            revision_of is None,
            one(DCTERMS.identifier, revision_of) or None if revision_of is not None else None,
            one(DCTERMS.description),
            comments,
            text,
            int(one(DCTERMS.hasVersion) or 0),
            int(generated.rsplit("=", 1)[-1]) if "?version=" in generated else None,
        )


def _account(g: rdflib.Graph, name: str) -> BNode:
    node = BNode()
    g.add((node, RDF.type, FOAF.OnlineAccount))
    g.add((node, FOAF.accountName, Literal(name)))
    return node


def _revision_of(g: rdflib.Graph, practice: str, etag: str | None) -> BNode:
    node = BNode()
    g.add((node, RDF.type, PROV.Entity))
    g.add((node, PROV.specializationOf, URIRef(practice)))
    if etag:
        g.add((node, DCTERMS.identifier, Literal(etag)))
    return node
