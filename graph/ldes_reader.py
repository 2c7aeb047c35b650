"""Follow a Linked Data Event Stream and rebuild the current state of its resources.

Used by ``next2met harvest`` (kind ``ldes``) and by the tests as our own client of ``/ldes``. It reads the root
document, follows ``tree:view`` and every ``tree:relation`` breadth first, collects each member (its named
graph, or the triples about it in the default graph), and materialises the latest version of every resource:
the member IRI becomes the resource IRI again (``ldes:versionOfPath``), the version triples are dropped, and a
member typed ``as:Tombstone`` deletes the resource. Blank nodes keep the labels the pages give them. A reader
that kept ``last_page`` and the members it has seen can start there next time and gets only what was added since.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from .errors import InputError
from .http import Fetched, Fetcher
from .ldes import GENERATED, LDES, RDF_TYPE, TOMBSTONE, TREE, VERSION_OF

ACCEPT = "application/trig, application/n-quads;q=0.9, application/ld+json;q=0.8, text/turtle;q=0.5"
MAX_PAGES = 100_000


@dataclass(frozen=True)
class Member:
    iri: str
    resource: str  # the versioned resource (the member itself when the stream has no versionOfPath)
    time: str  # the value of the timestampPath ("" when absent)
    deleted: bool
    triples: frozenset[ox.Triple]  # materialised: about the resource, version triples removed


@dataclass
class ReadResult:
    members: list[Member] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # URLs fetched, in order
    last_page: str = ""  # the newest page: start here next time

    def state(self) -> dict[str, Member]:
        """The latest member of every resource (by timestamp, then by the order the stream gives)."""
        latest: dict[str, tuple[tuple[str, int], Member]] = {}
        for i, m in enumerate(self.members):
            key = (m.time, i)
            if m.resource not in latest or key >= latest[m.resource][0]:
                latest[m.resource] = (key, m)
        return {res: m for res, (_, m) in latest.items()}

    def triples(self) -> set[ox.Triple]:
        """The current triples: the latest version of every resource that is not deleted."""
        return {t for m in self.state().values() if not m.deleted for t in m.triples}


def read_ldes(
    url: str,
    *,
    since_page: str | None = None,
    seen: set[str] | frozenset[str] = frozenset(),
    get: Callable[[str], Fetched] | None = None,
    fetcher: Fetcher | None = None,
) -> ReadResult:
    """Read the stream at ``url`` from its first page, or from ``since_page`` skipping the ``seen`` members.

    Pages are fetched with ``get``, else through ``fetcher`` (one for the whole stream, so that links to other
    origins are refused; by default the harvest policy's defaults)."""
    if get is None:
        fetcher = fetcher or Fetcher()
        get = lambda u: fetcher.fetch(u, accept=ACCEPT)  # noqa: E731
    result = ReadResult()
    if since_page:
        queue = [since_page]
        paths = None
    else:
        root = _parse(get(url))
        queue = [_text(q.object) for q in root.quads_for_predicate(ox.NamedNode(TREE + "view"))]
        if not queue:
            raise InputError(f"{url}: not a Linked Data Event Stream (no tree:view)")
        paths = _paths(root)
    visited: set[str] = set()
    while queue:
        page_url = queue.pop(0)
        if page_url in visited:
            continue
        if len(visited) >= MAX_PAGES:
            raise InputError(f"{url}: more than {MAX_PAGES} pages; stopped")
        visited.add(page_url)
        page = _parse(get(page_url))
        result.pages.append(page_url)
        result.last_page = page_url
        paths = paths or _paths(page)
        for rel in page.quads_for_predicate(ox.NamedNode(TREE + "relation")):
            if _text(rel.subject) == page_url and isinstance(rel.object, ox.NamedNode | ox.BlankNode):
                queue += [
                    _text(q.object) for q in page.quads_for_subject(rel.object) if q.predicate.value == TREE + "node"
                ]
        members = sorted(
            {_text(q.object) for q in page.quads_for_predicate(ox.NamedNode(TREE + "member"))},
            key=lambda m: _order(page, m, paths),
        )
        result.members += [_member(page, m, paths) for m in members if m not in seen]
    return result


def _parse(doc: Fetched) -> ox.Dataset:
    fmt = ox.RdfFormat.from_media_type(doc.content_type)
    if fmt is None:
        raise InputError(f"{doc.url}: {doc.content_type or 'no content type'} is not an RDF format")
    try:
        return ox.Dataset(ox.parse(doc.body, format=fmt, base_iri=doc.url))
    except (SyntaxError, ValueError) as e:
        raise InputError(f"{doc.url}: cannot read the {fmt.name}: {e}") from None


def _paths(doc: ox.Dataset) -> tuple[ox.NamedNode, ox.NamedNode]:
    """The stream's timestampPath and versionOfPath (ours when the stream does not say)."""

    def one(name: str, default: ox.NamedNode) -> ox.NamedNode:
        found = [
            q.object for q in doc.quads_for_predicate(ox.NamedNode(LDES + name)) if isinstance(q.object, ox.NamedNode)
        ]
        return found[0] if found else default

    return one("timestampPath", GENERATED), one("versionOfPath", VERSION_OF)


def _order(doc: ox.Dataset, member: str, paths) -> tuple[str, str]:
    times = [_text(q.object) for q in doc.quads_for_subject(ox.NamedNode(member)) if q.predicate == paths[0]]
    return (min(times) if times else "", member)


def _member(doc: ox.Dataset, iri: str, paths: tuple[ox.NamedNode, ox.NamedNode]) -> Member:
    node = ox.NamedNode(iri)
    time_path, version_path = paths
    # The version triples are the member's own triples in the default graph; its content is its named graph,
    # where the resource may use the same predicates (a prov:generatedAtTime of its own). A stream without
    # member graphs has both in the default graph: then the version triples are the ones on the paths.
    own = [q for q in doc.quads_for_subject(node) if q.graph_name == ox.DefaultGraph()]
    content = list(doc.quads_for_graph_name(node)) or [q for q in own if q.predicate not in paths]
    metadata = own or content
    versions = [q.object for q in metadata if q.predicate == version_path]
    resource = versions[0] if versions and isinstance(versions[0], ox.NamedNode) else node
    times = [_text(q.object) for q in metadata if q.predicate == time_path]
    deleted = any(q.predicate == RDF_TYPE and q.object == TOMBSTONE for q in metadata)
    triples = (
        set()
        if deleted
        else {ox.Triple(resource if q.subject == node else q.subject, q.predicate, q.object) for q in content}
    )
    return Member(iri, resource.value, min(times) if times else "", deleted, frozenset(triples))


def _text(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """The lexical value of an IRI, blank node or literal ("" for a quoted triple, which streams do not use)."""
    return "" if isinstance(term, ox.Triple) else term.value
