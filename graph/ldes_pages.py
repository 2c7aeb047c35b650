"""The Linked Data Event Stream documents (TREE): the stream's description, its root (``tree:view``) and its
pages, each member in its own named graph, full pages linked to the next by a
``tree:GreaterThanOrEqualToRelation`` on ``prov:generatedAtTime`` (every member on a later page was recorded at
or after the last member of the earlier one).
"""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox

from .ldes import DATETIME, GENERATED, LDES, RDF_TYPE, TREE, VERSION_OF, ChangeLog

DCT_TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
DCT_DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
STREAM_DESCRIPTION = (
    "Every version of every resource of the Next2Met knowledge graph, oldest first. A member's named graph holds "
    "the resource's triples with the member IRI in place of the resource IRI; dcterms:isVersionOf names the "
    "resource and prov:generatedAtTime when the version was recorded. A member typed as:Tombstone says the "
    "resource was deleted. Replaying the latest member of every resource rebuilds the current data (the union "
    "of the named graphs; the dumps keep the graphs apart)."
)


def _t(
    s: str | ox.NamedNode | ox.BlankNode, p: str | ox.NamedNode, o: ox.NamedNode | ox.Literal | ox.BlankNode | str
) -> ox.Quad:
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


def page_quads(log: ChangeLog, n: int, stream: str, page_url: Callable[[int], str]) -> list[ox.Quad]:
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
